/**
 * voevent-monitor node (node-red-node-test-helper): keeps what it receives, refuses a bad or
 * taken path, keeps its events and their signature verdicts across a restart when it persists
 * them in a context store, and many full redeploys of monitors, receivers and subscribers with
 * health leave no timer, socket or feed behind.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { NodeAPI } from "node-red";
import { feeds } from "../../src/monitor/feeds";
import {
  catchNode,
  caughtError,
  collect,
  type FlowNode,
  getNode,
  helper,
  loadFlow,
  nodeInit,
  statusHistory,
  TAB_ID,
  useNodeRed,
  waitUntil,
} from "../helpers/nodered";
import { freePorts, identityNode } from "./network-helpers";

const GBM = readFileSync(path.join(__dirname, "../../samples/fermi-gbm-position.xml"), "utf8");
const TYPES = ["voevent-monitor", "voevent-receiver", "voevent-subscriber", "voevent-identity"];

type HttpApp = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** GET on RED.httpNode (the helper does not serve it) through a real loopback server. */
async function httpGetJson(app: HttpApp, pathAndQuery: string): Promise<unknown> {
  const server = http.createServer((req, res) => app(req, res));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${pathAndQuery}`);
    assert.equal(res.status, 200, pathAndQuery);
    return await res.json();
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

describe("voevent-monitor node", () => {
  useNodeRed();

  it("persisting in a context store, keeps each event's signature verdict across a restart", async () => {
    let httpNode: HttpApp | undefined;
    const monitor = nodeInit("voevent-monitor");
    const init = (RED: NodeAPI) => {
      httpNode = RED.httpNode as unknown as HttpApp;
      return monitor(RED);
    };
    const flow: FlowNode[] = [
      { id: TAB_ID, type: "tab", label: "test" },
      {
        id: "m",
        type: "voevent-monitor",
        z: TAB_ID,
        name: "",
        path: "/voevent/persisted",
        max: 10,
        params: "",
        persist: "file",
      },
    ];
    // A runtime with a context store "file" (Node-RED's localfilesystem, in a folder of this
    // test's), loaded as the runtime loads it at start.
    const dir = mkdtempSync(path.join(tmpdir(), "voevent-monitor-context-"));
    const internals = helper as unknown as {
      _redNodes: { loadContextsPlugin(): Promise<void>; closeContextsPlugin(): Promise<void> };
    };
    helper.settings({
      contextStorage: { file: { module: "localfilesystem", config: { dir, cache: false } } },
    });
    await helper.load([init], flow);
    await internals._redNodes.loadContextsPlugin();
    try {
      assert.ok(httpNode, "the node saw RED.httpNode");
      await persistedVerdicts(httpNode, flow);
    } finally {
      await helper.unload();
      await internals._redNodes.closeContextsPlugin();
      helper.settings({});
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** Three events, two with verdicts, then a restart: the page shows the same verdicts. */
  async function persistedVerdicts(app: HttpApp, flow: FlowNode[]): Promise<void> {
    const signed = {
      verdict: "signed",
      keyId: "8C3F2A71D0E4B95A",
      userId: "GCN test key <gcn@example.org>",
      fingerprint: "0F1E2D3C4B5A69788796A5B48C3F2A71D0E4B95A",
      reason: "signed by 8C3F2A71D0E4B95A (GCN test key <gcn@example.org>)",
    };
    const bad = { verdict: "bad", keyId: "8C3F2A71D0E4B95A", userId: null, reason: "bad signature" };
    getNode("m").receive({ payload: GBM, signature: signed });
    getNode("m").receive({ payload: GBM, signature: bad });
    getNode("m").receive({ payload: GBM });
    type State = { events: Array<{ signature: unknown }> };
    const before = (await httpGetJson(app, "/voevent/persisted/api/state")) as State;
    assert.equal(before.events.length, 3);
    // A full deploy stops the node (it saves) and starts a new one (it reads the store back).
    await helper.setFlows(flow, "full");
    let after: State = { events: [] };
    for (let i = 0; i < 50 && after.events.length < 3; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      after = (await httpGetJson(app, "/voevent/persisted/api/state")) as State;
    }
    assert.equal(after.events.length, 3, "the 3 events are back after the restart");
    // Newest first, as the page shows them.
    assert.deepEqual(
      after.events.map((e) => e.signature),
      [
        null,
        { verdict: "bad", keyId: "8C3F2A71D0E4B95A", userId: null },
        { verdict: "signed", keyId: "8C3F2A71D0E4B95A", userId: "GCN test key <gcn@example.org>" },
      ],
    );
    assert.deepEqual(
      after.events.map((e) => e.signature),
      before.events.map((e) => e.signature),
    );
  }

  it("counts what it keeps in its status", async () => {
    await loadFlow(TYPES, [
      { id: "m", type: "voevent-monitor", name: "", path: "/voevent/test-a", max: 2, params: "" },
    ]);
    for (let i = 0; i < 3; i++) getNode("m").receive({ payload: GBM });
    await waitUntil(
      () => statusHistory("m").some((s) => s.text === "2 kept · /voevent/test-a"),
      2000,
      "status",
    );
  });

  it("refuses a bad path and a path another monitor serves; input then goes to done(err)", async () => {
    await loadFlow(TYPES, [
      { id: "m1", type: "voevent-monitor", name: "", path: "/voevent/same", max: 10, params: "" },
      { id: "m2", type: "voevent-monitor", name: "", path: "/voevent/same/", max: 10, params: "" },
      { id: "m3", type: "voevent-monitor", name: "", path: "/voevent/../x", max: 10, params: "" },
      { id: "m4", type: "voevent-monitor", name: "", path: "/voevent/ok", max: 0, params: "" },
      catchNode("c", ["caught"]),
      { id: "caught", type: "helper" },
    ]);
    const caught = collect("caught");
    for (const id of ["m2", "m3", "m4"]) {
      assert.equal(statusHistory(id).at(-1)?.text, "refused: see debug", id);
    }
    getNode("m2").receive({ payload: GBM });
    await waitUntil(() => caught.length === 1, 2000, "caught");
    assert.match(caughtError(caught[0]), /already served by another voevent-monitor/);
    assert.notEqual(statusHistory("m1").at(-1)?.text, "refused: see debug");
  });

  it("30 full redeploys leave no timer, socket or feed behind", async function () {
    this.timeout(60_000);
    const [rPort, deadPort] = await freePorts(2);
    const flow = (generation: number): FlowNode[] => [
      { id: TAB_ID, type: "tab", label: `deploy ${generation}` },
      identityNode(),
      {
        id: "m",
        type: "voevent-monitor",
        z: TAB_ID,
        name: "",
        path: "/voevent/m",
        max: 5,
        params: "Packet_Type",
      },
      {
        id: "m2",
        type: "voevent-monitor",
        z: TAB_ID,
        name: "",
        path: `/voevent/m${generation}`,
        max: 5,
        params: "",
      },
      {
        id: "r",
        type: "voevent-receiver",
        z: TAB_ID,
        host: "127.0.0.1",
        port: rPort,
        identity: "ident",
        whitelist: "127.0.0.0/8",
        validate: "well-formed",
        wires: [["m"]],
      },
      {
        id: "s",
        type: "voevent-subscriber",
        z: TAB_ID,
        host: "127.0.0.1",
        port: deadPort,
        identity: "ident",
        brokerFilters: [],
        tls: "",
        watchdog: 150,
        maxBackoff: 30,
        health: true,
        silence: 1,
        silenceUnits: "hours",
        outputs: 2,
        wires: [["m"], []],
      },
    ];
    // Every timer made from here on is tracked until it fires or is cleared (unref'd timers
    // included, which process.getActiveResourcesInfo() does not list).
    const live = new Set<unknown>();
    const real = { setTimeout, setInterval, clearTimeout, clearInterval };
    const g = globalThis as unknown as Record<string, unknown>;
    g.setTimeout = (fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      const t = real.setTimeout(() => {
        live.delete(t);
        fn(...args);
      }, ms);
      live.add(t);
      return t;
    };
    g.setInterval = (fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      const t = real.setInterval(() => fn(...args), ms);
      live.add(t);
      return t;
    };
    g.clearTimeout = (t: NodeJS.Timeout | undefined) => {
      live.delete(t);
      real.clearTimeout(t);
    };
    g.clearInterval = (t: NodeJS.Timeout | undefined) => {
      live.delete(t);
      real.clearInterval(t);
    };
    try {
      await helper.load(TYPES.map(nodeInit), flow(0));
      await waitUntil(() => feeds.list().length === 2, 2000, "two feeds");
      for (let gen = 1; gen <= 30; gen++) {
        await helper.setFlows(flow(gen), "full");
        getNode("m").receive({ payload: GBM });
      }
      await waitUntil(() => feeds.list().length === 2, 2000, "still two feeds");
      assert.deepEqual(
        feeds
          .list()
          .map((f) => f.id)
          .sort(),
        ["r", "s"],
      );
      await helper.unload();
      await waitUntil(() => feeds.list().length === 0, 2000, "no feeds after unload");
      // Each generation's timers (health alarm, status refresh, SSE keep-alive, reconnect) are gone.
      assert.ok(live.size <= 2, `${live.size} timers left of 31 generations`);
    } finally {
      Object.assign(g, real);
    }
  });
});
