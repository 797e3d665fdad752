/**
 * Both archive stores — the embedded SQLite file and a real PostgreSQL server started by the test
 * — loaded with the real corpus packets and asked every filter (each definition's examples),
 * every order, every map, synopsis and XML: both must give the answers computed here in plain
 * JavaScript from the records, and so the same answers. fast-check drives cones, dates and IVORN
 * prefixes/substrings of any content through both: a result equal to the model, or BAD_QUERY.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { FILTERS, parseArchiveQuery } from "../../src/archive/filters";
import { recordFromPacket } from "../../src/archive/ingest";
import { openArchive } from "../../src/archive/open";
import type { SqlStore } from "../../src/archive/sql-store";
import {
  ArchiveError,
  type ArchiveFilters,
  type ArchiveQuery,
  type ArchiveRecord,
  type ArchiveStore,
} from "../../src/archive/types";
import { FUZZ_SEED } from "../fuzz/config";
import { describeCorpus, isMarkedNotWellFormed, readIndex, readPacket } from "../helpers/corpus";
import { PostgresServer } from "../helpers/postgres";

// ---- the model: voeventdb's semantics over the records, in plain JavaScript ----

function angularDistance(ra1: number, dec1: number, ra2: number, dec2: number): number {
  const r = Math.PI / 180;
  const s =
    Math.sin(((dec2 - dec1) * r) / 2) ** 2 +
    Math.cos(dec1 * r) * Math.cos(dec2 * r) * Math.sin(((ra2 - ra1) * r) / 2) ** 2;
  return (2 * Math.asin(Math.min(1, Math.sqrt(s)))) / r;
}

/** true / false, or null when a position lies within 1e-6° of the cone's edge (either answer is right). */
function coordMatches(c: { ra: number; dec: number }, f: ArchiveFilters): boolean | null {
  if (f.dec_gt !== undefined && !(c.dec > f.dec_gt)) return false;
  if (f.dec_lt !== undefined && !(c.dec < f.dec_lt)) return false;
  if (f.cone !== undefined) {
    const d = angularDistance(c.ra, c.dec, f.cone.ra, f.cone.dec);
    if (Math.abs(d - f.cone.radius) < 1e-6) return null;
    return d <= f.cone.radius;
  }
  return true;
}

class Model {
  readonly stored: ArchiveRecord[] = [];
  constructor(records: readonly ArchiveRecord[]) {
    const seen = new Set<string>();
    for (const r of records) {
      if (seen.has(r.ivorn)) continue;
      seen.add(r.ivorn);
      this.stored.push(r);
    }
  }

  ncites(ivorn: string): number {
    let n = 0;
    for (const r of this.stored) for (const c of r.cites) if (c.refIvorn === ivorn) n++;
    return n;
  }

  /** true / false, or null when the answer depends on a cone edge. */
  matches(r: ArchiveRecord, f: ArchiveFilters): boolean | null {
    const t = r.authorDatetime?.getTime();
    if (f.authored_since !== undefined && (t === undefined || t < f.authored_since.getTime())) return false;
    if (f.authored_until !== undefined && (t === undefined || t > f.authored_until.getTime())) return false;
    if (f.cited !== undefined && this.ncites(r.ivorn) > 0 !== f.cited) return false;
    if (f.coord !== undefined && r.coords.length > 0 !== f.coord) return false;
    if (f.ivorn_contains !== undefined && !f.ivorn_contains.every((s) => r.ivorn.includes(s))) return false;
    if (
      f.ivorn_prefix !== undefined &&
      f.ivorn_prefix.length > 0 &&
      !f.ivorn_prefix.some((s) => r.ivorn.startsWith(s))
    )
      return false;
    if (f.ref_any !== undefined && r.cites.length > 0 !== f.ref_any) return false;
    if (
      f.ref_contains !== undefined &&
      !r.cites.some((c) => f.ref_contains?.some((s) => c.refIvorn.includes(s)))
    )
      return false;
    if (f.ref_exact !== undefined && !r.cites.some((c) => f.ref_exact?.includes(c.refIvorn))) return false;
    if (f.role !== undefined && !f.role.includes(r.role)) return false;
    if (f.stream !== undefined && !f.stream.includes(r.stream)) return false;
    if (f.cone !== undefined || f.dec_gt !== undefined || f.dec_lt !== undefined) {
      const m = r.coords.map((c) => coordMatches(c, f));
      if (m.includes(true)) return true;
      if (m.includes(null)) return null;
      return false;
    }
    return true;
  }

