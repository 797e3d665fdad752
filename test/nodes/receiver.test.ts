import assert from "node:assert/strict";
import net from "node:net";
import { parseVOEvent } from "../../src/voevent/parse";
import { SendError, sendEvent } from "../../src/vtp/sender";
import { describeCorpus, isMarkedNotWellFormed, readIndex, readPacket } from "../helpers/corpus";
import {
  callsOf,
  collect,
  type FlowNode,
  getNode,
  helper,
  loadFlow,
  nextMessage,
  nodeInit,
  noMessage,
  statusHistory,
  useNodeRed,
  waitUntil,
} from "../helpers/nodered";
import { testCertificate } from "../helpers/tls";
import {
  fixture,
  freePort,
  identityNode,
  LOCAL_IVO,
  packet,
  probe,
  receiverNode,
  tlsConfigInit,
  tlsConfigNode,
} from "./network-helpers";

const TYPES = ["voevent-receiver", "voevent-identity"];

function receiverFlow(port: number, props: Record<string, unknown> = {}): FlowNode[] {
  return [identityNode(), receiverNode(port, [["out"]], props), { id: "out", type: "helper" }];
}

const texts = (id: string) => statusHistory(id).map((s) => s.text ?? "");

async function listening(id = "r"): Promise<void> {
  await waitUntil(() => texts(id).some((t) => t.startsWith("listening on port")), 3000, "listening status");
}

function send(port: number, payload: string | Buffer, extra: Partial<Parameters<typeof sendEvent>[0]> = {}) {
  return sendEvent({ host: "127.0.0.1", port, payload, timeoutMs: 3000, retries: 0, ...extra });
}

