/**
 * Issue 18, points 1 and 8: the receiver's limits on peers are settings of the
 * node (connections at once, from one address, frame and reply deadlines), a
 * changed value takes effect in a real Node-RED runtime, and a warning or log
 * line caused by one of them names the option and the dialog setting to change.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { FramedConnection } from "../../src/vtp/connection";
import { sendEvent } from "../../src/vtp/sender";
import { closesWithin, frameOf, longIvornEvent } from "../adversarial/net-peers";
import {
  callsOf,
  collect,
  type FlowNode,
  loadFlow,
  statusHistory,
  useNodeRed,
  waitUntil,
} from "../helpers/nodered";
import { freePort, identityNode, packet, probe, receiverNode } from "./network-helpers";

const TYPES = ["voevent-receiver", "voevent-identity"];

function receiverFlow(port: number, props: Record<string, unknown> = {}): FlowNode[] {
  return [
    identityNode(),
    receiverNode(port, [["out"]], { whitelist: "127.0.0.0/8", ...props }),
    { id: "out", type: "helper" },
  ];
}

const texts = () => statusHistory("r").map((s) => s.text ?? "");
const warnings = () => callsOf("r", "warn").map((args) => String(args[0]));
const logs = () => callsOf("r", "log").map((args) => String(args[0]));

async function listening(): Promise<void> {
  await waitUntil(() => texts().some((t) => t.startsWith("listening on port")), 3000, "listening status");
}

const open: net.Socket[] = [];

/** A raw connection from `localAddress` (a loopback address), once connected. */
async function connectFrom(port: number, localAddress = "127.0.0.1"): Promise<net.Socket> {
  const socket = net.connect({ host: "127.0.0.1", port, localAddress });
  socket.on("error", () => {});
  open.push(socket);
  await once(socket, "connect");
  return socket;
}

/** Sends one event over `socket` and resolves with the receiver's reply (framed). */
async function ackOver(socket: net.Socket): Promise<string> {
  const conn = new FramedConnection(socket);
  conn.on("error", () => {});
  const reply = new Promise<string>((resolve, reject) => {
    conn.once("frame", (payload: Buffer) => resolve(payload.toString("utf8")));
    conn.once("close", (reason: string) => reject(new Error(`closed before a reply: ${reason}`)));
  });
  conn.send(packet());
  return reply;
}

/** Whether `socket` is still open `ms` from now (the receiver kept it). */
async function stillOpenAfter(socket: net.Socket, ms: number): Promise<boolean> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return !socket.destroyed && !socket.readableEnded;
}

