/**
 * The signature verdict in the archive (issue 17), against both stores (the embedded SQLite file
 * and a real PostgreSQL server started here): an archive made by the schema before the verdict's
 * column opens, gains the column and keeps its rows; real corpus packets stored with msg.signature
 * verdicts come back with them (list, the synopsis' separate `signature` key, the search page's
 * rows and its Signature column in Chromium, the feeds' summaries parsed by an independent feed
 * parser), and voeventdb's own fields stay exactly voeventdb's. What msg.signature may hold from upstream is checked and cut, never trusted.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import Parser from "rss-parser";
import { ArchiveApi } from "../../src/archive/api";
import { archiveSignature, recordFromPacket } from "../../src/archive/ingest";
import { ARCHIVE_LIMITS } from "../../src/archive/limits";
import { openArchive } from "../../src/archive/open";
import { schema } from "../../src/archive/sql";
import type { ArchiveRecord, ArchiveSignature, ArchiveStore } from "../../src/archive/types";
import { loadPageAssets } from "../../src/monitor/page";
import { launchBrowser } from "../e2e/harness";
import { describeCorpus, isMarkedNotWellFormed, readIndex, readPacket } from "../helpers/corpus";
import { PostgresServer } from "../helpers/postgres";

const ASSETS = loadPageAssets(path.join(__dirname, "../../nodes/voevent-archive-db/page"));
const BASE_PATH = "/voevent/archive";

/** voeventdb's synopsis `voevent` object: exactly these keys. */
const VOEVENTDB_VOEVENT_KEYS = [
  "author_datetime",
  "author_ivorn",
  "id",
  "ivorn",
  "received",
  "role",
  "stream",
  "version",
];
const VOEVENTDB_SYNOPSIS_KEYS = ["coords", "refs", "relevant_urls", "voevent"];

/** Real corpus packets, distinct IVORNs, the first `n`. */
function corpusPackets(n: number): Buffer[] {
  const out: Buffer[] = [];
  const seen = new Set<string>();
  for (const row of readIndex()) {
    if (out.length >= n) break;
    if (isMarkedNotWellFormed(row) || !row.ivorn.startsWith("ivo://") || seen.has(row.ivorn)) continue;
    const bytes = readPacket(row.file);
    try {
      const rec = recordFromPacket(bytes, new Date());
      if (seen.has(rec.ivorn)) continue;
      seen.add(rec.ivorn);
      out.push(bytes);
    } catch {
      // not a packet the archive takes
    }
  }
  assert.equal(out.length, n, `${n} corpus packets`);
  return out;
}

const KEY = "8C3F2A71D0E4B95A";
const USER = "GCN test key <gcn@example.org>";
/** A user ID is anyone's text: the search page shows it as text, and nothing of it runs. */
const HOSTILE_USER = `<img src=x onerror="window.__xss='user id'"><script>window.__xss='script'</script>`;

/** msg.signature as receivers and subscribers set it (and as anything upstream might). */
const INPUTS: Array<{ given: unknown; kept: ArchiveSignature | null }> = [
  {
    given: {
      verdict: "signed",
      keyId: KEY,
      userId: USER,
      fingerprint: `0F1E2D3C4B5A69788796A5B4${KEY}`,
      reason: `signed by ${KEY} (${USER})`,
    },
    kept: { verdict: "signed", keyId: KEY, userId: USER },
  },
  {
    given: { verdict: "bad", keyId: KEY, userId: USER, reason: "bad signature" },
    kept: { verdict: "bad", keyId: KEY, userId: USER },
  },
  {
    given: { verdict: "unknown-key", keyId: "35F3D633A4FDD30A", userId: null, reason: "unknown key" },
    kept: { verdict: "unknown-key", keyId: "35F3D633A4FDD30A", userId: null },
  },
  {
    given: { verdict: "unsigned", keyId: null, userId: null, reason: "no signature" },
    kept: { verdict: "unsigned", keyId: null, userId: null },
  },
  { given: undefined, kept: null },
  // Not one of src/signature's verdicts: nothing is kept.
  { given: { verdict: "trusted", keyId: KEY }, kept: null },
  { given: "signed", kept: null },
  // Over the limit: cut and marked.
  {
    given: { verdict: "malformed", keyId: "k".repeat(5000), userId: HOSTILE_USER },
    kept: {
      verdict: "malformed",
      keyId: `${"k".repeat(ARCHIVE_LIMITS.maxSignatureText)}…`,
      userId: HOSTILE_USER,
    },
  },
];

