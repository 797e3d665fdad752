/**
 * End-to-end harness: a real Node-RED runtime in a child process with this package installed
 * from its packed tarball, as a user would install it, plus real peers (Mosquitto, an SMTP
 * server, headless Chromium). Everything binds to 127.0.0.1 and everything is cleaned up:
 * each helper returns a `stop()`/`close()` for `after` hooks, and whatever is still running
 * when the test process exits is killed and its temporary directory removed.
 *
 *   const rt = await startRuntime({ flows });          // in before(), this.timeout(180_000)
 *   await rt.deploy(flows); await rt.getFlows(); await rt.nodes(); rt.logs();
 *   await rt.stop();                                    // in after()
 *
 * One npm pack of the repository and one installed user directory per set of extra modules
 * are made per test run; each runtime gets a copy of that template.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { SMTPServer } from "smtp-server";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
export const PACKAGE_JSON = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as {
  name: string;
  version: string;
  "node-red"?: { version?: string; nodes?: Record<string, string> };
};
export const PACKAGE_NAME = PACKAGE_JSON.name;

/** Node set names (by this project's rule, also node types) declared in package.json. */
export function declaredNodeSets(): string[] {
  return Object.keys(PACKAGE_JSON["node-red"]?.nodes ?? {});
}

/** Timeouts for mocha hooks: runtime start and npm installs on a 2-core machine. */
export const RUNTIME_START_TIMEOUT_MS = 60_000;
export const INSTALL_TIMEOUT_MS = 180_000;

const VERBOSE = /^(1|true|yes)$/i.test(process.env.VOEVENT_E2E_VERBOSE ?? "");

// ---------------------------------------------------------------------------------------------
// Process-wide bookkeeping: one temporary root per test run, killed/removed at exit.

const RUN_PREFIX = "voevent-e2e-";
const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let runRootDir: string | undefined;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes run roots left by earlier test processes that died without cleaning up. */
function sweepStaleRunRoots(): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(os.tmpdir());
  } catch {
    return;
  }
  for (const name of entries) {
    const m = new RegExp(`^${RUN_PREFIX}(\\d+)-`).exec(name);
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) {
      fs.rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
    }
  }
}

function cleanupAtExit(): void {
  for (const child of liveChildren) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  for (const dir of liveDirs) fs.rmSync(dir, { recursive: true, force: true });
  if (runRootDir) fs.rmSync(runRootDir, { recursive: true, force: true });
}

/** The temporary root of this test run (created on first use, removed at process exit). */
export function runRoot(): string {
  if (!runRootDir) {
    sweepStaleRunRoots();
    runRootDir = fs.mkdtempSync(path.join(os.tmpdir(), `${RUN_PREFIX}${process.pid}-`));
    process.once("exit", cleanupAtExit);
  }
  return runRootDir;
}

/** A fresh temporary directory inside the run root; removed by `removeDir` or at exit. */
export function makeTempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(runRoot(), `${prefix}-`));
  liveDirs.add(dir);
  return dir;
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  liveDirs.delete(dir);
}

function track(child: ChildProcess): void {
  liveChildren.add(child);
  child.once("exit", () => liveChildren.delete(child));
}

/** Ends a child: `signal` first, SIGKILL after `graceMs`. Resolves once it has exited. */
export async function killChild(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM", graceMs = 10_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------
// Small utilities.

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port: number, timeoutMs = 10_000, isDead?: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: "127.0.0.1", port });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (isDead?.()) throw new Error(`process exited before listening on port ${port}`);
    if (Date.now() > deadline)
      throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await delay(100);
  }
}

interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a command, rejecting with its output when it fails. */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd ?? REPO_ROOT,
        env: options.env ?? process.env,
        timeout: options.timeoutMs ?? INSTALL_TIMEOUT_MS,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (err) {
          reject(
            new Error(
              `${command} ${args.join(" ")} failed (${err.message.split("\n")[0]})\n${stdout}\n${stderr}`,
            ),
          );
        } else {
          resolve({ stdout, stderr });
        }
      },
    );
  });
}

