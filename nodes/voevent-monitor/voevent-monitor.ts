/**
 * voevent-monitor: a sink that keeps the last N events it receives (src/monitor/events.ts)
 * and serves a live page under the runtime's httpNodeRoot (src/monitor/server.ts): a sky
 * map, a table of events, and the runtime's feeds (src/monitor/feeds.ts).
 *
 * The routes: one middleware on RED.httpNode (added once per app) hands a request to the
 * monitor whose path it falls under; a monitor leaves that map when it closes, so a
 * redeploy frees its path at once, and two monitors with different paths coexist. A
 * second monitor on a path already in use refuses to start (red status).
 */
import path from "node:path";
import type { NodeAPI, NodeDef } from "node-red";
import { eventOf } from "../../src/contract";
import { MONITOR_DEFAULTS, MonitorStore } from "../../src/monitor/events";
import { feeds } from "../../src/monitor/feeds";
import { loadPageAssets, type PageAssets } from "../../src/monitor/page";
import { MonitorServer, normalisePath } from "../../src/monitor/server";
import { asError, onClose, onInput } from "../shared/lifecycle";
import { StatusFlasher, statusError, statusIdle, statusOk } from "../shared/status";
import type { Node } from "../shared/types";

interface MonitorNodeDef extends NodeDef {
  path?: string;
  max?: number | string;
  /** Param names shown as columns: comma-separated (or an array). */
  params?: string | string[];
  /** A context store to keep the events in across restarts ("" = memory only). */
  persist?: string;
}

/** How often a persisting monitor saves its events when some came in. */
const SAVE_MS = 5000;
const CONTEXT_KEY = "voevent-monitor-events";

const TYPE = "voevent-monitor";
const DEFAULT_PATH = "/voevent/monitor";

/** path → its monitor, shared by every monitor node of the process. */
const servers = new Map<string, MonitorServer>();
const apps = new WeakSet<object>();

function paramList(value: unknown): string[] {
  const list = Array.isArray(value) ? value : typeof value === "string" ? value.split(",") : [];
  return [
    ...new Set(
      list
        .filter((p): p is string => typeof p === "string")
        .map((p) => p.trim())
        .filter((p) => p !== ""),
    ),
  ].slice(0, 20);
}

function init(RED: NodeAPI): void {
  let assets: PageAssets | undefined;
  const app = RED.httpNode;
  if (app && !apps.has(app)) {
    apps.add(app);
    app.use((req, res, next) => {
      const reqPath = req.path;
      for (const server of servers.values()) {
        try {
          if (server.handle(reqPath, req, res)) return;
        } catch (err) {
          next(err);
          return;
        }
      }
      next();
    });
  }

  function VOEventMonitorNode(this: Node, config: MonitorNodeDef) {
    RED.nodes.createNode(this, config);
    const t = (key: string, subs?: Record<string, string | number>): string => RED._(`${TYPE}.${key}`, subs);
    const flasher = new StatusFlasher(this);
    const where = normalisePath(config.path === undefined || config.path === "" ? DEFAULT_PATH : config.path);
    const max = Number(config.max === undefined || config.max === "" ? MONITOR_DEFAULTS.max : config.max);
    let problem: string | null = null;
    if (where === null) problem = t("errors.path", { path: String(config.path) });
    else if (!Number.isInteger(max) || max < 1 || max > MONITOR_DEFAULTS.maxMax)
      problem = t("errors.max", { max: String(config.max), limit: MONITOR_DEFAULTS.maxMax });
    else if (servers.has(where)) problem = t("errors.in-use", { path: where });
    if (problem !== null || where === null) {
      this.error(problem);
      flasher.set(statusError(t("status.refused")));
      onInput(this, (_msg, _send, done) => done(new Error(problem ?? "")));
      onClose(this, () => flasher.close());
      return;
    }
    try {
      assets ??= loadPageAssets(path.join(__dirname, "page"));
    } catch (err) {
      this.error(asError(err).message);
      flasher.set(statusError(t("status.refused")));
      onClose(this, () => flasher.close());
      return;
    }
    const store = new MonitorStore({ max, params: paramList(config.params) });
    const title = config.name ? String(config.name) : "VOEvent monitor";
    const server = new MonitorServer({ path: where, title, store, feeds, assets });
    servers.set(where, server);
    flasher.set(statusIdle(t("status.waiting", { path: where })));

    // Optional persistence: the events (their XML, arrival, peer and signature verdict) in a
    // context store, loaded at start, saved every SAVE_MS when something changed and on close.
    const persist = typeof config.persist === "string" ? config.persist.trim() : "";
    const context = this.context();
    let dirty = false;
    const save = (): Promise<void> =>
      new Promise((resolve) => {
        if (!dirty) return resolve();
        dirty = false;
        context.set(CONTEXT_KEY, store.dump(), persist, (err?: Error) => {
          if (err) this.warn(t("errors.save", { error: err.message }));
          resolve();
        });
      });
    const saver = persist === "" ? undefined : setInterval(() => void save(), SAVE_MS);
    saver?.unref();
    if (persist !== "") {
      context.get(CONTEXT_KEY, persist, (err: Error | undefined, saved: unknown) => {
        if (err) return;
        store.restore(saved);
        if (store.size > 0) flasher.set(statusOk(t("status.events", { count: store.size, path: where })));
      });
    }

    onInput(this, (msg, _send, done) => {
      const ev = eventOf(msg);
      const vtp = (msg as { vtp?: { peer?: unknown } }).vtp;
      store.add(ev.voevent, ev.xml, {
        peer: typeof vtp?.peer === "string" ? vtp.peer : null,
        signature: (msg as { signature?: unknown }).signature,
      });
      dirty = true;
      flasher.update(() => statusOk(t("status.events", { count: store.size, path: where })));
      done();
    });

    onClose(this, async () => {
      if (saver !== undefined) {
        clearInterval(saver);
        await save();
      }
      if (servers.get(where) === server) servers.delete(where);
      server.close();
      store.clear();
      store.removeAllListeners();
      flasher.close();
    });
  }
  RED.nodes.registerType(TYPE, VOEventMonitorNode);
}

export = init;