describe("voevent-receiver node", () => {
  useNodeRed();

  it("a burst of events: the count is formatted about once a second, not per event (issue 16)", async () => {
    const port = await freePort();
    await loadFlow(TYPES, receiverFlow(port));
    await listening();
    const got = collect("out");
    const xml = fixture("full-v2.xml").toString("utf8");
    for (let i = 0; i < 40; i++) assert.equal((await send(port, xml)).reply, "ack");
    assert.equal(got.length, 40);
    // The last count is shown once the interval is up (at most a second later).
    await waitUntil(() => texts("r").at(-1) === `port ${port}: 40 received`, 3000, "the final count");
    const counts = texts("r").filter((t) => / received$/.test(t));
    assert.ok(counts.length <= 4, `${counts.length} status updates for 40 events`);
  });

  it("emits each event as the message contract, after handing it on acks the author", async () => {
    const port = await freePort();
    await loadFlow(TYPES, receiverFlow(port));
    await listening();
    assert.deepEqual(statusHistory("r").at(-1), {
      fill: "green",
      shape: "dot",
      text: `listening on port ${port}`,
    });
    const xml = fixture("full-v2.xml").toString("utf8");
    const got = nextMessage("out");
    const reply = await send(port, xml);
    assert.equal(reply.reply, "ack");
    assert.equal(reply.transport.response, LOCAL_IVO, "the ack's Response is the identity");
    const msg = await got;
    assert.equal(msg.payload, xml, "payload exactly as received");
    const v = msg.voevent as { ivorn: string; stream: string };
    assert.equal(v.ivorn, "ivo://fixtures.example/burst#BRST-2024-03-01T12:00:00.5_0042");
    assert.equal(msg.topic, "voevent/fixtures.example/burst");
    const vtp = msg.vtp as { peer: string; localIvo: string; receivedAt: string };
    assert.match(vtp.peer, /^127\.0\.0\.1:\d+$/);
    assert.equal(vtp.localIvo, LOCAL_IVO);
    assert.match(vtp.receivedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    await waitUntil(() => texts("r").includes(`port ${port}: 1 received`), 2000, "received count");
  });

  it("the ack is written only after the flow has the event", async () => {
    const port = await freePort();
    await loadFlow(TYPES, receiverFlow(port));
    await listening();
    const order: string[] = [];
    getNode("out").on("input", () => order.push("flow"));
    const reply = await send(port, packet());
    order.push(`reply ${reply.reply}`);
    assert.deepEqual(order, ["flow", "reply ack"]);
  });

  it("naks an event without a #local-id, reports it, sends nothing on", async () => {
    const port = await freePort();
    await loadFlow(TYPES, receiverFlow(port));
    await listening();
    const out = collect("out");
    const reply = await send(port, fixture("no-wherewhen.xml"));
    assert.equal(reply.reply, "nak");
    assert.match(String(reply.reason), /local ID/i);
    await waitUntil(() => callsOf("r", "warn").length > 0, 2000, "a warning");
    const warning = String(callsOf("r", "warn")[0]![0]);
    assert.match(
      warning,
      /^refused an event from 127\.0\.0\.1:\d+ \(ivo:\/\/[^)]+\): Event rejected: .*local ID/i,
    );
    await waitUntil(() => texts("r").some((t) => t.startsWith("nak: ")), 2000, "nak status");
    assert.equal(statusHistory("r").find((s) => s.text?.startsWith("nak: "))?.fill, "yellow");
    assert.equal(out.length, 0);
  });

  it("with refusedOutput, sends each refused frame (text, reason, peer) to its second output", async () => {
    const port = await freePort();
    const flow = receiverFlow(port, { refusedOutput: true, outputs: 2 });
    flow[1]!.wires = [["out"], ["refused"]];
    await loadFlow(TYPES, [...flow, { id: "refused", type: "helper" }]);
    await listening();
    const out = collect("out");
    const refused = collect("refused");
    const junk = "<VOEvent><unclosed></VOEvent>";
    assert.equal((await send(port, junk)).reply, "nak");
    const noLocalId = fixture("no-wherewhen.xml");
    const reply = await send(port, noLocalId);
    assert.equal(reply.reply, "nak");
    assert.equal((await send(port, packet())).reply, "ack");
    await waitUntil(() => refused.length === 2 && out.length === 1, 2000, "two refusals, one event");
    assert.equal(refused[0]!.payload, junk, "the frame as text");
    assert.equal(refused[0]!.code, "MALFORMED");
    assert.match(String(refused[0]!.reason), /^Event rejected: /);
    assert.equal(refused[0]!.ivorn, null);
    assert.equal(refused[1]!.payload, noLocalId.toString("utf8"));
    assert.equal(refused[1]!.reason, reply.reason, "the reason sent in the nak");
    assert.match(String(refused[1]!.ivorn), /^ivo:\/\//);
    const vtp = refused[1]!.vtp as { peer: string; localIvo: string };
    assert.match(vtp.peer, /^127\.0\.0\.1:\d+$/);
    assert.equal(vtp.localIvo, LOCAL_IVO);
    assert.equal(out[0]!.voevent !== undefined, true, "accepted events still leave on the first output");
  });

  it("requireLocalId off accepts an IVORN without #local-id", async () => {
    const port = await freePort();
    await loadFlow(TYPES, receiverFlow(port, { requireLocalId: false }));
    await listening();
    const got = nextMessage("out");
    assert.equal((await send(port, fixture("no-wherewhen.xml"))).reply, "ack");
    assert.equal(((await got).voevent as { role: string }).role, "utility");
  });

  it("naks junk and a Transport message without emitting them", async () => {
    const port = await freePort();
    await loadFlow(TYPES, receiverFlow(port));
    await listening();
    const out = collect("out");
    const junk = await send(port, "<VOEvent><unclosed></VOEvent>");
    assert.equal(junk.reply, "nak");
    const transport = await send(port, fixture("transport-ack.xml"));
    assert.equal(transport.reply, "nak");
    assert.match(String(transport.reason), /Transport message/);
    await noMessage("out", 100);
    assert.equal(out.length, 0);
  });

  it("validate=schema naks a VOEvent 1.1 packet with the schema error, acks a valid 2.0 one", async () => {
    const port = await freePort();
    await loadFlow(TYPES, receiverFlow(port, { validate: "schema" }));
    await listening();
    const bad = await send(port, fixture("v11-stc-prefixed.xml"), { timeoutMs: 10000 });
    assert.equal(bad.reply, "nak");
    assert.match(String(bad.reason), /schema/i);
    const got = nextMessage("out", 10000);
    assert.equal((await send(port, packet(), { timeoutMs: 10000 })).reply, "ack");
    await got;
  });

  it("maxBytes: a longer packet closes the connection without a reply", async () => {
    const port = await freePort();
    await loadFlow(TYPES, receiverFlow(port, { maxBytes: 200 }));
    await listening();
    await assert.rejects(
      send(port, packet()),
      (err: unknown) => err instanceof SendError && err.code === "ECLOSED",
    );
  });

  it("refuses a peer outside the whitelist: closed at once, a warning, nothing emitted", async () => {
    const port = await freePort();
    await loadFlow(TYPES, receiverFlow(port, { whitelist: "10.0.0.0/8" }));
    await listening();
    const out = collect("out");
    await assert.rejects(
      send(port, packet()),
      (err: unknown) => err instanceof SendError && err.code === "ECLOSED",
    );
    await waitUntil(() => callsOf("r", "warn").length > 0, 2000, "a warning");
    assert.match(
      String(callsOf("r", "warn")[0]![0]),
      /refused a connection from 127\.0\.0\.1:\d+: address not in the whitelist/,
    );
    assert.equal(out.length, 0);
  });

  it("a port in use: red status and an error, no crash; the flow stops cleanly", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      await loadFlow(TYPES, receiverFlow(port));
      await waitUntil(() => texts("r").includes(`port ${port} in use`), 3000, "in-use status");
      assert.equal(statusHistory("r").at(-1)?.fill, "red");
      assert.match(
        String(callsOf("r", "error")[0]![0]),
        new RegExp(`cannot listen on port ${port}: it is in use`),
      );
    } finally {
      await helper.unload();
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  for (const [what, props, pattern] of [
    ["a bad whitelist", { whitelist: "10.0.0.0/33" }, /whitelist is not a list of addresses/],
    ["port 0", { port: 0 }, /port must be a whole number from 1 to 65535, not "0"/],
    ["port 70000", { port: 70000 }, /port must be a whole number/],
    ["a missing identity", { identity: "gone" }, /identity node gone is missing/],
    ["a missing TLS configuration", { tls: "nope" }, /TLS configuration node nope is missing/],
    ["a bad size limit", { maxBytes: "lots" }, /size limit must be a whole number/],
  ] as const) {
    it(`refuses to start with ${what}: red status, error logged, nothing listening`, async () => {
      const port = await freePort();
      const flow = receiverFlow(port, { ...props });
      await loadFlow(TYPES, flow);
      await waitUntil(() => texts("r").includes("invalid settings"), 2000, "invalid settings status");
      assert.equal(statusHistory("r").at(-1)?.fill, "red");
      assert.match(String(callsOf("r", "error")[0]![0]), pattern);
      assert.equal(await probe(port), "ECONNREFUSED");
    });
  }

  it("closing frees the port at once (a redeploy can listen again)", async () => {
    const port = await freePort();
    await loadFlow(TYPES, receiverFlow(port));
    await listening();
    assert.equal(await probe(port), "connected");
    await helper.unload();
    assert.equal(await probe(port), "ECONNREFUSED");
  });

  it("closing mid-transfer: the author's connection is cut, close still finishes", async () => {
    const port = await freePort();
    await loadFlow(TYPES, receiverFlow(port));
    await listening();
    const socket = net.connect({ host: "127.0.0.1", port });
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write(Buffer.from([0, 0, 1, 0, 60])); // a length prefix and one byte of 256
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.on("error", () => {});
    await helper.unload();
    await closed;
  });

  it("serves TLS with a tls-config node's certificate", async () => {
    const cert = testCertificate();
    const port = await freePort();
    const flow = [...receiverFlow(port, { tls: "tls1" }), tlsConfigNode("tls1")];
    await helper.load([...TYPES.map(nodeInit), tlsConfigInit], flow, {
      tls1: { certdata: cert.cert, keydata: cert.key },
    });
    await listening();
    const got = nextMessage("out");
    const reply = await send(port, packet(), { tls: { ca: cert.cert, servername: "localhost" } });
    assert.equal(reply.reply, "ack");
    await got;
    // Plain TCP to a TLS port gets no VTP reply.
    await assert.rejects(send(port, packet(), { timeoutMs: 500 }), SendError);
  });

  it("a tls-config without a certificate cannot serve: invalid settings", async () => {
    const port = await freePort();
    const flow = [...receiverFlow(port, { tls: "tls1" }), tlsConfigNode("tls1")];
    await helper.load([...TYPES.map(nodeInit), tlsConfigInit], flow, {});
    await waitUntil(() => texts("r").includes("invalid settings"), 2000, "invalid settings status");
    assert.match(String(callsOf("r", "error")[0]![0]), /needs a certificate and a private key/);
  });
});

describeCorpus("voevent-receiver node with the corpus", () => {
  useNodeRed();

  it("acks and emits every well-formed corpus packet with an IVORN, byte for byte", async function () {
    this.timeout(60000);
    const port = await freePort();
    await loadFlow(TYPES, receiverFlow(port, { requireLocalId: false }));
    await listening();
    const out = collect("out");
    let acked = 0;
    for (const row of readIndex()) {
      if (isMarkedNotWellFormed(row) || row.ivorn === "" || !row.ivorn.startsWith("ivo://")) continue;
      const bytes = readPacket(row.file);
      const reply = await send(port, bytes);
      if (reply.reply !== "ack") continue; // e.g. a role the model refuses: naks are covered above
      acked++;
      await waitUntil(() => out.length === acked, 2000, `message for ${row.file}`);
      assert.equal(out[acked - 1]!.payload, bytes.toString("utf8"), row.file);
    }
    assert.ok(acked > 10, `only ${acked} corpus packets acked`);
  });

  it("msg.voevent is the whole model on every wire, read when first used (issue 16)", async function () {
    this.timeout(60000);
    const port = await freePort();
    const flow = receiverFlow(port, { requireLocalId: false });
    const r = flow.find((n) => n.id === "r")!;
    r.wires = [["out", "copy"]]; // Node-RED copies the message for the second wire
    await loadFlow(TYPES, [...flow, { id: "copy", type: "helper" }]);
    await listening();
    const out = collect("out");
    const copies = collect("copy");
    let acked = 0;
    for (const row of readIndex()) {
      if (isMarkedNotWellFormed(row) || row.ivorn === "" || !row.ivorn.startsWith("ivo://")) continue;
      const bytes = readPacket(row.file);
      if ((await send(port, bytes)).reply !== "ack") continue;
      acked++;
      await waitUntil(
        () => out.length === acked && copies.length === acked,
        2000,
        `messages for ${row.file}`,
      );
      const expected = parseVOEvent(bytes).voevent;
      const msg = out[acked - 1]!;
      const copy = copies[acked - 1]!;
      // What a function node, a change node or the debug sidebar sees.
      assert.deepEqual(copy.voevent, expected, `${row.file}: the copy's model`);
      assert.deepEqual(
        JSON.parse(JSON.stringify(msg)).voevent,
        JSON.parse(JSON.stringify(expected)),
        row.file,
      );
      assert.deepEqual(msg.voevent, expected, `${row.file}: the model`);
      assert.equal(msg.voevent, msg.voevent, "read once, then the same object");
      assert.ok(Object.keys(msg).includes("voevent"));
      assert.notEqual(copy.voevent, msg.voevent, "each wire has its own model");
      (msg.voevent as { params: Record<string, unknown> }).params.added = 1;
      assert.equal((copy.voevent as { params: Record<string, unknown> }).params.added, undefined);
      msg.voevent = { replaced: true };
      assert.deepEqual(msg.voevent, { replaced: true }, "a node may replace it");
      delete msg.voevent;
      assert.equal("voevent" in msg, false, "or delete it");
    }
    assert.ok(acked > 10, `only ${acked} corpus packets acked`);
  });
});
