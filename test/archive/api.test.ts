/**
 * The archive's HTTP side (src/archive/api.ts, feed.ts) over real HTTP against each real store
 * (embedded; PostgreSQL, a server of its own on a free port) holding 600 real packets (the first of the corpus's 4PiSky month): every voeventdb
 * endpoint and filter, checked against values the test computes itself from the packets (with the
 * package's VOEvent parser, not the archive's ingest); the error replies (400 naming the filter
 * and its value, 404, 405, 414, 503, never 500); the bounds; the feeds parsed with an independent
 * parser (rss-parser); the search page's headers and rows.
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
import { ArchiveError, type ArchiveStore } from "../../src/archive/types";
import { loadPageAssets } from "../../src/monitor/page";
import { parseVOEvent } from "../../src/voevent/parse";
import {
  authoredMonthCount,
  countBy,
  type Expected,
  expectationOf,
  separationDeg,
  streamRoleCount,
} from "../helpers/archive-expect";
import { describeCorpus } from "../helpers/corpus";
import { assertServesSharedFiles } from "../helpers/pages";
import { PostgresServer } from "../helpers/postgres";
import { readTarballPackets } from "../helpers/tarball";

const PACKETS = 600;
const ASSETS = loadPageAssets(path.join(__dirname, "../../nodes/voevent-archive-db/page"));
const BASE_PATH = "/voevent/archive";

interface Envelope<T> {
  endpoint: string;
  querystring: Record<string, string[]>;
  result: T;
  url: string;
  limit?: number;
}

for (const kind of ["embedded", "postgres"] as const) {
  describeCorpus(`archive HTTP API (voeventdb REST API v1) against the ${kind} store`, () => {
    let dir = "";
    let pg: PostgresServer | undefined;
    let store: ArchiveStore;
    let server: http.Server;
    let api: ArchiveApi;
    let root = "";
    const expected: Expected[] = [];
    /** A store the tests can make fail or stall, in front of the real one. */
    const faults: { fail: ArchiveError | null; stall: Promise<void> | null } = { fail: null, stall: null };

    async function get(pathAndQuery: string, headers: Record<string, string> = {}) {
      const res = await fetch(`${root}${pathAndQuery}`, { headers, redirect: "manual" });
      const body = Buffer.from(await res.arrayBuffer());
      return { status: res.status, headers: res.headers, body, text: body.toString("utf8") };
    }
    async function json<T>(pathAndQuery: string): Promise<Envelope<T>> {
      const r = await get(pathAndQuery);
      assert.equal(r.status, 200, `${pathAndQuery}: ${r.text}`);
      assert.match(r.headers.get("content-type") ?? "", /^application\/json/);
      return JSON.parse(r.text) as Envelope<T>;
    }
    async function errorOf(pathAndQuery: string, status: number): Promise<{ code: number; message: string }> {
      const r = await get(pathAndQuery);
      assert.equal(r.status, status, `${pathAndQuery}: ${r.text}`);
      const body = JSON.parse(r.text) as { error: { code: number; description: string; message: string } };
      assert.equal(body.error.code, status);
      return body.error;
    }
    /** Every IVORN matching a query string, by list/ivorn with the largest page. */
    async function matching(query: string): Promise<string[]> {
      const env = await json<string[]>(`/apiv1/list/ivorn?limit=10000${query === "" ? "" : `&${query}`}`);
      return env.result;
    }
    function expectIvorns(pred: (e: Expected) => boolean): string[] {
      return expected.filter(pred).map((e) => e.ivorn);
    }

    before(async function () {
      this.timeout(120_000);
      dir = mkdtempSync(path.join(tmpdir(), "archive-api-"));
      let real: ArchiveStore;
      if (kind === "embedded") {
        real = await openArchive({ store: "embedded", file: path.join(dir, "archive.db") });
      } else {
        pg = await PostgresServer.start();
        real = await openArchive({
          store: "postgres",
          host: pg.host,
          port: pg.port,
          database: pg.database,
          user: pg.user,
          password: pg.password,
        });
      }
      // The real store behind a door the tests can shut (TIMEOUT / UNAVAILABLE) or hold (a slow query).
      store = new Proxy(real, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver);
          if (typeof value !== "function" || prop === "close" || prop === "insertBatch") return value;
          return async (...args: unknown[]) => {
            if (faults.stall !== null) await faults.stall;
            if (faults.fail !== null) throw faults.fail;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
      const packets = await readTarballPackets(PACKETS);
      const seen = new Set<string>();
      const records = [];
      const t0 = Date.UTC(2022, 1, 1);
      for (const [i, p] of packets.entries()) {
        const e = expectationOf(p.xml, expected.length + 1);
        if (e === null || seen.has(e.ivorn)) continue;
        seen.add(e.ivorn);
        expected.push(e);
        records.push(recordFromPacket(p.xml, new Date(t0 + i * 1000)));
      }
      for (let i = 0; i < records.length; i += 200) await real.insertBatch(records.slice(i, i + 200));
      api = new ArchiveApi({ path: BASE_PATH, store: async () => store, assets: ASSETS, version: "9.9.9" });
      server = http.createServer((req, res) => {
        const reqPath = new URL(req.url ?? "/", "http://x").pathname;
        if (!api.handle(reqPath, req, res)) {
          res.writeHead(418);
          res.end();
        }
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      root = `http://127.0.0.1:${(server.address() as AddressInfo).port}${BASE_PATH}`;
    });

    after(async () => {
      await new Promise((r) => server?.close(r));
      await store?.close();
      await pg?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    afterEach(() => {
      faults.fail = null;
      faults.stall = null;
    });

    it("the test's own reading of the packets has what the filters need", () => {
      assert.ok(expected.length > 500, `${expected.length} packets`);
      assert.ok(expected.filter((e) => e.position !== null).length > 50, "positions");
      assert.ok(expected.filter((e) => e.refs.length > 0).length > 10, "citations");
      assert.ok(new Set(expected.map((e) => e.stream)).size > 5, "streams");
      assert.ok(new Set(expected.map((e) => e.role)).size > 1, "roles");
    });

    it("apiv1/ lists every endpoint as voeventdb's landing does", async () => {
      const r = await get("/apiv1/");
      assert.equal(r.status, 200);
      const body = JSON.parse(r.text) as {
        api_version: string;
        version_tag: string;
        endpoints: string[];
        message: string;
      };
      assert.equal(body.api_version, "apiv1");
      assert.equal(body.version_tag, "9.9.9");
      assert.match(body.message, /voeventdb REST API/);
      for (const ep of [
        "count",
        "list/ivorn",
        "list/ivorn_nrefs",
        "list/ivorn_ncites",
        "map/stream_count",
        "map/role_count",
        "map/stream_role_count",
        "map/authored_month_count",
        "packet/synopsis/<path:url_encoded_ivorn>",
        "packet/xml/<path:url_encoded_ivorn>",
      ]) {
        assert.ok(body.endpoints.includes(`/apiv1/${ep}`), ep);
      }
      assert.equal((await get("/apiv1")).status, 301);
    });

    it("count: every packet, and the envelope voeventdb.remote reads (result, querystring, url, endpoint)", async () => {
      const all = await json<number>("/apiv1/count");
      assert.equal(all.result, expected.length);
      assert.equal(all.endpoint, "/apiv1/count");
      assert.deepEqual(all.querystring, {});
      assert.equal(all.url, `${root}/apiv1/count`);
      const obs = await json<number>("/apiv1/count?role=observation&limit=5");
      assert.equal(obs.result, expected.filter((e) => e.role === "observation").length);
      assert.deepEqual(obs.querystring, { role: ["observation"], limit: ["5"] });
    });

    it("list/ivorn: default limit 100 in id order, limit/offset, and each order", async () => {
      const first = await json<string[]>("/apiv1/list/ivorn");
      assert.equal(first.limit, 100);
      assert.equal(first.endpoint, "/apiv1/list/ivorn");
      assert.deepEqual(
        first.result,
        expected.slice(0, 100).map((e) => e.ivorn),
      );
      const page = await json<string[]>("/apiv1/list/ivorn?limit=7&offset=30");
      assert.equal(page.limit, 7);
      assert.deepEqual(
        page.result,
        expected.slice(30, 37).map((e) => e.ivorn),
      );
      const newest = await json<string[]>("/apiv1/list/ivorn?order=-id&limit=3");
      assert.deepEqual(
        newest.result,
        expected
          .slice(-3)
          .reverse()
          .map((e) => e.ivorn),
      );
      const byIvorn = (await json<string[]>("/apiv1/list/ivorn?order=ivorn&limit=10000")).result;
      const sorted = expected.map((e) => e.ivorn).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      assert.deepEqual(byIvorn, sorted);
      const byIvornDesc = (await json<string[]>("/apiv1/list/ivorn?order=-ivorn&limit=5")).result;
      assert.deepEqual(byIvornDesc, [...sorted].reverse().slice(0, 5));
      const authored = (
        await json<string[]>("/apiv1/list/ivorn?order=author_datetime&limit=10000&authored_since=2000-01-01")
      ).result;
      const times = authored.map(
        (iv) => expected.find((e) => e.ivorn === iv)?.authored?.getTime() ?? Number.NaN,
      );
      assert.ok(
        times.every((t, i) => i === 0 || t >= times[i - 1]),
        "oldest authored first",
      );
    });

    it("list/ivorn_nrefs and list/ivorn_ncites: references made and citations received", async () => {
      const nrefs = (await json<Array<[string, number]>>("/apiv1/list/ivorn_nrefs?limit=10000")).result;
      assert.deepEqual(
        nrefs,
        expected.map((e) => [e.ivorn, e.refs.length]),
      );
      const ncites = (await json<Array<[string, number]>>("/apiv1/list/ivorn_ncites?limit=10000")).result;
      const cited = (iv: string) => expected.filter((e) => e.refs.includes(iv)).length;
      assert.deepEqual(
        ncites,
        expected.map((e) => [e.ivorn, cited(e.ivorn)]),
      );
      assert.ok(
        ncites.some(([, n]) => n > 0),
        "some stored packet is cited by another",
      );
    });

    it("map/stream_count, role_count, stream_role_count, authored_month_count", async () => {
      assert.deepEqual(
        (await json<Record<string, number>>("/apiv1/map/stream_count")).result,
        countBy(expected, (e) => e.stream),
      );
      assert.deepEqual(
        (await json<Record<string, number>>("/apiv1/map/role_count")).result,
        countBy(expected, (e) => e.role),
      );
      assert.deepEqual(
        (await json<Record<string, Record<string, number>>>("/apiv1/map/stream_role_count")).result,
        streamRoleCount(expected),
      );
      const months = (await json<Record<string, number>>("/apiv1/map/authored_month_count")).result;
      assert.deepEqual(months, authoredMonthCount(expected));
      const swift = (await json<Record<string, number>>("/apiv1/map/role_count?stream=nasa.gsfc.gcn/SWIFT"))
        .result;
      assert.deepEqual(
        swift,
        countBy(
          expected.filter((e) => e.stream === "nasa.gsfc.gcn/SWIFT"),
          (e) => e.role,
        ),
      );
    });

    describe("every filter, against the test's own reading", () => {
      const sample = () => expected.find((e) => e.position !== null && e.refs.length > 0) ?? expected[0];

      it("role and stream (several values are ORed)", async () => {
        assert.deepEqual(
          await matching("role=utility"),
          expectIvorns((e) => e.role === "utility"),
        );
        assert.deepEqual(
          await matching("stream=nasa.gsfc.gcn/SWIFT&stream=gwnet/LVC"),
          expectIvorns((e) => e.stream === "nasa.gsfc.gcn/SWIFT" || e.stream === "gwnet/LVC"),
        );
      });

      it("ivorn_contains (ANDed), ivorn_prefix (ORed, URL-encoded #)", async () => {
        assert.deepEqual(
          await matching("ivorn_contains=BAT&ivorn_contains=Pos"),
          expectIvorns((e) => e.ivorn.includes("BAT") && e.ivorn.includes("Pos")),
        );
        const prefix = "ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB";
        assert.deepEqual(
          await matching(`ivorn_prefix=${encodeURIComponent(prefix)}&ivorn_prefix=ivo%3A%2F%2Fgwnet`),
          expectIvorns((e) => e.ivorn.startsWith(prefix) || e.ivorn.startsWith("ivo://gwnet")),
        );
        assert.deepEqual(
          await matching("ivorn_contains=%25"),
          expectIvorns((e) => e.ivorn.includes("%")),
        );
      });

      it("authored_since and authored_until (inclusive, dates without a zone are UTC)", async () => {
        const times = expected.filter((e) => e.authored !== null).map((e) => (e.authored as Date).getTime());
        times.sort((a, b) => a - b);
        const mid = new Date(times[Math.floor(times.length / 2)]);
        const iso = mid.toISOString().replace(/\.\d+Z$/, "");
        assert.deepEqual(
          await matching(`authored_since=${iso}`),
          expectIvorns((e) => e.authored !== null && e.authored.getTime() >= mid.getTime()),
        );
        assert.deepEqual(
          await matching(`authored_until=${iso}`),
          expectIvorns(
            (e) => e.authored !== null && e.authored.getTime() <= Math.floor(mid.getTime() / 1000) * 1000,
          ),
        );
        assert.deepEqual(
          await matching("authored_since=2022-01-10&authored_until=2022-01"),
          [],
          "since after until: nothing",
        );
      });

      it("cone, coord, dec_gt, dec_lt", async () => {
        const s = sample();
        assert.ok(s.position);
        const { ra, dec } = s.position;
        const inCone = (r: number) =>
          expectIvorns(
            (e) => e.position !== null && separationDeg(ra, dec, e.position.ra, e.position.dec) <= r,
          );
        assert.deepEqual(await matching(`cone=${encodeURIComponent(`[${ra},${dec},1]`)}`), inCone(1));
        assert.deepEqual(await matching(`cone=${encodeURIComponent(`[${ra}, ${dec}, 30]`)}`), inCone(30));
        assert.ok(inCone(1).includes(s.ivorn));
        assert.deepEqual(
          await matching("coord=true"),
          expectIvorns((e) => e.position !== null),
        );
        assert.deepEqual(
          await matching("coord=FALSE"),
          expectIvorns((e) => e.position === null),
        );
        assert.deepEqual(
          await matching("dec_gt=10"),
          expectIvorns((e) => e.position !== null && e.position.dec > 10),
        );
        assert.deepEqual(
          await matching("dec_gt=-20&dec_lt=20.5"),
          expectIvorns((e) => e.position !== null && e.position.dec > -20 && e.position.dec < 20.5),
        );
      });

      it("cited, ref_any, ref_contains, ref_exact", async () => {
        const citedSet = new Set(expected.flatMap((e) => e.refs));
        assert.deepEqual(
          await matching("cited=true"),
          expectIvorns((e) => citedSet.has(e.ivorn)),
        );
        assert.deepEqual(
          await matching("cited=false"),
          expectIvorns((e) => !citedSet.has(e.ivorn)),
        );
        assert.deepEqual(
          await matching("ref_any=True"),
          expectIvorns((e) => e.refs.length > 0),
        );
        assert.deepEqual(
          await matching("ref_any=false"),
          expectIvorns((e) => e.refs.length === 0),
        );
        const ref = sample().refs[0];
        assert.deepEqual(
          await matching(`ref_exact=${encodeURIComponent(ref)}`),
          expectIvorns((e) => e.refs.includes(ref)),
        );
        assert.deepEqual(
          await matching("ref_contains=BAT_GRB_Pos"),
          expectIvorns((e) => e.refs.some((r) => r.includes("BAT_GRB_Pos"))),
        );
      });
    });

    it("packet/synopsis and packet/xml by URL-encoded IVORN (quote_plus as voeventdb.remote sends it)", async () => {
      const e = expected.find((x) => x.position !== null && x.refs.length > 0) ?? expected[0];
      const quotePlus = encodeURIComponent(e.ivorn).replace(/%20/g, "+");
      const syn = await json<{
        voevent: {
          ivorn: string;
          stream: string;
          role: string;
          received: string;
          author_datetime: string | null;
        };
        coords: Array<{ ra: number; dec: number }>;
        refs: Array<{ ref_ivorn: string; cite_type: string }>;
      }>(`/apiv1/packet/synopsis/${quotePlus}`);
      assert.equal(syn.endpoint, "/apiv1/packet/synopsis/<path:url_encoded_ivorn>");
      assert.equal(syn.result.voevent.ivorn, e.ivorn);
      assert.equal(syn.result.voevent.stream, e.stream);
      assert.equal(syn.result.voevent.role, e.role);
      assert.ok(Date.parse(syn.result.voevent.received) > 0);
      assert.deepEqual(
        syn.result.refs.map((r) => r.ref_ivorn),
        e.refs,
      );
      assert.ok(e.position);
      assert.ok(Math.abs(syn.result.coords[0].ra - e.position.ra) < 1e-9);
      const xml = await get(`/apiv1/packet/xml/${quotePlus}`);
      assert.equal(xml.status, 200);
      assert.match(xml.headers.get("content-type") ?? "", /^text\/xml/);
      assert.ok(xml.body.equals(e.xml), "the bytes exactly as stored");
      assert.match(xml.headers.get("content-security-policy") ?? "", /default-src 'none'; sandbox/);
    });

    it("errors: 404 for an unknown IVORN or endpoint, 400 naming a bad filter and its value, 405, 414", async () => {
      const unknown = await errorOf(`/apiv1/packet/synopsis/${encodeURIComponent("ivo://nowhere/x#1")}`, 404);
      assert.match(unknown.message, /ivo:\/\/nowhere\/x#1/);
      await errorOf(`/apiv1/packet/xml/${encodeURIComponent("ivo://nowhere/x#1")}`, 404);
      await errorOf("/apiv1/packet/xml/", 400);
      await errorOf("/apiv1/packet/xml/%E0%A4%A", 400);
      await errorOf("/apiv1/nothing", 404);
      for (const [query, key, value] of [
        ["cone=%5B1%2C2%5D", "cone", "[1,2]"],
        ["dec_gt=north", "dec_gt", "north"],
        ["cited=maybe", "cited", "maybe"],
        ["authored_since=yesterday", "authored_since", "yesterday"],
        ["role=observer", "role", "observer"],
        ["order=newest", "order", "newest"],
        ["limit=ten", "limit", "ten"],
        ["limit=20000", "limit", "20000"],
        ["colour=red", "colour", "red"],
      ]) {
        const err = await errorOf(`/apiv1/list/ivorn?${query}`, 400);
        assert.ok(err.message.includes(`${key}=${value}`), `${query}: ${err.message}`);
      }
      const post = await fetch(`${root}/apiv1/count`, { method: "POST" });
      assert.equal(post.status, 405);
      assert.equal(post.headers.get("allow"), "GET, HEAD");
      await post.arrayBuffer();
      await errorOf(`/apiv1/count?ivorn_contains=${"x".repeat(9000)}`, 414);
    });

    it("503, never 500, when the store misses its time budget, is down, or fails otherwise", async () => {
      faults.fail = new ArchiveError("TIMEOUT", "query budget of 5000 ms spent");
      const t = await get("/apiv1/count");
      assert.equal(t.status, 503);
      assert.ok(t.headers.get("retry-after"));
      faults.fail = new ArchiveError("UNAVAILABLE", "connection refused");
      assert.equal((await get("/apiv1/list/ivorn")).status, 503);
      assert.equal((await get("/feed.rss")).status, 503);
      assert.equal((await get("/search")).status, 503);
      faults.fail = new Error("something unexpected") as ArchiveError;
      assert.equal((await get("/apiv1/map/role_count")).status, 503);
    });

    it("a store that cannot open: the landing still answers, the endpoints 503", async () => {
      const down = new ArchiveApi({
        path: BASE_PATH,
        store: async () => {
          throw new ArchiveError("UNAVAILABLE", "connect ECONNREFUSED 127.0.0.1:5432");
        },
        assets: ASSETS,
        version: "9.9.9",
      });
      const srv = http.createServer((req, res) => {
        if (!down.handle(new URL(req.url ?? "/", "http://x").pathname, req, res)) res.writeHead(418).end();
      });
      await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
      try {
        const at = `http://127.0.0.1:${(srv.address() as AddressInfo).port}${BASE_PATH}`;
        const landing = await fetch(`${at}/apiv1/`);
        assert.equal(landing.status, 200);
        assert.equal(((await landing.json()) as { api_version: string }).api_version, "apiv1");
        const count = await fetch(`${at}/apiv1/count`);
        assert.equal(count.status, 503);
        assert.match(((await count.json()) as { error: { message: string } }).error.message, /ECONNREFUSED/);
      } finally {
        srv.closeAllConnections();
        await new Promise((r) => srv.close(r));
      }
    });

    it("at most maxConcurrent queries at once: one more gets 503 at once, the others their answer", async () => {
      let release = () => {};
      faults.stall = new Promise<void>((r) => {
        release = r;
      });
      const held = Array.from({ length: 8 }, () => get("/apiv1/count"));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(api.busy, 8);
      const extra = await get("/apiv1/count");
      assert.equal(extra.status, 503);
      assert.match(JSON.parse(extra.text).error.message, /at most 8/);
      release();
      for (const r of await Promise.all(held)) assert.equal(r.status, 200);
      assert.equal(api.busy, 0);
    });

    describe("feeds (parsed with rss-parser)", () => {
      const parser = new Parser();

      it("RSS 2.0: newest first, 50 by default, IVORN as guid, stream and role in the title, links", async () => {
        const r = await get("/feed.rss");
        assert.equal(r.status, 200);
        assert.match(r.headers.get("content-type") ?? "", /^application\/rss\+xml/);
        const feed = await parser.parseString(r.text);
        assert.equal(feed.items.length, 50);
        const newest = expected.slice(-50).reverse();
        assert.deepEqual(
          feed.items.map((i) => i.guid),
          newest.map((e) => e.ivorn),
        );
        for (const [i, item] of feed.items.entries()) {
          const e = newest[i];
          assert.ok(item.title?.includes(e.stream), item.title);
          assert.ok(item.title?.includes(e.role), item.title);
          assert.equal(item.link, `${root}/apiv1/packet/synopsis/${encodeURIComponent(e.ivorn)}`);
          assert.equal(item.enclosure?.url, `${root}/apiv1/packet/xml/${encodeURIComponent(e.ivorn)}`);
          if (e.authored !== null)
            assert.equal(Date.parse(item.pubDate ?? ""), Math.floor(e.authored.getTime() / 1000) * 1000);
        }
      });

      it("Atom 1.0 with the same filters and limit; a limit above 500 gives 500", async () => {
        const r = await get("/feed.atom?role=utility&limit=5");
        assert.equal(r.status, 200);
        assert.match(r.headers.get("content-type") ?? "", /^application\/atom\+xml/);
        const feed = await parser.parseString(r.text);
        const want = expected
          .filter((e) => e.role === "utility")
          .slice(-5)
          .reverse();
        assert.deepEqual(
          feed.items.map((i) => i.id),
          want.map((e) => e.ivorn),
        );
        assert.ok(r.text.includes('rel="enclosure"'));
        const big = await parser.parseString((await get("/feed.rss?limit=9999")).text);
        assert.equal(big.items.length, Math.min(500, expected.length));
        assert.equal((await get("/feed.rss?cone=nowhere")).status, 400);
      });

      it("ETag and Last-Modified answer 304 while nothing changed, 200 once a packet is stored", async () => {
        const first = await get("/feed.atom?stream=gwnet/LVC");
        const etag = first.headers.get("etag") ?? "";
        const modified = first.headers.get("last-modified") ?? "";
        assert.ok(etag !== "" && modified !== "");
        assert.equal((await get("/feed.atom?stream=gwnet/LVC", { "If-None-Match": etag })).status, 304);
        assert.equal(
          (await get("/feed.atom?stream=gwnet/LVC", { "If-Modified-Since": modified })).status,
          304,
        );
        assert.equal(
          (await get("/feed.rss?stream=gwnet/LVC", { "If-None-Match": etag })).status,
          200,
          "another format",
        );
        assert.equal(
          (await get("/feed.atom?stream=gwnet/LVC&limit=3", { "If-None-Match": etag })).status,
          200,
          "another query",
        );
        const e = expected[0];
        const fresh = e.xml.toString("utf8").replace(e.ivorn, `${e.ivorn}-again`);
        await store.insertBatch([recordFromPacket(fresh, new Date())]);
        const after = await get("/feed.atom?stream=gwnet/LVC", { "If-None-Match": etag });
        assert.equal(after.status, 200);
        assert.notEqual(after.headers.get("etag"), etag);
        expected.push({ ...e, id: expected.length + 1, ivorn: `${e.ivorn}-again`, xml: Buffer.from(fresh) });
      });

      it("a hostile Host header or URL is not echoed into the feed's XML", async () => {
        const url = new URL(`${root}/feed.atom?limit=2&ivorn_contains=${encodeURIComponent('"<x>')}`);
        const body = await new Promise<string>((resolve, reject) => {
          const req = http.request(
            {
              host: url.hostname,
              port: url.port,
              path: `${url.pathname}${url.search}`,
              headers: { Host: 'evil"<host>' },
            },
            (res) => {
              const chunks: Buffer[] = [];
              res.on("data", (c: Buffer) => chunks.push(c));
              res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
            },
          );
          req.on("error", reject);
          req.end();
        });
        const feed = await new Parser().parseString(body);
        assert.equal(feed.items.length, 0);
        assert.match(feed.feedUrl ?? feed.link ?? "", /^http:\/\/localhost\//);
        assert.ok(!body.includes("evil"), "the Host is not echoed");
      });

      it("a packet's markup reaches the reader as text, never as markup", async () => {
        const base = expected.find((e) => e.stream === "nasa.gsfc.gcn/SWIFT") ?? expected[0];
        const hostile = base.xml
          .toString("utf8")
          .replace(base.ivorn, `${base.ivorn}_script`)
          .replace(
            "</Who>",
            "</Who><Description>&lt;script&gt;alert(1)&lt;/script&gt; ]]&gt; ]]&gt;</Description>",
          );
        assert.equal(parseVOEvent(hostile).voevent.description, "<script>alert(1)</script> ]]> ]]>");
        await store.insertBatch([recordFromPacket(hostile, new Date())]);
        expected.push({
          ...base,
          id: expected.length + 1,
          ivorn: `${base.ivorn}_script`,
          xml: Buffer.from(hostile),
        });
        for (const format of ["rss", "atom"]) {
          const r = await get(`/feed.${format}?limit=1&order=-id`);
          const feed = await parser.parseString(r.text);
          const item = feed.items[0];
          const summary = format === "rss" ? (item.content ?? "") : (item.summary ?? "");
          assert.ok(summary.includes("&lt;script&gt;alert(1)&lt;/script&gt;"), `${format}: ${summary}`);
          assert.ok(!summary.includes("<script"), `${format}: no markup`);
        }
      });
    });

    it("the search page: HTML with a CSP and no inline script, its rows with map positions", async () => {
      const page = await get("/");
      assert.equal(page.status, 200);
      const csp = page.headers.get("content-security-policy") ?? "";
      assert.match(csp, /script-src 'self'/);
      assert.doesNotMatch(csp, /unsafe-inline/);
      assert.doesNotMatch(page.text, /<script>(?!<\/script>)|on(click|load)=/i);
      assert.equal((await get("")).status, 301);
      assert.equal((await get("/app.js")).status, 200);
      const s = expected.find((e) => e.position !== null) as Expected;
      const r = await get(`/search?stream=${encodeURIComponent(s.stream)}&limit=5`);
      assert.equal(r.status, 200);
      const body = JSON.parse(r.text) as {
        total: number;
        rows: Array<{ ivorn: string; map: { x: number; y: number } | null }>;
        map: { outline: string };
      };
      assert.equal(body.total, expected.filter((e) => e.stream === s.stream).length);
      assert.deepEqual(
        body.rows.map((row) => row.ivorn),
        expected
          .filter((e) => e.stream === s.stream)
          .slice(-5)
          .reverse()
          .map((e) => e.ivorn),
      );
      assert.ok(body.map.outline.startsWith("M"));
      assert.ok(body.rows.some((row) => row.map !== null && row.map.x >= 0 && row.map.x <= 800));
    });

    it("the search page: the script and style it shares with the monitor's page, named before its own", async () => {
      await assertServesSharedFiles((await get("/")).text, "", root);
    });
  });
}