export const NPM_QUIET = ["--no-audit", "--no-fund", "--loglevel=error"];

/** Environment for npm: no lifecycle variables of an enclosing `npm test` leaking in. */
export function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_(lifecycle|package|config_(prefix|global|workspace|include_workspace))/i.test(k)) env[k] = v;
  }
  return env;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request with no keep-alive (no sockets left open). JSON bodies are serialised. */
export function httpRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: unknown; timeoutMs?: number } = {},
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    let payload: Buffer | undefined;
    if (options.body !== undefined) {
      if (typeof options.body === "string" || Buffer.isBuffer(options.body)) {
        payload = Buffer.from(options.body);
      } else {
        payload = Buffer.from(JSON.stringify(options.body));
        headers["Content-Type"] ??= "application/json";
      }
      headers["Content-Length"] = String(payload.length);
    }
    const req = http.request(url, { method: options.method ?? "GET", headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
      res.on("error", reject);
    });
    req.setTimeout(options.timeoutMs ?? 30_000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.on("error", reject);
    req.end(payload);
  });
}

// ---------------------------------------------------------------------------------------------
// Packing and installing this package.

function newestMtime(p: string): number {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of fs.readdirSync(p)) newest = Math.max(newest, newestMtime(path.join(p, entry)));
  return newest;
}

function oldestMtime(p: string): number {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let oldest = Number.POSITIVE_INFINITY;
  for (const entry of fs.readdirSync(p)) oldest = Math.min(oldest, oldestMtime(path.join(p, entry)));
  return oldest;
}

/** True when dist/ is missing or older than a source of the build. */
function buildIsStale(): boolean {
  const dist = path.join(REPO_ROOT, "dist");
  if (!fs.existsSync(dist)) return true;
  const sources = [
    "src",
    "nodes",
    "package.json",
    "tsconfig.json",
    "tsconfig.build.json",
    "scripts/build.js",
  ];
  const newestSource = Math.max(...sources.map((s) => newestMtime(path.join(REPO_ROOT, s))));
  return newestSource > oldestMtime(dist);
}

/** Node files (and their .html) that package.json declares but dist/ lacks. */
function missingNodeFiles(): string[] {
  const missing: string[] = [];
  for (const file of Object.values(PACKAGE_JSON["node-red"]?.nodes ?? {})) {
    for (const f of [file, file.replace(/\.js$/, ".html")]) {
      if (!fs.existsSync(path.join(REPO_ROOT, f))) missing.push(f);
    }
  }
  return missing;
}

let packed: Promise<string> | undefined;

/**
 * `npm pack` of the repository, once per test run, into the run's temporary root; resolves to
 * the tarball's path. Runs `npm run build` first when dist/ is missing or older than its
 * sources (under `npm test` the build has just run, so it is skipped).
 */
export function packPackage(): Promise<string> {
  packed ??= (async () => {
    // A build running elsewhere at the same moment (another test process) can leave dist/
    // half-written: rebuild when a declared node file is missing.
    if (buildIsStale() || missingNodeFiles().length > 0) {
      await run("npm", ["run", "build", "--silent"], { env: npmEnv() });
    }
    const missing = missingNodeFiles();
    if (missing.length > 0) throw new Error(`the build did not produce ${missing.join(", ")}`);
    const dest = makeTempDir("pack");
    const { stdout } = await run(
      "npm",
      ["pack", "--json", "--ignore-scripts", "--pack-destination", dest, ...NPM_QUIET],
      { env: npmEnv() },
    );
    const info = JSON.parse(stdout.slice(stdout.indexOf("["))) as Array<{ filename: string }>;
    return path.join(dest, info[0].filename);
  })();
  packed.catch(() => {
    packed = undefined;
  });
  return packed;
}

const packedModules = new Map<string, Promise<string>>();

/**
 * A tarball for an extra module: a path to a .tgz is used as is; a directory is packed; a bare
 * name is packed from this repository's node_modules (no network).
 */
