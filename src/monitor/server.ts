/**
 * The monitor's HTTP side, on plain node:http request/response objects (Express's
 * extend them): the page, its script and style, a JSON snapshot, one event's XML,
 * and a Server-Sent Events stream of new events and feed changes.
 *
 *   GET <path>                     the page (HTML)
 *   GET <path>/app.js, app.css     its script and style (shipped with the package)
 *   GET <path>/common.js, common.css  the script and style it shares with the archive's
 *                                  search page (page.ts)
 *   GET <path>/api/state           {title, params, max, map, events (newest first), feeds,
 *                                  archives (links to the archives' search pages)}
 *   GET <path>/api/events?after=S  the events after sequence number S, newest first
 *   GET <path>/api/events/<seq>/xml  the event's XML as text/plain
 *   GET <path>/events              text/event-stream: `voevent` and `feeds` events
 *
 * Decisions:
 * - The page's URLs are relative to its own path, so it works under any httpNodeRoot
 *   and behind httpNodeAuth (the runtime applies both before we see the request).
 * - Every response carries a Content-Security-Policy that allows only this origin's
 *   script and style, no inline script and no plugins, and `nosniff`: even a packet
 *   string that reached the DOM as markup (it does not: the page uses textContent)
 *   could not run.
 * - Live clients are bounded (`maxClients`, default 20; one more gets 503) and a client
 *   that does not read is dropped once `maxQueuedBytes` (default 1 MiB) wait for it.
 *   A comment line every 25 s keeps proxies from closing an idle stream.
 */
import type http from "node:http";
import path from "node:path";
import { archivePaths } from "../archive/registry";
import type { MonitorEvent, MonitorStore } from "./events";
import type { FeedRegistry } from "./feeds";
import { type PageAssets, pageFile } from "./page";
import { mapFrame } from "./projection";

export const SERVER_DEFAULTS = { maxClients: 20, maxQueuedBytes: 1024 * 1024, keepAliveMs: 25_000 } as const;

/** A path the monitor may serve: "/a/b", segments of [A-Za-z0-9._~-], no "." or "..". Returns it normalised or null. */
export function normalisePath(value: unknown): string | null {
  if (typeof value !== "string") return null;
  let p = value.trim();
  if (p === "") return null;
  if (!p.startsWith("/")) p = `/${p}`;
  p = p.replace(/\/+$/, "");
  if (p.length > 200 || !/^(\/[A-Za-z0-9._~-]+)+$/.test(p)) return null;
  if (p.split("/").some((s) => s === "." || s === "..")) return null;
  return p;
}

/**
 * The archives this runtime serves (voevent-archive-db), as links relative to the monitor's page
 * (served at `<path>`, so relative to its parent): the page shows them in its header.
 */
export function archiveLinks(monitorPath: string): Array<{ path: string; href: string }> {
  return [...archivePaths].sort().map((p) => {
    const rel = path.posix.relative(path.posix.dirname(monitorPath), p);
    return { path: p, href: rel === "" ? "./" : `${rel}/` };
  });
}

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    "Content-Type": type,
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": CSP,
  });
  res.end(body);
}

export interface MonitorServerOptions {
  path: string;
  title: string;
  store: MonitorStore;
  feeds: FeedRegistry;
  /** The page's files (page.ts loadPageAssets of nodes/voevent-monitor/page). */
  assets: PageAssets;
  maxClients?: number;
  maxQueuedBytes?: number;
  keepAliveMs?: number;
}

export class MonitorServer {
  readonly path: string;
  private readonly clients = new Set<http.ServerResponse>();
  private readonly keepAlive: NodeJS.Timeout;
  private readonly onEvent: (e: MonitorEvent) => void;
  private readonly onFeeds: () => void;
  private readonly maxClients: number;
  private readonly maxQueued: number;
  private closed = false;