  /** The records that match, and those on a cone's edge. */
  select(f: ArchiveFilters): { sure: ArchiveRecord[]; edge: ArchiveRecord[] } {
    const sure: ArchiveRecord[] = [];
    const edge: ArchiveRecord[] = [];
    for (const r of this.stored) {
      const m = this.matches(r, f);
      if (m === true) sure.push(r);
      else if (m === null) edge.push(r);
    }
    return { sure, edge };
  }

  page(q: ArchiveQuery): ArchiveRecord[] {
    const rows = this.select(q.filters).sure.map((r) => ({ r, id: this.stored.indexOf(r) }));
    const key = q.pagination.order.replace(/^-/, "");
    const desc = q.pagination.order.startsWith("-");
    rows.sort((a, b) => {
      let c = 0;
      if (key === "id") c = desc ? b.id - a.id : a.id - b.id;
      else if (key === "ivorn") {
        const x = Buffer.from(a.r.ivorn);
        const y = Buffer.from(b.r.ivorn);
        c = desc ? Buffer.compare(y, x) : Buffer.compare(x, y);
      } else {
        const x = a.r.authorDatetime?.getTime();
        const y = b.r.authorDatetime?.getTime();
        if (x === undefined && y === undefined) c = 0;
        else if (x === undefined) c = desc ? -1 : 1;
        else if (y === undefined) c = desc ? 1 : -1;
        else c = desc ? y - x : x - y;
      }
      return c !== 0 ? c : a.id - b.id;
    });
    return rows.slice(q.pagination.offset, q.pagination.offset + q.pagination.limit).map((x) => x.r);
  }

  countBy(f: ArchiveFilters, key: (r: ArchiveRecord) => string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.select(f).sure) out[key(r)] = (out[key(r)] ?? 0) + 1;
    return out;
  }
}

function month(r: ArchiveRecord): string {
  const d = r.authorDatetime;
  if (d === null) return "null";
  return `${String(d.getUTCFullYear()).padStart(4, "0")}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
}

function sorted<T>(xs: T[]): T[] {
  return [...xs].sort();
}

/** The corpus packets (well-formed VOEvents), and each again under a new IVORN that cites the first. */
function corpusRecords(): ArchiveRecord[] {
  const received = new Date("2026-03-04T05:06:07.890Z");
  const out: ArchiveRecord[] = [];
  const copies: ArchiveRecord[] = [];
  for (const row of readIndex()) {
    if (isMarkedNotWellFormed(row) || !row.ivorn.startsWith("ivo://")) continue;
    const bytes = readPacket(row.file);
    const rec = recordFromPacket(bytes, received);
    out.push(rec);
    const text = bytes.toString("utf8");
    const at = text.indexOf(`${rec.ivorn}"`);
    if (at < 0) continue;
    const copyIvorn = `${rec.ivorn}_%_copy`;
    const copy = recordFromPacket(
      Buffer.from(text.slice(0, at) + copyIvorn + text.slice(at + rec.ivorn.length)),
      received,
    );
    copies.push({
      ...copy,
      cites: [...copy.cites, { refIvorn: rec.ivorn, citeType: "followup", description: "copy" }],
    });
  }
  // A repeat within the batch and of a stored packet: counted, not stored.
  return [...out, out[0], ...copies, out[1]];
}