function packModule(spec: string): Promise<string> {
  let pending = packedModules.get(spec);
  if (!pending) {
    pending = (async () => {
      if (spec.endsWith(".tgz") && fs.existsSync(spec)) return path.resolve(spec);
      const given = fs.existsSync(spec) ? path.resolve(spec) : path.join(REPO_ROOT, "node_modules", spec);
      if (!fs.existsSync(path.join(given, "package.json"))) {
        throw new Error(`extra module ${spec}: no package at ${given} (is it a devDependency?)`);
      }
      // npm pack leaves bundled dependencies out when it reaches the package through a symlink.
      const dir = fs.realpathSync(given);
      const dest = makeTempDir("pack-extra");
      const { stdout } = await run(
        "npm",
        ["pack", dir, "--json", "--ignore-scripts", "--pack-destination", dest],
        {
          env: npmEnv(),
        },
      );
      const info = JSON.parse(stdout.slice(stdout.indexOf("["))) as Array<{ filename: string }>;
      return path.join(dest, info[0].filename);
    })();
    packedModules.set(spec, pending);
  }
  return pending;
}

const templates = new Map<string, Promise<string>>();

/**
 * A Node-RED user directory with the packed package (and extra modules) installed by npm,
 * made once per set of extra modules and copied for each runtime.
 */
export function userDirTemplate(extraModules: string[] = []): Promise<string> {
  const key = [...new Set(extraModules)].sort().join("\n");
  let pending = templates.get(key);
  if (!pending) {
    pending = (async () => {
      const tarballs = await Promise.all([
        packPackage(),
        ...[...new Set(extraModules)].sort().map(packModule),
      ]);
      const dir = makeTempDir("userdir-template");
      fs.writeFileSync(
        path.join(dir, "package.json"),
        `${JSON.stringify({ name: "node-red-project", version: "0.0.1", private: true }, null, 2)}\n`,
      );
      await run("npm", ["install", "--prefer-offline", ...NPM_QUIET, ...tarballs], {
        cwd: dir,
        env: npmEnv(),
      });
      return dir;
    })();
    pending.catch(() => templates.delete(key));
    templates.set(key, pending);
  }
  return pending;
}

// ---------------------------------------------------------------------------------------------
// Node-RED runtime.

/** A node in a flow as Node-RED's admin API exchanges it. */
export interface FlowNode {
  id: string;
  type: string;
  z?: string;
  name?: string;
  wires?: string[][];
  [property: string]: unknown;
}

/** One node set as GET /nodes lists it. */
export interface NodeSetInfo {
  id: string;
  name: string;
  types: string[];
  enabled: boolean;
  local?: boolean;
  user?: boolean;
  module: string;
  version?: string;
  err?: string;
  loaded?: boolean;
}

/** Node-RED settings (settings.js); must be JSON-serialisable. */
export interface NodeRedSettings {
  uiHost?: string;
  uiPort?: number;
  httpAdminRoot?: string;
  httpNodeRoot?: string;
  flowFile?: string;
  credentialSecret?: string | false;
  contextStorage?: Record<string, unknown>;
  logging?: Record<string, unknown>;
  editorTheme?: Record<string, unknown>;
  functionGlobalContext?: Record<string, unknown>;
  [setting: string]: unknown;
}

export interface StartRuntimeOptions {
  /** Node binary to run Node-RED with (default: this process's). */
  nodeBinary?: string;
  /** Extra options for that node binary, before red.js (e.g. ["--cpu-prof"] for a bench). */
  nodeArgs?: string[];
  /** The node-red package directory (the one holding red.js); default: this repo's. */
  nodeRedDir?: string;
  /** Flows deployed (via the admin API) once the runtime is up. */
  flows?: FlowNode[];
  /** Settings merged (shallowly) over the harness's defaults. */
  settings?: NodeRedSettings;
  /** Extra modules installed beside the package: names from this repo's node_modules,
   * package directories, or .tgz paths, e.g. ["node-red-node-email"]. */
  extraModules?: string[];
  /** Extra environment variables for the runtime process. */
  env?: Record<string, string>;
  /** Default RUNTIME_START_TIMEOUT_MS. */
  startTimeoutMs?: number;
  /** A user directory with the package already installed, copied instead of the harness's own
   * (which installs `npm pack` of this working tree); extraModules is then ignored. */
  userDirTemplate?: string;
}

