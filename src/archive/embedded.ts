/**
 * The embedded store: one SQLite file, through node-sqlite3-wasm (SQLite compiled to WebAssembly
 * with direct file access: installs from npm with no compiler and no download, runs on Node 20 and
 * 22). Chosen by measurement over PGlite (README "Keeping an archive", "Stores and import" has the
 * figures: PGlite opened in 3.6–23 s and ingested 1,100–3,300 rows/s where SQLite opened in
 * 5–150 ms and ingested 6,000–32,800 rows/s, the same rows in the same minutes).
 *
 * Decisions:
 * - SQLite runs in a worker thread, so a slow query never stalls the runtime's event loop. The
 *   worker's code is a string (below) that needs only node-sqlite3-wasm: it runs the same from
 *   the built package and under tsx.
 * - The time budget (`queryTimeoutMs` for reads, `writeTimeoutMs` for a batch): a request that
 *   misses it is answered TIMEOUT and the worker is terminated; the next request opens the file
 *   again in a new worker (a transaction cut short is not in the file: its log frames have no
 *   commit, or the rollback journal undoes it). Requests
 *   queued behind it are answered UNAVAILABLE (the writer retries them).
 * - Durability: SQLite's rollback journal with `synchronous=FULL` (under `locking_mode=EXCLUSIVE`:
 *   one connection, the worker's). A batch is acknowledged after COMMIT returned, when the journal
 *   and the file were synced: a process killed at any point (SIGKILL) or a power loss leaves a file
 *   that opens with every acknowledged batch (a hot journal is rolled back on open). Under load a
 *   batch is large (the writer's maxBatchSize, maxBatchBytes), so the syncs cost little per packet,
 *   and the rollback journal writes a new page once where the write-ahead log writes it twice (log,
 *   then checkpoint). Measured on the 2-vCPU machine, same minutes (bench/archive --count 200000,
 *   batches up to 10,000): WAL + NORMAL 55–60 µs of worker CPU per packet, 9,758–12,297
 *   packets/s; rollback + FULL 46–47 µs, 12,735–14,258 packets/s (with 1,000-record batches and a
 *   statement per row it had been the slower one: 6,819 against WAL's 8,162). `journal: "wal"`
 *   (with `synchronous: "normal"`) remains an option: the log is then copied into the file every
 *   `checkpointBytes` (40 MB) and cut back to `journalLimit` after.
 * - A batch reaches the worker as columns with every packet's bytes in one transferred buffer
 *   (packed.ts), and is written with multi-row INSERTs of `rowsPerStatement` rows (one prepared
 *   statement each for packets, positions and cites, and one for the remainder).
 * - `pageSize` applies to a new file only; 4,096 (SQLite's) measured as fast as 16 or 64 KiB, and
 *   at 1M packets 16 KiB was no better (worker 74 µs per packet against 65, 6,038 bytes per
 *   packet on disk against 5,566; bench/archive.ts header).
 * - The schema's indexes (sql.ts) are chosen for this store's ingest: every key a batch inserts
 *   goes at the end of its index or of one of a few hundred places in it (IVORNs, which mostly
 *   grow within a stream; stream, role, received time, positions per declination zone), except
 *   the author time's, which follows the packets' own times (near the end too for live alerts).
 * - Columns added since the first schema (sql.ts ADDED_COLUMNS) are added by the worker when the
 *   file lacks them (an archive made before them opens as before, its old rows with null).
 * - Errors: "database or disk is full" and I/O errors are UNAVAILABLE (retried by the writer);
 *   "malformed"/"not a database" is CORRUPT.
 * - node-sqlite3-wasm locks a file with a `<file>.lock` directory that a killed process leaves
 *   behind (the file would then stay "locked" for ever). So a store claims the file in
 *   `<file>.owner` (its pid): a lock left by a process that is gone, or by our own terminated
 *   worker, is removed when opening; a file owned by a live process is refused (UNAVAILABLE),
 *   and so is a second store on a file already open in this process (share the first).
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { ARCHIVE_LIMITS } from "./limits";
import { packBatch } from "./packed";
import { ADDED_COLUMNS, schema, ZONE_DEG } from "./sql";
import { type Row, type SqlExecutor, SqlStore } from "./sql-store";
import { ArchiveError, type ArchiveErrorCode, type ArchiveRecord, type InsertResult } from "./types";

export interface EmbeddedOptions {
  /** Time budget of one read, ms. */
  queryTimeoutMs?: number;
  /** Time budget of one batch write, ms. */
  writeTimeoutMs?: number;
  /** SQLite `synchronous`: full (default), normal or off. */
  synchronous?: "full" | "normal" | "off";
  /** SQLite journal: `delete` (the rollback journal, default) or `wal` (the write-ahead log). */
  journal?: "wal" | "delete";
  /** SQLite page cache, KiB. Default 65,536 (64 MiB). */
  cacheKiB?: number;
  /** Rows per INSERT statement of a batch. Default 100. */
  rowsPerStatement?: number;
  /** SQLite page size of a new file, bytes (a power of two, 512 to 65,536). Default 4,096 (SQLite's). */
  pageSize?: number;
}

