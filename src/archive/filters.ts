/**
 * voeventdb's query filters (REST API v1, `restapi/v1/filters.py` in timstaley/voeventdb) as one
 * table of definitions: each has its query-string key, example values (which the tests run
 * against both stores and the API's documentation lists), how its values are parsed (a bad value
 * is an ArchiveError BAD_QUERY naming the key and the value) and the SQL clause it adds.
 * Adding a filter is adding one definition; the stores and endpoints never change.
 *
 * Decisions:
 * - As voeventdb: a key given several times is ANDed for `ivorn_contains`, ORed for
 *   `ivorn_prefix`, `ref_contains`, `ref_exact`, `role`, `stream`; for the others every value is
 *   checked and the first is used. An unknown key is refused (BAD_QUERY naming it).
 * - Dates as voeventdb's `iso8601.parse_date` (time.ts), inclusive bounds. Booleans `true`/`false`
 *   in any case. Declinations in [-90, 90]. `cone` is a JSON array `[ra, dec, radius]` in degrees:
 *   finite numbers, dec in [-90, 90], radius ≥ 0 (a radius beyond 180 is the whole sky).
 * - `role` takes the four VOEvent roles (voeventdb's list forgets `prediction`; a prediction
 *   archive would be unsearchable by role).
 * - Strings are matched literally (no wildcards: `%`, `_`, `*` are characters); a value longer than
 *   `maxValueLength`, with a NUL character or with unpaired UTF-16 surrogates (it could never be in
 *   an IVORN) is refused; more than `maxValuesPerKey` values for one key are refused.
 * - Pagination as voeventdb: `limit` (default 100; above `maxLimit` refused with code LIMIT),
 *   `offset` (≥ 0, at most `maxOffset`), `order` (`id`, `ivorn`, `author_datetime`, each with `-`
 *   for descending; ties broken by id). An empty value means the default.
 */
import { ARCHIVE_LIMITS } from "./limits";
import { coneClause, type Dialect, decClause, SqlBuilder } from "./sql";
import { parseIsoTime } from "./time";
import { ArchiveError, type ArchiveFilters, type ArchiveOrder, type ArchiveQuery } from "./types";

export interface FilterDefinition {
  key: keyof ArchiveFilters;
  /** Where its clause applies: the packet row `v`, or one of its positions `c` (all coord clauses on the same one). */
  on: "voevent" | "coord";
  /** One line for the API's documentation and the search page. */
  description: string;
  /** Query-string values the tests run against both stores (voeventdb's examples where it has them). */
  examples: readonly string[];
  /** Parses every value given for the key into `into`; throws ArchiveError BAD_QUERY. */
  parse(values: readonly string[], into: ArchiveFilters, limits: QueryLimits): void;
  /** The clause for this key's parsed value, or null when the filters do not set it. */
  clause(filters: ArchiveFilters, q: SqlBuilder): string | null;
}

export interface QueryLimits {
  maxLimit: number;
  defaultLimit: number;
  maxOffset: number;
  maxValueLength: number;
  maxValuesPerKey: number;
}

function bad(key: string, value: string, reason: string): ArchiveError {
  return new ArchiveError("BAD_QUERY", `invalid value for ${key}: ${JSON.stringify(value)} (${reason})`, key);
}

function parseBool(key: string, value: string): boolean {
  const v = value.toLowerCase();
  if (v === "true") return true;
  if (v === "false") return false;
  throw bad(key, value, "expected true or false");
}

const DECIMAL = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

function parseDec(key: string, value: string): number {
  if (!DECIMAL.test(value)) throw bad(key, value, "invalid declination value: not a number");
  const n = Number(value);
  if (!Number.isFinite(n) || n < -90 || n > 90)
    throw bad(key, value, "invalid declination value: outside -90 to 90");
  return n;
}

function parseDate(key: string, value: string): Date {
  const d = parseIsoTime(value);
  if (d === null)
    throw bad(key, value, "not an ISO 8601 date-time, e.g. 2015-10-09T21:34:19, 2015-10-09 or 2015-10");
  return d;
}

function parseCone(key: string, value: string): { ra: number; dec: number; radius: number } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw bad(key, value, "expected a JSON array [ra, dec, radius] in degrees");
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    !parsed.every((n) => typeof n === "number" && Number.isFinite(n))
  ) {
    throw bad(key, value, "expected a JSON array of three numbers [ra, dec, radius] in degrees");
  }
  const [ra, dec, radius] = parsed as [number, number, number];
  if (dec < -90 || dec > 90) throw bad(key, value, "invalid declination value");
  if (radius < 0) throw bad(key, value, "the radius must not be negative");
  return { ra, dec, radius };
}

