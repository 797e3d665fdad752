import assert from "node:assert/strict";
import net from "node:net";
import { treeOf } from "../../src/contract";
import { VTPBroadcaster } from "../../src/vtp/broadcaster";
import { FramedConnection } from "../../src/vtp/connection";
import {
  callsOf,
  collect,
  type FlowNode,
  helper,
  loadFlow,
  nextMessage,
  nodeInit,
  statusHistory,
  useNodeRed,
  waitUntil,
} from "../helpers/nodered";
import { testCertificate } from "../helpers/tls";
import { freePort, identityNode, LOCAL_IVO, packet, tlsConfigInit, tlsConfigNode } from "./network-helpers";

const TYPES = ["voevent-subscriber", "voevent-identity"];

function subscriberFlow(port: number, props: Record<string, unknown> = {}): FlowNode[] {
  return [
    identityNode(),
    {
      id: "s",
      type: "voevent-subscriber",
      name: "",
      host: "127.0.0.1",
      port,
      identity: "ident",
      brokerFilters: [],
      tls: "",
      watchdog: 150,
      maxBackoff: 60,
      ...props,
      wires: [["out"]],
    },
    { id: "out", type: "helper" },
  ];
}

const texts = (id: string) => statusHistory(id).map((s) => s.text ?? "");

/** Brokers (VTPBroadcaster engines) and plain servers, closed after each test. */
const brokers: VTPBroadcaster[] = [];
const servers: net.Server[] = [];
/** Every socket the test servers accepted: destroyed after each test so the servers can close. */
const openSockets: net.Socket[] = [];
async function broker(port: number, opts: Partial<ConstructorParameters<typeof VTPBroadcaster>[0]> = {}) {
  const b = new VTPBroadcaster({ host: "127.0.0.1", port, localIvo: "ivo://test.example/broker", ...opts });
  brokers.push(b);
  await b.listen();
  return b;
}
/** A TCP server that accepts and never says anything; counts connections. */
async function silentServer(port: number): Promise<{ connections: () => number; sockets: net.Socket[] }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    socket.on("error", () => {});
    socket.resume();
    sockets.push(socket);
    openSockets.push(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { connections: () => sockets.length, sockets };
}