export const EMBEDDED_DEFAULTS = {
  writeTimeoutMs: 30_000,
  synchronous: "full",
  journal: "delete",
  cacheKiB: 65_536,
  /** WAL: bytes of pages written to the log before it is copied into the file (SQLite's default is 1,000 pages). */
  checkpointBytes: 40_960_000,
  /** Page size of a new file, bytes. */
  pageSize: 4_096,
  /** Bytes the journal file is cut back to after a checkpoint. */
  journalLimit: 67_108_864,
  /** Rows per multi-row INSERT statement (9 to 11 parameters a row: far below SQLite's 32,766). */
  rowsPerStatement: 100,
} as const;

// The worker: opens the file, creates the schema, answers {id, op, …} with {id, ok, result|error}.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { Database } = require(workerData.modulePath);
let db;
const stmts = {};
function open() {
  db = new Database(workerData.file);
  // EXCLUSIVE before the first access: one connection, this worker's (with journal "wal" the
  // log's index then lives in its memory, so the WASM file layer needs no shared memory).
  db.exec("PRAGMA locking_mode=EXCLUSIVE");
  // Applies to a new file only (an existing file keeps its page size).
  db.exec("PRAGMA page_size=" + workerData.pageSize);
  db.exec("PRAGMA journal_mode=" + workerData.journal + "; PRAGMA synchronous=" + workerData.synchronous +
    "; PRAGMA wal_autocheckpoint=" + Math.max(1, Math.round(workerData.checkpointBytes / db.get("PRAGMA page_size").page_size)) + "; PRAGMA journal_size_limit=" +
    workerData.journalLimit + "; PRAGMA foreign_keys=ON; PRAGMA cache_size=-" + workerData.cacheKiB + ";");
  for (const s of workerData.schema) db.exec(s);
  for (const c of workerData.added) {
    const cols = db.all("SELECT name FROM pragma_table_info(?)", [c.table]).map((r) => r.name);
    if (!cols.includes(c.column)) db.exec("ALTER TABLE " + c.table + " ADD COLUMN " + c.column + " " + c.sqlite);
  }
  const rows = workerData.rowsPerStatement;
  stmts.v = db.prepare(sqlV(rows));
  stmts.c = db.prepare(sqlC(rows));
  stmts.r = db.prepare(sqlR(rows));
}
function unit(ra, dec) {
  const a = ra * Math.PI / 180, d = dec * Math.PI / 180, cd = Math.cos(d);
  return [cd * Math.cos(a), cd * Math.sin(a), Math.sin(d)];
}
function values(cols, rows) {
  const one = "(" + new Array(cols).fill("?").join(", ") + ")";
  return new Array(rows).fill(one).join(", ");
}
function sqlV(rows) {
  return "INSERT INTO voevent (ivorn, stream, role, version, author_ivorn, author_datetime, received, xml, signature) VALUES " +
    values(9, rows) + " ON CONFLICT (ivorn) DO NOTHING RETURNING id, ivorn";
}
function sqlC(rows) {
  return "INSERT INTO coord (voevent_id, ra, dec, error, time, system, zone, ran, x, y, z) VALUES " + values(11, rows);
}
function sqlR(rows) {
  return "INSERT INTO cite (voevent_id, ref_ivorn, cite_type, description) VALUES " + values(4, rows);
}
function orNull(v) { return v !== v ? null : v; }
// Runs the rows of params (cols values each) in statements of rowsPerStatement rows (prepared at
// open) and one for the rest (prepared for this batch); each row a statement returns goes to onRow.
function chunked(full, make, cols, params, onRow) {
  const per = workerData.rowsPerStatement, count = params.length / cols;
  for (let s = 0; s < count; s += per) {
    const m = Math.min(per, count - s);
    const p = s === 0 && m === count ? params : params.slice(s * cols, (s + m) * cols);
    const st = m === per ? full : db.prepare(make(m));
    try {
      if (onRow === undefined) st.run(p);
      else for (const row of st.iterate(p)) onRow(row);
    } finally {
      if (st !== full) st.finalize();
    }
  }
}
// One batch (packed.ts: columns, the packets' bytes in one transferred buffer), one transaction.
function insert(b) {
  const n = b.count, xml = new Uint8Array(b.xml), nums = b.nums, text = b.text, off = b.xmlOffsets;
  const vp = new Array(n * 9);
  for (let i = 0, p = 0; i < n; i++) {
    const t = i * 6, u = i * 4;
    vp[p++] = text[t]; vp[p++] = text[t + 1]; vp[p++] = text[t + 2]; vp[p++] = text[t + 3]; vp[p++] = text[t + 4];
    vp[p++] = orNull(nums[u]); vp[p++] = nums[u + 1];
    vp[p++] = xml.subarray(off[i], off[i + 1]);
    vp[p++] = text[t + 5];
  }
  // The new packets' ids by IVORN (a duplicate, stored or earlier in the batch, returns no row).
  const idOf = new Map();
  db.exec("BEGIN IMMEDIATE");
  try {
    chunked(stmts.v, sqlV, 9, vp, (row) => idOf.set(row.ivorn, row.id));
    const stored = idOf.size;
    const cp = [], rp = [];
    const cn = b.coordNums, sys = b.coordSystems, ct = b.citeText;
    for (let i = 0, c = 0, k = 0; i < n; i++) {
      const nc = nums[i * 4 + 2], nr = nums[i * 4 + 3];
      const id = idOf.get(text[i * 6]);
      if (id !== undefined) {
        // The first record with an IVORN is the one stored; a later one in the batch is a duplicate.
        idOf.delete(text[i * 6]);
        for (let j = c; j < c + nc; j++) {
          const ra = cn[j * 4], dec = cn[j * 4 + 1];
          const [x, y, z] = unit(ra, dec);
          cp.push(id, ra, dec, orNull(cn[j * 4 + 2]), orNull(cn[j * 4 + 3]), sys[j],
            Math.floor((dec + 90) / workerData.zoneDeg), ((ra % 360) + 360) % 360, x, y, z);
        }
        for (let j = k; j < k + nr; j++) rp.push(id, ct[j * 3], ct[j * 3 + 1], ct[j * 3 + 2]);
      }
      c += nc;
      k += nr;
    }
    chunked(stmts.c, sqlC, 11, cp);
    chunked(stmts.r, sqlR, 4, rp);
    db.exec("COMMIT");
    return { stored, duplicates: n - stored };
  } catch (e) {
    try { db.exec("ROLLBACK"); } catch {}
    throw e;
  }
}
parentPort.on("message", (m) => {
  try {
    let result;
    if (m.op === "all") result = db.all(m.sql, m.params);
    else if (m.op === "run") result = db.run(m.sql, m.params).changes;
    else if (m.op === "insert") result = insert(m.batch);
    else if (m.op === "close") {
      for (const k of Object.keys(stmts)) stmts[k].finalize();
      db.close();
      result = null;
    }
    parentPort.postMessage({ id: m.id, ok: true, result });
  } catch (e) {
    parentPort.postMessage({ id: m.id, ok: false, error: String(e && e.message || e) });
  }
});
try {
  open();
  parentPort.postMessage({ id: 0, ok: true, result: null });
} catch (e) {
  parentPort.postMessage({ id: 0, ok: false, error: String(e && e.message || e) });
}
`;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

function classify(message: string): ArchiveErrorCode {
  if (/malformed|not a database|corrupt/i.test(message)) return "CORRUPT";
  return "UNAVAILABLE";
}

class EmbeddedExecutor implements SqlExecutor {
  readonly dialect = "sqlite" as const;
  private worker: Worker | null = null;
  private starting: Promise<Worker> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  /** Called once the store is closed. */
  onClose: () => void = () => undefined;

  constructor(
    private readonly file: string,
    private readonly readBudget: number,
    private readonly writeBudget: number,
    private readonly synchronous: string,
    private readonly journal: string,
    private readonly cacheKiB: number,
    private readonly rowsPerStatement: number,
    private readonly pageSize: number,
  ) {}

  /** The worker, started (and the file opened) when needed. */
  start(): Promise<Worker> {
    if (this.worker !== null) return Promise.resolve(this.worker);
    if (this.starting !== null) return this.starting;
    try {
      claimArchiveFile(this.file);
    } catch (err) {
      return Promise.reject(err);
    }
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        file: this.file,
        modulePath: require.resolve("node-sqlite3-wasm"),
        schema: schema("sqlite"),
        zoneDeg: ZONE_DEG,
        added: ADDED_COLUMNS,
        synchronous: this.synchronous,
        journal: this.journal,
        cacheKiB: this.cacheKiB,
        checkpointBytes: EMBEDDED_DEFAULTS.checkpointBytes,
        pageSize: this.pageSize,
        journalLimit: EMBEDDED_DEFAULTS.journalLimit,
        rowsPerStatement: this.rowsPerStatement,
      },
    });
    this.starting = new Promise<Worker>((resolve, reject) => {
      const onFirst = (m: Reply) => {
        if (m.id !== 0) return;
        worker.off("message", onFirst);
        this.starting = null;
        if (m.ok) {
          this.worker = worker;
          worker.on("message", (r: Reply) => this.onReply(r));
          resolve(worker);
        } else {
          void worker.terminate();
          reject(
            new ArchiveError(
              classify(m.error ?? ""),
              `the archive file ${this.file} did not open: ${m.error}`,
            ),
          );
        }
      };
      worker.on("message", onFirst);
      worker.on("error", (err) => {
        this.starting = null;
        this.lost(worker, `the archive worker failed: ${err.message}`);
        reject(new ArchiveError("UNAVAILABLE", `the archive worker failed: ${err.message}`));
      });
      worker.on("exit", () => {
        this.starting = null;
        this.lost(worker, "the archive worker stopped");
      });
    });
    return this.starting;
  }

  private onReply(r: Reply): void {
    const p = this.pending.get(r.id);
    if (p === undefined) return;
    this.pending.delete(r.id);
    clearTimeout(p.timer);
    if (r.ok) p.resolve(r.result);
    else p.reject(new ArchiveError(classify(r.error ?? ""), `archive (embedded): ${r.error}`));
  }

  /** The worker is gone (terminated or crashed): everything it held is answered UNAVAILABLE. */
  private lost(worker: Worker, why: string): void {
    if (this.worker !== worker && this.worker !== null) return;
    this.worker = null;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new ArchiveError("UNAVAILABLE", `archive (embedded): ${why}`));
      this.pending.delete(id);
    }
  }

  private async request<T>(
    msg: Record<string, unknown>,
    budget: number,
    what: string,
    transfer: ArrayBuffer[] = [],
  ): Promise<T> {
    if (this.closed) throw new ArchiveError("UNAVAILABLE", "archive (embedded): the store is closed");
    const worker = await this.start();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new ArchiveError(
            "TIMEOUT",
            `archive (embedded): ${what} took longer than ${budget} ms (time budget)`,
          ),
        );
        // Stop the work; the next request opens the file in a new worker.
        this.worker = null;
        this.lost(worker, `restarted after a ${what} over its time budget`);
        void worker.terminate();
      }, budget);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      worker.postMessage({ id, ...msg }, transfer);
    });
  }

  all(sql: string, params: unknown[]): Promise<Row[]> {
    return this.request<Row[]>({ op: "all", sql, params }, this.readBudget, "query");
  }

  run(sql: string, params: unknown[]): Promise<number> {
    return this.request<number>({ op: "run", sql, params }, this.writeBudget, "write");
  }

  insert(records: ArchiveRecord[]): Promise<InsertResult> {
    // Columns, the packets' bytes in one buffer that is transferred, not copied (packed.ts).
    const { batch, transfer } = packBatch(records);
    return this.request<InsertResult>({ op: "insert", batch }, this.writeBudget, "write", transfer);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const worker = this.worker ?? (this.starting === null ? null : await this.starting.catch(() => null));
    if (worker !== null) {
      try {
        await this.request<null>({ op: "close" }, this.writeBudget, "close");
      } catch {
        // Closing anyway: the journal makes an unclean stop safe.
      }
    }
    this.closed = true;
    this.worker = null;
    if (worker !== null) await worker.terminate();
    releaseArchiveFile(this.file);
    this.onClose();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM";
  }
}

/** Claims the file for this process, removing a lock that a dead owner (or our own stopped worker) left. */
export function claimArchiveFile(file: string): void {
  const ownerFile = `${file}.owner`;
  let owner = 0;
  try {
    owner = Number.parseInt(readFileSync(ownerFile, "utf8"), 10);
  } catch {
    owner = 0;
  }
  if (owner > 0 && owner !== process.pid && alive(owner)) {
    throw new ArchiveError(
      "UNAVAILABLE",
      `the archive file ${file} is in use by process ${owner} (${ownerFile})`,
    );
  }
  rmSync(`${file}.lock`, { recursive: true, force: true });
  writeFileSync(ownerFile, String(process.pid));
}

/** Gives the file up (on close). */
function releaseArchiveFile(file: string): void {
  try {
    if (Number.parseInt(readFileSync(`${file}.owner`, "utf8"), 10) === process.pid)
      rmSync(`${file}.owner`, { force: true });
  } catch {
    // Not ours, or already gone.
  }
}

/** Files open in this process (a second store on one file would fight over its lock). */
const OPEN_FILES = new Set<string>();

/**
 * Opens (creating when missing) an embedded archive file. A file already open in this process,
 * or owned by another live process, is refused (UNAVAILABLE): share one store per file.
 */
export async function openEmbeddedStore(file: string, options: EmbeddedOptions = {}): Promise<SqlStore> {
  const full = path.resolve(file);
  if (OPEN_FILES.has(full)) {
    throw new ArchiveError(
      "UNAVAILABLE",
      `the archive file ${full} is already open in this process (share one store per file)`,
    );
  }
  const exec = new EmbeddedExecutor(
    full,
    options.queryTimeoutMs ?? ARCHIVE_LIMITS.queryTimeoutMs,
    options.writeTimeoutMs ?? EMBEDDED_DEFAULTS.writeTimeoutMs,
    (options.synchronous ?? EMBEDDED_DEFAULTS.synchronous).toUpperCase(),
    (options.journal ?? EMBEDDED_DEFAULTS.journal).toUpperCase(),
    options.cacheKiB ?? EMBEDDED_DEFAULTS.cacheKiB,
    options.rowsPerStatement ?? EMBEDDED_DEFAULTS.rowsPerStatement,
    options.pageSize ?? EMBEDDED_DEFAULTS.pageSize,
  );
  OPEN_FILES.add(full);
  exec.onClose = () => OPEN_FILES.delete(full);
  try {
    await exec.start();
  } catch (err) {
    OPEN_FILES.delete(full);
    throw err;
  }
  return new SqlStore("embedded", exec);
}
