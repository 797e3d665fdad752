import assert from "node:assert/strict";
import net from "node:net";
import { type ReceivedEvent, VTPReceiver } from "../../src/vtp/receiver";
import {
  callsOf,
  catchNode,
  caughtError,
  collect,
  type FlowNode,
  getNode,
  helper,
  loadFlow,
  type Msg,
  nextMessage,
  nodeInit,
  statusHistory,
  useNodeRed,
  waitUntil,
} from "../helpers/nodered";
import { testCertificate } from "../helpers/tls";
import { fixture, freePort, packet, tlsConfigInit, tlsConfigNode } from "./network-helpers";

const TYPES = ["voevent-sender"];

function senderFlow(port: number | string, props: Record<string, unknown> = {}): FlowNode[] {
  return [
    {
      id: "snd",
      type: "voevent-sender",
      name: "",
      host: "127.0.0.1",
      hostType: "str",
      port,
      portType: "num",
      timeout: 5,
      retries: 0,
      tls: "",
      ...props,
      wires: [["out"]],
    },
    { id: "out", type: "helper" },
    catchNode("c", ["caught"]),
    { id: "caught", type: "helper" },
  ];
}

const texts = (id: string) => statusHistory(id).map((s) => s.text ?? "");

const receivers: VTPReceiver[] = [];
const servers: net.Server[] = [];
/** Every socket the test servers accepted: destroyed after each test so the servers can close. */
const openSockets: net.Socket[] = [];
/** A server that accepts, reads and discards, and never answers. */
function silent(): net.Server {
  return net.createServer((socket) => {
    socket.on("error", () => {});
    socket.resume();
    openSockets.push(socket);
  });
}
async function receiver(port: number, opts: Partial<ConstructorParameters<typeof VTPReceiver>[0]> = {}) {
  const events: ReceivedEvent[] = [];
  const r = new VTPReceiver({
    host: "127.0.0.1",
    port,
    localIvo: "ivo://test.example/broker",
    handler: (ev) => {
      events.push(ev);
    },
    ...opts,
  });
  receivers.push(r);
  await r.listen();
  return events;
}

