/**
 * The ArchiveStore over SQL: every read of both stores, written once (sql.ts has the dialect's
 * differences, filters.ts the WHERE clause). A store supplies an `SqlExecutor`: how to run a
 * read within the time budget and how to insert a batch in one transaction.
 *
 * Decisions:
 * - Reads are plain parameterised SELECTs over `voevent v`; whole-table maps group in SQL.
 * - `existing` asks in chunks of `EXISTING_CHUNK` IVORNs (bounded parameter lists).
 * - Retention: `maxAge` deletes packets *received* longer ago than it; `maxEvents` keeps the
 *   newest (by id) that many. Positions and cites go with their packet (ON DELETE CASCADE). A pass
 *   that will remove packets first bumps `archive_state` (sql.ts), which `lastChange` reads with
 *   the newest packet: the feeds' validators change when their old items go, not only new ones.
 * - Synopsis as voeventdb's `packet/synopsis` (times in Python's isoformat: `+00:00`,
 *   microseconds only when not zero) with its `relevant_urls` rule (Swift BAT GRB trigger pages),
 *   and one key voeventdb has not: `signature`, the stored verdict, only when there is one.
 */
import { whereClause } from "./filters";
import { authoredMonth, type Dialect, orderBy, SqlBuilder, signatureOf } from "./sql";
import type {
  ArchiveChange,
  ArchiveFilters,
  ArchiveQuery,
  ArchiveRecord,
  ArchiveStore,
  InsertResult,
  RetentionPolicy,
  StoredPacket,
  Synopsis,
} from "./types";

export type Row = Record<string, unknown>;

export interface SqlExecutor {
  readonly dialect: Dialect;
  /** Rows of one parameterised read, within the time budget (ArchiveError TIMEOUT / UNAVAILABLE). */
  all(sql: string, params: unknown[]): Promise<Row[]>;
  /** One statement that changes rows; how many it changed. */
  run(sql: string, params: unknown[]): Promise<number>;
  /** One transaction; duplicates (stored, or earlier in the batch) counted. */
  insert(records: ArchiveRecord[]): Promise<InsertResult>;
  /** After a bulk load: statistics and visibility up to date (PostgreSQL's VACUUM); absent: nothing to do. */
  settle?(): Promise<void>;
  close(): Promise<void>;
}

const EXISTING_CHUNK = 500;

function num(v: unknown): number {
  return typeof v === "number" ? v : Number(v);
}

function date(v: unknown): Date | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v;
  return new Date(num(v));
}

function bytes(v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return Buffer.from(String(v), "utf8");
}

