/**
 * The archive's figures (issue 15): packets made from the corpus packets with new IVORNs, author
 * times and sky positions; ingest through the writer into each store; p99 of the four query kinds
 * (count with a stream filter, a 1° cone, list/ivorn limit 100, packet XML); disk per packet; the
 * import rate of the 4PiSky month file; and the embedded engines compared (SQLite/WASM, PGlite).
 *
 * Run: npx tsx bench/archive.ts [--count N] [--stores embedded,postgres] [--queries N]
 *                               [--no-import] [--no-engines]
 *                               [--journal delete|wal] [--synchronous full|normal|off]
 *                               [--batch N] [--rows N] [--page-size B] [--cache KiB]
 *                               [--times random|ordered]
 * (the embedded store's settings: default delete + full; --batch is the writer's maxBatchSize,
 * --rows the rows per INSERT statement, --page-size the page size of the new file, --cache the
 * page cache in KiB; --times: author times uniform over 8 years, the default, or rising with the
 * packets as a live archive gets them)
 * It prints the CPU per packet of the main thread (making the packets, the writer, packing the
 * batches), of the busiest other thread (the SQLite worker) and of the rest (GC helpers), and the
 * load average beside the rate: on the shared 2-vCPU machine the rate follows the load, the CPU
 * per packet much less.
 * Default --count 1000000 (about 5 GB per store on disk, in a temporary folder removed after).
 * PostgreSQL is started by the bench itself (test/helpers/postgres.ts, fsync off as in the tests).
 *
 * 2026-12-06, shared 2-vCPU machine (load average 4–5 from other work), --count 1000000:
 *   recordFromPacket (parse + ingest rules): 6,290 packets/s
 *   embedded: ingest through the writer 3,768 packets/s
 *   embedded: count stream=…  p50 2.0 ms, p99 24.1 ms   | postgres: p50 2.0 ms, p99 25.3 ms
 *   embedded: cone 1°         p50 1.0 ms, p99 14.8 ms   | postgres: p50 0.6 ms, p99 4.3 ms
 *   embedded: list/ivorn 100  p50 0.5 ms, p99 6.6 ms    | postgres: p50 0.3 ms, p99 3.8 ms
 *   embedded: packet/xml      p50 0.3 ms, p99 2.5 ms    | postgres: p50 0.2 ms, p99 3.3 ms
 *   disk per packet: embedded 5,627 bytes, postgres 2,958 bytes; postgres ingest 4,768 packets/s
 *   import of the 4PiSky month file (embedded): 1,744 packets/s (31,211 in 17.9 s)
 *   engines (earlier run, load ~3): node-sqlite3-wasm open 5 ms, 32,826 rows/s, 4,148 B/row;
 *   PGlite open 3,589 ms, 3,269 rows/s, 2,213 B/row.
 * The figures above are the rollback journal with synchronous=FULL and a node that parsed again.
 * 2026-12-06 ~23:50 UTC, load average 1.3–2.6, --count 200000 --stores embedded, same minutes:
 *   --journal delete --synchronous full: 6,819 packets/s; default (wal, normal): 8,162 packets/s
 *   archive node's work: 14,512 packets/s parsing again, 66,529–70,933 from the cached parse
 * 2026-12-07 ~00:00 UTC, load average 2.9–4.6, --count 1000000 --stores embedded (defaults):
 *   ingest 5,837 packets/s; count stream=… p50 2.5 / p99 50.4 ms; cone 0.7 / 5.5 ms;
 *   list/ivorn 0.4 / 2.1 ms; packet/xml 0.1 / 1.0 ms; 5,627 B/packet; month file 1,742 packets/s
 *   (recordFromPacket 4,151 packets/s, the node's work 19,666 packets/s in the same run)
 *
 * The write path reworked (2026-12-07, 00:55–01:35 UTC, load average 2–5 from other work), one
 * change at a time, --count 100000–200000 unless said:
 *   before (WAL + NORMAL, 1,000-record batches, a statement per row): 8,154–9,008 packets/s,
 *     87–93 µs of CPU per packet outside the main thread, 16–17 µs on it
 *   multi-row INSERTs (100 rows) and the batch posted as columns, its XML in one transferred
 *     buffer: worker CPU unchanged (93 µs): the per-row statements were not the cost
 *   page size 16 or 64 KiB instead of 4: 73–78 µs against 80 (noise: system time down, user up)
 *   one (zone, ran) index instead of the covering (zone, ran, x, y, z, voevent_id) and (dec, x,
 *     y, z, voevent_id): 59–79 µs against 80–93
 *   batches up to 10,000 records at 1M packets: 98 µs against 104 µs per packet outside the
 *     main thread with 1,000-record batches (WAL), 7,125 against 6,447 packets/s
 *   rollback journal + FULL instead of WAL + NORMAL, batches up to 10,000, same minutes:
 *     SQLite worker 46–47 µs against 55–60, 12,735–14,258 against 9,758–12,297 packets/s
 *   SQLite alone in one thread (the same rows, no worker, no packing): ~50–60 µs per packet, of
 *     which ~30 µs the XML (an empty blob: 25 µs in all) and ~20 µs the indexes (none: 35 µs)
 * Where the worker's time goes (--cpu-prof of the worker): SQLite's b-tree and page work in WASM
 * about half, writing pages (writeBuffer) and syncing (fsync, wall time, not CPU) most of the
 * rest, node-sqlite3-wasm's binding a few per cent. A transaction costs ~2 ms of worker CPU of
 * its own (100 µs more per packet at 50-record batches than at 500), hence large batches.
 * 2026-12-07 ~01:16–01:20 UTC, --count 1000000 --stores embedded (rollback + FULL, batches up to
 * 10,000 and 32 MiB, then 16 MiB), load average 2.4–3.0:
 *   ingest 9,313 and 9,439 packets/s; CPU per packet: main 13–16 µs, SQLite worker 65–69 µs,
 *   other threads 15–19 µs; count stream=… p50 2.0–2.1 / p99 23.6–25.0 ms; cone 1.4 / 3.0–4.2 ms;
 *   list/ivorn 0.5 / 1.6–4.7 ms; packet/xml 0.2 / 0.5–1.3 ms; 5,562 bytes per packet
 * At 1M the worker needs 65–69 µs per packet against 46–47 at 200k: the random index pages (author
 * time, zone) may no longer all stay in the 64 MiB page cache beside a batch's new pages, but a
 * 128 MiB cache (`--cache 131072`, 01:54 UTC, load 1.3) was no better: worker 82 µs, 8,442
 * packets/s; the third 64 MiB run (01:46 UTC, load 1.2) gave 76 µs, 8,741 packets/s. Not tried
 * yet: the XML in a table of its own (smaller voevent rows); an index on a hash of the IVORN
 * (prefix search needs the text index).
 *
 * The indexes against the archive's size (2026-12-07, 02:53–03:37 UTC, --count 1000000 --stores
 * embedded --no-import --no-engines --queries 100; the machine shared with seven other engineers'
 * work, load average 4–11, so every CPU figure is inflated by the load: compare runs of the same
 * minutes). The bench now prints the worker's kernel time and its CPU per packet by fifth of
 * the archive (how it grows). At 1M a batch is ~3,000 packets (the writer's 16 MiB): a random
 * key (sky position, author time) lands on most of a 4–5,000-page index's leaves in every
 * batch, each page written twice (journal, file), and that index's cost per packet grows with
 * the archive; a key appended at the end of a few hundred places (IVORN per template, stream,
 * role, received time) costs the same at any size.
 *   main (cone index (zone, ran)), load 5.2: worker 69 µs (19 kernel), by fifth 55 (11), 58
 *     (15), 69 (20), 79 (25), 84 (26); 7,381 packets/s. Load 9.6: 83 µs (20), by fifth 57 → 97
 *     µs; 3,889 packets/s. Load 6.7: 67 µs (19), by fifth 54, 62, 66, 70, 85 (27); 6,469
 *     packets/s. Cone p50 1.3–1.6, p99 4.2–14.4 ms.
 *   cone index (zone, voevent_id, ran), appended per zone, kept: load 7.2: 65 µs (16), by fifth
 *     48 (11), 61, 69, 71, 74 (20); 6,436 packets/s. Load 6.9–8.6: 70 µs (17), by fifth 64 (12),
 *     68, 73, 71, 74 (20); 4,660 packets/s. Load 8.2–9.0: 72 µs (16), by fifth 64, 68, 71, 75,
 *     83; 4,007 packets/s. Load 5.2: 60 µs (16), by fifth 53 (12), 60, 71, 54, 63 (19); 7,196
 *     packets/s. A 1° cone reads its zones whole: p50 3.4–7.8 ms, p99 9.1–21.8 ms, and 111.7 in
 *     the run at load 8–9 where list/ivorn's p99 was 79.8 and count stream=…'s 116.6 (the
 *     machine); otherwise count stream=… 22.9–75.9, list/ivorn 5.5–11.8, packet/xml 2.9–8.0.
 *   An archive with (zone, ran) opened with (zone, voevent_id, ran): the index built in 4.4 s
 *     for 1,000,000 positions (once).
 *   plus the author time as (30-day bucket, id, author_datetime), appended per bucket, dropped:
 *     load 5.4: 60 µs (13), by fifth 52, 57, 67, 64, 61 µs (flat); but `count authored_since`
 *     read every key of its buckets to test the time: p50 86.8 ms, p99 688 ms against 13.1 /
 *     31.1 ms with (author_datetime), and live alerts arrive in author-time order, so the plain
 *     index appends anyway: only this bench's author times (uniform over 8 years) are random.
 *   plus --page-size 16384, dropped: load 10.9: 74 µs (15), by fifth 51 (7), 67, 82, 87, 83;
 *     6,038 bytes per packet against 5,566.
 * The worker's profile after it (03:40 UTC, --count 200000, `node --cpu-prof --import tsx`, load
 * 4.7; worker 46 µs, 11 in the kernel, 12,596 packets/s): of its busy samples, SQLite's WASM
 * 51.5% (~34 µs per packet), writeBuffer (the page writes) 18.9%, fsync 16.0% (mostly waiting
 * on the disk), node-sqlite3-wasm's binding 5.6%. The main thread's: packBatch and its buffer
 * 30% (its 12 µs per packet), GC 20%.
 * The IVORN index is not random here (69 templates: 69 places, each growing) and a hash of the
 * IVORN would be: not tried. bench/archive-plans.ts prints every filter's query plan: each index
 * left is read by a filter (role, received: the narrowest covering index for a plain count).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { Database } from "node-sqlite3-wasm";
import { parseArchiveQuery } from "../src/archive/filters";
import { recordFromPacket, recordFromParsed } from "../src/archive/ingest";
import { openArchive } from "../src/archive/open";
import type { SqlStore } from "../src/archive/sql-store";
import type { ArchiveRecord, ArchiveStore } from "../src/archive/types";
import { ArchiveWriter } from "../src/archive/writer";
import { importSources } from "../src/cli/archive-import";
import { peekDoc, rememberParsed } from "../src/voevent/cache";
import { parseVOEvent } from "../src/voevent/parse";
import { corpusDir, isMarkedNotWellFormed, readIndex, readPacket } from "../test/helpers/corpus";
import { PostgresServer } from "../test/helpers/postgres";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "1000000" },
    stores: { type: "string", default: "embedded,postgres" },
    queries: { type: "string", default: "200" },
    "no-import": { type: "boolean" },
    "no-engines": { type: "boolean" },
    synchronous: { type: "string", default: "full" },
    journal: { type: "string", default: "delete" },
    rows: { type: "string", default: "100" },
    batch: { type: "string", default: "" },
    "page-size": { type: "string", default: "4096" },
    cache: { type: "string", default: "65536" },
    times: { type: "string", default: "random" },
  },
});
const COUNT = Number(values.count);
const QUERIES = Number(values.queries);

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

// ---- packets: corpus templates, new IVORNs, author times and positions ----
interface Template {
  rec: ArchiveRecord;
  head: string;
  tail: string;
}

function templates(): Template[] {
  const out: Template[] = [];
  for (const row of readIndex()) {
    if (isMarkedNotWellFormed(row) || !row.ivorn.startsWith("ivo://")) continue;
    const text = readPacket(row.file).toString("utf8");
    const rec = recordFromPacket(Buffer.from(text), new Date());
    const at = text.indexOf(`${rec.ivorn}"`);
    if (at < 0) continue;
    out.push({ rec, head: text.slice(0, at + rec.ivorn.length), tail: text.slice(at + rec.ivorn.length) });
  }
  return out;
}

let seed = 42;
function random(): number {
  // xorshift: the same packets on every run.
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return ((seed >>> 0) % 1_000_000) / 1_000_000;
}

const T0 = Date.UTC(2015, 0, 1);
const SPAN = 8 * 365 * 86_400_000;

function makeRecord(t: Template, i: number): ArchiveRecord {
  const ivorn = `${t.rec.ivorn}_b${i}`;
  const ra = random() * 360;
  const dec = (Math.asin(2 * random() - 1) * 180) / Math.PI;
  return {
    ...t.rec,
    ivorn,
    // random: uniform over 8 years (every insert lands somewhere in the author-time index);
    // ordered: rising with i within a minute's jitter, as a live archive receives its alerts.
    authorDatetime: new Date(
      values.times === "ordered"
        ? T0 + Math.floor((i / COUNT) * SPAN + random() * 60_000)
        : T0 + Math.floor(random() * SPAN),
    ),
    receivedAt: new Date(),
    xml: Buffer.from(`${t.head}_b${i}${t.tail}`),
    coords: t.rec.coords.length === 0 ? [] : [{ ...t.rec.coords[0], ra, dec }],
  };
}

function p99(samples: number[]): { p50: number; p99: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: s[Math.floor(s.length * 0.5)], p99: s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] };
}

function duSize(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.size;
  return Number(execFileSync("du", ["-sb", p]).toString().split("\t")[0]);
}

/** CPU time (user and system) of each of this process's threads, ms, by thread id (Linux /proc). */
function threadCpuMs(): Map<string, { user: number; sys: number }> {
  const out = new Map<string, { user: number; sys: number }>();
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(tid, { user: Number(f[11]) * 10, sys: Number(f[12]) * 10 });
    } catch {
      // the thread ended
    }
  }
  return out;
}

