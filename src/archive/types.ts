/**
 * The archive's contract between its parts (issue 15): what a stored packet is, the parsed query,
 * and the store interface that both stores (embedded and PostgreSQL) implement. The HTTP API
 * (voeventdb's REST API v1), the feeds, the search page, the nodes and the import CLI are written
 * against this file only; nothing here imports Node-RED.
 *
 * Decisions:
 * - Rows follow voeventdb's models (`database/models.py`): one `voevent` row per IVORN with the raw
 *   bytes, its `coord` rows (every WhereWhen position that voeventdb would keep) and its `cite`
 *   rows (every Citations/EventIVORN). Times are Dates (UTC); the raw bytes are never re-serialised.
 * - One addition to voeventdb's row (issue 17): the signature verdict a receiver or subscriber
 *   gave the packet (msg.signature: verdict, key ID, user ID), in a nullable `signature` column;
 *   null when it was not checked. voeventdb's API answers stay voeventdb's: the verdict shows only
 *   as a separate top-level `signature` key of a synopsis, when there is one.
 * - A query is parsed once (filters.ts: a table of definitions, each with its query-string key,
 *   parse, clause per store and examples) into `ArchiveQuery`; a bad value is an `ArchiveError`
 *   with code `BAD_QUERY` naming the key and the value (HTTP 400). A store that misses its time
 *   budget rejects with code `TIMEOUT` (HTTP 503); code `UNAVAILABLE` when the database is down
 *   (HTTP 503). An unknown IVORN is `null` from `synopsis`/`packetXml` (HTTP 404).
 */

/** One WhereWhen position, as voeventdb's `Coord` row. */
export interface ArchiveCoord {
  /** Degrees. */
  ra: number;
  /** Degrees. */
  dec: number;
  /** Error radius in degrees (Error2Radius); null when absent. */
  error: number | null;
  /** ObsDataLocation/.../Time/TimeInstant/ISOTime; null when absent. */
  time: Date | null;
  /** coord_system_id, e.g. `UTC-FK5-GEO`; null when absent. */
  system: string | null;
}

/** One Citations/EventIVORN, as voeventdb's `Cite` row. */
export interface ArchiveCite {
  refIvorn: string;
  /** followup | supersedes | retraction. */
  citeType: string;
  /** Citations/Description (voeventdb keeps it per cite); null when absent. */
  description: string | null;
}

/** msg.signature as the archive keeps it (ingest.ts `archiveSignature` checks and cuts it). */
export interface ArchiveSignature {
  /** signed | bad | unknown-key | unsigned | malformed. */
  verdict: string;
  keyId: string | null;
  userId: string | null;
}

/** One packet ready to be stored (made by ingest.ts `recordFromPacket`). */
export interface ArchiveRecord {
  ivorn: string;
  /** The IVORN before `#`, without `ivo://` (voeventdb's stream: `nasa.gsfc.gcn/SWIFT`). */
  stream: string;
  role: string;
  version: string | null;
  authorIvorn: string | null;
  /** Who/Date; null when absent or not a time. */
  authorDatetime: Date | null;
  receivedAt: Date;
  /**
   * The packet exactly as received: its bytes, or the text it arrived as (msg.payload), stored as
   * UTF-8 (the archive node keeps the flow's string rather than copying it into a Buffer).
   */
  xml: Buffer | string;
  coords: ArchiveCoord[];
  cites: ArchiveCite[];
  /** The signature verdict it arrived with; absent or null when none was checked. */
  signature?: ArchiveSignature | null;
}

/** A stored packet as the query node and the feeds read it. */
export interface StoredPacket {
  id: number;
  ivorn: string;
  stream: string;
  role: string;
  version: string | null;
  authorIvorn: string | null;
  authorDatetime: Date | null;
  receivedAt: Date;
  xml: Buffer;
  /** The signature verdict stored with it; null when none was checked. */
  signature?: ArchiveSignature | null;
}

/** voeventdb's `packet/synopsis` result, field names as voeventdb's JSON has them. */
export interface Synopsis {
  voevent: {
    id: number;
    ivorn: string;
    stream: string;
    role: string;
    version: string | null;
    author_ivorn: string | null;
    author_datetime: string | null;
    received: string;
  };
  coords: Array<{
    ra: number;
    dec: number;
    error: number | null;
    time: string | null;
    system: string | null;
  }>;
  refs: Array<{ ref_ivorn: string; cite_type: string; description: string | null }>;
  relevant_urls: string[];
  /**
   * Not voeventdb's: the signature verdict stored with the packet, present only when there is
   * one (voeventdb.remote passes unknown keys through untouched).
   */
  signature?: ArchiveSignature;
}