function first<T>(values: readonly string[], parse: (v: string) => T): T {
  const parsed = values.map(parse);
  return parsed[0];
}

function bool(key: "cited" | "coord" | "ref_any"): Pick<FilterDefinition, "parse"> {
  return {
    parse(values, into) {
      into[key] = first(values, (v) => parseBool(key, v));
    },
  };
}

/** The table: one definition per filter, in voeventdb's (alphabetical) order. */
export const FILTERS: readonly FilterDefinition[] = [
  {
    key: "authored_since",
    on: "voevent",
    description: "Who/Date at or after the given time (ISO 8601; UTC unless a zone is given)",
    examples: ["2015-10-09T21:34:19", "2015-10-09", "2015-10", "2022-01-15T00:00:00+02:00"],
    parse(values, into) {
      into.authored_since = first(values, (v) => parseDate("authored_since", v));
    },
    clause(f, q) {
      return f.authored_since === undefined ? null : `v.author_datetime >= ${q.time(f.authored_since)}`;
    },
  },
  {
    key: "authored_until",
    on: "voevent",
    description: "Who/Date at or before the given time (ISO 8601; UTC unless a zone is given)",
    examples: ["2015-10-09T21:34:19", "2015-10-09", "2015-10", "2022-01-15T12:00Z"],
    parse(values, into) {
      into.authored_until = first(values, (v) => parseDate("authored_until", v));
    },
    clause(f, q) {
      return f.authored_until === undefined ? null : `v.author_datetime <= ${q.time(f.authored_until)}`;
    },
  },
  {
    key: "cited",
    on: "voevent",
    description: "packets that are (true) or are not (false) cited by another stored packet",
    examples: ["true", "false"],
    ...bool("cited"),
    clause(f) {
      if (f.cited === undefined) return null;
      const e = "EXISTS (SELECT 1 FROM cite c2 WHERE c2.ref_ivorn = v.ivorn)";
      return f.cited ? e : `NOT ${e}`;
    },
  },
  {
    key: "cone",
    on: "coord",
    description: "packets with a position within a cone: JSON [ra, dec, radius], degrees",
    examples: ["[10,20,5]", "[359.9,-30,5]", "[0,90,1]", "[262.5,-34.3,1]"],
    parse(values, into) {
      into.cone = first(values, (v) => parseCone("cone", v));
    },
    clause(f, q) {
      return f.cone === undefined ? null : coneClause(q, f.cone.ra, f.cone.dec, f.cone.radius);
    },
  },
  {
    key: "coord",
    on: "voevent",
    description: "packets that have (true) or have not (false) a stored position",
    examples: ["true", "false"],
    ...bool("coord"),
    clause(f) {
      if (f.coord === undefined) return null;
      return `v.id ${f.coord ? "" : "NOT "}IN (SELECT voevent_id FROM coord)`;
    },
  },
  {
    key: "dec_gt",
    on: "coord",
    description: "packets with a position whose declination is greater than the value (degrees)",
    examples: ["0", "-45.123"],
    parse(values, into) {
      into.dec_gt = first(values, (v) => parseDec("dec_gt", v));
    },
    clause(f, q) {
      return f.dec_gt === undefined ? null : decClause(q, ">", f.dec_gt);
    },
  },
  {
    key: "dec_lt",
    on: "coord",
    description: "packets with a position whose declination is less than the value (degrees)",
    examples: ["0", "-45.123"],
    parse(values, into) {
      into.dec_lt = first(values, (v) => parseDec("dec_lt", v));
    },
    clause(f, q) {
      return f.dec_lt === undefined ? null : decClause(q, "<", f.dec_lt);
    },
  },
  {
    key: "ivorn_contains",
    on: "voevent",
    description: "IVORN contains the text (several: all of them)",
    examples: ["BAT_GRB_Pos", "XRT", "%", "_Pos_"],
    parse(values, into, limits) {
      into.ivorn_contains = values.map((v) => checkText("ivorn_contains", v, limits));
    },
    clause(f, q) {
      if (f.ivorn_contains === undefined || f.ivorn_contains.length === 0) return null;
      return f.ivorn_contains.map((s) => q.contains("v.ivorn", s)).join(" AND ");
    },
  },
  {
    key: "ivorn_prefix",
    on: "voevent",
    description: "IVORN starts with the text (several: any of them)",
    examples: [
      "ivo://nasa.gsfc.gcn",
      "ivo://nvo.caltech/voeventnet/catot#1404",
      "ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_",
    ],
    parse(values, into, limits) {
      into.ivorn_prefix = values.map((v) => checkText("ivorn_prefix", v, limits));
    },
    clause(f, q) {
      if (f.ivorn_prefix === undefined || f.ivorn_prefix.length === 0) return null;
      return `(${f.ivorn_prefix.map((s) => q.startsWith("v.ivorn", s)).join(" OR ")})`;
    },
  },
  {
    key: "ref_any",
    on: "voevent",
    description: "packets that cite (true) or do not cite (false) any other packet",
    examples: ["true", "True", "false"],
    ...bool("ref_any"),
    clause(f) {
      if (f.ref_any === undefined) return null;
      return `v.id ${f.ref_any ? "" : "NOT "}IN (SELECT voevent_id FROM cite)`;
    },
  },
  {
    key: "ref_contains",
    on: "voevent",
    description: "packets citing an IVORN that contains the text (several: any of them)",
    examples: ["BAT_GRB_Pos", "GBM_Alert", "S2"],
    parse(values, into, limits) {
      into.ref_contains = values.map((v) => checkText("ref_contains", v, limits));
    },
    clause(f, q) {
      if (f.ref_contains === undefined || f.ref_contains.length === 0) return null;
      const any = f.ref_contains.map((s) => q.contains("cr.ref_ivorn", s)).join(" OR ");
      return `v.id IN (SELECT cr.voevent_id FROM cite cr WHERE ${any})`;
    },
  },
  {
    key: "ref_exact",
    on: "voevent",
    description: "packets citing exactly this IVORN (several: any of them)",
    examples: [
      "ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_649113-680",
      "ivo://nasa.gsfc.gcn/Fermi#GBM_Alert_2015-08-10T14:49:38.83_460910982_1-814",
    ],
    parse(values, into, limits) {
      into.ref_exact = values.map((v) => checkText("ref_exact", v, limits));
    },
    clause(f, q) {
      if (f.ref_exact === undefined || f.ref_exact.length === 0) return null;
      return `v.id IN (SELECT ce.voevent_id FROM cite ce WHERE ${q.inList("ce.ref_ivorn", f.ref_exact)})`;
    },
  },
  {
    key: "role",
    on: "voevent",
    description: "role is one of observation, prediction, utility, test (several: any of them)",
    examples: ["observation", "utility", "test"],
    parse(values, into) {
      into.role = values.map((v) => {
        if (!ROLES.includes(v)) throw bad("role", v, `expected one of ${ROLES.join(", ")}`);
        return v;
      });
    },
    clause(f, q) {
      if (f.role === undefined || f.role.length === 0) return null;
      return q.inList("v.role", f.role);
    },
  },
  {
    key: "stream",
    on: "voevent",
    description: "stream (the IVORN before #, without ivo://) is the value (several: any of them)",
    examples: ["nasa.gsfc.gcn/SWIFT", "nvo.caltech/voeventnet/catot", "nasa.gsfc.gcn#SWIFT"],
    parse(values, into, limits) {
      into.stream = values.map((v) => checkText("stream", v, limits));
    },
    clause(f, q) {
      if (f.stream === undefined || f.stream.length === 0) return null;
      return q.inList("v.stream", f.stream);
    },
  },
];

