/**
 * voevent-archive-db: a config node holding one archive (src/archive: the embedded store, a file
 * in the user directory, or a PostgreSQL server) and serving its HTTP side (src/archive/api.ts:
 * voeventdb's REST API v1, the feeds, the search page) under the runtime's httpNodeRoot, behind
 * httpNodeAuth as the monitor page is.
 *
 * Decisions:
 * - Like core mqtt's broker node, the store opens when the first node registers (an archive or a
 *   query node, on any flow) or the first HTTP request comes, and closes when the last node has
 *   deregistered and no request has used it, or when this node closes. A store that fails to
 *   open is tried again on the next use, so a database that comes up later is picked up.
 * - The routes: one middleware on RED.httpNode (added once per app) hands a request to the
 *   archive whose path it falls under; an archive leaves that map when it closes, so a redeploy
 *   frees its path at once. A second archive on a path already in use serves no HTTP (warned)
 *   but its store works.
 * - One batching writer per archive (src/archive/writer.ts), shared by its voevent-archive nodes,
 *   so batches fill from every flow; it also applies retention (`maxAge` in days, `maxEvents`;
 *   0 = no limit), off the message path. It is made on the first record and flushed (within its
 *   close deadline) before the store closes.
 * - The password is a Node-RED credential, never in the flow JSON.
 * - TLS (postgres) comes from a core `tls-config` node, as the receiver's and subscriber's
 *   (../shared/net-tls.ts): its CA (the system's when it has none), "verify server certificate",
 *   server name, and a client certificate and key when the server asks for one. A refused
 *   certificate or a server without TLS is an unavailable database (src/archive/postgres.ts):
 *   logged with what to change, events held as pending, the API answering 503.
 */
import fs from "node:fs";
import path from "node:path";
import type { NodeAPI, NodeDef } from "node-red";
import { ArchiveApi } from "../../src/archive/api";
import { openArchive } from "../../src/archive/open";
import { archivePaths } from "../../src/archive/registry";
import {
  ArchiveError,
  type ArchiveRecord,
  type ArchiveStore,
  type RetentionPolicy,
} from "../../src/archive/types";
import { ArchiveWriter } from "../../src/archive/writer";
import { loadPageAssets, type PageAssets } from "../../src/monitor/page";
import { normalisePath } from "../../src/monitor/server";
import { wholeInRange } from "../shared/config";
import { asError, onClose } from "../shared/lifecycle";
import { settingMessage } from "../shared/net-config";
import { tlsFromConfig } from "../shared/net-tls";
import type { Node } from "../shared/types";
import type { ArchiveDbNode } from "./config";

interface ArchiveDbNodeDef extends NodeDef {
  store?: string;
  file?: string;
  host?: string;
  port?: number | string;
  database?: string;
  user?: string;
  tls?: string;
  path?: string;
  maxAge?: number | string;
  maxEvents?: number | string;
}

const TYPE = "voevent-archive-db";

const ARCHIVE_DB_DEFAULTS = {
  store: "embedded",
  file: "voevent-archive",
  host: "127.0.0.1",
  port: 5432,
  database: "voevent",
  user: "voevent",
  path: "/voevent/archive",
  /** Days; 0 = keep for ever. */
  maxAge: 0,
  /** 0 = no limit. */
  maxEvents: 0,
} as const;

/** How long closing waits for the store to close. */
const CLOSE_WAIT_MS = 5000;

/** path → its API, shared by every archive of the process. */
const apis = new Map<string, ArchiveApi>();
const apps = new WeakSet<object>();
let assets: PageAssets | undefined;
let version: string | undefined;

/** The package's version (its package.json, found upwards from this file in src/ or dist/). */
function packageVersion(): string {
  if (version === undefined) version = findVersion();
  return version;
}

function findVersion(): string {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === "@voevent/node-red-voevent" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // not here: one level up
    }
    dir = path.dirname(dir);
  }
  return "";
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

