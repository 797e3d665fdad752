/**
 * The feeds after retention (issue 15's loose end): a reader polls `feed.atom` / `feed.rss` with
 * the ETag or Last-Modified it was given; when retention (maxEvents, maxAge) deletes packets the
 * feed listed, the feed has changed and the reader must get 200 with the packets that are left,
 * never a 304 that keeps the deleted ones. Against both real stores (embedded; PostgreSQL, a
 * server of its own), real corpus packets, the feeds parsed with rss-parser. The JSON endpoints
 * (count, list) are never cached at all: no-store, no validator, the new answer at once.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import Parser from "rss-parser";
import { ArchiveApi } from "../../src/archive/api";
import { recordFromPacket } from "../../src/archive/ingest";
import { openArchive } from "../../src/archive/open";
import type { ArchiveRecord, ArchiveStore } from "../../src/archive/types";
import { loadPageAssets } from "../../src/monitor/page";
import { describeCorpus } from "../helpers/corpus";
import { PostgresServer } from "../helpers/postgres";
import { readTarballPackets } from "../helpers/tarball";

const ASSETS = loadPageAssets(path.join(__dirname, "../../nodes/voevent-archive-db/page"));
const BASE_PATH = "/voevent/archive";
const PACKETS = 40;

for (const kind of ["embedded", "postgres"] as const) {
  describeCorpus(`archive feeds after retention against the ${kind} store`, () => {
    let dir = "";
    let pg: PostgresServer | undefined;
    let store: ArchiveStore;
    let server: http.Server;
    let root = "";
    let records: ArchiveRecord[] = [];
    const parser = new Parser();

    async function get(pathAndQuery: string, headers: Record<string, string> = {}) {
      const res = await fetch(`${root}${pathAndQuery}`, { headers });
      return { status: res.status, headers: res.headers, text: await res.text() };
    }

    beforeEach(async function () {
      this.timeout(60_000);
      dir = mkdtempSync(path.join(tmpdir(), "archive-prune-"));
      if (kind === "embedded") {
        store = await openArchive({ store: "embedded", file: path.join(dir, "archive.db") });
      } else {
        pg ??= await PostgresServer.start();
        store = await openArchive({ ...pg.config(), database: await pg.freshDatabase() });
      }
      // Received a second apart, an hour ago: the newest is the last.
      const t0 = Date.now() - 3_600_000;
      const seen = new Set<string>();
      records = [];
      for (const p of await readTarballPackets(PACKETS * 2)) {
        const r = recordFromPacket(p.xml, new Date(t0 + records.length * 1000));
        if (seen.has(r.ivorn)) continue;
        seen.add(r.ivorn);
        records.push(r);
        if (records.length === PACKETS) break;
      }
      assert.equal(records.length, PACKETS);
      await store.insertBatch(records);
      const api = new ArchiveApi({
        path: BASE_PATH,
        store: async () => store,
        assets: ASSETS,
        version: "9.9.9",
      });
      server = http.createServer((req, res) => {
        if (!api.handle(new URL(req.url ?? "/", "http://x").pathname, req, res)) {
          res.writeHead(418);
          res.end();
        }
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      root = `http://127.0.0.1:${(server.address() as AddressInfo).port}${BASE_PATH}`;
    });

    afterEach(async () => {
      await new Promise((r) => server?.close(r));
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    after(async () => {
      await pg?.close();
    });

    const newest = (n: number) =>
      records
        .slice(-n)
        .map((r) => r.ivorn)
        .reverse();

    for (const format of ["atom", "rss"] as const) {
      it(`maxEvents: a ${format} reader polling with its ETag gets the packets left, not 304`, async () => {
        const first = await get(`/feed.${format}`);
        assert.equal(first.status, 200);
        const etag = first.headers.get("etag") ?? "";
        assert.notEqual(etag, "");
        const before = await parser.parseString(first.text);
        assert.deepEqual(
          before.items.map((i) => (format === "atom" ? i.id : i.guid)),
          newest(PACKETS),
        );
        assert.equal((await get(`/feed.${format}`, { "If-None-Match": etag })).status, 304);

        assert.equal(await store.prune({ maxAge: 0, maxEvents: 10 }), PACKETS - 10);

        const again = await get(`/feed.${format}`, { "If-None-Match": etag });
        assert.equal(again.status, 200, "the feed lost 30 items: not 304");
        assert.notEqual(again.headers.get("etag"), etag);
        const after = await parser.parseString(again.text);
        assert.deepEqual(
          after.items.map((i) => (format === "atom" ? i.id : i.guid)),
          newest(10),
        );
        // And unchanged from then on: the new ETag is answered 304 again.
        const etag2 = again.headers.get("etag") ?? "";
        assert.equal((await get(`/feed.${format}`, { "If-None-Match": etag2 })).status, 304);
      });
    }

    it("maxAge: a reader polling with Last-Modified only (no ETag) gets 200 after old packets went", async () => {
      const first = await get("/feed.atom?limit=100");
      const modified = first.headers.get("last-modified") ?? "";
      assert.notEqual(modified, "");
      assert.equal((await get("/feed.atom?limit=100", { "If-Modified-Since": modified })).status, 304);
      // Packet i was received at t0 + i s, t0 an hour ago: a maxAge of 3,600 − 24.5 s removes at
      // least the 25 oldest (a few more if the test ran slowly), never all 40.
      const removed = await store.prune({ maxAge: 3_600_000 - 24_500, maxEvents: 0 });
      assert.ok(removed >= 25 && removed < PACKETS, `removed ${removed}`);
      const again = await get("/feed.atom?limit=100", { "If-Modified-Since": modified });
      assert.equal(again.status, 200, "old packets went: not 304");
      const items = (await parser.parseString(again.text)).items.map((i) => i.id);
      assert.deepEqual(items, newest(PACKETS - removed));
      const byEtag = await get("/feed.atom?limit=100", { "If-None-Match": first.headers.get("etag") ?? "" });
      assert.equal(byEtag.status, 200);
    });

    it("a retention pass that removes nothing changes nothing: still 304", async () => {
      const first = await get("/feed.rss");
      const etag = first.headers.get("etag") ?? "";
      const modified = first.headers.get("last-modified") ?? "";
      assert.equal(await store.prune({ maxAge: 86_400_000, maxEvents: 1000 }), 0);
      assert.equal((await get("/feed.rss", { "If-None-Match": etag })).status, 304);
      assert.equal((await get("/feed.rss", { "If-Modified-Since": modified })).status, 304);
    });

    it("count and list/ivorn are not cached: no validator, no-store, the new answer at once", async () => {
      const count = await get("/apiv1/count");
      const list = await get("/apiv1/list/ivorn");
      for (const r of [count, list]) {
        assert.equal(r.status, 200);
        assert.equal(r.headers.get("etag"), null);
        assert.equal(r.headers.get("last-modified"), null);
        assert.equal(r.headers.get("cache-control"), "no-store");
      }
      assert.equal((JSON.parse(count.text) as { result: number }).result, PACKETS);
      await store.prune({ maxAge: 0, maxEvents: 5 });
      const countAfter = await get("/apiv1/count", { "If-None-Match": "*" });
      assert.equal(countAfter.status, 200);
      assert.equal((JSON.parse(countAfter.text) as { result: number }).result, 5);
      const listAfter = JSON.parse((await get("/apiv1/list/ivorn")).text) as { result: string[] };
      assert.deepEqual([...listAfter.result].sort(), [...newest(5)].sort());
    });
  });
}
