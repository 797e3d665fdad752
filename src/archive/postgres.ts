/**
 * The PostgreSQL store, through the `pg` client: a pool, every statement parameterised and bounded
 * by `statement_timeout`, the schema created when missing, TLS when asked.
 *
 * Decisions:
 * - Opening never fails because the server is down: the schema is created by the first request
 *   that reaches the server, and every request while it is down is answered UNAVAILABLE (the
 *   writer holds its records and retries; the API answers 503).
 * - A batch is one transaction of three statements over arrays (`unnest`): packets with
 *   `ON CONFLICT (ivorn) DO NOTHING RETURNING id, ivorn`, then the new packets' positions and cites.
 * - Indexes for the 1M-packet queries without q3c: stream, role, author time, received time, the
 *   unique binary-ordered IVORN (prefix search), cite.ref_ivorn, and (zone, ran) for cones and
 *   declination bounds (sql.ts).
 * - Columns added since the first schema (sql.ts ADDED_COLUMNS) are added with it when missing
 *   (an ALTER only when information_schema lacks them), so a database made before them keeps working.
 * - Counts are index-only scans only where the visibility map says the rows are visible to all:
 *   on rows not yet vacuumed PostgreSQL reads the table too (a stream count at 300,000 packets:
 *   23 ms right after loading, 9 ms after VACUUM). The tables get autovacuum's insert scale factor
 *   ARCHIVE_LIMITS.autovacuumInsertScaleFactor (PostgreSQL 13+, when we may ALTER them), and
 *   settle() vacuums at once after a bulk load (the import CLI calls it).
 * - Schema creation takes a transaction-level advisory lock, so several flows opening one
 *   database at once do not race.
 * - Errors: SQLSTATE 57014 (statement_timeout) is TIMEOUT; connection failures, shutdowns
 *   (57P0x), class 08 and disk full (53100) are UNAVAILABLE. So are the server refusing us (class
 *   28: a password, or pg_hba.conf) and TLS failing (the server's certificate refused, a server
 *   without TLS while `tls` is on): the database cannot be reached as configured, which is an
 *   outage to the writer (records held and retried, never dropped as if refused) and 503 to the
 *   API, with a message that says what to change.
 * - TLS (`tls`): true verifies the server against the system's CAs; Node TLS options (the
 *   voevent-archive-db node gives those of a core tls-config node: `ca`, `rejectUnauthorized`
 *   from "verify server certificate", `servername`, a client certificate and key) as given. The
 *   server's name is checked against its certificate: the host (a name or an IP address, both
 *   may be in its subjectAltName) unless `servername` says otherwise.
 */
import type { ConnectionOptions } from "node:tls";
import pg from "pg";
import { ARCHIVE_LIMITS } from "./limits";
import { xmlBytes } from "./packed";
import { schema, signatureText, uniqueByIvorn, unitVector, zoneKeys } from "./sql";
import { type Row, type SqlExecutor, SqlStore } from "./sql-store";
import { ArchiveError, type ArchiveRecord, type InsertResult } from "./types";

export interface PostgresConfig {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  /** true, or Node TLS options (ca, rejectUnauthorized, …). */
  tls?: boolean | ConnectionOptions;
}

export interface PostgresOptions {
  queryTimeoutMs?: number;
  poolSize?: number;
  connectTimeoutMs?: number;
  /** Deadline of settle() (VACUUM), ms. */
  settleTimeoutMs?: number;
  /** Called with an error the pool reports outside any request (an idle connection lost). */
  onError?: (err: Error) => void;
}

const SCHEMA_LOCK = 0x766f6576; // "voev"

/** Node's codes for a server certificate that failed verification. */
const CERT_REFUSED =
  /^(UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED|CERT_|ERR_TLS_CERT_|HOSTNAME_MISMATCH|INVALID_CA|INVALID_PURPOSE|PATH_LENGTH_EXCEEDED)/;
/** …and for a TLS handshake that failed otherwise (no common protocol version or cipher, …). */
const HANDSHAKE_FAILED = /^(ERR_SSL_|EPROTO$)/;