function init(RED: NodeAPI): void {
  const app = RED.httpNode;
  if (app && !apps.has(app)) {
    apps.add(app);
    app.use((req, res, next) => {
      const reqPath = req.path;
      for (const api of apis.values()) {
        try {
          if (api.handle(reqPath, req, res)) return;
        } catch (err) {
          next(err);
          return;
        }
      }
      next();
    });
  }

  function VOEventArchiveDbNode(this: Node, config: ArchiveDbNodeDef) {
    RED.nodes.createNode(this, config);
    const self = this as ArchiveDbNode & { where: string; apiPath: string | null };
    const t = (key: string, subs?: Record<string, string | number>): string => RED._(`${TYPE}.${key}`, subs);
    const kind = config.store === "postgres" ? "postgres" : "embedded";
    const userDir = typeof RED.settings.userDir === "string" ? RED.settings.userDir : process.cwd();
    const fileSetting =
      typeof config.file === "string" && config.file.trim() !== ""
        ? config.file.trim()
        : ARCHIVE_DB_DEFAULTS.file;
    const file = path.resolve(userDir, fileSetting);
    const host = String(config.host ?? "").trim() || ARCHIVE_DB_DEFAULTS.host;
    const port = wholeInRange(config.port, ARCHIVE_DB_DEFAULTS.port, 1, 65535);
    const database = String(config.database ?? "").trim() || ARCHIVE_DB_DEFAULTS.database;
    const user = String(config.user ?? "").trim() || ARCHIVE_DB_DEFAULTS.user;
    const maxAgeDays = Number(config.maxAge === undefined || config.maxAge === "" ? 0 : config.maxAge);
    const policy: RetentionPolicy = {
      maxAge: Number.isFinite(maxAgeDays) && maxAgeDays > 0 ? Math.round(maxAgeDays * 86_400_000) : 0,
      maxEvents: wholeInRange(config.maxEvents, 0, 0, Number.MAX_SAFE_INTEGER),
    };
    self.where = kind === "embedded" ? file : `${user}@${host}:${port}/${database}`;
    let tls: ReturnType<typeof tlsFromConfig>;
    let tlsProblem: Error | undefined;
    if (kind === "postgres") {
      try {
        tls = tlsFromConfig(RED, config.tls, "client");
      } catch (err) {
        tlsProblem = new Error(settingMessage(RED, TYPE, err));
        this.error(t("errors.tls", { error: tlsProblem.message }));
      }
    }

    const users = new Set<Node>();
    let apiUsing = false;
    let opening: Promise<ArchiveStore> | null = null;
    let closing: Promise<void> = Promise.resolve();
    let closed = false;
    let lastError = "";

    const open = (): Promise<ArchiveStore> => {
      if (closed) return Promise.reject(new Error(t("errors.closed")));
      if (tlsProblem !== undefined) return Promise.reject(tlsProblem);
      if (opening === null) {
        const attempt = closing.then(() =>
          openArchive(
            kind === "embedded"
              ? { store: "embedded", file }
              : {
                  store: "postgres",
                  host,
                  port,
                  database,
                  user,
                  password: self.credentials?.password ?? "",
                  tls,
                },
          ),
        );
        opening = attempt;
        attempt.then(
          () => {
            if (lastError !== "") this.log(t("log.opened", { where: self.where }));
            lastError = "";
          },
          (err: unknown) => {
            if (opening === attempt) opening = null;
            const message = asError(err).message;
            if (message !== lastError) this.warn(t("errors.open", { where: self.where, error: message }));
            lastError = message;
          },
        );
      }
      return opening;
    };

    // The one batching writer of this archive (src/archive/writer.ts), made on the first record;
    // it writes through `deferred`, which waits for the store to open (a store that cannot open
    // is UNAVAILABLE to the writer, so it retries) and applies retention.
    let writer: ArchiveWriter | null = null;
    let lastWriteError = "";
    const deferred = (): ArchiveStore => {
      const ready = async (): Promise<ArchiveStore> => {
        try {
          return await open();
        } catch (err) {
          throw err instanceof ArchiveError ? err : new ArchiveError("UNAVAILABLE", asError(err).message);
        }
      };
      return {
        kind,
        insertBatch: async (records) => (await ready()).insertBatch(records),
        existing: async (ivorns) => (await ready()).existing(ivorns),
        count: async (f) => (await ready()).count(f),
        listIvorn: async (q) => (await ready()).listIvorn(q),
        listIvornNrefs: async (q) => (await ready()).listIvornNrefs(q),
        listIvornNcites: async (q) => (await ready()).listIvornNcites(q),
        mapStreamCount: async (f) => (await ready()).mapStreamCount(f),
        mapRoleCount: async (f) => (await ready()).mapRoleCount(f),
        mapStreamRoleCount: async (f) => (await ready()).mapStreamRoleCount(f),
        mapAuthoredMonthCount: async (f) => (await ready()).mapAuthoredMonthCount(f),
        list: async (q) => (await ready()).list(q),
        synopsis: async (iv) => (await ready()).synopsis(iv),
        packetXml: async (iv) => (await ready()).packetXml(iv),
        prune: async (policy) => (await ready()).prune(policy),
        lastChange: async () => (await ready()).lastChange(),
        settle: async () => (await ready()).settle(),
        close: async () => undefined,
      };
    };
    const makeWriter = (): ArchiveWriter => {
      const w = new ArchiveWriter(deferred(), { retention: policy });
      w.on("error", (err: Error) => {
        if (err.message === lastWriteError) return;
        lastWriteError = err.message;
        this.warn(t("errors.write", { where: self.where, error: err.message }));
      });
      w.on("written", () => {
        if (lastWriteError !== "") this.log(t("log.writing", { where: self.where }));
        lastWriteError = "";
      });
      return w;
    };

    const shut = (): Promise<void> => {
      const w = writer;
      writer = null;
      const pending = opening;
      opening = null;
      closing = closing.then(async () => {
        if (w !== null) await w.close();
        const s = pending === null ? null : await pending.catch(() => null);
        if (s !== null)
          await withDeadline(
            s.close().catch((err: unknown) => this.warn(asError(err).message)),
            CLOSE_WAIT_MS,
          );
      });
      return closing;
    };

    self.register = (user: Node): Promise<ArchiveStore> => {
      users.add(user);
      return open();
    };
    self.deregister = async (user: Node): Promise<void> => {
      users.delete(user);
      if (users.size === 0 && !apiUsing) await shut();
    };
    self.enqueue = (record: ArchiveRecord): boolean => {
      if (closed) return false;
      writer ??= makeWriter();
      return writer.enqueue(record);
    };
    self.counters = () => ({
      ...(writer?.counters ?? { stored: 0, duplicates: 0, pending: 0, dropped: 0, pruned: 0 }),
    });
    self.lastError = () => writer?.lastError ?? null;

    // The HTTP side.
    const where = normalisePath(
      config.path === undefined || config.path === "" ? ARCHIVE_DB_DEFAULTS.path : config.path,
    );
    let api: ArchiveApi | null = null;
    self.apiPath = null;
    if (where === null) {
      this.error(t("errors.path", { path: String(config.path) }));
    } else if (apis.has(where)) {
      this.warn(t("errors.in-use", { path: where }));
    } else {
      try {
        assets ??= loadPageAssets(path.join(__dirname, "page"));
        api = new ArchiveApi({
          path: where,
          store: () => {
            apiUsing = true;
            return open();
          },
          assets,
          version: packageVersion(),
          title: config.name ? String(config.name) : "VOEvent archive",
        });
        apis.set(where, api);
        archivePaths.add(where);
        self.apiPath = where;
      } catch (err) {
        this.error(asError(err).message);
      }
    }

    onClose(this, async () => {
      closed = true;
      if (api !== null && where !== null && apis.get(where) === api) {
        apis.delete(where);
        archivePaths.delete(where);
      }
      api?.close();
      users.clear();
      await shut();
    });
  }
  RED.nodes.registerType(TYPE, VOEventArchiveDbNode, { credentials: { password: { type: "password" } } });
}

export = init;
