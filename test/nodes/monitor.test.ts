/**
 * voevent-monitor node (node-red-node-test-helper): keeps what it receives, refuses a bad or
 * taken path, and many full redeploys of monitors, receivers and subscribers with health leave
 * no timer, socket or feed behind.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
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

describe("voevent-monitor node", () => {
  useNodeRed();

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
