/**
 * Node tests with node-red-node-test-helper, for every node of the package.
 *
 *   import { catchNode, loadFlow, nextMessage, useNodeRed } from "../helpers/nodered";
 *   describe("voevent-x node", () => {
 *     useNodeRed();                                   // start/stop a runtime around each test
 *     it("…", async () => {
 *       await loadFlow(["voevent-x"], [
 *         { id: "n1", type: "voevent-x", wires: [["out"]] },
 *         { id: "out", type: "helper" },
 *         catchNode("c", ["caught"]), { id: "caught", type: "helper" },
 *       ]);
 *       const got = nextMessage("out");
 *       getNode("n1").receive({ payload: xml });
 *       assert.equal((await got).topic, "voevent/…");
 *     });
 *   });
 *
 * Nodes load from their TypeScript sources (nodes/<type>/<type>.ts, through
 * tsx), so tests need no build. The helper normally hands nodes an RED._ that
 * returns the key; here RED._ reads the node's own locale catalog
 * (nodes/<type>/locales/en-US/<type>.json) like the runtime does, so tests see
 * the real English, and a key missing from a catalog is recorded
 * (missingCatalogKeys(), checked after each test by useNodeRed).
 */
import assert from "node:assert/strict";
import type { EventEmitter } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Node, NodeAPI, NodeMessageInFlow, NodeStatus } from "node-red";

/** One node of a test flow. */
export interface FlowNode {
  id: string;
  type: string;
  wires?: string[][];
  [property: string]: unknown;
}

export type NodeInit = (RED: NodeAPI) => void | Promise<void>;

interface SupertestResponse {
  status: number;
  body: unknown;
}
interface SupertestRequest extends PromiseLike<SupertestResponse> {
  send(body: unknown): SupertestRequest;
  set(field: string, value: string): SupertestRequest;
}

/** The part of node-red-node-test-helper the tests use (the package ships no types). */
export interface TestHelper {
  init(runtimePath: string, userSettings?: Record<string, unknown>): void;
  settings(userSettings?: Record<string, unknown>): Record<string, unknown>;
  load(nodes: NodeInit | NodeInit[], flow: FlowNode[], credentials?: Record<string, unknown>): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): Node | null;
  setFlows(
    flow: FlowNode[],
    type?: "full" | "flows" | "nodes",
    credentials?: Record<string, unknown>,
  ): Promise<void>;
  startServer(): Promise<void>;
  stopServer(): Promise<void>;
  request(): { post(path: string): SupertestRequest; get(path: string): SupertestRequest };
}

export const helper: TestHelper = require("node-red-node-test-helper");

const ROOT = path.resolve(__dirname, "../..");

/** A directory for this test process, removed at exit: the runtime's userDir (dedupe files go there). */
export const userDir = mkdtempSync(path.join(tmpdir(), "voevent-nodes-"));
process.on("exit", () => rmSync(userDir, { recursive: true, force: true }));

helper.init(require.resolve("node-red"), { userDir });

// --- i18n: each node's catalog, read as the runtime reads it --------------------------

type Catalog = { [key: string]: string | Catalog };
const catalogs = new Map<string, Catalog | null>();
const missing = new Set<string>();

function catalogFor(type: string): Catalog | null {
  if (!catalogs.has(type)) {
    const file = path.join(ROOT, "nodes", type, "locales", "en-US", `${type}.json`);
    catalogs.set(type, existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Catalog) : null);
  }
  return catalogs.get(type) ?? null;
}

const PLURAL = new Intl.PluralRules("en");

/**
 * RED._ as the runtime gives it to a node of this package: `<type>.a.b` is looked
 * up in nodes/<type>/locales/en-US/<type>.json, `__name__` is replaced by the
 * substitution of that name; with a numeric `count`, `b_one` / `b_other` come first, as
 * i18next (v4 catalogues) picks plural forms. A missing key is recorded and returned as is.
 */
export function translate(key: string, subs: Record<string, string | number> = {}): string {
  if (key.includes(":")) return key; // another namespace (node-red:common…): not ours to check
  const type = key.split(".")[0];
  const lookup = (parts: string[]): string | Catalog | undefined => {
    let entry: string | Catalog | undefined = catalogFor(type) ?? undefined;
    for (const part of parts)
      entry = entry !== undefined && typeof entry === "object" ? entry[part] : undefined;
    return entry;
  };
  const parts = key.split(".");
  let entry = lookup(parts);
  if (typeof subs.count === "number") {
    const plural = lookup([...parts.slice(0, -1), `${parts.at(-1)}_${PLURAL.select(subs.count)}`]);
    if (typeof plural === "string") entry = plural;
  }
  if (typeof entry !== "string") {
    missing.add(key);
    return key;
  }
  return entry.replace(/__([A-Za-z0-9_]+)__/g, (all, name: string) =>
    Object.hasOwn(subs, name) ? String(subs[name]) : all,
  );
}

/** Catalog keys asked for that do not exist (cleared by clearMissingCatalogKeys). */
export function missingCatalogKeys(): string[] {
  return [...missing];
}
export function clearMissingCatalogKeys(): void {
  missing.clear();
}

// --- loading nodes --------------------------------------------------------------------