const ROLES = ["observation", "prediction", "utility", "test"];
export const ORDERS: readonly ArchiveOrder[] = [
  "id",
  "-id",
  "ivorn",
  "-ivorn",
  "author_datetime",
  "-author_datetime",
];
export const PAGINATION_KEYS = ["limit", "offset", "order"] as const;

const FILTER_BY_KEY = new Map<string, FilterDefinition>(FILTERS.map((d) => [d.key, d]));

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function checkText(key: string, value: string, limits: QueryLimits): string {
  if (value.length > limits.maxValueLength) {
    throw bad(
      key,
      `${value.slice(0, 64)}…`,
      `longer than ${limits.maxValueLength} characters (maxValueLength)`,
    );
  }
  if (value.includes("\u0000")) throw bad(key, value, "contains a NUL character");
  if (LONE_SURROGATE.test(value)) throw bad(key, value, "contains an unpaired UTF-16 surrogate");
  return value;
}

/** The query's values per key, in order (a URLSearchParams, or an object such as `msg.query`). */
function valuesByKey(params: URLSearchParams | Record<string, unknown>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (k: string, v: string) => {
    const list = out.get(k);
    if (list === undefined) out.set(k, [v]);
    else list.push(v);
  };
  if (params instanceof URLSearchParams) {
    for (const [k, v] of params) add(k, v);
    return out;
  }
  for (const [k, raw] of Object.entries(params)) {
    if (raw === undefined || raw === null) continue;
    // A cone given as an array of numbers (msg.query.cone = [ra, dec, r]) is one value.
    if (k === "cone" && Array.isArray(raw) && raw.every((n) => typeof n === "number")) {
      add(k, JSON.stringify(raw));
      continue;
    }
    const items = Array.isArray(raw) ? raw : [raw];
    for (const item of items) add(k, scalar(k, item));
  }
  return out;
}

