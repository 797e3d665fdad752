/**
 * The archive's HTTP side, on plain node:http request/response objects (Express's extend them):
 * voeventdb's REST API v1, so that its clients (`voeventdb.remote`) work unchanged with their URL
 * pointed at `<path>/apiv1/`, the RSS and Atom feeds (feed.ts) and the search page (its files and
 * its one JSON endpoint). Read-only.
 *
 *   GET <path>/                          the search page (HTML); <path> redirects to it
 *   GET <path>/app.js, app.css           its script and style
 *   GET <path>/common.js, common.css     the script and style it shares with the monitor's page
 *                                        (../monitor/page.ts)
 *   GET <path>/search?<filters>          the page's rows: IVORN, stream, role, times, position
 *                                        projected on the monitor's sky map, signature verdict
 *   GET <path>/feed.rss, feed.atom       the feeds (same filters, newest first)
 *   GET <path>/apiv1/                    voeventdb's landing: message, api_version, endpoints
 *   GET <path>/apiv1/count               and the other endpoints of `ENDPOINTS`
 *   GET <path>/apiv1/packet/synopsis/<url-encoded IVORN>, packet/xml/<url-encoded IVORN>
 *
 * Decisions:
 * - Replies follow voeventdb's (`restapi/v1/views.py`, `viewbase.py`): a JSON object with
 *   `endpoint` (the Flask rule, e.g. `/apiv1/count`), `querystring` (every key with the list of
 *   its values), `result`, `url` (the URL asked for) and, for the list endpoints, `limit`. Errors
 *   are voeventdb's `{"error": {"code", "description", "message"}}`: 400 for a bad query string
 *   (the message names the key and the value), 404 for an unknown IVORN (voeventdb answers 422;
 *   issue 15 asks for 404, and voeventdb.remote raises on either), 404 for an unknown endpoint, 503
 *   when the store misses its time budget or is down, is busy or fails in any other way: never a
 *   500, and never an exception out of a request callback.
 * - For `count` and the `map/` endpoints the pagination keys are ignored, as voeventdb ignores them.
 * - The signature verdict stored with a packet (issue 17) is in no voeventdb field: a synopsis
 *   has it as a separate top-level `signature` key beside `voevent`, only when there is one.
 * - An IVORN in a packet URL is percent-decoded once (voeventdb.remote sends
 *   `urllib.quote_plus(ivorn)`); when that IVORN is not stored and it has a `+`, the `+` read as
 *   a space (quote_plus's encoding of a space) is tried too.
 * - Bounds, named in `API_DEFAULTS`: the request URL's length (414 beyond it), queries running at
 *   once (503 with Retry-After beyond it: voeventdb.remote pages one request at a time, a page that
 *   fans out gets its answer a moment later). Each query has the store's own time budget.
 * - Feeds: the ETag is made of the format, the query, the store's newest row (id and received
 *   time) and its retention mark (passes that removed packets, the last one's time: a feed whose
 *   old items retention deleted has changed too); Last-Modified is the later of that received
 *   time and the last removal; either answered with 304 before any listing is read. The JSON
 *   endpoints and the search page's rows carry no validator and `no-store`: never cached.
 * - The request's Host and URL are echoed (JSON `url`, feed links) only with a URL's own
 *   characters: anything else is percent-encoded, an unusual Host becomes `localhost`.
 * - Every reply carries a Content-Security-Policy: the API and the packet XML `default-src 'none';
 *   sandbox` (a packet served as text/xml could hold XHTML script; it cannot run), the page only
 *   this origin's script and style and no inline script, and `nosniff`.
 */
import { createHash } from "node:crypto";
import type http from "node:http";
import { type PageAssets, pageFile } from "../monitor/page";
import { circlePath, mapFrame, toPixel } from "../monitor/projection";
import { parseVOEvent } from "../voevent/parse";
import { FEED_DEFAULTS, type FeedFormat, renderFeed } from "./feed";
import { PAGINATION_KEYS, parseArchiveQuery } from "./filters";
import { ArchiveError, type ArchiveFilters, type ArchiveQuery, type ArchiveStore } from "./types";

export const API_DEFAULTS = {
  /** Longest request URL (path and query string) answered; longer gets 414. */
  maxUrlLength: 8192,
  /** Store queries running at once; one more gets 503. */
  maxConcurrent: 8,
  /** Rows the search page asks for by default, and at most. */
  pageRows: 100,
  maxPageRows: 1000,
} as const;