function str(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

/** Python's `datetime.isoformat()` of a UTC datetime, as voeventdb's JSON shows times. */
export function pythonIsoformat(d: Date): string {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const ms = d.getUTCMilliseconds();
  return `${iso.slice(0, 19)}${ms === 0 ? "" : `.${String(ms * 1000).padStart(6, "0")}`}+00:00`;
}

const SWIFT_GRB_POS = "ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_";

/** voeventdb's `lookup_relevant_urls`: Swift's pages for a BAT GRB trigger, the packet's or one it cites. */
export function relevantUrls(ivorn: string, refs: readonly string[]): string[] {
  let trigger: string | null = null;
  if (ivorn.startsWith(SWIFT_GRB_POS)) trigger = ivorn.slice(SWIFT_GRB_POS.length).split("-")[0];
  else {
    for (const r of refs)
      if (r.startsWith(SWIFT_GRB_POS)) trigger = r.slice(SWIFT_GRB_POS.length).split("-")[0];
  }
  if (trigger === null || trigger === "") return [];
  return [
    `http://www.swift.ac.uk/search/summary.php?obsid=${trigger}`,
    `http://gcn.gsfc.nasa.gov/other/${trigger}.swift`,
  ];
}

export class SqlStore implements ArchiveStore {
  constructor(
    readonly kind: "embedded" | "postgres",
    /** The store's executor (tests reach the time budget through it with SQL no filter can make). */
    readonly db: SqlExecutor,
  ) {}

  private get dialect(): Dialect {
    return this.db.dialect;
  }

  insertBatch(records: ArchiveRecord[]): Promise<InsertResult> {
    if (records.length === 0) return Promise.resolve({ stored: 0, duplicates: 0 });
    return this.db.insert(records);
  }

  async existing(ivorns: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < ivorns.length; i += EXISTING_CHUNK) {
      const chunk = ivorns.slice(i, i + EXISTING_CHUNK);
      const q = new SqlBuilder(this.dialect);
      const rows = await this.db.all(`SELECT ivorn FROM voevent WHERE ${q.inList("ivorn", chunk)}`, q.params);
      for (const r of rows) out.add(String(r.ivorn));
    }
    return out;
  }

  async count(filters: ArchiveFilters): Promise<number> {
    const q = new SqlBuilder(this.dialect);
    const rows = await this.db.all(
      `SELECT count(*) AS n FROM voevent v ${whereClause(filters, q)}`,
      q.params,
    );
    return num(rows[0]?.n ?? 0);
  }

  private page(query: ArchiveQuery, columns: string): { sql: string; params: unknown[] } {
    const q = new SqlBuilder(this.dialect);
    const where = whereClause(query.filters, q);
    const { limit, offset, order } = query.pagination;
    const sql = `SELECT ${columns} FROM voevent v ${where} ORDER BY ${orderBy(order)} LIMIT ${q.param(limit)} OFFSET ${q.param(offset)}`;
    return { sql, params: q.params };
  }

  async listIvorn(query: ArchiveQuery): Promise<string[]> {
    const { sql, params } = this.page(query, "v.ivorn");
    return (await this.db.all(sql, params)).map((r) => String(r.ivorn));
  }

  async listIvornNrefs(query: ArchiveQuery): Promise<Array<[string, number]>> {
    const { sql, params } = this.page(
      query,
      "v.ivorn, (SELECT count(*) FROM cite c WHERE c.voevent_id = v.id) AS n",
    );
    return (await this.db.all(sql, params)).map((r) => [String(r.ivorn), num(r.n)]);
  }

  async listIvornNcites(query: ArchiveQuery): Promise<Array<[string, number]>> {
    const { sql, params } = this.page(
      query,
      "v.ivorn, (SELECT count(*) FROM cite c WHERE c.ref_ivorn = v.ivorn) AS n",
    );
    return (await this.db.all(sql, params)).map((r) => [String(r.ivorn), num(r.n)]);
  }

  private async grouped(filters: ArchiveFilters, key: string): Promise<Record<string, number>> {
    const q = new SqlBuilder(this.dialect);
    const rows = await this.db.all(
      `SELECT ${key} AS k, count(*) AS n FROM voevent v ${whereClause(filters, q)} GROUP BY 1`,
      q.params,
    );
    const out: Record<string, number> = {};
    for (const r of rows) out[r.k === null ? "null" : String(r.k)] = num(r.n);
    return out;
  }

  mapStreamCount(filters: ArchiveFilters): Promise<Record<string, number>> {
    return this.grouped(filters, "v.stream");
  }

  mapRoleCount(filters: ArchiveFilters): Promise<Record<string, number>> {
    return this.grouped(filters, "v.role");
  }

  /** Keys `YYYY-MM` (UTC), and `null` for packets without Who/Date, as voeventdb's JSON has them. */
  mapAuthoredMonthCount(filters: ArchiveFilters): Promise<Record<string, number>> {
    return this.grouped(filters, authoredMonth(this.dialect));
  }

  async mapStreamRoleCount(filters: ArchiveFilters): Promise<Record<string, Record<string, number>>> {
    const q = new SqlBuilder(this.dialect);
    const rows = await this.db.all(
      `SELECT v.stream AS s, v.role AS r, count(*) AS n FROM voevent v ${whereClause(filters, q)} GROUP BY v.stream, v.role`,
      q.params,
    );
    const out: Record<string, Record<string, number>> = {};
    for (const row of rows) {
      const s = String(row.s);
      if (!Object.hasOwn(out, s)) out[s] = {};
      out[s][String(row.r)] = num(row.n);
    }
    return out;
  }

  async list(query: ArchiveQuery): Promise<StoredPacket[]> {
    const { sql, params } = this.page(
      query,
      "v.id, v.ivorn, v.stream, v.role, v.version, v.author_ivorn, v.author_datetime, v.received, v.xml, v.signature",
    );
    return (await this.db.all(sql, params)).map((r) => ({
      id: num(r.id),
      ivorn: String(r.ivorn),
      stream: String(r.stream),
      role: String(r.role),
      version: str(r.version),
      authorIvorn: str(r.author_ivorn),
      authorDatetime: date(r.author_datetime),
      receivedAt: date(r.received) ?? new Date(0),
      xml: bytes(r.xml),
      signature: signatureOf(r.signature),
    }));
  }

  async synopsis(ivorn: string): Promise<Synopsis | null> {
    const q = new SqlBuilder(this.dialect);
    const rows = await this.db.all(
      `SELECT id, ivorn, stream, role, version, author_ivorn, author_datetime, received, signature FROM voevent WHERE ivorn = ${q.param(ivorn)}`,
      q.params,
    );
    const v = rows[0];
    if (v === undefined) return null;
    const id = num(v.id);
    const qc = new SqlBuilder(this.dialect);
    const coords = await this.db.all(
      `SELECT ra, dec, error, time, system FROM coord WHERE voevent_id = ${qc.param(id)} ORDER BY id`,
      qc.params,
    );
    const qr = new SqlBuilder(this.dialect);
    const refs = await this.db.all(
      `SELECT ref_ivorn, cite_type, description FROM cite WHERE voevent_id = ${qr.param(id)} ORDER BY id`,
      qr.params,
    );
    const author = date(v.author_datetime);
    const refList = refs.map((r) => ({
      ref_ivorn: String(r.ref_ivorn),
      cite_type: String(r.cite_type),
      description: str(r.description),
    }));
    const synopsis: Synopsis = {
      voevent: {
        id,
        ivorn: String(v.ivorn),
        stream: String(v.stream),
        role: String(v.role),
        version: str(v.version),
        author_ivorn: str(v.author_ivorn),
        author_datetime: author === null ? null : pythonIsoformat(author),
        received: pythonIsoformat(date(v.received) ?? new Date(0)),
      },
      coords: coords.map((c) => {
        const t = date(c.time);
        return {
          ra: num(c.ra),
          dec: num(c.dec),
          error: c.error === null || c.error === undefined ? null : num(c.error),
          time: t === null ? null : pythonIsoformat(t),
          system: str(c.system),
        };
      }),
      refs: refList,
      relevant_urls: relevantUrls(
        String(v.ivorn),
        refList.map((r) => r.ref_ivorn),
      ),
    };
    // Not voeventdb's: a separate key, only when a verdict was stored.
    const signature = signatureOf(v.signature);
    if (signature !== null) synopsis.signature = signature;
    return synopsis;
  }

  async packetXml(ivorn: string): Promise<Buffer | null> {
    const q = new SqlBuilder(this.dialect);
    const rows = await this.db.all(`SELECT xml FROM voevent WHERE ivorn = ${q.param(ivorn)}`, q.params);
    return rows.length === 0 ? null : bytes(rows[0].xml);
  }

  async prune(policy: RetentionPolicy): Promise<number> {
    const now = Date.now();
    const gone: Array<(q: SqlBuilder) => string> = [];
    if (policy.maxAge > 0) gone.push((q) => `received < ${q.time(new Date(now - policy.maxAge))}`);
    if (policy.maxEvents > 0)
      gone.push(
        (q) => `id <= (SELECT id FROM voevent ORDER BY id DESC LIMIT 1 OFFSET ${q.param(policy.maxEvents)})`,
      );
    if (gone.length === 0) return 0;
    // Marked before deleting, and only when something will go: a mark without its deletion (the
    // server lost between the two) costs a reader one needless 200; a deletion without its mark
    // would have left readers with a stale feed.
    const mark = new SqlBuilder(this.dialect);
    const conditions = gone.map((c) => `EXISTS (SELECT 1 FROM voevent WHERE ${c(mark)})`).join(" OR ");
    await this.db.run(
      `UPDATE archive_state SET prunes = prunes + 1, pruned_at = ${mark.time(new Date(now))} WHERE k = 1 AND (${conditions})`,
      mark.params,
    );
    let removed = 0;
    for (const c of gone) {
      const q = new SqlBuilder(this.dialect);
      removed += await this.db.run(`DELETE FROM voevent WHERE ${c(q)}`, q.params);
    }
    return removed;
  }

  async lastChange(): Promise<ArchiveChange> {
    const rows = await this.db.all(
      "SELECT (SELECT id FROM voevent ORDER BY id DESC LIMIT 1) AS id," +
        " (SELECT received FROM voevent ORDER BY id DESC LIMIT 1) AS received," +
        " (SELECT prunes FROM archive_state WHERE k = 1) AS prunes," +
        " (SELECT pruned_at FROM archive_state WHERE k = 1) AS pruned_at",
      [],
    );
    const r = rows[0] ?? {};
    return {
      id: r.id === null || r.id === undefined ? 0 : num(r.id),
      receivedAt: date(r.received),
      prunes: r.prunes === null || r.prunes === undefined ? 0 : num(r.prunes),
      prunedAt: date(r.pruned_at),
    };
  }

  async settle(): Promise<void> {
    await this.db.settle?.();
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