describe("archive: what is kept of msg.signature", () => {
  it("a verdict of src/signature with key ID and user ID, cut at maxSignatureText; nothing else", () => {
    for (const { given, kept } of INPUTS)
      assert.deepEqual(archiveSignature(given), kept, JSON.stringify(given));
    for (const odd of [null, 42, [], { verdict: 1 }, { keyId: KEY }, { verdict: "" }]) {
      assert.equal(archiveSignature(odd), null, JSON.stringify(odd));
    }
    assert.deepEqual(archiveSignature({ verdict: "signed", keyId: 7, userId: {} }), {
      verdict: "signed",
      keyId: null,
      userId: null,
    });
  });
});

for (const kind of ["embedded", "postgres"] as const) {
  describeCorpus(`archive: signature verdicts in the ${kind} store`, function (this: Mocha.Suite) {
    this.timeout(120_000);
    let dir = "";
    let server: PostgresServer | undefined;
    let store: ArchiveStore | undefined;
    const packets = corpusPackets(INPUTS.length + 1);
    const file = () => path.join(dir, "archive.sqlite");

    function open(): Promise<ArchiveStore> {
      if (kind === "embedded") return openArchive({ store: "embedded", file: file() });
      assert.ok(server);
      return openArchive(server.config());
    }

    /** The packet table's columns, read without the store. */
    async function columns(): Promise<string[]> {
      if (kind === "embedded") {
        const { Database } = require("node-sqlite3-wasm") as typeof import("node-sqlite3-wasm");
        const db = new Database(file());
        try {
          // The store writes in WAL mode under exclusive locking (the WASM file layer has no
          // shared memory for the log's index): a reader must lock the same way.
          db.exec("PRAGMA locking_mode=EXCLUSIVE");
          return (db.all("SELECT name FROM pragma_table_info('voevent')") as Array<{ name: string }>).map(
            (r) => r.name,
          );
        } finally {
          db.close();
        }
      }
      assert.ok(server);
      const client = new pg.Client(server.config());
      await client.connect();
      try {
        const r = await client.query<{ column_name: string }>(
          "SELECT column_name FROM information_schema.columns WHERE table_name = 'voevent'",
        );
        return r.rows.map((row) => row.column_name);
      } finally {
        await client.end();
      }
    }

    /**
     * An archive as this morning's schema made it (the tables without the signature column) with
     * one packet in it, written by hand as that version wrote it.
     */
    async function makeOldArchive(xml: Buffer): Promise<void> {
      const rec = recordFromPacket(xml, new Date("2026-12-06T08:00:00Z"));
      const values = [rec.ivorn, rec.stream, rec.role, rec.version, rec.authorIvorn];
      const insert =
        "INSERT INTO voevent (ivorn, stream, role, version, author_ivorn, author_datetime, received, xml)";
      if (kind === "embedded") {
        const { Database } = require("node-sqlite3-wasm") as typeof import("node-sqlite3-wasm");
        const db = new Database(file());
        try {
          for (const s of schema("sqlite")) db.exec(s);
          db.run(`${insert} VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, [
            ...values,
            rec.authorDatetime?.getTime() ?? null,
            rec.receivedAt.getTime(),
            rec.xml,
          ]);
        } finally {
          db.close();
        }
        return;
      }
      assert.ok(server);
      const client = new pg.Client(server.config());
      await client.connect();
      try {
        for (const s of schema("postgres")) if (!/ADD COLUMN/.test(s)) await client.query(s);
        await client.query(`${insert} VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
          ...values,
          rec.authorDatetime,
          rec.receivedAt,
          rec.xml,
        ]);
      } finally {
        await client.end();
      }
    }

    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), "archive-signature-"));
      if (kind === "postgres") server = await PostgresServer.start();
    });

    after(async () => {
      await store?.close();
      await server?.close();
      if (dir !== "") rmSync(dir, { recursive: true, force: true });
    });

    it("an archive made before the signature column opens, gains it, and keeps its packets", async () => {
      await makeOldArchive(packets[0]);
      assert.ok(!(await columns()).includes("signature"), "the old schema has no signature column");
      store = await open();
      const old = await store.list({ filters: {}, pagination: { limit: 10, offset: 0, order: "id" } });
      assert.equal(old.length, 1);
      assert.equal(old[0].signature, null, "an old packet has no verdict");
      assert.equal(old[0].xml.toString("utf8"), packets[0].toString("utf8"));
      await store.close();
      assert.ok((await columns()).includes("signature"), "the column was added");
      // Opening again finds the column there (no second ALTER, no error).
      store = await open();
      assert.equal(await store.count({}), 1);
    });

    it("stores real packets with their verdicts and gives them back; voeventdb's fields stay voeventdb's", async () => {
      assert.ok(store);
      const records: ArchiveRecord[] = INPUTS.map(({ given }, i) =>
        recordFromPacket(packets[i + 1], new Date(Date.UTC(2026, 11, 6, 9, 0, i)), { signature: given }),
      );
      assert.deepEqual(await store.insertBatch(records), { stored: records.length, duplicates: 0 });
      const listed = await store.list({ filters: {}, pagination: { limit: 100, offset: 1, order: "id" } });
      assert.deepEqual(
        listed.map((p) => [p.ivorn, p.signature]),
        records.map((r, i) => [r.ivorn, INPUTS[i].kept]),
      );
      for (const [i, r] of records.entries()) {
        const synopsis = await store.synopsis(r.ivorn);
        assert.ok(synopsis);
        assert.deepEqual(Object.keys(synopsis.voevent).sort(), VOEVENTDB_VOEVENT_KEYS, r.ivorn);
        const kept = INPUTS[i].kept;
        if (kept === null) {
          assert.deepEqual(
            Object.keys(synopsis).sort(),
            VOEVENTDB_SYNOPSIS_KEYS,
            `${r.ivorn}: voeventdb's keys only`,
          );
        } else {
          assert.deepEqual(synopsis.signature, kept, r.ivorn);
          assert.deepEqual(Object.keys(synopsis).sort(), [...VOEVENTDB_SYNOPSIS_KEYS, "signature"].sort());
        }
      }
    });

    it("the API: the synopsis' separate key, the search page's rows and the feeds' summaries", async () => {
      assert.ok(store);
      const s = store;
      const api = new ArchiveApi({ path: BASE_PATH, store: async () => s, assets: ASSETS, version: "9.9.9" });
      const http1 = http.createServer((req, res) => {
        if (!api.handle(new URL(req.url ?? "/", "http://x").pathname, req, res)) {
          res.writeHead(418);
          res.end();
        }
      });
      await new Promise<void>((r) => http1.listen(0, "127.0.0.1", r));
      const root = `http://127.0.0.1:${(http1.address() as AddressInfo).port}${BASE_PATH}`;
      try {
        const signedIvorn = recordFromPacket(packets[1], new Date()).ivorn;
        const plainIvorn = recordFromPacket(packets[5], new Date()).ivorn;
        const synopsisOf = async (ivorn: string) => {
          const res = await fetch(`${root}/apiv1/packet/synopsis/${encodeURIComponent(ivorn)}`);
          assert.equal(res.status, 200);
          return (await res.json()) as { result: Record<string, unknown> };
        };
        const signed = await synopsisOf(signedIvorn);
        assert.deepEqual(signed.result.signature, INPUTS[0].kept);
        assert.deepEqual(Object.keys(signed.result.voevent as object).sort(), VOEVENTDB_VOEVENT_KEYS);
        const plain = await synopsisOf(plainIvorn);
        assert.deepEqual(Object.keys(plain.result).sort(), VOEVENTDB_SYNOPSIS_KEYS);

        const search = (await (await fetch(`${root}/search?order=id&limit=100`)).json()) as {
          rows: Array<{ ivorn: string; signature: ArchiveSignature | null }>;
        };
        const bySearch = new Map(search.rows.map((r) => [r.ivorn, r.signature]));
        assert.deepEqual(bySearch.get(signedIvorn), INPUTS[0].kept);
        assert.equal(bySearch.get(plainIvorn), null);

        const parser = new Parser();
        for (const format of ["rss", "atom"] as const) {
          const feed = await parser.parseString(
            await (await fetch(`${root}/feed.${format}?limit=100`)).text(),
          );
          /** The item's text as a reader shows it (the parser's snippets: markup removed, entities decoded). */
          const item = (ivorn: string): string => {
            const found = feed.items.find((it) => it.guid === ivorn || it.id === ivorn) as
              | (Record<string, unknown> & { contentSnippet?: string })
              | undefined;
            assert.ok(found, `${format}: an item for ${ivorn}`);
            return [found.contentSnippet, found["content:encodedSnippet"]]
              .filter((t) => typeof t === "string")
              .join(" ");
          };
          assert.ok(
            item(signedIvorn).includes(`Signature: signed (key ${KEY}, ${USER})`),
            `${format}: ${item(signedIvorn)}`,
          );
          assert.doesNotMatch(item(plainIvorn), /Signature:/, format);
        }

        // The search page in Chromium: the Signature column, as text only.
        const browser = await launchBrowser();
        try {
          const page = await browser.newPage();
          const errors: string[] = [];
          page.on("pageerror", (e) => errors.push(String(e)));
          await page.goto(`${root}/?order=id&limit=100`);
          await page.waitForFunction(() => document.body.dataset.ready === "true", undefined, {
            timeout: 20_000,
          });
          const header = await page.locator("#results thead th").allTextContents();
          const col = header.indexOf("Signature");
          assert.ok(col >= 0, `a Signature column: ${header.join(", ")}`);
          const rows = await page.locator("#results tbody tr").evaluateAll(
            (trs, c) =>
              trs.map((tr) => {
                const cells = tr.querySelectorAll("td");
                const sig = cells[c] as HTMLElement;
                return {
                  ivorn: cells[cells.length - 1]?.textContent ?? "",
                  text: sig.textContent,
                  title: sig.title,
                };
              }),
            col,
          );
          const shown = new Map(rows.map((r) => [r.ivorn, r]));
          for (const [i, { kept }] of INPUTS.entries()) {
            const ivorn = recordFromPacket(packets[i + 1], new Date()).ivorn;
            const row = shown.get(ivorn);
            assert.ok(row, `a row for ${ivorn}`);
            assert.equal(row.text, kept === null ? "" : kept.verdict, ivorn);
            assert.equal(
              row.title,
              kept === null ? "" : [kept.keyId, kept.userId].filter(Boolean).join(" "),
              ivorn,
            );
          }
          await new Promise((r) => setTimeout(r, 300));
          assert.equal(
            await page.evaluate(() => (window as unknown as { __xss?: string }).__xss ?? null),
            null,
          );
          assert.equal(await page.locator("#results img, #results script").count(), 0);
          assert.deepEqual(errors, []);
        } finally {
          await browser.close();
        }
      } finally {
        http1.closeAllConnections();
        await new Promise((r) => http1.close(r));
      }
    });
  });
}