function toArchiveError(err: unknown): Error {
  if (err instanceof ArchiveError) return err;
  const e = err as { code?: string; message?: string };
  const message = (e.message ?? String(err)).trim();
  const code = e.code ?? "";
  if (code === "57014") return new ArchiveError("TIMEOUT", `archive (postgres): ${message} (time budget)`);
  if (CERT_REFUSED.test(code)) {
    return new ArchiveError(
      "UNAVAILABLE",
      `archive (postgres): TLS: the server's certificate was refused: ${message} (${code}). The CA of ` +
        "the archive's TLS configuration must be the one that signed it, and the host (or server name) one it names",
    );
  }
  if (HANDSHAKE_FAILED.test(code)) {
    return new ArchiveError(
      "UNAVAILABLE",
      `archive (postgres): TLS: the handshake failed: ${message} (${code})`,
    );
  }
  if (/server does not support SSL/i.test(message)) {
    return new ArchiveError(
      "UNAVAILABLE",
      "archive (postgres): TLS is on but the server does not offer it (its ssl setting is off): " +
        "turn TLS off in the archive's settings, or on at the server",
    );
  }
  if (code === "28000" && /no encryption/i.test(message)) {
    return new ArchiveError(
      "UNAVAILABLE",
      `archive (postgres): the server takes only TLS connections from here (${message}): turn TLS on in the archive's settings`,
    );
  }
  if (code.startsWith("28")) return new ArchiveError("UNAVAILABLE", `archive (postgres): ${message}`);
  if (
    code === "53100" ||
    code.startsWith("08") ||
    code.startsWith("57P") ||
    /^E(CONNREFUSED|CONNRESET|HOSTUNREACH|NOTFOUND|PIPE|TIMEDOUT|AI_AGAIN)$/.test(code) ||
    /timeout exceeded when trying to connect|Connection terminated|connect ETIMEDOUT|the database system is/i.test(
      message,
    )
  ) {
    return new ArchiveError("UNAVAILABLE", `archive (postgres): ${message}`);
  }
  return err instanceof Error ? err : new Error(message);
}

