/**
 * Example flows for end-to-end tests: read from examples/, with ports and hosts rewritten
 * (the examples' fixed 8098/8099 and GCN's addresses become local free ports), and debug
 * nodes turned into taps whose output a test can find in the runtime's log.
 */
import fs from "node:fs";
import path from "node:path";
import { type FlowNode, REPO_ROOT, type Runtime } from "./harness";

export const EXAMPLES_DIR = path.join(REPO_ROOT, "examples");

/** The demo that `npm start` deploys (demo/demo.json: not an example, so not in the menu). */
export function readDemo(): FlowNode[] {
  const flows: unknown = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "demo", "demo.json"), "utf8"));
  if (!Array.isArray(flows)) throw new Error("demo/demo.json is not a flow array");
  return flows as FlowNode[];
}

/** examples/<file> as a flow array. */
export function readExample(file: string): FlowNode[] {
  const flows: unknown = JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, file), "utf8"));
  if (!Array.isArray(flows)) throw new Error(`examples/${file} is not a flow array`);
  return flows as FlowNode[];
}

export interface FlowRewrite {
  /** Old port → new port, for every node's `port` property. */
  ports?: Record<number, number>;
  /** Old host → new host, for every node's `host` property. */
  hosts?: Record<string, string>;
}

/** A deep copy of `flows` with ports and hosts rewritten. */
export function rewriteFlow(flows: readonly FlowNode[], rewrite: FlowRewrite): FlowNode[] {
  const copy = structuredClone(flows) as FlowNode[];
  for (const node of copy) {
    if (node.port !== undefined && node.port !== "") {
      const to = rewrite.ports?.[Number(node.port)];
      if (to !== undefined) node.port = to;
    }
    if (typeof node.host === "string") {
      const to = rewrite.hosts?.[node.host];
      if (to !== undefined) node.host = to;
    }
  }
  return copy;
}

/** The line a tapped debug node logs: `SEEN <id> <value>`. */
export function seen(id: string, value: string): string {
  return `SEEN ${id} ${value}`;
}

/**
 * Makes debug nodes log to the console as `SEEN <id> <expr>` (a JSONata expression over msg;
 * default the event's IVORN). `taps` maps node ids to expressions; other debug nodes are left alone.
 */
export function tapDebugs(flows: FlowNode[], taps: Record<string, string>): FlowNode[] {
  for (const node of flows) {
    const expr = taps[node.id];
    if (node.type !== "debug" || expr === undefined) continue;
    node.console = true;
    node.targetType = "jsonata";
    node.complete = `"SEEN ${node.id} " & (${expr})`;
  }
  const missing = Object.keys(taps).filter((id) => !flows.some((n) => n.id === id && n.type === "debug"));
  if (missing.length > 0) throw new Error(`no debug nodes ${missing.join(", ")}`);
  return flows;
}

/** How many times `text` occurs in the runtime's log after `since`. */
export function countInLog(rt: Runtime, text: string, since = 0): number {
  return rt.logs().slice(since).split(text).length - 1;
}

/** A core function node running `func`, with one output. */
export function functionNode(id: string, z: string, name: string, func: string, wires: string[][]): FlowNode {
  return {
    id,
    type: "function",
    z,
    name,
    func,
    outputs: 1,
    timeout: 0,
    noerr: 0,
    initialize: "",
    finalize: "",
    libs: [],
    wires,
  };
}