export interface Runtime {
  readonly port: number;
  /** Editor and admin API root, e.g. http://127.0.0.1:41234/ */
  readonly url: string;
  readonly userDir: string;
  readonly process: ChildProcess;
  /** URL of an http-in endpoint: httpUrl("/alerts") → http://127.0.0.1:port/http/alerts */
  httpUrl(endpoint: string): string;
  /** Everything the runtime wrote to stdout and stderr so far. */
  logs(): string;
  /** Resolves with the log text once it matches (searching from `since`, a logs().length). */
  waitForLog(pattern: RegExp | string, timeoutMs?: number, since?: number): Promise<string>;
  /** An admin API call; rejects on a status >= 400 unless `allowError`. */
  api(
    method: string,
    endpoint: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<HttpResponse>;
  /** Full deploy of `flows` (POST /flows); resolves to the new revision. */
  deploy(flows: FlowNode[]): Promise<string>;
  getFlows(): Promise<FlowNode[]>;
  nodes(): Promise<NodeSetInfo[]>;
  /** GET /settings (the editor's view: version, httpNodeRoot, ...). */
  settings(): Promise<Record<string, unknown> & { version?: string }>;
  /** Kills the runtime (SIGTERM, then SIGKILL) and removes its user directory. Idempotent. */
  stop(): Promise<void>;
}

const HTTP_NODE_ROOT = "/http";

function defaultSettings(port: number): NodeRedSettings {
  return {
    uiHost: "127.0.0.1",
    uiPort: port,
    httpAdminRoot: "/",
    httpNodeRoot: HTTP_NODE_ROOT,
    flowFile: "flows.json",
    credentialSecret: "voevent-e2e-credential-secret",
    contextStorage: {
      default: "memory",
      memory: { module: "memory" },
      file: { module: "localfilesystem" },
    },
    logging: { console: { level: "info", metrics: false, audit: false } },
    telemetry: { enabled: false },
    diagnostics: { enabled: false, ui: false },
    // No tours, and no palette catalogue fetched from the internet by the editor.
    editorTheme: { tours: false, projects: { enabled: false }, palette: { catalogues: [] } },
  };
}

/** Preloaded into the runtime: it stops itself if the test process dies without killing it. */
const WATCHDOG = `"use strict";
const parent = Number(process.env.VOEVENT_E2E_PARENT_PID);
if (parent > 0) {
  setInterval(() => {
    try { process.kill(parent, 0); } catch (e) {
      if (e && e.code === "ESRCH") {
        process.kill(process.pid, "SIGTERM");
        setTimeout(() => process.exit(1), 5000).unref();
      }
    }
  }, 1000).unref();
}
`;

function watchdogFile(): string {
  const file = path.join(runRoot(), "watchdog.cjs");
  if (!fs.existsSync(file)) fs.writeFileSync(file, WATCHDOG);
  return file;
}

function copyDir(from: string, to: string): void {
  fs.cpSync(from, to, { recursive: true, verbatimSymlinks: true });
}

/** Starts Node-RED in a child process with the packed package installed in a temporary userDir. */
export async function startRuntime(options: StartRuntimeOptions = {}): Promise<Runtime> {
  const template = options.userDirTemplate ?? (await userDirTemplate(options.extraModules ?? []));
  const port = options.settings?.uiPort ?? (await freePort());
  const userDir = makeTempDir("userdir");
  copyDir(template, userDir);

  const settings: NodeRedSettings = { ...defaultSettings(port), ...(options.settings ?? {}), uiPort: port };
  const settingsFile = path.join(userDir, "settings.js");
  fs.writeFileSync(
    settingsFile,
    `// Written by test/e2e/harness.ts\nmodule.exports = ${JSON.stringify(settings, null, 2)};\n`,
  );

  const nodeBinary = options.nodeBinary ?? process.execPath;
  const nodeRedDir = options.nodeRedDir ?? path.dirname(require.resolve("node-red/package.json"));
  const redJs = path.join(nodeRedDir, "red.js");
  if (!fs.existsSync(redJs)) throw new Error(`no red.js in ${nodeRedDir}`);

  const env: NodeJS.ProcessEnv = {
    ...npmEnv(),
    ...(options.env ?? {}),
    NODE_RED_HOME: nodeRedDir,
    VOEVENT_E2E_PARENT_PID: String(process.pid),
    PATH: `${path.dirname(nodeBinary)}${path.delimiter}${process.env.PATH ?? ""}`,
  };
  delete env.NODE_OPTIONS; // tsx's loader and the like are for this process, not the runtime

  const child = spawn(
    nodeBinary,
    [
      ...(options.nodeArgs ?? []),
      "-r",
      watchdogFile(),
      redJs,
      "--userDir",
      userDir,
      "--settings",
      settingsFile,
    ],
    { cwd: userDir, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  track(child);

  let logText = "";
  const logWaiters = new Set<() => void>();
  const onOutput = (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    logText += text;
    if (VERBOSE) process.stderr.write(text.replace(/^/gm, `[node-red:${port}] `));
    for (const wake of logWaiters) wake();
  };
  child.stdout?.on("data", onOutput);
  child.stderr?.on("data", onOutput);
  const dead = () => child.exitCode !== null || child.signalCode !== null;
  child.once("exit", () => {
    for (const wake of logWaiters) wake();
  });

  const url = `http://127.0.0.1:${port}${String(settings.httpAdminRoot ?? "/").replace(/\/?$/, "/")}`;
  const nodeRoot = String(settings.httpNodeRoot ?? HTTP_NODE_ROOT).replace(/\/$/, "");

  let stopping: Promise<void> | undefined;
  const runtime: Runtime = {
    port,
    url,
    userDir,
    process: child,
    httpUrl: (endpoint) =>
      `http://127.0.0.1:${port}${nodeRoot}${endpoint.startsWith("/") ? "" : "/"}${endpoint}`,
    logs: () => logText,
    waitForLog(pattern, timeoutMs = 10_000, since = 0) {
      const matches = () =>
        typeof pattern === "string"
          ? logText.indexOf(pattern, since) >= 0
          : pattern.test(logText.slice(since));
      return new Promise((resolve, reject) => {
        const check = () => {
          if (matches()) finish(() => resolve(logText));
          else if (dead())
            finish(() => reject(new Error(`runtime exited waiting for ${pattern}\n${logText}`)));
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`no log matching ${pattern} in ${timeoutMs} ms\n${logText}`))),
          timeoutMs,
        );
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          logWaiters.delete(check);
          settle();
        };
        logWaiters.add(check);
        check();
      });
    },
    async api(method, endpoint, body, headers = {}) {
      const res = await httpRequest(`${url}${endpoint.replace(/^\//, "")}`, {
        method,
        body,
        headers: { Accept: "application/json", ...headers },
      });
      if (res.status >= 400) throw new Error(`${method} ${endpoint}: HTTP ${res.status} ${res.body}`);
      return res;
    },
    async deploy(flows) {
      const res = await runtime.api(
        "POST",
        "/flows",
        { flows },
        { "Node-RED-Deployment-Type": "full", "Node-RED-API-Version": "v2" },
      );
      return (JSON.parse(res.body) as { rev: string }).rev;
    },
    async getFlows() {
      const res = await runtime.api("GET", "/flows", undefined, { "Node-RED-API-Version": "v2" });
      return (JSON.parse(res.body) as { flows: FlowNode[] }).flows;
    },
    async nodes() {
      return JSON.parse((await runtime.api("GET", "/nodes")).body) as NodeSetInfo[];
    },
    async settings() {
      return JSON.parse((await runtime.api("GET", "/settings")).body) as Record<string, unknown> & {
        version?: string;
      };
    },
    stop() {
      stopping ??= (async () => {
        await killChild(child, "SIGTERM", 10_000);
        removeDir(userDir);
      })();
      return stopping;
    },
  };

  try {
    const deadline = Date.now() + (options.startTimeoutMs ?? RUNTIME_START_TIMEOUT_MS);
    for (;;) {
      if (dead()) throw new Error(`Node-RED exited during start (code ${child.exitCode})\n${logText}`);
      try {
        const res = await httpRequest(`${url}settings`, {
          headers: { Accept: "application/json" },
          timeoutMs: 2000,
        });
        // 401: the admin API answers, behind adminAuth.
        if (res.status === 200 || res.status === 401) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`Node-RED did not answer on ${url} in time\n${logText}`);
      await delay(200);
    }
    // The admin API answers before the first (empty) flows have started; wait for that too.
    await runtime.waitForLog(/Started flows|Starting flows/, 30_000);
    if (options.flows) await runtime.deploy(options.flows);
    return runtime;
  } catch (err) {
    await runtime.stop();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Node-RED 5 leg.

export interface NodeRedInstall {
  nodeBinary: string;
  nodeRedDir: string;
}

/** Node 22 and Node-RED 5 in .nr5/, installed by scripts/ensure-nr5.sh if missing. */
export async function ensureNodeRed5(): Promise<NodeRedInstall> {
  await run("bash", [path.join(REPO_ROOT, "scripts", "ensure-nr5.sh")], { env: npmEnv() });
  const base = path.join(REPO_ROOT, ".nr5");
  return {
    nodeBinary: path.join(base, "node", "node_modules", "node", "bin", "node"),
    nodeRedDir: path.join(base, "node-red", "node_modules", "node-red"),
  };
}

// ---------------------------------------------------------------------------------------------
// Mosquitto.

export interface Mosquitto {
  port: number;
  /** mqtt://127.0.0.1:port */
  url: string;
  logs(): string;
  stop(): Promise<void>;
}

export const MOSQUITTO_BINARY = "/usr/sbin/mosquitto";

/** Starts Mosquitto on a free loopback port, anonymous access allowed, no persistence. */
export async function startMosquitto(): Promise<Mosquitto> {
  if (!fs.existsSync(MOSQUITTO_BINARY)) {
    throw new Error(`${MOSQUITTO_BINARY} missing: run bash scripts/ensure-test-tools.sh`);
  }
  const port = await freePort();
  const dir = makeTempDir("mosquitto");
  fs.chmodSync(dir, 0o755); // mosquitto drops root privileges before it reads anything more
  const config = path.join(dir, "mosquitto.conf");
  fs.writeFileSync(
    config,
    [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous true",
      "persistence false",
      "log_dest stdout",
      "log_type error",
      "log_type warning",
      "log_type notice",
      "log_type information",
      "",
    ].join("\n"),
  );
  fs.chmodSync(config, 0o644);
  const child = spawn(MOSQUITTO_BINARY, ["-c", config], { stdio: ["ignore", "pipe", "pipe"] });
  track(child);
  let logText = "";
  const onOutput = (c: Buffer) => {
    logText += c.toString("utf8");
  };
  child.stdout?.on("data", onOutput);
  child.stderr?.on("data", onOutput);
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await killChild(child, "SIGTERM", 5000);
      removeDir(dir);
    })();
    return stopping;
  };
  try {
    await waitForPort(port, 10_000, () => child.exitCode !== null || child.signalCode !== null);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${logText}`);
  }
  return { port, url: `mqtt://127.0.0.1:${port}`, logs: () => logText, stop };
}