class PostgresExecutor implements SqlExecutor {
  readonly dialect = "postgres" as const;
  private schemaReady: Promise<void> | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly settleTimeoutMs: number,
  ) {}

  private ensureSchema(): Promise<void> {
    if (this.schemaReady === null) {
      this.schemaReady = (async () => {
        const client = await this.pool.connect();
        try {
          await client.query("BEGIN");
          await client.query("SELECT pg_advisory_xact_lock($1)", [SCHEMA_LOCK]);
          for (const s of schema("postgres")) await client.query(s);
          await client.query("COMMIT");
        } catch (err) {
          await client.query("ROLLBACK").catch(() => undefined);
          throw err;
        } finally {
          client.release();
        }
      })();
      this.schemaReady.catch(() => {
        this.schemaReady = null;
      });
    }
    return this.schemaReady;
  }

  async all(sql: string, params: unknown[]): Promise<Row[]> {
    try {
      await this.ensureSchema();
      return (await this.pool.query(sql, params)).rows as Row[];
    } catch (err) {
      throw toArchiveError(err);
    }
  }

  async run(sql: string, params: unknown[]): Promise<number> {
    try {
      await this.ensureSchema();
      return (await this.pool.query(sql, params)).rowCount ?? 0;
    } catch (err) {
      throw toArchiveError(err);
    }
  }

  /** A pooled connection, the schema made first; failures as ArchiveError (UNAVAILABLE…). */
  private async connect(): Promise<pg.PoolClient> {
    try {
      await this.ensureSchema();
      return await this.pool.connect();
    } catch (err) {
      throw toArchiveError(err);
    }
  }

  async insert(records: ArchiveRecord[]): Promise<InsertResult> {
    const { unique, repeats } = uniqueByIvorn(records);
    const client = await this.connect();
    try {
      await client.query("BEGIN");
      const inserted = await client.query<{ id: string; ivorn: string }>(
        `INSERT INTO voevent (ivorn, stream, role, version, author_ivorn, author_datetime, received, xml, signature)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::bytea[], $9::text[])
         ON CONFLICT (ivorn) DO NOTHING RETURNING id, ivorn`,
        [
          unique.map((r) => r.ivorn),
          unique.map((r) => r.stream),
          unique.map((r) => r.role),
          unique.map((r) => r.version),
          unique.map((r) => r.authorIvorn),
          unique.map((r) => r.authorDatetime),
          unique.map((r) => r.receivedAt),
          unique.map((r) => xmlBytes(r.xml)),
          unique.map((r) => signatureText(r.signature)),
        ],
      );
      const idOf = new Map(inserted.rows.map((r) => [r.ivorn, r.id]));
      const c: unknown[][] = [[], [], [], [], [], [], [], [], [], [], []];
      const r: unknown[][] = [[], [], [], []];
      for (const rec of unique) {
        const id = idOf.get(rec.ivorn);
        if (id === undefined) continue;
        for (const p of rec.coords) {
          const [x, y, z] = unitVector(p.ra, p.dec);
          const { zone, ran } = zoneKeys(p.ra, p.dec);
          const row = [id, p.ra, p.dec, p.error, p.time, p.system, zone, ran, x, y, z];
          for (let i = 0; i < row.length; i++) c[i].push(row[i]);
        }
        for (const ref of rec.cites) {
          const row = [id, ref.refIvorn, ref.citeType, ref.description];
          for (let i = 0; i < row.length; i++) r[i].push(row[i]);
        }
      }
      if (c[0].length > 0) {
        await client.query(
          `INSERT INTO coord (voevent_id, ra, dec, error, time, system, zone, ran, x, y, z)
           SELECT * FROM unnest($1::bigint[], $2::float8[], $3::float8[], $4::float8[], $5::timestamptz[], $6::text[], $7::int[], $8::float8[], $9::float8[], $10::float8[], $11::float8[])`,
          c,
        );
      }
      if (r[0].length > 0) {
        await client.query(
          `INSERT INTO cite (voevent_id, ref_ivorn, cite_type, description)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[])`,
          r,
        );
      }
      await client.query("COMMIT");
      return { stored: inserted.rows.length, duplicates: repeats + unique.length - inserted.rows.length };
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw toArchiveError(err);
    } finally {
      client.release();
    }
  }

  /**
   * VACUUM (ANALYZE) of the archive's tables, on one connection whose statement_timeout is
   * settleTimeoutMs for this statement only (reset before the connection goes back to the pool).
   */
  async settle(): Promise<void> {
    const client = await this.connect();
    const ms = this.settleTimeoutMs;
    try {
      await client.query(`SET statement_timeout = ${ms}`);
      // pg reads a per-query `query_timeout` (the pool's would cut VACUUM off at queryTimeoutMs).
      const vacuum: pg.QueryConfig & { query_timeout: number } = {
        text: "VACUUM (ANALYZE) voevent, coord, cite",
        query_timeout: ms + 1_000,
      };
      await client.query(vacuum);
    } catch (err) {
      throw toArchiveError(err);
    } finally {
      await client.query("RESET statement_timeout").catch(() => undefined);
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** A PostgreSQL archive (the schema is created on first contact). */
export function openPostgresStore(config: PostgresConfig, options: PostgresOptions = {}): SqlStore {
  const tls = config.tls;
  const pool = new pg.Pool({
    host: config.host,
    port: config.port,
    database: config.database,
    user: config.user,
    password: config.password,
    ssl: tls === undefined || tls === false ? false : tls === true ? {} : tls,
    max: options.poolSize ?? ARCHIVE_LIMITS.poolSize,
    connectionTimeoutMillis: options.connectTimeoutMs ?? ARCHIVE_LIMITS.connectTimeoutMs,
    statement_timeout: options.queryTimeoutMs ?? ARCHIVE_LIMITS.queryTimeoutMs,
    // A query whose connection dies is answered within the budget too, not only by the server.
    query_timeout: (options.queryTimeoutMs ?? ARCHIVE_LIMITS.queryTimeoutMs) + 1_000,
    application_name: "voevent-archive",
  });
  pool.on("error", (err) => options.onError?.(err));
  return new SqlStore(
    "postgres",
    new PostgresExecutor(pool, options.settleTimeoutMs ?? ARCHIVE_LIMITS.settleTimeoutMs),
  );
}