function scalar(key: string, v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (v instanceof Date && !Number.isNaN(v.getTime())) return v.toISOString();
  if (Array.isArray(v) && v.every((n) => typeof n === "number")) return JSON.stringify(v);
  let shown: string;
  try {
    shown = JSON.stringify(v) ?? String(v);
  } catch {
    shown = Object.prototype.toString.call(v);
  }
  throw new ArchiveError(
    "BAD_QUERY",
    `invalid value for ${key}: ${shown.slice(0, 200)} (expected text)`,
    key,
  );
}

function parseCount(
  key: string,
  value: string,
  max: number,
  maxName: string,
  code: "LIMIT" | "BAD_QUERY",
): number {
  if (!/^\s*\+?\d+\s*$/.test(value)) throw bad(key, value, "expected a whole number ≥ 0");
  const n = Number(value);
  if (n > max) {
    throw new ArchiveError(
      code,
      `invalid value for ${key}: ${JSON.stringify(value)} (more than ${max}, ${maxName})`,
      key,
    );
  }
  return n;
}

/**
 * Parses a query (the API's query string, or `msg.query`) into filters and pagination. Throws
 * ArchiveError: BAD_QUERY naming the key and value; LIMIT for a `limit` above `maxLimit`.
 */
export function parseArchiveQuery(
  params: URLSearchParams | Record<string, unknown>,
  limits: Partial<QueryLimits> = {},
): ArchiveQuery {
  const l: QueryLimits = { ...ARCHIVE_LIMITS, ...limits };
  const byKey = valuesByKey(params);
  const filters: ArchiveFilters = {};
  const pagination = { limit: l.defaultLimit, offset: 0, order: "id" as ArchiveOrder };
  for (const [key, values] of byKey) {
    if (values.length > l.maxValuesPerKey) {
      throw new ArchiveError(
        "BAD_QUERY",
        `invalid value for ${key}: ${values.length} values (more than ${l.maxValuesPerKey}, maxValuesPerKey)`,
        key,
      );
    }
    const def = FILTER_BY_KEY.get(key);
    if (def !== undefined) {
      def.parse(values, filters, l);
      continue;
    }
    const v = values[0];
    if (key === "limit") {
      if (v.trim() !== "") pagination.limit = parseCount(key, v, l.maxLimit, "maxLimit", "LIMIT");
    } else if (key === "offset") {
      if (v.trim() !== "") pagination.offset = parseCount(key, v, l.maxOffset, "maxOffset", "BAD_QUERY");
    } else if (key === "order") {
      if (v !== "") {
        if (!(ORDERS as readonly string[]).includes(v)) {
          throw bad(key, v, `not a valid ordering, try one of ${ORDERS.join(", ")}`);
        }
        pagination.order = v as ArchiveOrder;
      }
    } else {
      throw new ArchiveError(
        "BAD_QUERY",
        `unknown query key ${JSON.stringify(key)} (value ${JSON.stringify(v)}); the filters are ${FILTERS.map((d) => d.key).join(", ")} and ${PAGINATION_KEYS.join(", ")}`,
        key,
      );
    }
  }
  return { filters, pagination };
}

/** The WHERE clause (on packet `v`) for these filters, "" when none; parameters go to `q`. */
export function whereClause(filters: ArchiveFilters, q: SqlBuilder): string {
  // Packet clauses first, then position clauses (the text's order; placeholders are numbered).
  const onVoevent: string[] = [];
  const onCoord: string[] = [];
  for (const on of ["voevent", "coord"] as const) {
    for (const def of FILTERS) {
      if (def.on !== on) continue;
      const c = def.clause(filters, q);
      if (c !== null) (on === "voevent" ? onVoevent : onCoord).push(c);
    }
  }
  if (onCoord.length > 0)
    onVoevent.push(`v.id IN (SELECT c.voevent_id FROM coord c WHERE ${onCoord.join(" AND ")})`);
  return onVoevent.length === 0 ? "" : `WHERE ${onVoevent.map((s) => `(${s})`).join(" AND ")}`;
}

/** A builder for this dialect (re-exported for the stores). */
export function sqlBuilder(dialect: Dialect): SqlBuilder {
  return new SqlBuilder(dialect);
}