/** The voeventdb endpoints, as its landing page lists them (Flask rules, sorted). */
export const ENDPOINTS = [
  "/apiv1/",
  "/apiv1/count",
  "/apiv1/list/ivorn",
  "/apiv1/list/ivorn_ncites",
  "/apiv1/list/ivorn_nrefs",
  "/apiv1/map/authored_month_count",
  "/apiv1/map/role_count",
  "/apiv1/map/stream_count",
  "/apiv1/map/stream_role_count",
  "/apiv1/packet/synopsis/<path:url_encoded_ivorn>",
  "/apiv1/packet/xml/<path:url_encoded_ivorn>",
] as const;

export interface ArchiveApiOptions {
  /** Normalised, e.g. `/voevent/archive` (see monitor/server.ts normalisePath). */
  path: string;
  /** The store, opened on first use by whoever owns it. */
  store: () => Promise<ArchiveStore>;
  /** The search page's files (../monitor/page.ts loadPageAssets of nodes/voevent-archive-db/page). */
  assets: PageAssets;
  /** The package's version, for the landing's `version_tag`. */
  version: string;
  /** A title for the page and the feeds. */
  title?: string;
  maxUrlLength?: number;
  maxConcurrent?: number;
}

const API_CSP = "default-src 'none'; sandbox; frame-ancestors 'none'";
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'self'";

/** An HTTP reply the API decided on: status, body and extra headers. */
class Reply {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly body: string | Buffer,
    readonly headers: Record<string, string> = {},
  ) {}
}

const JSON_TYPE = "application/json";

function errorReply(
  status: number,
  description: string,
  message: string,
  headers?: Record<string, string>,
): Reply {
  return new Reply(
    status,
    JSON_TYPE,
    JSON.stringify({ error: { code: status, description, message } }),
    headers,
  );
}

