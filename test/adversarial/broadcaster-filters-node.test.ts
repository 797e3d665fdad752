/**
 * Issue 8, row 2, through the voevent-broadcaster node in a real Node-RED runtime, with an
 * honest and a hostile subscriber over loopback: every input event comes out of the node
 * within milliseconds, the honest subscriber gets them all, the hostile filter is reported
 * once with its text, and the subscriber is dropped (a warning and a `filter-drop` message
 * on the monitor output). The limits are node settings, refused when invalid. Before the
 * budget, each event held the runtime ~2.7 s.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { type SubscribedEvent, VTPSubscriber } from "../../src/vtp/subscriber";
import { packetPath } from "../helpers/corpus";
import {
  callsOf,
  catchNode,
  collect,
  type FlowNode,
  getNode,
  loadFlow,
  statusHistory,
  useNodeRed,
  waitUntil,
} from "../helpers/nodered";
import { freePort, identityNode } from "../nodes/network-helpers";
import { HOSTILE_FILTER } from "./hostile-xpath";

const TYPES = ["voevent-broadcaster", "voevent-identity"];
const GENEROUS_MS = 400;

function flow(port: number, props: Record<string, unknown> = {}): FlowNode[] {
  return [
    identityNode(),
    {
      id: "b",
      type: "voevent-broadcaster",
      host: "127.0.0.1",
      port,
      identity: "ident",
      whitelist: "127.0.0.0/8, ::1",
      monitor: true,
      outputs: 2,
      ...props,
      wires: [["out"], ["mon"]],
    },
    { id: "out", type: "helper" },
    { id: "mon", type: "helper" },
    catchNode("c", ["caught"]),
    { id: "caught", type: "helper" },
  ];
}

const texts = () => statusHistory("b").map((s) => s.text ?? "");

describe("adversarial: voevent-broadcaster node with a hostile subscriber filter (issue 8 row 2)", function () {
  this.timeout(120_000);
  useNodeRed();
  const subs: VTPSubscriber[] = [];
  afterEach(async () => {
    await Promise.all(subs.splice(0).map((s) => s.close()));
  });

  function subscribe(port: number, filters: string[]): SubscribedEvent[] {
    const sub = new VTPSubscriber({
      host: "127.0.0.1",
      port,
      localIvo: "ivo://adversarial.test/sub",
      filters,
    });
    const events: SubscribedEvent[] = [];
    sub.on("event", (ev: SubscribedEvent) => events.push(ev));
    sub.on("warning", () => {});
    subs.push(sub);
    sub.start();
    return events;
  }

  it("keeps routing at once; reports the filter once; drops its subscriber on the monitor output", async () => {
    const port = await freePort();
    await loadFlow(TYPES, flow(port));
    await waitUntil(() => texts().includes(`0 subscribers (port ${port})`), 5000, "listening");
    const honest = subscribe(port, []);
    subscribe(port, [HOSTILE_FILTER]);
    await waitUntil(() => texts().includes(`2 subscribers (port ${port})`), 5000, "two subscribers");
    await new Promise((r) => setTimeout(r, 200)); // the filters come with the authenticate reply
    const out = collect("out");
    const mon = collect("mon");
    const text = readFileSync(packetPath("gwcelery__swift_grb_gcn.xml"), "utf8");
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      const t0 = performance.now();
      getNode("b").receive({
        payload: text.replace("BAT_GRB_Pos_1123129-022", `BAT_GRB_Pos_1123129-02${i}`),
      });
      await waitUntil(() => out.length === i + 1, 10_000, `event ${i + 1} through the node`);
      times.push(performance.now() - t0);
    }
    assert.ok(
      Math.max(...times) < GENEROUS_MS,
      `events took ${times.map((t) => t.toFixed(0)).join(", ")} ms`,
    );
    await waitUntil(() => honest.length === 4, 5000, "the honest subscriber's events");
    const drop = mon.find((m) => m.topic === "filter-drop");
    assert.ok(drop, `monitor: ${mon.map((m) => m.topic).join(", ")}`);
    assert.match(String((drop.payload as { reason: string }).reason), /maxBudgetOverruns 3/);
    const warnings = callsOf("b", "warn").map(([w]) => String(w));
    assert.equal(warnings.filter((w) => w.includes(HOSTILE_FILTER)).length, 2, warnings.join("\n")); // report + drop
    assert.equal(warnings.filter((w) => /counts as not matching/.test(w)).length, 1);
  });

  for (const [name, value, pattern] of [
    ["maxFilters", 0, /maxFilters/],
    ["maxFilterLength", "x", /maxFilterLength/],
    ["xpathBudget", -5, /xpathBudget/],
    ["maxBudgetOverruns", 1.5, /maxBudgetOverruns/],
    ["eventFilterBudget", 0, /eventFilterBudget/],
  ] as const) {
    it(`refuses to start with ${name} ${JSON.stringify(value)}, naming the limit`, async () => {
      const port = await freePort();
      await loadFlow(TYPES, flow(port, { [name]: value }));
      await waitUntil(() => texts().includes("invalid settings"), 5000, "invalid settings status");
      assert.match(String(callsOf("b", "error")[0]?.[0]), pattern);
    });
  }
});