  constructor(private readonly options: MonitorServerOptions) {
    this.path = options.path;
    this.maxClients = options.maxClients ?? SERVER_DEFAULTS.maxClients;
    this.maxQueued = options.maxQueuedBytes ?? SERVER_DEFAULTS.maxQueuedBytes;
    this.onEvent = (e) => this.broadcast("voevent", e);
    this.onFeeds = () => this.broadcast("feeds", options.feeds.list());
    options.store.on("event", this.onEvent);
    options.feeds.on("change", this.onFeeds);
    this.keepAlive = setInterval(() => {
      for (const res of this.clients) this.write(res, ": ping\n\n");
    }, options.keepAliveMs ?? SERVER_DEFAULTS.keepAliveMs);
    this.keepAlive.unref();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /**
   * Answers a request whose path (after httpNodeRoot, without the query) is `reqPath`;
   * false when it is not this monitor's.
   */
  handle(reqPath: string, req: http.IncomingMessage, res: http.ServerResponse): boolean {
    if (this.closed) return false;
    if (reqPath !== this.path && !reqPath.startsWith(`${this.path}/`)) return false;
    const sub = reqPath.slice(this.path.length);
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      send(res, 405, "text/plain; charset=utf-8", "method not allowed\n");
      return true;
    }
    const { assets, store, feeds, title } = this.options;
    const seg = this.path.slice(this.path.lastIndexOf("/") + 1);
    const file = pageFile(sub, assets);
    if (file !== null) {
      send(res, 200, file.type, file.body);
    } else if (sub === "") {
      send(res, 200, "text/html; charset=utf-8", assets.html.replace(/\{\{base\}\}/g, seg));
    } else if (sub === "/") {
      res.writeHead(301, { Location: `../${seg}`, "Content-Length": 0 });
      res.end();
    } else if (sub === "/api/state") {
      const body = {
        title,
        params: store.params,
        max: store.max,
        map: mapFrame(),
        events: store.list(),
        feeds: feeds.list(),
        archives: archiveLinks(this.path),
      };
      send(res, 200, "application/json; charset=utf-8", JSON.stringify(body));
    } else if (sub === "/api/events") {
      const after = Number(new URL(req.url ?? "", "http://x").searchParams.get("after") ?? 0);
      const events = store.list(Number.isFinite(after) ? after : 0);
      send(res, 200, "application/json; charset=utf-8", JSON.stringify(events));
    } else if (/^\/api\/events\/\d{1,15}\/xml$/.test(sub)) {
      const seq = Number(sub.split("/")[3]);
      const kept = store.xml(seq);
      if (kept === undefined) send(res, 404, "text/plain; charset=utf-8", "no longer kept\n");
      else send(res, 200, "text/plain; charset=utf-8", kept.cut ? `${kept.xml}\n… (cut)\n` : kept.xml);
    } else if (sub === "/events") {
      this.subscribe(req, res);
    } else {
      send(res, 404, "text/plain; charset=utf-8", "not found\n");
    }
    return true;
  }

  private subscribe(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.clients.size >= this.maxClients) {
      send(res, 503, "text/plain; charset=utf-8", `too many live pages (at most ${this.maxClients})\n`);
      return;
    }
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    });
    this.clients.add(res);
    const drop = () => this.clients.delete(res);
    req.on("close", drop);
    res.on("close", drop);
    res.on("error", drop);
    this.write(res, "retry: 3000\n: hello\n\n");
  }

  private write(res: http.ServerResponse, text: string): void {
    if (res.writableLength > this.maxQueued) {
      this.clients.delete(res);
      res.destroy();
      return;
    }
    res.write(text);
  }

  private broadcast(name: string, data: unknown): void {
    if (this.clients.size === 0) return;
    const text = `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of this.clients) this.write(res, text);
  }

  /** Ends every live stream and stops listening to the store and the feeds. */
  close(): void {
    this.closed = true;
    clearInterval(this.keepAlive);
    this.options.store.off("event", this.onEvent);
    this.options.feeds.off("change", this.onFeeds);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}
