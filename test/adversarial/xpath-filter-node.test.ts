/**
 * Issue 8, row 2, in a real Node-RED runtime: a voevent-filter node whose rules (set in the
 * node, or a registry in a context variable) include a hostile XPath. Each message is
 * routed in milliseconds, the hostile rule counts as no match and is reported once with
 * its text, and the honest rules keep routing. Before the budget each message took
 * seconds (the same filter as xpath-budget.test.ts: ~2.7 s on this packet).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { packetPath } from "../helpers/corpus";
import { callsOf, catchNode, collect, getNode, loadFlow, type Msg, useNodeRed } from "../helpers/nodered";
import { HOSTILE_FILTER } from "./hostile-xpath";

const GENEROUS_MS = 400;

async function until(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("adversarial: voevent-filter node with a hostile XPath rule (issue 8 row 2)", function () {
  this.timeout(120_000);
  useNodeRed();
  const packet = readFileSync(packetPath("gwcelery__swift_grb_gcn.xml"), "utf8");

  /** Sends `count` messages one after the other; the time each took to come out of o0 or o1. */
  async function timedRoute(count: number, out: Msg[][]): Promise<number[]> {
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const before = out[0].length + out[1].length;
      const t0 = performance.now();
      getNode("f").receive({ payload: packet, n: i });
      await until(() => out[0].length + out[1].length > before, `message ${i + 1}`);
      times.push(performance.now() - t0);
    }
    return times;
  }

  const nodes = (props: Record<string, unknown>) => [
    { id: "f", type: "voevent-filter", checkall: "true", otherwise: true, ...props, wires: [["o0"], ["o1"]] },
    { id: "o0", type: "helper" },
    { id: "o1", type: "helper" },
    catchNode("c", ["caught"]),
    { id: "caught", type: "helper" },
  ];

  it("registry in a context variable: routes at once, the hostile entry reported once then set aside", async () => {
    await loadFlow(
      ["voevent-filter"],
      nodes({ rulesFrom: "context", rulesContext: "flow", rulesKey: "subs", outputs: 2 }),
    );
    getNode("f")
      .context()
      .flow.set("subs", [
        { name: "mallory", xpath: HOSTILE_FILTER },
        { name: "alice", xpath: "//Param[@name='Packet_Type']" },
      ]);
    const out = [collect("o0"), collect("o1")];
    const caught = collect("caught");
    const times = await timedRoute(4, out);
    assert.ok(
      Math.max(...times) < GENEROUS_MS,
      `routing took ${times.map((t) => t.toFixed(0)).join(", ")} ms`,
    );
    assert.deepEqual(
      out[0].map((m) => m.subscription),
      ["alice", "alice", "alice", "alice"],
    );
    assert.equal(caught.length, 0);
    const warnings = callsOf("f", "warn").map(([w]) => String(w));
    assert.equal(warnings.filter((w) => w.includes("'mallory'")).length, 2, warnings.join("\n"));
    assert.ok(
      warnings.some((w) => w.includes(HOSTILE_FILTER) && /budget/.test(w)),
      "the filter's text, once",
    );
    assert.ok(warnings.some((w) => /set aside/.test(w)));
  });

  it("rules set in the node: the hostile rule counts as no match, reported once", async () => {
    const rules = [
      { t: "xpath", xpath: HOSTILE_FILTER },
      { t: "xpath", xpath: "//Param[@name='Packet_Type']" },
    ];
    await loadFlow(
      ["voevent-filter"],
      [
        {
          id: "f",
          type: "voevent-filter",
          checkall: "true",
          otherwise: false,
          rules,
          outputs: 2,
          wires: [["o0"], ["o1"]],
        },
        { id: "o0", type: "helper" },
        { id: "o1", type: "helper" },
      ],
    );
    const out = [collect("o0"), collect("o1")];
    const times = await timedRoute(3, out);
    assert.ok(
      Math.max(...times) < GENEROUS_MS,
      `routing took ${times.map((t) => t.toFixed(0)).join(", ")} ms`,
    );
    assert.equal(out[0].length, 0, "the hostile rule never matches");
    assert.equal(out[1].length, 3);
    const warnings = callsOf("f", "warn").map(([w]) => String(w));
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.ok(warnings[0].includes(HOSTILE_FILTER));
  });
});