/**
 * CPU per packet between two readings, µs: the main thread, the busiest other thread (the SQLite
 * worker: all, and the part spent in the kernel: writes, syncs, reads) and the rest (V8's GC and
 * compiler helpers, libuv's pool).
 */
function cpuPerPacket(
  a: Map<string, { user: number; sys: number }>,
  b: Map<string, { user: number; sys: number }>,
): { main: number; worker: number; workerSys: number; rest: number } {
  const main = String(process.pid);
  const deltas: Array<{ all: number; sys: number }> = [];
  let mainMs = 0;
  for (const [tid, t] of b) {
    const before = a.get(tid) ?? { user: 0, sys: 0 };
    const d = { all: t.user + t.sys - before.user - before.sys, sys: t.sys - before.sys };
    if (tid === main) mainMs = d.all;
    else deltas.push(d);
  }
  deltas.sort((x, y) => y.all - x.all);
  const worker = deltas[0] ?? { all: 0, sys: 0 };
  const rest = deltas.slice(1).reduce((x, y) => x + y.all, 0);
  const per = (ms: number) => (ms * 1000) / COUNT;
  return { main: per(mainMs), worker: per(worker.all), workerSys: per(worker.sys), rest: per(rest) };
}

function load(): string {
  return `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`;
}

async function ingest(store: ArchiveStore, tpl: Template[]): Promise<number> {
  const writer = new ArchiveWriter(store, values.batch === "" ? {} : { maxBatchSize: Number(values.batch) });
  // The worker's CPU per packet as the archive grows: read around each batch, summed per fifth.
  const fifths = Array.from({ length: 5 }, () => ({ packets: 0, ms: 0, sys: 0 }));
  const insertBatch = store.insertBatch.bind(store);
  let stored = 0;
  store.insertBatch = async (records) => {
    const a = threadCpuMs();
    const r = await insertBatch(records);
    const b = threadCpuMs();
    let best = { all: 0, sys: 0 };
    for (const [tid, t] of b) {
      const before = a.get(tid) ?? { user: 0, sys: 0 };
      const d = { all: t.user + t.sys - before.user - before.sys, sys: t.sys - before.sys };
      if (tid !== String(process.pid) && d.all > best.all) best = d;
    }
    const f = fifths[Math.min(4, Math.floor((stored * 5) / COUNT))];
    f.packets += records.length;
    f.ms += best.all;
    f.sys += best.sys;
    stored += records.length;
    return r;
  };
  const cpu0 = threadCpuMs();
  const t0 = performance.now();
  let i = 0;
  while (i < COUNT) {
    // Feed as a flow would, keeping within the writer's bound.
    while (writer.counters.pending < 50_000 && i < COUNT) {
      writer.enqueue(makeRecord(tpl[i % tpl.length], i));
      i++;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  while (writer.counters.pending > 0) await new Promise((r) => setTimeout(r, 5));
  const ms = performance.now() - t0;
  const cpu = cpuPerPacket(cpu0, threadCpuMs());
  console.log(
    `  CPU per packet: main thread ${cpu.main.toFixed(0)} µs (making the packets, the writer, the batches' packing), ` +
      `busiest other thread (the SQLite worker, for embedded) ${cpu.worker.toFixed(0)} µs (${cpu.workerSys.toFixed(0)} in the kernel), other threads ${cpu.rest.toFixed(0)} µs (GC, …); ${load()}`,
  );
  console.log(
    `  SQLite worker CPU per packet by fifth of the archive: ${fifths
      .map(
        (f) =>
          `${((f.ms * 1000) / Math.max(1, f.packets)).toFixed(0)} (${((f.sys * 1000) / Math.max(1, f.packets)).toFixed(0)})`,
      )
      .join(", ")} µs (kernel)`,
  );
  await writer.close();
  if (writer.counters.stored !== COUNT) throw new Error(`stored ${writer.counters.stored} of ${COUNT}`);
  return (COUNT * 1000) / ms;
}

async function queries(
  store: ArchiveStore,
  tpl: Template[],
): Promise<Record<string, { p50: number; p99: number }>> {
  const streams = [...new Set(tpl.map((t) => t.rec.stream))];
  const kinds: Record<string, () => Promise<unknown>> = {
    "count stream=…": () =>
      store.count(parseArchiveQuery({ stream: streams[Math.floor(random() * streams.length)] }).filters),
    "count cone=[ra,dec,1]": () =>
      store.count(parseArchiveQuery({ cone: [random() * 360, random() * 160 - 80, 1] }).filters),
    "list/ivorn limit=100": () =>
      store.listIvorn(parseArchiveQuery({ limit: 100, offset: Math.floor(random() * 1000) })),
    "list/ivorn order=-author_datetime": () =>
      store.listIvorn(parseArchiveQuery({ limit: 100, order: "-author_datetime" })),
    "count authored_since=…": () =>
      store.count(
        parseArchiveQuery({ authored_since: new Date(T0 + Math.floor(random() * SPAN)).toISOString() })
          .filters,
      ),
    "packet/xml": () => {
      const i = Math.floor(random() * COUNT);
      return store.packetXml(`${tpl[i % tpl.length].rec.ivorn}_b${i}`);
    },
  };
  const out: Record<string, { p50: number; p99: number }> = {};
  for (const [name, fn] of Object.entries(kinds)) {
    for (let i = 0; i < 5; i++) await fn(); // warm the caches
    const samples: number[] = [];
    for (let i = 0; i < QUERIES; i++) {
      const t = performance.now();
      await fn();
      samples.push(performance.now() - t);
    }
    out[name] = p99(samples);
  }
  return out;
}

async function engines(dir: string): Promise<void> {
  // Raw engines, same rows (IVORN, 3 kB blob, dec), 20,000 in batches of 500.
  const N = 20_000;
  const B = 500;
  const xml = Buffer.alloc(3000, 97);
  let t = performance.now();
  const file = path.join(dir, "engine.sqlite");
  const db = new Database(file);
  db.exec(
    "CREATE TABLE v(id INTEGER PRIMARY KEY, ivorn TEXT UNIQUE, xml BLOB, dec REAL); CREATE INDEX vd ON v(dec)",
  );
  const openS = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < N; i += B) {
    db.exec("BEGIN");
    const st = db.prepare(
      "INSERT INTO v(ivorn, xml, dec) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
    );
    for (let j = i; j < i + B; j++) st.all([`ivo://x/y#${j}`, xml, random() * 180 - 90]);
    st.finalize();
    db.exec("COMMIT");
  }
  const rateS = (N * 1000) / (performance.now() - t);
  db.close();
  console.log(
    `engine node-sqlite3-wasm: open ${openS.toFixed(0)} ms, ${fmt(rateS)} rows/s, ${fmt(duSize(file) / N)} bytes/row`,
  );
  const { PGlite } = await import("@electric-sql/pglite");
  t = performance.now();
  const pgdir = path.join(dir, "engine-pglite");
  const pg = new PGlite(pgdir);
  await pg.exec(
    "CREATE TABLE v(id serial PRIMARY KEY, ivorn text UNIQUE, xml bytea, dec float8); CREATE INDEX vd ON v(dec)",
  );
  const openP = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < N; i += B) {
    const iv: string[] = [];
    const xs: Buffer[] = [];
    const ds: number[] = [];
    for (let j = i; j < i + B; j++) {
      iv.push(`ivo://x/y#${j}`);
      xs.push(xml);
      ds.push(random() * 180 - 90);
    }
    await pg.query(
      "INSERT INTO v(ivorn, xml, dec) SELECT * FROM unnest($1::text[], $2::bytea[], $3::float8[]) ON CONFLICT DO NOTHING",
      [iv, xs, ds],
    );
  }
  const rateP = (N * 1000) / (performance.now() - t);
  await pg.close();
  console.log(
    `engine PGlite:            open ${openP.toFixed(0)} ms, ${fmt(rateP)} rows/s, ${fmt(duSize(pgdir) / N)} bytes/row`,
  );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "voevent-bench-archive-"));
  const tpl = templates();
  console.log(
    `archive bench: ${fmt(COUNT)} packets from ${tpl.length} corpus templates; ${QUERIES} queries per kind`,
  );
  const t = performance.now();
  let n = 0;
  for (const x of tpl) {
    for (let i = 0; i < 50; i++) recordFromPacket(x.rec.xml, new Date());
    n += 50;
  }
  console.log(
    `recordFromPacket (parse + ingest rules): ${fmt((n * 1000) / (performance.now() - t))} packets/s`,
  );
  // The archive node's own work: the flow's parse is in the cache (the receiver put it there).
  let nodeMs = 0;
  n = 0;
  for (const x of tpl) {
    const xml = x.rec.xml.toString("utf8");
    const p = parseVOEvent(xml);
    rememberParsed(p.xml, p.doc);
    const t1 = performance.now();
    for (let i = 0; i < 50; i++) recordFromParsed(peekDoc(xml), Buffer.from(xml, "utf8"), new Date());
    nodeMs += performance.now() - t1;
    n += 50;
  }
  console.log(`archive node's work (cached parse + ingest rules): ${fmt((n * 1000) / nodeMs)} packets/s`);
  let pg: PostgresServer | null = null;
  try {
    for (const kind of values.stores.split(",")) {
      let store: ArchiveStore;
      if (kind === "embedded")
        store = await openArchive(
          { store: "embedded", file: path.join(dir, "bench.sqlite") },
          {
            synchronous: values.synchronous as "full" | "normal" | "off",
            journal: values.journal as "wal" | "delete",
            rowsPerStatement: Number(values.rows),
            pageSize: Number(values["page-size"]),
            cacheKiB: Number(values.cache),
          },
        );
      else {
        pg = await PostgresServer.start();
        store = await openArchive(pg.config(), { queryTimeoutMs: 60_000 });
      }
      const rate = await ingest(store, tpl);
      const how =
        kind === "embedded" ? ` (journal ${values.journal}, synchronous ${values.synchronous})` : "";
      console.log(`${kind}: ingest through the writer ${fmt(rate)} packets/s${how}; ${load()}`);
      const q = await queries(store, tpl);
      for (const [name, v] of Object.entries(q)) {
        console.log(`${kind}: ${name.padEnd(34)} p50 ${v.p50.toFixed(1)} ms, p99 ${v.p99.toFixed(1)} ms`);
      }
      if (kind === "postgres") {
        // As the import CLI leaves it (and autovacuum soon after live ingest): VACUUM (ANALYZE).
        const t = performance.now();
        await store.settle();
        console.log(`${kind}: settle() (VACUUM (ANALYZE)) ${((performance.now() - t) / 1000).toFixed(1)} s`);
        for (const [name, v] of Object.entries(await queries(store, tpl))) {
          console.log(
            `${kind}: ${name.padEnd(24)} p50 ${v.p50.toFixed(1)} ms, p99 ${v.p99.toFixed(1)} ms (after VACUUM)`,
          );
        }
      }
      const bytes =
        kind === "embedded"
          ? duSize(path.join(dir, "bench.sqlite"))
          : Number(
              (await (store as SqlStore).db.all("SELECT pg_database_size(current_database()) AS n", []))[0].n,
            );
      await store.close();
      console.log(`${kind}: disk ${fmt(bytes / COUNT)} bytes per packet (${(bytes / 1e9).toFixed(2)} GB)`);
      if (!values["no-import"] && kind === "embedded") {
        const month = path.join(corpusDir(), "4pisky", "2022-01.001.tar.bz2");
        const s = await openArchive({ store: "embedded", file: path.join(dir, "month.sqlite") });
        const r = await importSources(s, [month], { batch: 2000 });
        await s.close();
        console.log(
          `import of the 4PiSky month file (embedded): ${fmt(r.read / r.seconds)} packets/s (${fmt(r.imported)} in ${r.seconds.toFixed(1)} s)`,
        );
      }
      if (pg !== null) {
        await pg.close();
        pg = null;
      }
    }
    if (!values["no-engines"]) await engines(dir);
  } finally {
    if (pg !== null) await pg.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
