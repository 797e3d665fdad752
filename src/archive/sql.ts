/**
 * SQL shared by both stores: one text per query, written once with the few places where
 * PostgreSQL and SQLite differ behind `Dialect`. Every value is a bound parameter (`SqlBuilder`).
 *
 * Decisions:
 * - Placeholders are numbered in both dialects (`$n`, SQLite's `?n`), so a clause may be built in
 *   any order (positional `?` had bound a cone's numbers to another filter's placeholders).
 * - Times: PostgreSQL `timestamptz`; SQLite integer milliseconds since 1970 (UTC). Parameters go
 *   through `SqlBuilder.time` so a clause never knows which.
 * - Text that is compared or ordered (ivorn, stream, ref_ivorn) is binary-ordered in both stores
 *   (`COLLATE "C"` in PostgreSQL, SQLite's BINARY), so `order=ivorn` gives the same pages in both
 *   and an IVORN prefix can use the unique index.
 * - Substring and prefix matches treat the value literally: PostgreSQL `LIKE … ESCAPE '\'` with
 *   `\`, `%`, `_` escaped; SQLite `GLOB` (case-sensitive, as PostgreSQL's LIKE) with `*`, `?`, `[`
 *   escaped as one-character classes. Both keep a literal prefix index-friendly.
 * - Cone: each position is stored with its unit vector (x, y, z), its declination zone (ZONE_DEG
 *   high) and its RA in [0, 360); a cone reads the zones it crosses and, in each, the RA range it
 *   spans (the "zones" method), then applies the exact test x·x₀ + y·y₀ + z·z₀ ≥ cos(radius) on
 *   the rows it found, so neither store needs trigonometry in SQL or an extension (no q3c).
 *   `dec_gt`/`dec_lt` and cones too wide for an RA range read the zones they allow on the same
 *   index. It is the only index on positions besides voevent_id: the two covering indexes of the
 *   first schema, (zone, ran, x, y, z, voevent_id) and (dec, x, y, z, voevent_id), made every
 *   stored position cost two large random index insertions (an archive made with them has them
 *   dropped when it opens).
 * - The cone index differs by store. PostgreSQL: (zone, ran), a cone reads its RA range in each
 *   zone. SQLite: (zone, voevent_id, ran): a cone reads each zone it crosses whole (~4,400 keys
 *   per 0.5° zone at 1M packets), testing `ran` on the index before it reads a row. Sky positions
 *   are random, so a (zone, ran) key lands anywhere: at 1M packets a batch of a few thousand
 *   rewrote (and journaled) most of that index's pages, and SQLite's cost per packet grew with the
 *   archive; a (zone, voevent_id) key is appended at the end of its zone (bench/archive.ts header
 *   has the figures). An archive made with (zone, ran) has it replaced when it opens.
 * - Columns added after the first schema (`ADDED_COLUMNS`: the signature verdict, issue 17) are
 *   added to an archive made before them when it opens: PostgreSQL after a look at
 *   information_schema (under the schema lock), SQLite at `PRAGMA table_info`. Old rows have null.
 * - The signature verdict is one JSON text `{"verdict","keyId","userId"}` (`signatureText`), read
 *   back by `signatureOf`, which trusts nothing it reads.
 * - `archive_state`, one row: how many retention passes removed packets and when the last did
 *   (sql-store.ts `prune` bumps it before deleting). The feeds' ETag and Last-Modified include it,
 *   so a feed whose old items retention deleted is not answered 304.
 * - Coordinate filters (cone, dec_gt, dec_lt) apply to the same position, as voeventdb joins one
 *   Coord row for all of them; a packet matches once however many of its positions match.
 */
import { ARCHIVE_LIMITS } from "./limits";
import type { ArchiveOrder, ArchiveRecord, ArchiveSignature } from "./types";

export type Dialect = "postgres" | "sqlite";

/** Collects bound parameters and returns their placeholders. */
export class SqlBuilder {
  readonly params: unknown[] = [];
  constructor(readonly dialect: Dialect) {}

  param(value: unknown): string {
    this.params.push(value);
    // Numbered in both dialects, so a clause may be built in any order.
    return this.dialect === "postgres" ? `$${this.params.length}` : `?${this.params.length}`;
  }

  time(d: Date): string {
    return this.param(this.dialect === "postgres" ? d : d.getTime());
  }

  /** `column` contains `value` (literally, case-sensitively). */
  contains(column: string, value: string): string {
    return this.dialect === "postgres"
      ? `${column} LIKE ${this.param(`%${likeEscape(value)}%`)} ESCAPE '\\'`
      : `${column} GLOB ${this.param(`*${globEscape(value)}*`)}`;
  }