/** The parsed filters: each key is one voeventdb filter; absent means not filtered. */
export interface ArchiveFilters {
  authored_since?: Date;
  authored_until?: Date;
  cited?: boolean;
  /** RA, Dec, radius: degrees. */
  cone?: { ra: number; dec: number; radius: number };
  coord?: boolean;
  dec_gt?: number;
  dec_lt?: number;
  ivorn_contains?: string[];
  ivorn_prefix?: string[];
  ref_any?: boolean;
  ref_contains?: string[];
  ref_exact?: string[];
  role?: string[];
  stream?: string[];
}

export type ArchiveOrder = "id" | "-id" | "ivorn" | "-ivorn" | "author_datetime" | "-author_datetime";

export interface ArchivePagination {
  /** Default 100; above ARCHIVE_LIMITS.maxLimit (limits.ts) refused with code LIMIT, as voeventdb. */
  limit: number;
  offset: number;
  order: ArchiveOrder;
}

export interface ArchiveQuery {
  filters: ArchiveFilters;
  pagination: ArchivePagination;
}

export type ArchiveErrorCode = "BAD_QUERY" | "TIMEOUT" | "UNAVAILABLE" | "LIMIT" | "CORRUPT";

export class ArchiveError extends Error {
  readonly code: ArchiveErrorCode;
  /** For BAD_QUERY: the query-string key at fault. */
  readonly key: string | null;
  constructor(code: ArchiveErrorCode, message: string, key: string | null = null) {
    super(message);
    this.name = "ArchiveError";
    this.code = code;
    this.key = key;
  }
}

export interface InsertResult {
  stored: number;
  /** Packets whose IVORN was already stored (counted, not stored). */
  duplicates: number;
}

export interface RetentionPolicy {
  /** Milliseconds; 0 = keep for ever. */
  maxAge: number;
  /** 0 = no limit. */
  maxEvents: number;
}

/** What changes a feed: a packet stored (the newest) or packets removed by retention. */
export interface ArchiveChange {
  /** The newest packet's id and received time; 0 and null when the archive is empty. */
  id: number;
  receivedAt: Date | null;
  /** Retention passes that removed packets, ever (any process on the database), and the last one's time. */
  prunes: number;
  prunedAt: Date | null;
}

/**
 * What both stores implement. Every read takes the parsed query, is parameterised and runs within
 * the store's time budget (PostgreSQL `statement_timeout`; the embedded store's equivalent).
 */
export interface ArchiveStore {
  readonly kind: "embedded" | "postgres";
  /** One transaction; duplicates (same IVORN, stored or earlier in the batch) are counted. */
  insertBatch(records: ArchiveRecord[]): Promise<InsertResult>;
  /** Which of these IVORNs are stored already (the import CLI resumes with it). */
  existing(ivorns: string[]): Promise<Set<string>>;
  count(filters: ArchiveFilters): Promise<number>;
  listIvorn(query: ArchiveQuery): Promise<string[]>;
  /** [ivorn, number of references it makes]. */
  listIvornNrefs(query: ArchiveQuery): Promise<Array<[string, number]>>;
  /** [ivorn, number of stored packets that cite it]. */
  listIvornNcites(query: ArchiveQuery): Promise<Array<[string, number]>>;
  mapStreamCount(filters: ArchiveFilters): Promise<Record<string, number>>;
  mapRoleCount(filters: ArchiveFilters): Promise<Record<string, number>>;
  mapStreamRoleCount(filters: ArchiveFilters): Promise<Record<string, Record<string, number>>>;
  /** Keys as voeventdb writes them: `YYYY-MM` (UTC), and `null` for packets without Who/Date. */
  mapAuthoredMonthCount(filters: ArchiveFilters): Promise<Record<string, number>>;
  /** Whole packets, for the query node and the feeds. */
  list(query: ArchiveQuery): Promise<StoredPacket[]>;
  synopsis(ivorn: string): Promise<Synopsis | null>;
  packetXml(ivorn: string): Promise<Buffer | null>;
  /** Deletes what the policy no longer keeps; returns how many packets went. */
  prune(policy: RetentionPolicy): Promise<number>;
  /** For ETag / Last-Modified: the newest packet, and the retention passes that removed packets. */
  lastChange(): Promise<ArchiveChange>;
  /**
   * Brings the store's statistics up to date after a bulk load (the import CLI calls it at its
   * end). PostgreSQL: VACUUM (ANALYZE) of the archive's tables, so that counts are index-only
   * scans again (2.5× faster on a freshly loaded table); the embedded store: nothing to do.
   */
  settle(): Promise<void>;
  close(): Promise<void>;
}