describe("voevent-receiver node: limits on peers are settings (issue 18, points 1 and 8)", function () {
  this.timeout(60_000);
  useNodeRed();
  afterEach(() => {
    for (const s of open.splice(0)) s.destroy();
  });

  it("maxPerAddress 2: a third connection from one address is refused, naming the setting; other addresses come in", async () => {
    const port = await freePort();
    await loadFlow(TYPES, receiverFlow(port, { maxPerAddress: 2 }));
    await listening();
    const first = await connectFrom(port);
    const second = await connectFrom(port);
    const third = await connectFrom(port);
    await closesWithin(third, 5000, "the third connection from 127.0.0.1");
    await waitUntil(() => warnings().length > 0, 2000, "a warning");
    assert.match(
      warnings()[0]!,
      /^refused a connection from 127\.0\.0\.1:\d+: too many connections from 127\.0\.0\.1 \(limit maxConnectionsPerAddress = 2\) \(the node's setting “Authors: from one address”\)$/,
    );
    assert.ok(await stillOpenAfter(first, 100), "the first stays open");
    assert.ok(await stillOpenAfter(second, 0), "the second stays open");
    // Another address has its own two.
    const other = await connectFrom(port, "127.0.0.2");
    assert.match(await ackOver(other), /role="ack"/);
    // A slot freed by the first author is taken again.
    first.destroy();
    await waitUntil(() => first.closed, 2000, "the first closed");
    const reply = await sendEvent({
      host: "127.0.0.1",
      port,
      payload: packet(),
      retries: 3,
      timeoutMs: 3000,
    });
    assert.equal(reply.reply, "ack");
  });

  it("maxConnections 3: a fourth author is refused whatever its address, naming the setting", async () => {
    const port = await freePort();
    await loadFlow(TYPES, receiverFlow(port, { maxConnections: "3" }));
    await listening();
    const held = [];
    for (const address of ["127.0.0.2", "127.0.0.3", "127.0.0.4"])
      held.push(await connectFrom(port, address));
    const fourth = await connectFrom(port, "127.0.0.5");
    await closesWithin(fourth, 5000, "the fourth connection");
    await waitUntil(() => warnings().length > 0, 2000, "a warning");
    assert.match(
      warnings()[0]!,
      /^refused a connection from 127\.0\.0\.5:\d+: too many connections \(limit maxConnections = 3\) \(the node's setting “Authors: at once”\)$/,
    );
    for (const s of held) assert.ok(await stillOpenAfter(s, 0), "the three stay open");
  });

  it("frameTimeout 0.3 s: an author that stalls mid-frame is closed, the log names the setting", async () => {
    const port = await freePort();
    await loadFlow(TYPES, receiverFlow(port, { frameTimeout: "0.3" }));
    await listening();
    const out = collect("out");
    const staller = await connectFrom(port);
    const frame = frameOf(packet());
    staller.write(frame.subarray(0, frame.length >> 1));
    // The default is 20 s: closed well before, by the setting.
    await closesWithin(staller, 10_000, "the stalling author");
    await waitUntil(() => logs().some((l) => l.includes("frame not complete")), 2000, "a log line");
    assert.match(
      logs().find((l) => l.includes("frame not complete"))!,
      /^closed the connection from 127\.0\.0\.1:\d+: frame not complete 300 ms after its first byte \(\d+ bytes received; limit frameTimeoutMs = 300\) \(the node's setting “Deadlines: frame”\)$/,
    );
    assert.equal(out.length, 0, "nothing was emitted");
    // An honest author is served as before.
    assert.equal((await sendEvent({ host: "127.0.0.1", port, payload: packet(), retries: 0 })).reply, "ack");
  });

  it("replyTimeout 0.3 s: an author that never reads its replies is dropped; the log names replyTimeoutMs and the setting", async () => {
    const port = await freePort();
    await loadFlow(TYPES, receiverFlow(port, { replyTimeout: 0.3 }));
    await listening();
    const reader = await connectFrom(port);
    reader.pause();
    // Far more acks (each ~2.5 kB: a 2,000-character IVORN) than the kernel's buffers hold.
    reader.write(Buffer.concat(Array.from({ length: 3000 }, (_, i) => frameOf(longIvornEvent(i)))));
    await waitUntil(() => logs().some((l) => l.includes("not reading")), 30_000, "the author dropped");
    assert.match(
      logs().find((l) => l.includes("not reading"))!,
      /^closed the connection from 127\.0\.0\.1:\d+: the peer is not reading: .*limit replyTimeoutMs = 300\) \(the node's setting “Deadlines: reply”\)$/,
    );
    assert.ok(
      logs().every((l) => !l.includes("writeTimeoutMs")),
      "no option that the receiver does not have",
    );
  });

  for (const [what, props, pattern] of [
    [
      "maxConnections 0",
      { maxConnections: 0 },
      /authors connected at once \(maxConnections\) must be a whole number, 1 or more, not "0"/,
    ],
    [
      "maxPerAddress 1.5",
      { maxPerAddress: "1.5" },
      /authors connected from one address \(maxPerAddress\) must be a whole number, 1 or more, not "1.5"/,
    ],
    [
      "frameTimeout 0",
      { frameTimeout: "0" },
      /frame deadline \(frameTimeout\) must be a number of seconds above 0, at most 2147483, not "0"/,
    ],
    [
      "frameTimeout 0.0001 (0 ms)",
      { frameTimeout: 0.0001 },
      /frame deadline \(frameTimeout\) .* not "0.0001"/,
    ],
    [
      "replyTimeout -1",
      { replyTimeout: -1 },
      /reply deadline \(replyTimeout\) must be a number of seconds above 0, at most 2147483, not "-1"/,
    ],
    [
      "replyTimeout 1e7 (beyond a timer's range)",
      { replyTimeout: "1e7" },
      /reply deadline \(replyTimeout\) .* not "1e7"/,
    ],
    ["replyTimeout 'soon'", { replyTimeout: "soon" }, /reply deadline \(replyTimeout\) .* not "soon"/],
  ] as const) {
    it(`refuses to start with ${what}: red status, the setting named, nothing listening`, async () => {
      const port = await freePort();
      await loadFlow(TYPES, receiverFlow(port, { ...props }));
      await waitUntil(() => texts().includes("invalid settings"), 2000, "invalid settings status");
      assert.equal(statusHistory("r").at(-1)?.fill, "red");
      assert.match(String(callsOf("r", "error")[0]![0]), pattern);
      assert.equal(await probe(port), "ECONNREFUSED");
    });
  }

  it("blank limits (a flow saved before they were settings) take the defaults: 64 from one address", async () => {
    const port = await freePort();
    await loadFlow(
      TYPES,
      receiverFlow(port, { maxConnections: "", maxPerAddress: "", frameTimeout: "", replyTimeout: "" }),
    );
    await listening();
    const held = [];
    for (let i = 0; i < 64; i++) held.push(await connectFrom(port));
    const extra = await connectFrom(port);
    await closesWithin(extra, 5000, "the 65th connection from 127.0.0.1");
    assert.match(warnings()[0] ?? "", /limit maxConnectionsPerAddress = 64\)/);
    for (const s of held) assert.ok(!s.destroyed, "the 64 stay open");
  });
});
