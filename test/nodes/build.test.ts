import assert from "node:assert/strict";
import { getParsed } from "../../src/voevent/cache";
import type { VOEvent } from "../../src/voevent/model";
import { validateVOEventSchema } from "../../src/vtp/schema";
import { compileXPath } from "../../src/xpath";
import {
  catchNode,
  caughtError,
  collect,
  type FlowNode,
  getNode,
  loadFlow,
  type Msg,
  nextMessage,
  statusHistory,
  useNodeRed,
  waitForStatus,
} from "../helpers/nodered";

/** The editor's defaults for a new node: the seed demo's test alert. */
const DEFAULTS = {
  streamIvorn: "ivo://voevent.example/test",
  role: "test",
  authorIvorn: "",
  shortName: "node-red-voevent",
  contactName: "KSK",
  contactEmail: "",
  description: "Test alert from KSK, sent with @voevent/node-red-voevent. Not a real event.",
  params: [],
  ra: "83.6331",
  dec: "22.0145",
  error: "0.1",
  system: "UTC-ICRS-TOPO",
  timeNow: true,
};

function flow(props: Record<string, unknown> = {}): FlowNode[] {
  return [
    { id: "b", type: "voevent-build", name: "", ...DEFAULTS, ...props, wires: [["out"]] },
    { id: "out", type: "helper" },
    catchNode("c", ["caught"]),
    { id: "caught", type: "helper" },
  ];
}

async function build(payload: unknown): Promise<Msg> {
  const got = nextMessage("out");
  getNode("b").receive({ payload });
  return got;
}

describe("voevent-build node", () => {
  useNodeRed();

  it("with its default settings sends the seed demo's test alert", async () => {
    await loadFlow(["voevent-build"], flow());
    const status = waitForStatus("b", (s) => s.fill === "green");
    const msg = await build(Date.now());
    const xml = msg.payload as string;
    const v = msg.voevent as VOEvent;
    assert.equal(v.role, "test");
    assert.equal(v.author.contactName, "KSK");
    assert.equal(v.author.ivorn, "ivo://voevent.example/test");
    assert.match(v.ivorn, /^ivo:\/\/voevent\.example\/test#\d{8}T\d{6}\.\d{3}Z-/);
    assert.deepEqual(v.position, { ra: 83.6331, dec: 22.0145, error: 0.1, system: "UTC-ICRS-TOPO" });
    assert.equal(v.time, v.date);
    assert.equal(msg.topic, "voevent/voevent.example/test");
    assert.equal((msg.vtp as { peer: unknown }).peer, null);
    assert.equal(compileXPath('//Who/Author[contactName="KSK"]').test(getParsed(xml).doc), true);
    assert.equal((await status).text, "built 1");
    const schema = await validateVOEventSchema(xml);
    assert.equal(schema.error, null);
  });

  it("gives every packet a new IVORN under the stream", async () => {
    await loadFlow(["voevent-build"], flow());
    const out = collect("out");
    for (let i = 0; i < 5; i++) getNode("b").receive({ payload: "" });
    await new Promise((r) => setTimeout(r, 50));
    const ivorns = new Set(out.map((m) => (m.voevent as VOEvent).ivorn));
    assert.equal(ivorns.size, 5);
  });

  it("writes Params as numbers or strings as set", async () => {
    await loadFlow(
      ["voevent-build"],
      flow({
        params: [
          { name: "mag", value: "17.25", vt: "num" },
          { name: "count", value: 3, vt: "num" },
          { name: "code", value: "007", vt: "str" },
        ],
        ra: "",
        dec: "",
        timeNow: false,
      }),
    );
    const msg = await build(null);
    const v = msg.voevent as VOEvent;
    assert.deepEqual(v.params, { mag: 17.25, count: 3, code: "007" });
    assert.equal(v.position, null);
    assert.equal(v.time, null);
    assert.match(msg.payload as string, /<Param name="code" dataType="string" value="007"\/>/);
  });

  it("merges an object msg.payload over the settings", async () => {
    await loadFlow(["voevent-build"], flow({ params: [{ name: "a", value: "1", vt: "num" }] }));
    const msg = await build({
      ivorn: "ivo://example.org/mine#42",
      role: "observation",
      author: { contactName: "Ada", contactEmail: "ada@example.org" },
      params: { b: "two", c: null },
      groups: { Extra: { d: 4.5 } },
      position: { ra: 10.68, dec: 41.27, error: 0.01 },
      time: "2024-03-01T12:00:00Z",
      description: "mine",
      citations: [{ ivorn: "ivo://example.org/mine#41", cite: "supersedes" }, "ivo://example.org/mine#40"],
      why: { importance: 0.9, concepts: ["process.variation.burst"] },
    });
    const v = msg.voevent as VOEvent;
    assert.equal(v.ivorn, "ivo://example.org/mine#42");
    assert.equal(msg.topic, "voevent/example.org/mine");
    assert.equal(v.role, "observation");
    assert.equal(v.author.contactName, "Ada");
    assert.equal(v.author.shortName, "node-red-voevent", "author fields merge");
    assert.deepEqual(v.params, { a: 1, b: "two", c: null });
    assert.deepEqual(v.groups, { Extra: { d: 4.5 } });
    assert.equal(v.position?.ra, 10.68);
    assert.equal(v.position?.system, "UTC-ICRS-TOPO");
    assert.equal(v.time, "2024-03-01T12:00:00Z");
    assert.equal(v.description, "mine");
    assert.deepEqual(v.citations, [
      { ivorn: "ivo://example.org/mine#41", cite: "supersedes" },
      { ivorn: "ivo://example.org/mine#40", cite: "followup" },
    ]);
    assert.equal(v.why.importance, 0.9);
    const positionless = await build({ position: null });
    assert.equal((positionless.voevent as VOEvent).position, null);
  });

  it("reports a message it cannot build to a Catch node", async () => {
    await loadFlow(["voevent-build"], flow());
    const out = collect("out");
    const cases: [unknown, RegExp][] = [
      [{ role: "retraction" }, /not a VOEvent role/],
      [{ position: { ra: 1, dec: 100 } }, /Dec|dec|-90/],
      [{ ivorn: "http://example.org/x" }, /not a valid IVORN/],
      [{ params: [1, 2] }, /params must be an object/],
      [{ citations: [{ ivorn: "ivo://example.org/x#1", cite: "likes" }] }, /cite/],
    ];
    for (const [payload, pattern] of cases) {
      const caught = nextMessage("caught");
      getNode("b").receive({ payload });
      assert.match(caughtError(await caught), pattern, JSON.stringify(payload));
    }
    assert.equal(out.length, 0);
  });

  it("refuses to start with a stream IVORN that is not one, and says so for each message", async () => {
    await loadFlow(["voevent-build"], flow({ streamIvorn: "ivo://example.org/alerts#1" }));
    const caught = nextMessage("caught");
    getNode("b").receive({ payload: "" });
    assert.match(caughtError(await caught), /has a '#'/);
  });

  it("shows a red status when its settings are invalid", async () => {
    await loadFlow(["voevent-build"], flow({ streamIvorn: "not an ivorn", ra: "x" }));
    assert.deepEqual(statusHistory("b"), [{ fill: "red", shape: "ring", text: "invalid settings" }]);
    const caught = nextMessage("caught");
    getNode("b").receive({ payload: "" });
    assert.match(caughtError(await caught), /does not start with 'ivo:\/\/'/);
  });
});