// ---------------------------------------------------------------------------------------------
// SMTP server.

export interface ReceivedMail {
  /** Envelope sender (MAIL FROM). */
  from: string;
  /** Envelope recipients (RCPT TO). */
  to: string[];
  subject: string;
  /** Plain-text body (decoded); for an HTML-only mail, its HTML. */
  body: string;
  html?: string;
  /** Header name (lower case) → value, as parsed. */
  headers: Record<string, string>;
  raw: string;
}

export interface SmtpSink {
  port: number;
  messages: ReceivedMail[];
  /** Resolves with the first received message that matches (default: any), waiting if needed. */
  waitForMessage(predicate?: (m: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  stop(): Promise<void>;
}

interface ParsedMail {
  subject?: string;
  text?: string;
  html?: string | false;
  headers: Map<string, unknown>;
}
type SimpleParser = (source: Buffer) => Promise<ParsedMail>;

/** mailparser as node-red-node-email bundles it, if present. */
function loadMailparser(): SimpleParser | undefined {
  try {
    const emailPkg = require.resolve("node-red-node-email/package.json", { paths: [REPO_ROOT] });
    const mod = createRequire(emailPkg)("mailparser") as { simpleParser: SimpleParser };
    return mod.simpleParser;
  } catch {
    return undefined;
  }
}

/** Minimal RFC 822 parse: unfolded headers and the raw body (fallback without mailparser). */
function parseMailMinimal(raw: string): { headers: Record<string, string>; subject: string; body: string } {
  const split = raw.search(/\r?\n\r?\n/);
  const head = split >= 0 ? raw.slice(0, split) : raw;
  const body = split >= 0 ? raw.slice(split).replace(/^\r?\n\r?\n/, "") : "";
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { headers, subject: headers.subject ?? "", body };
}

async function parseMail(raw: Buffer, from: string, to: string[]): Promise<ReceivedMail> {
  const text = raw.toString("utf8");
  const minimal = parseMailMinimal(text);
  const simpleParser = loadMailparser();
  if (!simpleParser)
    return { from, to, subject: minimal.subject, body: minimal.body, headers: minimal.headers, raw: text };
  const parsed = await simpleParser(raw);
  const html = typeof parsed.html === "string" ? parsed.html : undefined;
  return {
    from,
    to,
    subject: parsed.subject ?? minimal.subject,
    body: parsed.text ?? html ?? minimal.body,
    html,
    headers: minimal.headers,
    raw: text,
  };
}

/** An SMTP server on a free loopback port that accepts any mail (no auth, no TLS). */
export async function startSmtp(): Promise<SmtpSink> {
  const port = await freePort();
  const messages: ReceivedMail[] = [];
  const waiters = new Set<() => void>();
  const server = new SMTPServer({
    authOptional: true,
    secure: false,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    banner: "voevent e2e sink",
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("error", (err) => callback(err));
      stream.on("end", () => {
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
        const to = session.envelope.rcptTo.map((r) => r.address);
        parseMail(Buffer.concat(chunks), from, to).then(
          (mail) => {
            messages.push(mail);
            for (const wake of waiters) wake();
            callback();
          },
          (err: Error) => callback(err),
        );
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", () => {
    // a client's broken connection; nothing to do
  });
  let stopping: Promise<void> | undefined;
  return {
    port,
    messages,
    waitForMessage(predicate = () => true, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.find(predicate);
          if (found) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching mail in ${timeoutMs} ms (${messages.length} received)`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    stop() {
      stopping ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return stopping;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Chromium.

export const CHROMIUM_BINARY = "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface Browser {
  context: BrowserContext;
  /** A new tab. */
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** Debian's Chromium via playwright-core, headless, with a fresh user-data-dir. */
export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_BINARY)) {
    throw new Error(`${CHROMIUM_BINARY} missing: run bash scripts/ensure-test-tools.sh`);
  }
  const { chromium } = await import("playwright-core");
  const userDataDir = makeTempDir("chromium-profile");
  let context: BrowserContext;
  try {
    // playwright passes --user-data-dir itself (it refuses it in args).
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_BINARY,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 900 },
      timeout: 60_000,
    });
  } catch (err) {
    removeDir(userDataDir);
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    context,
    newPage: () => context.newPage(),
    close() {
      closing ??= (async () => {
        try {
          await context.close();
        } finally {
          removeDir(userDataDir);
        }
      })();
      return closing;
    },
  };
}