/** A reply for an error from the filters or the store: never a 500. */
export function replyForError(err: unknown, params?: URLSearchParams): Reply {
  if (err instanceof ArchiveError) {
    if (err.code === "BAD_QUERY" || err.code === "LIMIT") {
      const key = err.key;
      const values = key !== null && params !== undefined ? params.getAll(key) : [];
      const section =
        key === null
          ? ""
          : `could not parse this section: '${clip(`${key}=${values.join(`&${key}=`)}`, 300)}' - `;
      return errorReply(400, "Invalid query-string", `Error parsing query-string - ${section}${err.message}`);
    }
    if (err.code === "TIMEOUT") {
      return errorReply(503, "Service Unavailable", `The query took too long: ${err.message}`, {
        "Retry-After": "5",
      });
    }
    return errorReply(503, "Service Unavailable", `The archive cannot answer now: ${err.message}`, {
      "Retry-After": "5",
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return errorReply(503, "Service Unavailable", `The archive cannot answer now: ${message}`, {
    "Retry-After": "5",
  });
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

/** The query string as voeventdb echoes it: every key with the list of its values. */
function querystringOf(params: URLSearchParams): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of params) {
    if (!Object.hasOwn(out, k)) out[k] = [];
    out[k].push(v);
  }
  return out;
}

/** The params without voeventdb's pagination keys (for count and map/). */
function withoutPagination(params: URLSearchParams): URLSearchParams {
  const copy = new URLSearchParams(params);
  for (const k of PAGINATION_KEYS) copy.delete(k);
  return copy;
}

function filtersOf(params: URLSearchParams): ArchiveFilters {
  return parseArchiveQuery(withoutPagination(params)).filters;
}

/** An ISO 8601 time as voeventdb's JSON writes it (Python's isoformat with +00:00). */
export function isoTime(d: Date | null): string | null {
  if (d === null) return null;
  return d.toISOString().replace("Z", "+00:00");
}

/** voeventdb's `map/authored_month_count` key: `YYYY-MM` (None for packets without Who/Date). */
function monthKey(key: string): string {
  const m = /^(\d{4}-\d{2})/.exec(key);
  return m ? m[1] : key;
}

export class ArchiveApi {
  readonly path: string;
  private readonly maxUrl: number;
  private readonly maxConcurrent: number;
  private running = 0;
  private closed = false;

  constructor(private readonly options: ArchiveApiOptions) {
    this.path = options.path;
    this.maxUrl = options.maxUrlLength ?? API_DEFAULTS.maxUrlLength;
    this.maxConcurrent = options.maxConcurrent ?? API_DEFAULTS.maxConcurrent;
  }

  /** Queries running now. */
  get busy(): number {
    return this.running;
  }

  /**
   * Answers a request whose path (after httpNodeRoot, without the query string) is `reqPath`;
   * false when it is not this archive's. Never throws; the reply may be sent later.
   */
  handle(reqPath: string, req: http.IncomingMessage, res: http.ServerResponse): boolean {
    if (this.closed) return false;
    if (reqPath !== this.path && !reqPath.startsWith(`${this.path}/`)) return false;
    const sub = reqPath.slice(this.path.length);
    const rawUrl = req.url ?? "";
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(
        res,
        errorReply(405, "Method Not Allowed", "The archive is read-only: GET or HEAD.", {
          Allow: "GET, HEAD",
        }),
      );
      return true;
    }
    if (rawUrl.length > this.maxUrl) {
      send(res, errorReply(414, "URI Too Long", `The request URL is longer than ${this.maxUrl} characters.`));
      return true;
    }
    const q = rawUrl.indexOf("?");
    const params = new URLSearchParams(q < 0 ? "" : rawUrl.slice(q + 1));
    const page = this.pageReply(sub);
    if (page !== null) {
      send(res, page, PAGE_CSP);
      return true;
    }
    if (sub === "/apiv1/") {
      // The landing needs no store: it answers even while the database is down.
      send(res, this.landing(req));
      return true;
    }
    const work = this.route(sub, params, req);
    if (work === null) {
      send(
        res,
        errorReply(
          404,
          "Not Found",
          `No such endpoint: ${clip(sub, 200)}. The endpoints: ${ENDPOINTS.join(", ")}`,
        ),
      );
      return true;
    }
    if (this.running >= this.maxConcurrent) {
      send(
        res,
        errorReply(503, "Service Unavailable", `Too many queries at once (at most ${this.maxConcurrent}).`, {
          "Retry-After": "1",
        }),
      );
      return true;
    }
    this.running++;
    this.options
      .store()
      .then((s) => work(s))
      .then(
        (reply) => reply,
        (err: unknown) => replyForError(err, params),
      )
      .then((reply) => {
        this.running--;
        if (!res.headersSent && !res.writableEnded) send(res, reply);
      })
      .catch(() => {
        // send() does not throw for a live response; a destroyed one has nothing to answer
      });
    return true;
  }

  /** Stops answering: handle() returns false from now on. */
  close(): void {
    this.closed = true;
  }

  private pageReply(sub: string): Reply | null {
    const { assets } = this.options;
    const seg = this.path.slice(this.path.lastIndexOf("/") + 1);
    if (sub === "") return new Reply(301, "text/plain; charset=utf-8", "", { Location: `${seg}/` });
    if (sub === "/") return new Reply(200, "text/html; charset=utf-8", assets.html);
    const file = pageFile(sub, assets);
    if (file !== null) return new Reply(200, file.type, file.body);
    if (sub === "/apiv1") return new Reply(301, "text/plain; charset=utf-8", "", { Location: "apiv1/" });
    return null;
  }

  /** The work for a data route, or null when `sub` is no route. */
  private route(
    sub: string,
    params: URLSearchParams,
    req: http.IncomingMessage,
  ): ((store: ArchiveStore) => Promise<Reply>) | null {
    const url = fullUrl(req);
    const envelope = (endpoint: string, result: unknown, extra: Record<string, unknown> = {}): Reply =>
      new Reply(
        200,
        JSON_TYPE,
        JSON.stringify({ endpoint, querystring: querystringOf(params), result, url, ...extra }),
      );
    const list = <T>(endpoint: string, run: (store: ArchiveStore, query: ArchiveQuery) => Promise<T>) => {
      return async (store: ArchiveStore) => {
        const query = parseArchiveQuery(params);
        const result = await run(store, query);
        return envelope(endpoint, result, { limit: query.pagination.limit });
      };
    };
    const summary = <T>(
      endpoint: string,
      run: (store: ArchiveStore, filters: ArchiveFilters) => Promise<T>,
    ) => {
      return async (store: ArchiveStore) => envelope(endpoint, await run(store, filtersOf(params)));
    };
    switch (sub) {
      case "/apiv1/count":
        return summary("/apiv1/count", (s, f) => s.count(f));
      case "/apiv1/list/ivorn":
        return list("/apiv1/list/ivorn", (s, q) => s.listIvorn(q));
      case "/apiv1/list/ivorn_nrefs":
        return list("/apiv1/list/ivorn_nrefs", (s, q) => s.listIvornNrefs(q));
      case "/apiv1/list/ivorn_ncites":
        return list("/apiv1/list/ivorn_ncites", (s, q) => s.listIvornNcites(q));
      case "/apiv1/map/stream_count":
        return summary("/apiv1/map/stream_count", (s, f) => s.mapStreamCount(f));
      case "/apiv1/map/role_count":
        return summary("/apiv1/map/role_count", (s, f) => s.mapRoleCount(f));
      case "/apiv1/map/stream_role_count":
        return summary("/apiv1/map/stream_role_count", (s, f) => s.mapStreamRoleCount(f));
      case "/apiv1/map/authored_month_count":
        return summary("/apiv1/map/authored_month_count", async (s, f) => {
          const raw = await s.mapAuthoredMonthCount(f);
          const out: Record<string, number> = {};
          for (const [k, v] of Object.entries(raw)) out[monthKey(k)] = (out[monthKey(k)] ?? 0) + v;
          return out;
        });
      case "/search":
        return (store) => this.search(store, params);
      case "/feed.rss":
      case "/feed.atom":
        return (store) => this.feed(store, sub === "/feed.rss" ? "rss" : "atom", params, req);
    }
    for (const kind of ["synopsis", "xml"] as const) {
      const prefix = `/apiv1/packet/${kind}/`;
      if (sub === prefix.slice(0, -1) || sub.startsWith(prefix)) {
        const encoded = sub.slice(prefix.length);
        return (store) => this.packet(store, kind, encoded, url);
      }
    }
    return null;
  }

  private landing(req: http.IncomingMessage): Reply {
    return new Reply(
      200,
      JSON_TYPE,
      JSON.stringify({
        message: "Welcome to the voeventdb REST API, interface version 'apiv1'.",
        api_version: "apiv1",
        git_sha: "",
        version_tag: this.options.version,
        endpoints: ENDPOINTS,
        docs_url: fullUrl(req).replace(/\/apiv1\/.*$/, "/"),
      }),
    );
  }

  private async packet(
    store: ArchiveStore,
    kind: "synopsis" | "xml",
    encoded: string,
    url: string,
  ): Promise<Reply> {
    if (encoded === "") {
      return errorReply(
        400,
        "No IVORN supplied",
        "Please append a URL-encoded IVORN to the URL (see list/ivorn).",
      );
    }
    let ivorn: string;
    try {
      ivorn = decodeURIComponent(encoded);
    } catch {
      return errorReply(
        400,
        "Invalid IVORN",
        `The IVORN is not validly URL-encoded: '${clip(encoded, 300)}'.`,
      );
    }
    const candidates = ivorn.includes("+") ? [ivorn, ivorn.replace(/\+/g, " ")] : [ivorn];
    for (const candidate of candidates) {
      if (kind === "xml") {
        const xml = await store.packetXml(candidate);
        if (xml !== null) return new Reply(200, "text/xml", xml);
      } else {
        const synopsis = await store.synopsis(candidate);
        if (synopsis !== null) {
          return new Reply(
            200,
            JSON_TYPE,
            JSON.stringify({
              endpoint: `/apiv1/packet/synopsis/<path:url_encoded_ivorn>`,
              querystring: {},
              result: synopsis,
              url,
            }),
          );
        }
      }
    }
    return errorReply(
      404,
      "IVORN not found",
      `Sorry, IVORN: '${clip(ivorn, 500)}' not found in the database. If your IVORN has been truncated at the '#' ` +
        "character, then it probably just needs to be URL-encoded. IVORN listings can be found at list/ivorn.",
    );
  }

  /** The search page's rows: the packets of a query with their first position projected. */
  private async search(store: ArchiveStore, params: URLSearchParams): Promise<Reply> {
    const p = new URLSearchParams(params);
    if (!p.has("limit")) p.set("limit", String(API_DEFAULTS.pageRows));
    const limit = Number(p.get("limit"));
    if (Number.isSafeInteger(limit) && limit > API_DEFAULTS.maxPageRows)
      p.set("limit", String(API_DEFAULTS.maxPageRows));
    if (!p.has("order")) p.set("order", "-id");
    const query = parseArchiveQuery(p);
    const [total, packets] = await Promise.all([store.count(query.filters), store.list(query)]);
    const rows = packets.map((packet) => {
      let position: { ra: number; dec: number; error: number | null } | null = null;
      let time: string | null = null;
      let description: string | null = null;
      try {
        const v = parseVOEvent(packet.xml).voevent;
        position = v.position ? { ra: v.position.ra, dec: v.position.dec, error: v.position.error } : null;
        time = v.time;
        description = v.description;
      } catch {
        // a stored packet that no longer parses still has its row, without a position
      }
      const xy = position ? toPixel(position.ra, position.dec) : null;
      return {
        ivorn: packet.ivorn,
        stream: packet.stream,
        role: packet.role,
        authored: isoTime(packet.authorDatetime),
        received: isoTime(packet.receivedAt),
        time,
        description,
        position,
        signature: packet.signature ?? null,
        map:
          position && xy
            ? {
                x: xy.x,
                y: xy.y,
                circle: position.error ? circlePath(position.ra, position.dec, position.error) : "",
              }
            : null,
      };
    });
    return new Reply(
      200,
      JSON_TYPE,
      JSON.stringify({
        title: this.options.title ?? "VOEvent archive",
        total,
        limit: query.pagination.limit,
        rows,
        map: mapFrame(),
      }),
    );
  }

  private async feed(
    store: ArchiveStore,
    format: FeedFormat,
    params: URLSearchParams,
    req: http.IncomingMessage,
  ): Promise<Reply> {
    const p = new URLSearchParams(params);
    const asked = p.get("limit");
    if (asked === null || asked === "") p.set("limit", String(FEED_DEFAULTS.items));
    else if (Number.isSafeInteger(Number(asked)) && Number(asked) > FEED_DEFAULTS.maxItems)
      p.set("limit", String(FEED_DEFAULTS.maxItems));
    if (!p.has("order")) p.set("order", "-id");
    const query = parseArchiveQuery(p);
    const last = await store.lastChange();
    const canonical = [...p].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const received = last.receivedAt?.getTime() ?? 0;
    const pruned = last.prunedAt?.getTime() ?? 0;
    const etag = `"${createHash("sha256")
      .update(JSON.stringify([format, last.id, received, last.prunes, pruned, canonical]))
      .digest("base64url")
      .slice(0, 27)}"`;
    const changed = new Date(Math.max(received, pruned));
    const lastModified = new Date(Math.floor(changed.getTime() / 1000) * 1000);
    const cacheHeaders = {
      ETag: etag,
      "Last-Modified": lastModified.toUTCString(),
      "Cache-Control": "no-cache",
    };
    if (notModified(req, etag, lastModified)) return new Reply(304, "", "", cacheHeaders);
    const packets = await store.list(query);
    const base = `${fullUrl(req)
      .replace(/[?#].*$/, "")
      .replace(/\/feed\.(rss|atom)$/, "")}/`;
    const body = renderFeed(format, packets, {
      title: this.options.title ?? "VOEvent archive",
      base,
      self: fullUrl(req),
      updated: changed,
    });
    const type =
      format === "rss" ? "application/rss+xml; charset=utf-8" : "application/atom+xml; charset=utf-8";
    return new Reply(200, type, body, cacheHeaders);
  }
}

/** If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2). */
function notModified(req: http.IncomingMessage, etag: string, lastModified: Date): boolean {
  const inm = req.headers["if-none-match"];
  if (typeof inm === "string") {
    return inm
      .split(",")
      .map((t) => t.trim().replace(/^W\//, ""))
      .some((t) => t === etag || t === "*");
  }
  const ims = req.headers["if-modified-since"];
  if (typeof ims === "string") {
    const since = Date.parse(ims);
    return Number.isFinite(since) && lastModified.getTime() <= since;
  }
  return false;
}

/** The URL asked for, as the client sent it (with httpNodeRoot: Express keeps it in originalUrl). */
function fullUrl(req: http.IncomingMessage): string {
  const original = (req as http.IncomingMessage & { originalUrl?: unknown }).originalUrl;
  const pathAndQuery = typeof original === "string" ? original : (req.url ?? "/");
  const asked = typeof req.headers.host === "string" ? req.headers.host : "";
  // The URL goes into JSON and into the feeds' XML: a Host or a path with characters other than
  // a URL's own is not echoed as it came.
  const host = /^[A-Za-z0-9.:[\]_-]{1,255}$/.test(asked) ? asked : "localhost";
  const safePath = pathAndQuery.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%]/g, (c) => encodeURIComponent(c));
  const tls = (req.socket as { encrypted?: boolean }).encrypted === true;
  return `${tls ? "https" : "http"}://${host}${safePath}`;
}

function send(res: http.ServerResponse, reply: Reply, csp: string = API_CSP): void {
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  const type =
    reply.type === JSON_TYPE ? "application/json; charset=utf-8" : reply.type === "" ? undefined : reply.type;
  const headers: Record<string, string | number> = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": csp,
    "Cache-Control": "no-store",
    ...reply.headers,
  };
  if (reply.status === 304) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  if (type !== undefined) headers["Content-Type"] = type;
  headers["Content-Length"] = Buffer.byteLength(reply.body);
  res.writeHead(reply.status, headers);
  res.end(reply.body);
}