/** A node module of this package (from its TypeScript source), with RED._ reading the catalogs. */
export function nodeInit(type: string): NodeInit {
  const file = path.join(ROOT, "nodes", type, `${type}.ts`);
  const init = require(file) as NodeInit;
  assert.equal(typeof init, "function", `${file} must export a function`);
  return (RED) => {
    RED._ = translate;
    return init(RED);
  };
}

/** The tab loadFlow puts nodes on, so they have flow context and Catch nodes see them. */
export const TAB_ID = "tab1";

/**
 * Loads a flow with the given node types of this package (core catch, status
 * and complete nodes need no listing). Nodes without `z` go on a tab TAB_ID,
 * added unless the flow has one.
 */
export async function loadFlow(types: string[], flow: FlowNode[], credentials?: Record<string, unknown>) {
  const hasTab = flow.some((n) => n.type === "tab");
  const nodes = hasTab
    ? flow
    : [{ id: TAB_ID, type: "tab", label: "test" }, ...flow.map((n) => ("z" in n ? n : { ...n, z: TAB_ID }))];
  await helper.load(types.map(nodeInit), nodes, credentials);
}

/**
 * Registers mocha hooks: a runtime server around each test, flows unloaded
 * after it, and a check that no catalog key was missing.
 */
export function useNodeRed(): void {
  beforeEach(async () => {
    clearMissingCatalogKeys();
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    assert.deepEqual(missingCatalogKeys(), [], "keys missing from the node catalogs");
  });
}

/** A node of the running flow; fails the test when absent. */
export function getNode(id: string): Node {
  const node = helper.getNode(id);
  assert.ok(node, `no node ${id} in the flow`);
  return node;
}

/** A Catch node (all nodes of the flow) wired to `wires`. */
export function catchNode(id: string, wires: string[]): FlowNode {
  return { id, type: "catch", scope: null, uncaught: false, wires: [wires] };
}

// --- waiting for things ---------------------------------------------------------------

export type Msg = NodeMessageInFlow & Record<string, unknown>;

/** The next message into node `id` (a helper node), or a rejection after `ms`. */
export function nextMessage(id: string, ms = 2000): Promise<Msg> {
  const node = getNode(id);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      node.removeListener("input", onInput);
      reject(new Error(`no message reached ${id} within ${ms} ms`));
    }, ms);
    function onInput(msg: NodeMessageInFlow) {
      clearTimeout(timer);
      node.removeListener("input", onInput);
      resolve(msg as Msg);
    }
    node.on("input", onInput);
  });
}

/** Every message into node `id` from now on, in an array that fills as they arrive. */
export function collect(id: string): Msg[] {
  const got: Msg[] = [];
  getNode(id).on("input", (msg: NodeMessageInFlow) => {
    got.push(msg as Msg);
  });
  return got;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true, or fails after `ms`. */
export async function waitUntil(check: () => boolean, ms = 2000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** The statuses node `id` sets from now on, in an array that fills as they are set. */
export function statuses(id: string): NodeStatus[] {
  const got: NodeStatus[] = [];
  // The helper spies on Node.prototype.status and emits "call:status" with the sinon call.
  (getNode(id) as EventEmitter).on("call:status", (call: { args: unknown[] }) => {
    const s = call.args[0];
    got.push(typeof s === "string" ? { text: s } : (s as NodeStatus));
  });
  return got;
}

/**
 * The arguments of every call node `id` has made to one of the methods the
 * helper spies on (status, warn, log, send…) since the flow was loaded,
 * start-up included.
 */
export function callsOf(
  id: string,
  method: "status" | "warn" | "error" | "log" | "send" | "debug" | "trace",
): unknown[][] {
  const node = getNode(id);
  const spy = node[method] as unknown as { getCalls(): { thisValue: unknown; args: unknown[] }[] };
  return spy
    .getCalls()
    .filter((call) => call.thisValue === node)
    .map((call) => call.args);
}

/** Every status node `id` has set since the flow was loaded, start-up included. */
export function statusHistory(id: string): NodeStatus[] {
  return callsOf(id, "status").map(([s]) => (typeof s === "string" ? { text: s } : (s as NodeStatus)));
}

/** Resolves with the first status of node `id` (from now on) that satisfies `test`. */
export function waitForStatus(id: string, test: (s: NodeStatus) => boolean, ms = 2000): Promise<NodeStatus> {
  const node = getNode(id) as EventEmitter;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      node.removeListener("call:status", onStatus);
      reject(new Error(`node ${id} set no matching status within ${ms} ms`));
    }, ms);
    function onStatus(call: { args: unknown[] }) {
      const raw = call.args[0];
      const s: NodeStatus = typeof raw === "string" ? { text: raw } : (raw as NodeStatus);
      if (!test(s)) return;
      clearTimeout(timer);
      node.removeListener("call:status", onStatus);
      resolve(s);
    }
    node.on("call:status", onStatus);
  });
}

/** Asserts no message reaches node `id` for `ms`. */
export async function noMessage(id: string, ms = 100): Promise<void> {
  const got = collect(id);
  await sleep(ms);
  assert.equal(got.length, 0, `unexpected message at ${id}: ${JSON.stringify(got[0])?.slice(0, 200)}`);
}

/** The text of the error a Catch node passed on. */
export function caughtError(msg: Msg): string {
  const error = msg.error as { message?: unknown } | undefined;
  assert.ok(error && typeof error.message === "string", "the caught message has msg.error.message");
  return error.message as string;
}