describeCorpus(
  "archive stores: embedded and PostgreSQL give voeventdb's answers",
  function (this: Mocha.Suite) {
    this.timeout(180_000);
    let pg: PostgresServer;
    let dir: string;
    const stores: Array<{ name: string; store: ArchiveStore }> = [];
    const records = corpusRecords();
    const model = new Model(records);
    const loads = new Map<string, { stored: number; duplicates: number }>();

    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), "voevent-archive-"));
      pg = await PostgresServer.start();
      stores.push({
        name: "embedded",
        store: await openArchive({ store: "embedded", file: path.join(dir, "a.sqlite") }),
      });
      stores.push({ name: "postgres", store: await openArchive(pg.config()) });
      // Loaded here (in batches of 25, with repeats) so that every test sees the same archive.
      for (const { name, store } of stores) {
        let stored = 0;
        let duplicates = 0;
        for (let k = 0; k < records.length; k += 25) {
          const r = await store.insertBatch(records.slice(k, k + 25));
          stored += r.stored;
          duplicates += r.duplicates;
        }
        loads.set(name, { stored, duplicates });
      }
    });

    after(async () => {
      for (const s of stores) await s.store.close();
      await pg?.close();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    it("stores each IVORN once and counts the repeats", async () => {
      for (const { name, store } of stores) {
        const loaded = loads.get(name);
        assert.deepEqual(
          loaded,
          { stored: model.stored.length, duplicates: records.length - model.stored.length },
          name,
        );
        assert.deepEqual(await store.insertBatch(records.slice(0, 3)), { stored: 0, duplicates: 3 }, name);
        assert.equal(await store.count({}), model.stored.length, name);
      }
      assert.ok(model.stored.length > 120);
    });

    async function expectQuery(qs: string): Promise<void> {
      const q = parseArchiveQuery(new URLSearchParams(qs));
      const { sure, edge } = model.select(q.filters);
      assert.equal(edge.length, 0, `${qs}: the fixed examples stay off cone edges`);
      const want = sorted(sure.map((r) => r.ivorn));
      const all = { ...q, pagination: { ...q.pagination, limit: 10_000, offset: 0 } };
      for (const { name, store } of stores) {
        assert.equal(await store.count(q.filters), want.length, `${name} count ${qs}`);
        assert.deepEqual(sorted(await store.listIvorn(all)), want, `${name} list/ivorn ${qs}`);
        assert.deepEqual(
          await store.listIvorn(q),
          model.page(q).map((r) => r.ivorn),
          `${name} page ${qs}`,
        );
      }
    }

    it("every example of every filter, as count and list/ivorn", async () => {
      let nonEmpty = 0;
      for (const def of FILTERS) {
        for (const example of def.examples) {
          await expectQuery(new URLSearchParams([[def.key, example]]).toString());
          if (model.select(parseArchiveQuery({ [def.key]: example }).filters).sure.length > 0) nonEmpty++;
        }
      }
      assert.ok(nonEmpty >= 20, `only ${nonEmpty} examples match something in the corpus`);
    });

    it("filters that match corpus packets: streams, prefixes, cites, positions, dates, and combined", async () => {
      const queries = [
        "stream=nasa.gsfc.gcn/SWIFT",
        "stream=nasa.gsfc.gcn/SWIFT&stream=nasa.gsfc.gcn/Fermi",
        "role=test&role=utility",
        "ivorn_prefix=ivo://nasa.gsfc.gcn/SWIFT%23BAT",
        "ivorn_prefix=ivo://gwnet&ivorn_prefix=ivo://nasa.gsfc.gcn/Fermi",
        "ivorn_contains=Pos&ivorn_contains=SWIFT",
        "ivorn_contains=_%25_copy",
        "ivorn_contains=_",
        "ivorn_prefix=ivo://nasa.gsfc.gcn/Fermi%23GBM_%25",
        "ref_exact=ivo://nasa.gsfc.gcn/Fermi%23GBM_Alert_2018-01-16T00:36:52.81_537755817_1-994",
        "ref_contains=GBM&ref_contains=LVC",
        "ref_any=true&coord=false",
        "cited=true",
        "cited=false&role=observation",
        "coord=true&dec_gt=0",
        "dec_gt=-30&dec_lt=30",
        "cone=[268.87,-20.3153,1]",
        "cone=[180,0,90]",
        "cone=[0,0,180]",
        "cone=[400,-10,45]&role=observation",
        "authored_since=2018&authored_until=2019-12-31T23:59:59",
        "authored_since=2019-12&stream=nasa.gsfc.gcn/SWIFT",
        "authored_until=1971",
      ];
      for (const qs of queries) {
        await expectQuery(qs);
        for (const order of ["id", "-id", "ivorn", "-ivorn", "author_datetime", "-author_datetime"]) {
          await expectQuery(`${qs}&order=${order}&limit=7&offset=2`);
        }
      }
      assert.ok(model.select(parseArchiveQuery({ cone: "[268.87,-20.3153,1]" }).filters).sure.length >= 1);
    });

    it("every order pages the whole archive the same way", async () => {
      for (const order of ["id", "-id", "ivorn", "-ivorn", "author_datetime", "-author_datetime"]) {
        for (const [limit, offset] of [
          [10, 0],
          [10, 35],
          [100, 0],
          [5, 1000],
          [0, 0],
        ]) {
          await expectQuery(`order=${order}&limit=${limit}&offset=${offset}`);
        }
      }
    });

    it("the maps: stream, role, stream and role, authored month", async () => {
      for (const qs of ["", "role=observation", "coord=true", "ivorn_prefix=ivo://nasa.gsfc.gcn"]) {
        const f = parseArchiveQuery(new URLSearchParams(qs)).filters;
        const streamRole: Record<string, Record<string, number>> = {};
        for (const r of model.select(f).sure) {
          streamRole[r.stream] ??= {};
          streamRole[r.stream][r.role] = (streamRole[r.stream][r.role] ?? 0) + 1;
        }
        for (const { name, store } of stores) {
          assert.deepEqual(
            await store.mapStreamCount(f),
            model.countBy(f, (r) => r.stream),
            `${name} stream ${qs}`,
          );
          assert.deepEqual(
            await store.mapRoleCount(f),
            model.countBy(f, (r) => r.role),
            `${name} role ${qs}`,
          );
          assert.deepEqual(await store.mapStreamRoleCount(f), streamRole, `${name} stream_role ${qs}`);
          assert.deepEqual(
            await store.mapAuthoredMonthCount(f),
            model.countBy(f, month),
            `${name} month ${qs}`,
          );
        }
      }
    });

    it("list/ivorn_nrefs and list/ivorn_ncites", async () => {
      for (const qs of [
        "limit=10000",
        "ref_any=true&limit=10000",
        "cited=true&order=-ivorn",
        "stream=nasa.gsfc.gcn/Fermi",
      ]) {
        const q = parseArchiveQuery(new URLSearchParams(qs));
        const page = model.page(q);
        for (const { name, store } of stores) {
          assert.deepEqual(
            await store.listIvornNrefs(q),
            page.map((r) => [r.ivorn, r.cites.length]),
            `${name} nrefs ${qs}`,
          );
          assert.deepEqual(
            await store.listIvornNcites(q),
            page.map((r) => [r.ivorn, model.ncites(r.ivorn)]),
            `${name} ncites ${qs}`,
          );
        }
      }
    });

    it("synopsis and XML of every packet; an unknown IVORN is null", async () => {
      const iso = (d: Date | null) => (d === null ? null : d.toISOString().replace(/\.000Z$/, "Z"));
      const fromPython = (s: string | null) =>
        s === null ? null : new Date(s).toISOString().replace(/\.000Z$/, "Z");
      for (const r of model.stored) {
        for (const { name, store } of stores) {
          const xml = await store.packetXml(r.ivorn);
          assert.ok(xml?.equals(Buffer.from(r.xml)), `${name} xml ${r.ivorn}`);
          const s = await store.synopsis(r.ivorn);
          assert.ok(s !== null);
          assert.equal(s.voevent.ivorn, r.ivorn);
          assert.equal(s.voevent.stream, r.stream);
          assert.equal(s.voevent.role, r.role);
          assert.equal(s.voevent.version, r.version);
          assert.equal(s.voevent.author_ivorn, r.authorIvorn);
          assert.equal(fromPython(s.voevent.author_datetime), iso(r.authorDatetime), `${name} ${r.ivorn}`);
          assert.equal(s.voevent.received, "2026-03-04T05:06:07.890000+00:00");
          assert.deepEqual(
            s.coords.map((c) => ({ ...c, time: fromPython(c.time) })),
            r.coords.map((c) => ({
              ra: c.ra,
              dec: c.dec,
              error: c.error,
              time: iso(c.time),
              system: c.system,
            })),
          );
          assert.deepEqual(
            s.refs,
            r.cites.map((c) => ({
              ref_ivorn: c.refIvorn,
              cite_type: c.citeType,
              description: c.description,
            })),
          );
          if (r.ivorn.startsWith("ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_"))
            assert.equal(s.relevant_urls.length, 2);
        }
      }
      for (const { store } of stores) {
        assert.equal(await store.synopsis("ivo://nowhere/none#0"), null);
        assert.equal(await store.packetXml("ivo://nowhere/none#0"), null);
        const known = model.stored.slice(0, 5).map((r) => r.ivorn);
        assert.deepEqual(
          sorted([...(await store.existing([...known, "ivo://nowhere/none#0"]))]),
          sorted(known),
        );
        const last = await store.lastChange();
        assert.equal(last.receivedAt?.toISOString(), "2026-03-04T05:06:07.890Z");
      }
    });

    it("bad queries are BAD_QUERY naming the key and the value; limit above the cap is LIMIT", () => {
      const bad: Array<[string, string]> = [
        ["authored_since=yesterday", "authored_since"],
        ["authored_until=2015-13", "authored_until"],
        ["cited=maybe", "cited"],
        ["cone=[1,2]", "cone"],
        ["cone=[1,95,3]", "cone"],
        ["cone=[1,2,-3]", "cone"],
        ["cone=10,20,5", "cone"],
        ["coord=1", "coord"],
        ["dec_gt=91", "dec_gt"],
        ["dec_lt=NaN", "dec_lt"],
        ["ref_any=yes", "ref_any"],
        ["role=retraction", "role"],
        ["ivorn_prefix=a%00b", "ivorn_prefix"],
        ["order=size", "order"],
        ["offset=-1", "offset"],
        ["limit=ten", "limit"],
        ["colour=red", "colour"],
      ];
      for (const [qs, key] of bad) {
        assert.throws(
          () => parseArchiveQuery(new URLSearchParams(qs)),
          (e: unknown) =>
            e instanceof ArchiveError && e.code === "BAD_QUERY" && e.key === key && e.message.includes(key),
          qs,
        );
      }
      const value = new URLSearchParams("cone=[1,95,3]").get("cone") ?? "";
      assert.throws(
        () => parseArchiveQuery({ cone: value }),
        (e: unknown) => e instanceof Error && e.message.includes("[1,95,3]"),
      );
      assert.throws(
        () => parseArchiveQuery(new URLSearchParams("limit=10001")),
        (e: unknown) => e instanceof ArchiveError && e.code === "LIMIT" && e.key === "limit",
      );
      const q = parseArchiveQuery(new URLSearchParams(""));
      assert.deepEqual(q.pagination, { limit: 100, offset: 0, order: "id" });
      assert.deepEqual(parseArchiveQuery({ cone: [10, 20, 5], limit: 3 }).filters.cone, {
        ra: 10,
        dec: 20,
        radius: 5,
      });
    });

    /** Runs the query on both stores: the model's answer, or BAD_QUERY from the parser. */
    async function property(params: Record<string, string>): Promise<void> {
      let q: ArchiveQuery;
      try {
        q = parseArchiveQuery({ ...params, limit: "10000" });
      } catch (e) {
        assert.ok(e instanceof ArchiveError && e.code === "BAD_QUERY", String(e));
        return;
      }
      const { sure, edge } = model.select(q.filters);
      const must = new Set(sure.map((r) => r.ivorn));
      const may = new Set(edge.map((r) => r.ivorn));
      for (const { name, store } of stores) {
        const got = await store.listIvorn(q);
        for (const iv of must) assert.ok(got.includes(iv), `${name} ${JSON.stringify(params)} misses ${iv}`);
        for (const iv of got)
          assert.ok(must.has(iv) || may.has(iv), `${name} ${JSON.stringify(params)} gives ${iv}`);
        const n = await store.count(q.filters);
        assert.ok(n >= must.size && n <= must.size + may.size, `${name} count ${JSON.stringify(params)}`);
      }
    }

    const ivorns = () => model.stored.map((r) => r.ivorn);
    const fuzzText = () =>
      fc.oneof(
        fc.string({ maxLength: 30 }),
        fc.string({ unit: "binary", maxLength: 30 }),
        fc.string({
          unit: fc.constantFrom("%", "_", "*", "?", "[", "]", "\\", "#", "/", "a", "^", "!"),
          maxLength: 8,
        }),
        fc
          .tuple(fc.constantFrom(...ivorns()), fc.nat(), fc.string({ maxLength: 3 }))
          .map(([iv, n, tail]) => iv.slice(0, n % (iv.length + 1)) + (n % 3 === 0 ? tail : "")),
      );

    it("fast-check: IVORN prefixes and substrings of any content and length", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom("ivorn_prefix", "ivorn_contains", "ref_contains", "ref_exact", "stream"),
          fuzzText(),
          (key, v) => property({ [key]: v }),
        ),
        { numRuns: 150, seed: FUZZ_SEED },
      );
    });

    it("fast-check: cones of any centre and radius, declination bounds", async () => {
      const num = fc.oneof(
        fc.double({ min: -720, max: 720, noNaN: true }),
        fc.integer({ min: -400, max: 400 }),
      );
      await fc.assert(
        fc.asyncProperty(num, num, fc.oneof(num, fc.double({ min: 0, max: 5, noNaN: true })), (ra, dec, r) =>
          property({ cone: `[${ra},${dec},${r}]` }),
        ),
        { numRuns: 120, seed: FUZZ_SEED },
      );
      await fc.assert(
        fc.asyncProperty(fc.double({ min: -100, max: 100 }), fc.double({ min: -100, max: 100 }), (lo, hi) =>
          property({ dec_gt: String(lo), dec_lt: String(hi) }),
        ),
        { numRuns: 60, seed: FUZZ_SEED },
      );
      // Position and packet filters together (placeholders in the text's order in both dialects).
      await fc.assert(
        fc.asyncProperty(num, fc.double({ min: -90, max: 90, noNaN: true }), fuzzText(), (ra, dec, prefix) =>
          property({
            cone: `[${ra},${dec},40]`,
            ivorn_prefix: prefix.slice(0, 12),
            dec_gt: "-60",
            authored_since: "2010",
          }),
        ),
        { numRuns: 60, seed: FUZZ_SEED },
      );
    });

    it("fast-check: authored_since / authored_until of any date (or not a date)", async () => {
      const date = fc.oneof(
        fc
          .date({
            min: new Date("0001-01-01T00:00:00Z"),
            max: new Date("9999-12-31T23:59:59Z"),
            noInvalidDate: true,
          })
          .map((d) => d.toISOString()),
        fc
          .date({
            min: new Date("1960-01-01T00:00:00Z"),
            max: new Date("2030-01-01T00:00:00Z"),
            noInvalidDate: true,
          })
          .map((d) => d.toISOString().slice(0, 7)),
        fc.string({ maxLength: 25 }),
      );
      await fc.assert(
        fc.asyncProperty(date, date, (since, until) =>
          property({ authored_since: since, authored_until: until }),
        ),
        { numRuns: 100, seed: FUZZ_SEED },
      );
    });

    it("PostgreSQL: autovacuum keeps up with inserts, and settle() vacuums at once without lifting the query budget", async () => {
      const pgs = (await openArchive(pg.config(), { queryTimeoutMs: 300 })) as SqlStore;
      try {
        await pgs.count({}); // the schema is made (and checked) by the first request
        const options = await pgs.db.all(
          "SELECT relname, reloptions FROM pg_class WHERE relname IN ('voevent', 'coord', 'cite') ORDER BY relname",
          [],
        );
        for (const r of options)
          assert.ok(
            (r.reloptions as string[] | null)?.includes("autovacuum_vacuum_insert_scale_factor=0.02"),
            `${r.relname}: ${JSON.stringify(r.reloptions)}`,
          );
        await pgs.settle();
        // VACUUM marked every page of the packets all-visible: a count reads the index alone.
        const [v] = await pgs.db.all(
          "SELECT relpages, relallvisible FROM pg_class WHERE relname = 'voevent'",
          [],
        );
        assert.ok(Number(v.relpages) > 0);
        assert.equal(Number(v.relallvisible), Number(v.relpages));
        const plan = await pgs.db.all(
          "EXPLAIN (ANALYZE, COSTS OFF) SELECT count(*) FROM voevent v WHERE v.stream = $1",
          [model.stored[0].stream],
        );
        const text = plan.map((r) => String(Object.values(r)[0])).join("\n");
        if (text.includes("Index Only Scan")) assert.match(text, /Heap Fetches: 0/);
        // Every pooled connection still has the budget (settle's own was reset).
        const endless =
          "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) AS n FROM r";
        const results = await Promise.allSettled([1, 2, 3, 4, 5].map(() => pgs.db.all(endless, [])));
        for (const r of results)
          assert.ok(
            r.status === "rejected" && r.reason instanceof ArchiveError && r.reason.code === "TIMEOUT",
          );
        // The embedded store has nothing to settle.
        await stores[0].store.settle();
        assert.equal(await stores[0].store.count({}), model.stored.length);
      } finally {
        await pgs.close();
      }
    });

    it("a query over its time budget is TIMEOUT, and the store answers the next one", async () => {
      const emb = await openArchive(
        { store: "embedded", file: path.join(dir, "a.sqlite.budget") },
        { queryTimeoutMs: 300 },
      );
      const pgs = await openArchive(pg.config(), { queryTimeoutMs: 300 });
      try {
        const endless =
          "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) AS n FROM r";
        for (const s of [emb, pgs] as SqlStore[]) {
          await assert.rejects(
            s.db.all(endless, []),
            (e: unknown) => e instanceof ArchiveError && e.code === "TIMEOUT",
          );
          assert.equal(await s.count({}), s.kind === "embedded" ? 0 : model.stored.length);
        }
      } finally {
        await emb.close();
        await pgs.close();
      }
    });
  },
);