describe("voevent-subscriber node", () => {
  useNodeRed();
  afterEach(async () => {
    await Promise.all(brokers.splice(0).map((b) => b.close()));
    for (const s of servers.splice(0)) {
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      for (const socket of openSockets.splice(0)) socket.destroy();
      await closed;
    }
  });

  it("connects, shows it, and emits each event as the message contract", async () => {
    const port = await freePort();
    const b = await broker(port);
    await loadFlow(TYPES, subscriberFlow(port));
    assert.deepEqual(statusHistory("s")[0], {
      fill: "blue",
      shape: "ring",
      text: `connecting to 127.0.0.1:${port}`,
    });
    await waitUntil(() => texts("s").includes(`connected to 127.0.0.1:${port}`), 10000, "connected status");
    assert.equal(statusHistory("s").at(-1)?.fill, "green");
    await waitUntil(() => b.count === 1, 8000, "the broker sees one subscriber");
    const xml = packet({ id: "sub-1" });
    const got = nextMessage("out");
    b.broadcast(xml);
    const msg = await got;
    assert.equal(msg.payload, xml);
    assert.equal((msg.voevent as { ivorn: string }).ivorn, "ivo://test.example/alerts#sub-1");
    assert.equal(msg.topic, "voevent/test.example/alerts");
    const vtp = msg.vtp as { peer: string; localIvo: string; receivedAt: string };
    assert.equal(vtp.peer, `127.0.0.1:${port}`);
    assert.equal(vtp.localIvo, LOCAL_IVO);
    assert.match(vtp.receivedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // It carries the tree the subscriber parsed (a node late in a backlog, the archive, takes it).
    const tree = treeOf(msg);
    assert.ok(tree !== null, "the message carries its payload's tree");
    assert.equal(tree.xml, xml);
    assert.equal(tree.doc.root.local, "VOEvent");
    await waitUntil(() => b.subscribers[0]!.acks === 1, 8000, "the broker got an ack");
  });

  it("sends brokerFilters in its authenticate reply: the broker sends only what they accept", async () => {
    const port = await freePort();
    const b = await broker(port);
    const filters = ['//Who/Author[contactName="KSK"]', "//Param[@name='seq' and @value='99']"];
    await loadFlow(TYPES, subscriberFlow(port, { brokerFilters: filters }));
    await waitUntil(() => b.subscribers[0]?.filters.length === 2, 10000, "filters at the broker");
    assert.deepEqual(b.subscribers[0]!.filters, filters);
    const out = collect("out");
    b.broadcast(packet({ contactName: "Someone", id: "no" }));
    b.broadcast(packet({ contactName: "KSK", id: "yes" }));
    await waitUntil(() => out.length === 1, 8000, "the KSK event");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(out.length, 1);
    assert.equal((out[0]!.voevent as { ivorn: string }).ivorn, "ivo://test.example/alerts#yes");
  });

  it("takes filters written one per line too, blank lines ignored", async () => {
    const port = await freePort();
    const b = await broker(port);
    await loadFlow(TYPES, subscriberFlow(port, { brokerFilters: "//Who\n\n  //What  \n" }));
    await waitUntil(() => b.subscribers[0]?.filters.length === 2, 10000, "filters at the broker");
    assert.deepEqual(b.subscribers[0]!.filters, ["//Who", "//What"]);
  });

  it("a filter that does not compile: red status, error naming it, no connection attempt", async () => {
    const port = await freePort();
    const server = await silentServer(port);
    await loadFlow(TYPES, subscriberFlow(port, { brokerFilters: ["//Who", "//Param[@name="] }));
    await waitUntil(() => texts("s").includes("invalid filter"), 8000, "invalid filter status");
    assert.equal(statusHistory("s").at(-1)?.fill, "red");
    assert.match(
      String(callsOf("s", "error")[0]![0]),
      /the filter \/\/Param\[@name= is not a valid XPath expression/,
    );
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(server.connections(), 0);
  });

  it("no broker: 'reconnecting in N s (ECONNREFUSED)', then connects once the broker is up", async () => {
    const port = await freePort();
    await loadFlow(TYPES, subscriberFlow(port, { maxBackoff: 0.3 }));
    await waitUntil(
      () => texts("s").some((t) => /^reconnecting in 1 s \(ECONNREFUSED\)$/.test(t)),
      3000,
      "reconnecting",
    );
    assert.equal(statusHistory("s").find((s) => s.text?.startsWith("reconnecting"))?.fill, "yellow");
    await waitUntil(
      () => texts("s").filter((t) => t === `connecting to 127.0.0.1:${port}`).length >= 2,
      3000,
      "connecting again",
    );
    await broker(port);
    await waitUntil(() => texts("s").at(-1) === `connected to 127.0.0.1:${port}`, 10000, "connected");
  });

  it("a silent connection is dropped within one watchdog period and reopened", async () => {
    const port = await freePort();
    const server = await silentServer(port);
    await loadFlow(TYPES, subscriberFlow(port, { watchdog: 0.3, maxBackoff: 0.2 }));
    await waitUntil(() => texts("s").includes(`connected to 127.0.0.1:${port}`), 10000, "connected");
    const connectedAt = Date.now();
    await waitUntil(() => texts("s").some((t) => t.startsWith("reconnecting in")), 8000, "reconnecting");
    const shownAfter = Date.now() - connectedAt;
    assert.ok(
      shownAfter < 5000,
      `the dead connection showed after ${shownAfter} ms (watchdog 300 ms, default 150 s)`,
    );
    await waitUntil(() => server.connections() >= 2, 10000, "a second connection");
    const logged = callsOf("s", "log").map((a) => String(a[0]));
    assert.ok(
      logged.some((l) => /disconnected from 127\.0\.0\.1:\d+: no message from the broker/.test(l)),
      logged.join("\n"),
    );
  });

  it("the broker going away shows at once as reconnecting", async () => {
    const port = await freePort();
    const b = await broker(port);
    await loadFlow(TYPES, subscriberFlow(port));
    await waitUntil(() => b.count === 1, 10000, "subscribed");
    await b.close();
    await waitUntil(() => /^reconnecting in \d+ s/.test(texts("s").at(-1) ?? ""), 8000, "reconnecting");
  });

  it("acks and drops junk from the broker with a warning; stays connected", async () => {
    const port = await freePort();
    const frames: string[] = [];
    const server = net.createServer((socket) => {
      socket.on("error", () => {});
      openSockets.push(socket);
      const c = new FramedConnection(socket);
      c.on("error", () => {});
      c.on("frame", (p: Buffer) => frames.push(p.toString("utf8")));
      c.send("<not-closed>");
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    await loadFlow(TYPES, subscriberFlow(port));
    await waitUntil(() => frames.some((f) => /role="ack"/.test(f)), 10000, "an ack for the junk");
    await waitUntil(() => callsOf("s", "warn").length > 0, 8000, "a warning");
    assert.match(String(callsOf("s", "warn")[0]![0]), /^broker 127\.0\.0\.1:\d+: unparsable message/);
    assert.equal(texts("s").at(-1), `connected to 127.0.0.1:${port}`);
  });

  for (const [what, props, pattern] of [
    ["no host", { host: " " }, /host name or address is missing/],
    ["port 0", { port: 0 }, /port must be a whole number from 1 to 65535/],
    ["watchdog 0", { watchdog: 0 }, /silence limit must be a number of seconds above 0/],
    ["a missing identity", { identity: "gone" }, /identity node gone is missing/],
    ["filters that are not strings", { brokerFilters: [42] }, /must be a list of XPath expressions/],
  ] as const) {
    it(`refuses to start with ${what}`, async () => {
      await loadFlow(TYPES, subscriberFlow(await freePort(), { ...props }));
      await waitUntil(() => texts("s").includes("invalid settings"), 8000, "invalid settings status");
      assert.match(String(callsOf("s", "error")[0]![0]), pattern);
    });
  }

  it("closing while waiting to reconnect leaves no timer or socket", async () => {
    const port = await freePort();
    await loadFlow(TYPES, subscriberFlow(port));
    await waitUntil(() => texts("s").some((t) => t.startsWith("reconnecting")), 10000, "reconnecting");
    const before = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    await helper.unload();
    const after = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    assert.ok(after < before, `timers: ${before} before close, ${after} after`);
  });

  it("closing while connected closes the connection", async () => {
    const port = await freePort();
    const b = await broker(port);
    await loadFlow(TYPES, subscriberFlow(port));
    await waitUntil(() => b.count === 1, 10000, "subscribed");
    await helper.unload();
    await waitUntil(() => b.count === 0, 8000, "the broker sees it leave");
  });

  it("connects with TLS through a tls-config node (CA from the node)", async () => {
    const cert = testCertificate();
    const port = await freePort();
    const b = await broker(port, { tls: { cert: cert.cert, key: cert.key } });
    const flow = [...subscriberFlow(port, { host: "localhost", tls: "tls1" }), tlsConfigNode("tls1")];
    await helper.load([...TYPES.map(nodeInit), tlsConfigInit], flow, { tls1: { cadata: cert.cert } });
    await waitUntil(() => b.count === 1, 10000, "subscribed over TLS");
    const got = nextMessage("out");
    b.broadcast(packet());
    await got;
  });

  it("TLS with verification refuses an untrusted certificate (reconnecting)", async () => {
    const cert = testCertificate();
    const port = await freePort();
    const b = await broker(port, { tls: { cert: cert.cert, key: cert.key } });
    const flow = [...subscriberFlow(port, { host: "localhost", tls: "tls1" }), tlsConfigNode("tls1")];
    await helper.load([...TYPES.map(nodeInit), tlsConfigInit], flow, {});
    await waitUntil(() => texts("s").some((t) => t.startsWith("reconnecting")), 10000, "reconnecting");
    assert.equal(b.count, 0);
  });
});