  /** `column` starts with `value` (literally, case-sensitively). */
  startsWith(column: string, value: string): string {
    return this.dialect === "postgres"
      ? `${column} LIKE ${this.param(`${likeEscape(value)}%`)} ESCAPE '\\'`
      : `${column} GLOB ${this.param(`${globEscape(value)}*`)}`;
  }

  /** `column IN (…)` over a non-empty list. */
  inList(column: string, values: readonly unknown[]): string {
    if (values.length === 1) return `${column} = ${this.param(values[0])}`;
    return `${column} IN (${values.map((v) => this.param(v)).join(", ")})`;
  }
}

export function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export function globEscape(s: string): string {
  return s.replace(/[*?[]/g, (c) => `[${c}]`);
}

/** A position's unit vector. */
export function unitVector(ra: number, dec: number): [number, number, number] {
  const a = (ra * Math.PI) / 180;
  const d = (dec * Math.PI) / 180;
  const cd = Math.cos(d);
  return [cd * Math.cos(a), cd * Math.sin(a), Math.sin(d)];
}

/** Height of a declination zone, degrees: positions are indexed by (zone, RA) for cones. */
export const ZONE_DEG = 0.5;
/** Cones spanning more zones than this scan the declination band instead. */
const MAX_CONE_ZONES = 64;

/** A position's zone (declination band of ZONE_DEG) and RA in [0, 360): the cone index's keys. */
export function zoneKeys(ra: number, dec: number): { zone: number; ran: number } {
  return { zone: Math.floor((dec + 90) / ZONE_DEG), ran: ((ra % 360) + 360) % 360 };
}

/**
 * The clause (on coord `c`) that keeps positions within `radius` degrees of (ra, dec): the zones
 * the cone crosses and, away from the poles, the RA range its widest point spans (both on the
 * (zone, ran) index), then the exact unit-vector test. Wide cones scan the declination band.
 */
export function coneClause(q: SqlBuilder, ra: number, dec: number, radius: number): string {
  const r = Math.min(radius, 180);
  const lo = Math.max(-90, dec - r);
  const hi = Math.min(90, dec + r);
  const [x, y, z] = unitVector(ra, dec);
  const cosR = Math.cos((r * Math.PI) / 180);
  const exact = () => `c.x * ${q.param(x)} + c.y * ${q.param(y)} + c.z * ${q.param(z)} >= ${q.param(cosR)}`;
  const z0 = zoneKeys(0, lo - 1e-9).zone;
  const z1 = zoneKeys(0, hi + 1e-9).zone;
  if (z1 - z0 + 1 > MAX_CONE_ZONES) return `c.zone BETWEEN ${q.param(z0)} AND ${q.param(z1)} AND ${exact()}`;
  const zones: number[] = [];
  for (let k = z0; k <= z1; k++) zones.push(k);
  const zoneSql = q.inList("c.zone", zones);
  // RA half-width at the band's edge nearest a pole (the widest), with a margin.
  const edge = Math.max(Math.abs(lo), Math.abs(hi));
  const rad = Math.PI / 180;
  const ratio = edge >= 90 ? 2 : Math.sin(r * rad) / Math.cos(edge * rad);
  if (ratio >= 1) return `${zoneSql} AND ${exact()}`;
  const half = Math.asin(ratio) / rad + 1e-6;
  const centre = zoneKeys(ra, 0).ran;
  const a = centre - half;
  const b = centre + half;
  let raSql: string;
  if (a < 0) raSql = `(c.ran >= ${q.param(a + 360)} OR c.ran <= ${q.param(b)})`;
  else if (b >= 360) raSql = `(c.ran >= ${q.param(a)} OR c.ran <= ${q.param(b - 360)})`;
  else raSql = `c.ran BETWEEN ${q.param(a)} AND ${q.param(b)}`;
  return `${zoneSql} AND ${raSql} AND ${exact()}`;
}

/**
 * `c.dec > value` (or `<`), with the zones it allows, so that the (zone, ran) index finds the
 * positions (there is no index on dec alone): dec > d implies zone(dec) ≥ zone(d), as zoneKeys
 * rounds down a non-decreasing function of dec.
 */
export function decClause(q: SqlBuilder, op: ">" | "<", value: number): string {
  const zone = zoneKeys(0, value).zone;
  return `c.zone ${op}= ${q.param(zone)} AND c.dec ${op} ${q.param(value)}`;
}

/** ORDER BY for voeventdb's order values (NULL author times last ascending, first descending). */
export function orderBy(order: ArchiveOrder): string {
  switch (order) {
    case "id":
      return "v.id ASC";
    case "-id":
      return "v.id DESC";
    case "ivorn":
      return "v.ivorn ASC, v.id ASC";
    case "-ivorn":
      return "v.ivorn DESC, v.id ASC";
    case "author_datetime":
      return "v.author_datetime ASC NULLS LAST, v.id ASC";
    case "-author_datetime":
      return "v.author_datetime DESC NULLS FIRST, v.id ASC";
  }
}

/** The month `YYYY-MM` (UTC) of author_datetime, as voeventdb's map/authored_month_count keys. */
export function authoredMonth(dialect: Dialect): string {
  return dialect === "postgres"
    ? `to_char(date_trunc('month', v.author_datetime AT TIME ZONE 'UTC'), 'YYYY-MM')`
    : `strftime('%Y-%m', v.author_datetime / 1000.0, 'unixepoch')`;
}

export function schema(dialect: Dialect): string[] {
  if (dialect === "postgres") {
    return [
      `CREATE TABLE IF NOT EXISTS voevent (
        id bigserial PRIMARY KEY,
        ivorn text COLLATE "C" NOT NULL UNIQUE,
        stream text COLLATE "C" NOT NULL,
        role text NOT NULL,
        version text,
        author_ivorn text,
        author_datetime timestamptz,
        received timestamptz NOT NULL,
        xml bytea NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS coord (
        id bigserial PRIMARY KEY,
        voevent_id bigint NOT NULL REFERENCES voevent(id) ON DELETE CASCADE,
        ra double precision NOT NULL,
        dec double precision NOT NULL,
        error double precision,
        time timestamptz,
        system text,
        zone integer NOT NULL,
        ran double precision NOT NULL,
        x double precision NOT NULL,
        y double precision NOT NULL,
        z double precision NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS cite (
        id bigserial PRIMARY KEY,
        voevent_id bigint NOT NULL REFERENCES voevent(id) ON DELETE CASCADE,
        ref_ivorn text COLLATE "C" NOT NULL,
        cite_type text NOT NULL,
        description text)`,
      ...addColumnsPostgres(),
      ...INDEXES_POSTGRES,
      ...autovacuumPostgres(),
      `CREATE TABLE IF NOT EXISTS archive_state (
        k integer PRIMARY KEY CHECK (k = 1),
        prunes bigint NOT NULL DEFAULT 0,
        pruned_at timestamptz)`,
      STATE_ROW,
    ];
  }
  return [
    `CREATE TABLE IF NOT EXISTS voevent (
      id INTEGER PRIMARY KEY,
      ivorn TEXT NOT NULL UNIQUE,
      stream TEXT NOT NULL,
      role TEXT NOT NULL,
      version TEXT,
      author_ivorn TEXT,
      author_datetime INTEGER,
      received INTEGER NOT NULL,
      xml BLOB NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS coord (
      id INTEGER PRIMARY KEY,
      voevent_id INTEGER NOT NULL REFERENCES voevent(id) ON DELETE CASCADE,
      ra REAL NOT NULL,
      dec REAL NOT NULL,
      error REAL,
      time INTEGER,
      system TEXT,
      zone INTEGER NOT NULL,
      ran REAL NOT NULL,
      x REAL NOT NULL,
      y REAL NOT NULL,
      z REAL NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS cite (
      id INTEGER PRIMARY KEY,
      voevent_id INTEGER NOT NULL REFERENCES voevent(id) ON DELETE CASCADE,
      ref_ivorn TEXT NOT NULL,
      cite_type TEXT NOT NULL,
      description TEXT)`,
    ...INDEXES_SQLITE,
    `CREATE TABLE IF NOT EXISTS archive_state (
      k INTEGER PRIMARY KEY CHECK (k = 1),
      prunes INTEGER NOT NULL DEFAULT 0,
      pruned_at INTEGER)`,
    STATE_ROW,
  ];
}

/** The one row of `archive_state` (retention passes that removed packets, and the last one's time). */
const STATE_ROW = "INSERT INTO archive_state (k, prunes) VALUES (1, 0) ON CONFLICT DO NOTHING";

/** Columns added since the first schema: created with the table when new, added when missing. */
export const ADDED_COLUMNS: ReadonlyArray<{
  table: string;
  column: string;
  postgres: string;
  sqlite: string;
}> = [{ table: "voevent", column: "signature", postgres: "text", sqlite: "TEXT" }];

/**
 * PostgreSQL statements that add the missing ADDED_COLUMNS (run with the schema). The ALTER runs
 * only when the column is missing: an ALTER TABLE, even one that changes nothing, would wait for
 * every query reading the table (its lock) each time a store opens.
 */
function addColumnsPostgres(): string[] {
  return ADDED_COLUMNS.map(
    (c) =>
      `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() ` +
      `AND table_name = '${c.table}' AND column_name = '${c.column}') THEN ` +
      `ALTER TABLE ${c.table} ADD COLUMN ${c.column} ${c.postgres}; END IF; END $$`,
  );
}

/**
 * PostgreSQL 13+: autovacuum's insert scale factor on the archive's tables (postgres.ts says why),
 * set only when it is not set already (an ALTER TABLE takes a lock each time a store opens), and
 * skipped on an older server or when this user may not alter the tables (someone else's schema).
 */
function autovacuumPostgres(): string[] {
  const factor = ARCHIVE_LIMITS.autovacuumInsertScaleFactor;
  const option = `autovacuum_vacuum_insert_scale_factor=${factor}`;
  return ["voevent", "coord", "cite"].map(
    (table) =>
      `DO $$ BEGIN IF current_setting('server_version_num')::int >= 130000 AND NOT EXISTS ` +
      `(SELECT 1 FROM pg_class WHERE oid = '${table}'::regclass AND reloptions @> ARRAY['${option}']) THEN ` +
      `ALTER TABLE ${table} SET (autovacuum_vacuum_insert_scale_factor = ${factor}); END IF; ` +
      `EXCEPTION WHEN insufficient_privilege THEN NULL; END $$`,
  );
}

/** The stored text of a signature verdict (null: none). */
export function signatureText(sig: ArchiveSignature | null | undefined): string | null {
  return sig === null || sig === undefined
    ? null
    : JSON.stringify({ verdict: sig.verdict, keyId: sig.keyId, userId: sig.userId });
}

/** A stored signature text back as a verdict; null when none (or not one). */
export function signatureOf(v: unknown): ArchiveSignature | null {
  if (typeof v !== "string" || v === "") return null;
  try {
    const o = JSON.parse(v) as { verdict?: unknown; keyId?: unknown; userId?: unknown } | null;
    if (o === null || typeof o !== "object" || typeof o.verdict !== "string") return null;
    return {
      verdict: o.verdict,
      keyId: typeof o.keyId === "string" ? o.keyId : null,
      userId: typeof o.userId === "string" ? o.userId : null,
    };
  } catch {
    return null;
  }
}

/** Indexes of both stores. */
const COMMON_INDEXES = [
  "CREATE INDEX IF NOT EXISTS voevent_stream_idx ON voevent (stream)",
  "CREATE INDEX IF NOT EXISTS voevent_role_idx ON voevent (role)",
  "CREATE INDEX IF NOT EXISTS voevent_author_datetime_idx ON voevent (author_datetime)",
  "CREATE INDEX IF NOT EXISTS voevent_received_idx ON voevent (received)",
  "CREATE INDEX IF NOT EXISTS coord_voevent_idx ON coord (voevent_id)",
  // Two covering indexes of the first schema, (dec, x, y, z, voevent_id) and (zone, ran, x, y, z,
  // voevent_id), cost more to keep than they saved (README "Stores and import").
  "DROP INDEX IF EXISTS coord_dec_idx",
  "DROP INDEX IF EXISTS coord_zone_idx",
  "CREATE INDEX IF NOT EXISTS cite_voevent_idx ON cite (voevent_id)",
  "CREATE INDEX IF NOT EXISTS cite_ref_idx ON cite (ref_ivorn)",
];

/** PostgreSQL: cones and declination bounds on (zone, ran). */
const INDEXES_POSTGRES = [
  ...COMMON_INDEXES,
  "CREATE INDEX IF NOT EXISTS coord_zone_ran_idx ON coord (zone, ran)",
];

/**
 * SQLite: cones and declination bounds on (zone, voevent_id, ran), whose keys a batch appends at
 * the end of each zone, rather than (zone, ran), whose keys land anywhere (module header). An
 * archive made with (zone, ran) has it replaced when it opens (built once, seconds at 1M packets).
 */
const INDEXES_SQLITE = [
  ...COMMON_INDEXES,
  "CREATE INDEX IF NOT EXISTS coord_zone_seq_idx ON coord (zone, voevent_id, ran)",
  "DROP INDEX IF EXISTS coord_zone_ran_idx",
];

/** Records with a repeated IVORN after the first removed; how many were removed. */
export function uniqueByIvorn(records: readonly ArchiveRecord[]): {
  unique: ArchiveRecord[];
  repeats: number;
} {
  const seen = new Set<string>();
  const unique: ArchiveRecord[] = [];
  for (const r of records) {
    if (seen.has(r.ivorn)) continue;
    seen.add(r.ivorn);
    unique.push(r);
  }
  return { unique, repeats: records.length - unique.length };
}
