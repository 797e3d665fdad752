import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describeCorpus, readIndex, readPacket } from "../helpers/corpus";
import {
  catchNode,
  caughtError,
  collect,
  type FlowNode,
  getNode,
  loadFlow,
  nextMessage,
  noMessage,
  useNodeRed,
  waitForStatus,
  waitUntil,
} from "../helpers/nodered";

const fixture = (name: string) => readFileSync(path.join(__dirname, "../fixtures/packets", name));

function flow(props: Record<string, unknown> = {}): FlowNode[] {
  return [
    {
      id: "p",
      type: "voevent-parse",
      name: "",
      validate: "well-formed",
      maxBytes: 1048576,
      ...props,
      wires: [["out"]],
    },
    { id: "out", type: "helper" },
    catchNode("c", ["caught"]),
    { id: "caught", type: "helper" },
  ];
}

describe("voevent-parse node", () => {
  useNodeRed();

  it("turns XML into the message contract", async () => {
    await loadFlow(["voevent-parse"], flow());
    const xml = fixture("full-v2.xml").toString("utf8");
    const got = nextMessage("out");
    getNode("p").receive({ payload: xml, keep: 42 });
    const msg = await got;
    assert.equal(msg.payload, xml, "payload is the XML exactly as received");
    const v = msg.voevent as { ivorn: string; role: string; stream: string };
    assert.equal(v.ivorn, "ivo://fixtures.example/burst#BRST-2024-03-01T12:00:00.5_0042");
    assert.equal(v.role, "observation");
    assert.equal(v.stream, "ivo://fixtures.example/burst");
    assert.equal(msg.topic, "voevent/fixtures.example/burst");
    const vtp = msg.vtp as { peer: unknown; localIvo: unknown; receivedAt: string };
    assert.equal(vtp.peer, null);
    assert.equal(vtp.localIvo, null);
    assert.match(vtp.receivedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(msg.keep, 42, "other properties pass through");
  });

  it("takes a Buffer and emits the payload as a string", async () => {
    await loadFlow(["voevent-parse"], flow());
    const bytes = fixture("retraction.xml");
    const got = nextMessage("out");
    getNode("p").receive({ payload: bytes });
    const msg = await got;
    assert.equal(typeof msg.payload, "string");
    assert.equal(msg.payload, bytes.toString("utf8"));
  });

  it("keeps a msg.vtp set upstream", async () => {
    await loadFlow(["voevent-parse"], flow());
    const vtp = { peer: "192.0.2.1:8099", localIvo: "ivo://x.org/y", receivedAt: "2024-01-01T00:00:00.000Z" };
    const got = nextMessage("out");
    getNode("p").receive({ payload: fixture("full-v2.xml"), vtp });
    assert.deepEqual((await got).vtp, vtp);
  });

  it("reports a malformed packet to a Catch node, sends nothing, flashes a red status", async () => {
    await loadFlow(["voevent-parse"], flow());
    const out = collect("out");
    const caught = nextMessage("caught");
    const status = waitForStatus("p", (s) => s.fill === "red");
    getNode("p").receive({ payload: "<voe:VOEvent xmlns:voe='x'><Who>" });
    const err = await caught;
    assert.match(caughtError(err), /VOEventError/);
    assert.equal((await status).text, "refused: MALFORMED");
    assert.equal(out.length, 0);
  });

  it("refuses payloads that are not XML text", async () => {
    await loadFlow(["voevent-parse"], flow());
    for (const payload of [undefined, 42, { a: 1 }]) {
      const caught = nextMessage("caught");
      getNode("p").receive({ payload });
      assert.match(caughtError(await caught), /msg\.payload must be VOEvent XML/);
    }
  });

  it("refuses a Transport message and a DOCTYPE", async () => {
    await loadFlow(["voevent-parse"], flow());
    let caught = nextMessage("caught");
    getNode("p").receive({ payload: fixture("transport-ack.xml") });
    assert.match(caughtError(await caught), /Transport message/);
    caught = nextMessage("caught");
    getNode("p").receive({ payload: '<!DOCTYPE x [<!ENTITY a "b">]><x/>' });
    assert.match(caughtError(await caught), /DOCTYPE|DTD/);
  });

  it("validate local-id refuses an IVORN without #local-id; well-formed accepts it", async () => {
    await loadFlow(["voevent-parse"], flow({ validate: "local-id" }));
    const caught = nextMessage("caught");
    getNode("p").receive({ payload: fixture("no-wherewhen.xml") });
    assert.match(caughtError(await caught), /no local id/);
    await noMessage("out", 50);
  });

  it("validate well-formed accepts an IVORN without #local-id", async () => {
    await loadFlow(["voevent-parse"], flow());
    const got = nextMessage("out");
    getNode("p").receive({ payload: fixture("no-wherewhen.xml") });
    assert.equal((await got).topic, "voevent/fixtures.example/notices");
  });

  it("maxBytes refuses a larger packet before parsing", async () => {
    await loadFlow(["voevent-parse"], flow({ maxBytes: "100" }));
    const caught = nextMessage("caught");
    const status = waitForStatus("p", (s) => s.fill === "red");
    getNode("p").receive({ payload: fixture("full-v2.xml") });
    assert.match(caughtError(await caught), /exceeds the limit of 100 bytes/);
    assert.equal((await status).text, "refused: TOO_LARGE");
  });

  it("validate schema: a valid 2.0 packet passes, an un-namespaced one is refused", async () => {
    await loadFlow(["voevent-parse"], flow({ validate: "schema" }));
    const got = nextMessage("out", 10000);
    getNode("p").receive({ payload: fixture("full-v2.xml") });
    assert.equal((await got).topic, "voevent/fixtures.example/burst");
    const caught = nextMessage("caught", 10000);
    getNode("p").receive({ payload: fixture("no-namespace.xml") });
    assert.match(caughtError(await caught), /No matching global declaration/);
  });

  it("the red status returns to blank after a few seconds", async function () {
    this.timeout(6000);
    await loadFlow(["voevent-parse"], flow());
    const red = waitForStatus("p", (s) => s.fill === "red");
    getNode("p").receive({ payload: "junk" });
    await red;
    const back = await waitForStatus("p", () => true, 4000);
    assert.deepEqual(back, {});
  });
});

describeCorpus("voevent-parse node on the corpus", () => {
  useNodeRed();

  it("parses every packet the index marks well-formed, or refuses it with a reason", async () => {
    await loadFlow(["voevent-parse"], flow());
    const out = collect("out");
    const caught = collect("caught");
    const rows = readIndex();
    for (const row of rows) getNode("p").receive({ payload: readPacket(row.file), file: row.file });
    await waitUntil(() => out.length + caught.length === rows.length, 5000, "every packet answered");
    assert.ok(out.length > 60, `${out.length} parsed`);
    for (const msg of out) {
      assert.match(String(msg.topic), /^voevent\/[^#+]+$/, String(msg.file));
      assert.ok(!String(msg.topic).includes("//"), String(msg.file));
    }
    for (const msg of caught) assert.ok(caughtError(msg).length > 0);
  });
});