describe("voevent-sender node", () => {
  useNodeRed();
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
    for (const s of servers.splice(0)) {
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      for (const socket of openSockets.splice(0)) socket.destroy();
      await closed;
    }
  });

  it("ack: the message goes on with msg.vtp.reply, earlier msg.vtp fields kept; the bytes arrive unchanged", async () => {
    const port = await freePort();
    const events = await receiver(port);
    await loadFlow(TYPES, senderFlow(port));
    const bytes = fixture("unicode-crlf.xml");
    const got = nextMessage("out");
    const vtp = { peer: "192.0.2.7:5555", localIvo: "ivo://x.org/y", receivedAt: "2024-01-01T00:00:00.000Z" };
    getNode("snd").receive({ payload: bytes, vtp, keep: "me" });
    const msg = await got;
    assert.equal(msg.payload, bytes);
    assert.equal(msg.keep, "me");
    const out = msg.vtp as Record<string, unknown>;
    assert.equal(out.reply, "ack");
    assert.equal(out.reason, null);
    assert.equal(out.attempts, 1);
    assert.equal(out.remote, `127.0.0.1:${port}`);
    assert.equal(typeof out.elapsedMs, "number");
    assert.equal(out.peer, vtp.peer, "earlier msg.vtp fields are kept");
    assert.equal(out.receivedAt, vtp.receivedAt);
    assert.equal(events.length, 1);
    assert.ok(events[0]!.bytes.equals(bytes), "byte for byte");
    await waitUntil(() => texts("snd").includes(`ack (127.0.0.1:${port})`), 1000, "ack status");
    assert.equal(statusHistory("snd").at(-1)?.fill, "green");
    assert.ok(texts("snd").includes(`sending to 127.0.0.1:${port}…`));
  });

  it("nak: nothing on the output; a Catch node gets the reason and msg.vtp.reply 'nak'", async () => {
    const port = await freePort();
    await receiver(port);
    await loadFlow(TYPES, senderFlow(port));
    const out = collect("out");
    const caught = nextMessage("caught");
    getNode("snd").receive({ payload: fixture("no-wherewhen.xml") });
    const msg = await caught;
    assert.match(
      caughtError(msg),
      new RegExp(`127\\.0\\.0\\.1:${port} refused the event \\(nak\\): Event rejected: .*local ID`, "i"),
    );
    const vtp = msg.vtp as Record<string, unknown>;
    assert.equal(vtp.reply, "nak");
    assert.match(String(vtp.reason), /local ID/i);
    assert.equal(vtp.attempts, 1, "a nak is not retried");
    assert.equal(out.length, 0);
    const last = statusHistory("snd").at(-1)!;
    assert.equal(last.fill, "red");
    assert.match(String(last.text), /^nak: Event rejected: /);
  });

  it("connection refused: failed after 1 + retries attempts, msg.vtp.error, red status", async () => {
    const port = await freePort();
    await loadFlow(TYPES, senderFlow(port, { retries: 1 }));
    const caught = nextMessage("caught", 5000);
    getNode("snd").receive({ payload: packet() });
    const msg = await caught;
    assert.match(caughtError(msg), /failed after 2 attempts: ECONNREFUSED/);
    assert.deepEqual(
      { reply: (msg.vtp as Msg).reply, error: (msg.vtp as Msg).error, attempts: (msg.vtp as Msg).attempts },
      { reply: null, error: "ECONNREFUSED", attempts: 2 },
    );
    assert.deepEqual(statusHistory("snd").at(-1), {
      fill: "red",
      shape: "ring",
      text: "failed: ECONNREFUSED",
    });
  });

  it("no reply within the timeout: ETIMEDOUT", async () => {
    const port = await freePort();
    const server = silent();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    await loadFlow(TYPES, senderFlow(port, { timeout: 0.2 }));
    const caught = nextMessage("caught", 3000);
    getNode("snd").receive({ payload: packet() });
    assert.match(caughtError(await caught), /timed out after 200 ms/);
    assert.equal(texts("snd").at(-1), "failed: ETIMEDOUT");
  });

  it("host and port from the message when so configured (msg.target.host, msg.target.port)", async () => {
    const port = await freePort();
    const events = await receiver(port);
    await loadFlow(
      TYPES,
      senderFlow("target.port", { host: "target.host", hostType: "msg", portType: "msg" }),
    );
    const got = nextMessage("out");
    getNode("snd").receive({ payload: packet(), target: { host: "127.0.0.1", port } });
    assert.equal(((await got).vtp as Msg).remote, `127.0.0.1:${port}`);
    assert.equal(events.length, 1);

    const caught = nextMessage("caught");
    getNode("snd").receive({ payload: packet(), target: { host: "127.0.0.1", port: "nope" } });
    assert.match(caughtError(await caught), /port must be a whole number from 1 to 65535, not "nope"/);
    const caught2 = nextMessage("caught");
    getNode("snd").receive({ payload: packet(), target: { port } });
    assert.match(caughtError(await caught2), /no receiver host name or address in msg\.target\.host/);
  });

  it("port from an environment variable", async () => {
    const port = await freePort();
    await receiver(port);
    process.env.VOEVENT_TEST_SENDER_PORT = String(port);
    try {
      await loadFlow(TYPES, senderFlow("VOEVENT_TEST_SENDER_PORT", { portType: "env" }));
      const got = nextMessage("out");
      getNode("snd").receive({ payload: packet() });
      assert.equal(((await got).vtp as Msg).reply, "ack");
    } finally {
      delete process.env.VOEVENT_TEST_SENDER_PORT;
    }
  });

  it("a msg.host is ignored unless the node is set to read it", async () => {
    const port = await freePort();
    await receiver(port);
    await loadFlow(TYPES, senderFlow(port));
    const got = nextMessage("out");
    getNode("snd").receive({ payload: packet(), host: "192.0.2.1", port: 1 });
    assert.equal(((await got).vtp as Msg).remote, `127.0.0.1:${port}`);
  });

  it("a payload that is not XML text or a Buffer goes to done(err), nothing sent", async () => {
    const port = await freePort();
    const events = await receiver(port);
    await loadFlow(TYPES, senderFlow(port));
    const caught = nextMessage("caught");
    getNode("snd").receive({ payload: { ivorn: "x" } });
    assert.match(caughtError(await caught), /msg\.payload must be VOEvent XML/);
    assert.equal(events.length, 0);
  });

  for (const [what, props, pattern] of [
    ["no host", { host: "" }, /host name or address is missing/],
    ["port 0", { port: 0 }, /port must be a whole number from 1 to 65535/],
    ["timeout 0", { timeout: 0 }, /timeout must be a number of seconds above 0/],
    ["retries -1", { retries: -1 }, /retries must be a whole number, 0 or more/],
    ["a missing TLS configuration", { tls: "nope" }, /TLS configuration node nope is missing/],
  ] as const) {
    it(`refuses to work with ${what}: red status, error, every message to done(err)`, async () => {
      await loadFlow(TYPES, senderFlow(8098, { ...props }));
      await waitUntil(() => texts("snd").includes("invalid settings"), 2000, "invalid settings");
      assert.match(String(callsOf("snd", "error")[0]![0]), pattern);
      const caught = nextMessage("caught");
      getNode("snd").receive({ payload: packet() });
      assert.match(caughtError(await caught), pattern);
    });
  }

  it("stopping with a send in flight: it is abandoned (done(err)) and close finishes at once", async () => {
    const port = await freePort();
    const server = silent();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    await loadFlow(TYPES, senderFlow(port, { timeout: 30 }));
    getNode("snd").receive({ payload: packet() });
    await waitUntil(() => texts("snd").some((t) => t.startsWith("sending")), 1000, "sending");
    const t0 = Date.now();
    await helper.unload();
    assert.ok(Date.now() - t0 < 10000, "close did not wait for the 30 s timeout");
  });

  it("sends over TLS with a tls-config node's CA", async () => {
    const cert = testCertificate();
    const port = await freePort();
    const events = await receiver(port, { tls: { cert: cert.cert, key: cert.key } });
    const flow = [...senderFlow(port, { host: "localhost", tls: "tls1" }), tlsConfigNode("tls1")];
    await helper.load([...TYPES.map(nodeInit), tlsConfigInit], flow, { tls1: { cadata: cert.cert } });
    const got = nextMessage("out");
    getNode("snd").receive({ payload: packet() });
    assert.equal(((await got).vtp as Msg).reply, "ack");
    assert.equal(events.length, 1);
  });
});
