/**
 * The archive's limits, named and defaulted in one place (README "Keeping an archive",
 * "Stores and import" lists them). A store, the writer and the query parser take overrides; nothing else in
 * src/archive/ writes a bound as a literal.
 */
export const ARCHIVE_LIMITS = {
  /** `limit` when a query gives none (voeventdb's DEFAULT_QUERY_LIMIT). */
  defaultLimit: 100,
  /** Largest `limit` accepted; a larger one is refused (code LIMIT, as voeventdb's LimitMaxExceeded). */
  maxLimit: 10_000,
  /** Largest `offset` accepted: deeper pages are refused rather than scanned. */
  maxOffset: 10_000_000,
  /** Longest filter value, in characters (an IVORN is far shorter). */
  maxValueLength: 2_048,
  /** Most values one filter key may take in one query (`stream=a&stream=b…`). */
  maxValuesPerKey: 64,
  /** Time budget of one query (PostgreSQL statement_timeout; the embedded store's worker deadline), ms. */
  queryTimeoutMs: 5_000,
  /** Writer: most records waiting to be written; beyond it new records are dropped and counted. */
  maxPending: 100_000,
  /** Writer: records waiting that start a write at once (rather than after batchDelayMs). */
  batchSize: 1_000,
  /** Writer: most records written in one transaction (under load the queue has more). */
  maxBatchSize: 10_000,
  /** Writer: most bytes of packets written in one transaction (at least one record). */
  maxBatchBytes: 16_777_216,
  /** Writer: how long a record may wait for more to fill its batch, ms. */
  batchDelayMs: 500,
  /** Writer: first and largest wait before retrying a failed write, ms. */
  retryMinMs: 250,
  retryMaxMs: 10_000,
  /** Writer: how often retention (maxAge, maxEvents) is applied, ms. */
  pruneIntervalMs: 60_000,
  /** Writer: how long close() may spend flushing before it gives up (what is left is counted dropped), ms. */
  closeDeadlineMs: 5_000,
  /** Longest key ID and user ID of a stored signature verdict, in characters (longer is cut, marked …). */
  maxSignatureText: 256,
  /** PostgreSQL: connections in the pool. */
  poolSize: 4,
  /** PostgreSQL: connect deadline, ms. */
  connectTimeoutMs: 5_000,
  /** settle() after a bulk load (PostgreSQL's VACUUM (ANALYZE) of the archive's tables): its deadline, ms. */
  settleTimeoutMs: 1_800_000,
  /**
   * PostgreSQL: autovacuum's insert scale factor on the archive's tables (PostgreSQL 13 and later;
   * the server's default is 0.2): an insert-only table is vacuumed after this fraction of new rows,
   * so that counts stay index-only scans (the visibility map up to date) as the archive grows.
   */
  autovacuumInsertScaleFactor: 0.02,
} as const;

export type ArchiveLimits = { -readonly [K in keyof typeof ARCHIVE_LIMITS]: number };
