import assert from "node:assert/strict";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import net from "node:net";
import { isVOEventError } from "../../src/errors";
import { Backoff } from "../../src/vtp/backoff";
import { VTPBroadcaster } from "../../src/vtp/broadcaster";
import { encodeFrame, FrameDecoder } from "../../src/vtp/framing";
import { type SubscribedEvent, type SubscriberOptions, VTPSubscriber } from "../../src/vtp/subscriber";
import {
  buildAuthenticate,
  buildIamalive,
  buildTransport,
  parseTransport,
  TRANSPORT_NS,
  type TransportMessage,
} from "../../src/vtp/transport";
import { corpusAvailable, corpusDir, packetPath, transportPath } from "../helpers/corpus";
import { testCertificate } from "../helpers/tls";

const ME = "ivo://test.subscriber/me";
const BROKER = "ivo://test.broker/raw";
const HAVE_CORPUS = corpusAvailable();
if (!HAVE_CORPUS) console.log(`corpus absent at ${corpusDir()}: subscriber tests use built-in packets`);

function corpus(kind: "packets" | "transport", name: string, fallback: () => string): Buffer {
  if (!HAVE_CORPUS) return Buffer.from(fallback());
  return readFileSync(kind === "packets" ? packetPath(name) : transportPath(name));
}

function packet(n: number | string, opts: { ns?: boolean; stream?: string } = {}): string {
  const stream = opts.stream ?? "ivo://test.author/stream";
  const root =
    opts.ns === false
      ? `<VOEvent version="2.0" role="observation" ivorn="${stream}#${n}">`
      : `<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" version="2.0" role="observation" ivorn="${stream}#${n}">`;
  return (
    `<?xml version='1.0' encoding='UTF-8'?>\n${root}\n` +
    `  <Who><AuthorIVORN>${stream}</AuthorIVORN><Date>2026-11-23T06:30:27</Date></Who>\n` +
    `  <What><Param name="n" value="${n}"/></What>\n` +
    `</${opts.ns === false ? "" : "voe:"}VOEvent>\n`
  );
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(3);
  }
}

/** One connection accepted by a RawBroker. */
class RawConn {
  readonly frames: Buffer[] = [];
  private taken = 0;
  isClosed = false;
  readonly closed: Promise<void>;
  private readonly decoder = new FrameDecoder({
    maxBytes: 1 << 24,
    onFrame: (p) => this.frames.push(Buffer.from(p)),
    onError: () => this.socket.destroy(),
  });

  constructor(readonly socket: net.Socket) {
    socket.on("data", (c: Buffer) => this.decoder.push(c));
    socket.on("error", () => {});
    this.closed = new Promise((r) =>
      socket.once("close", () => {
        this.isClosed = true;
        r();
      }),
    );
  }

  send(payload: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(encodeFrame(payload));
  }

  async next(timeoutMs = 3000): Promise<Buffer> {
    await until(
      () => this.frames.length > this.taken || this.isClosed,
      "a frame from the subscriber",
      timeoutMs,
    );
    if (this.frames.length <= this.taken) throw new Error("connection closed before the frame came");
    return this.frames[this.taken++]!;
  }

  async nextTransport(): Promise<TransportMessage> {
    return parseTransport(await this.next());
  }

  /** How many frames came that were not taken yet. */
  get pending(): number {
    return this.frames.length - this.taken;
  }
}

/** A scripted broker: accepts connections and does only what a test says. */
class RawBroker {
  readonly conns: RawConn[] = [];
  onConn: (c: RawConn) => void = () => {};

  private constructor(readonly server: net.Server) {
    server.on("connection", (s: net.Socket) => {
      const c = new RawConn(s);
      this.conns.push(c);
      this.onConn(c);
    });
  }

  static async listen(port = 0): Promise<RawBroker> {
    const b = new RawBroker(net.createServer());
    b.server.listen(port, "127.0.0.1");
    await once(b.server, "listening");
    return b;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  async conn(i: number, timeoutMs = 3000): Promise<RawConn> {
    await until(() => this.conns.length > i, `connection #${i + 1}`, timeoutMs);
    return this.conns[i]!;
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.socket.destroy();
    await Promise.all(this.conns.map((c) => c.closed));
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const s = net.createServer().listen(0, "127.0.0.1");
  await once(s, "listening");
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Recorder {
  events: SubscribedEvent[];
  warnings: string[];
  connects: string[];
  disconnects: string[];
  reconnecting: { delayMs: number; attempt: number; reason: string }[];
  transports: { peer: string; message: TransportMessage }[];
}

function record(sub: VTPSubscriber): Recorder {
  const r: Recorder = {
    events: [],
    warnings: [],
    connects: [],
    disconnects: [],
    reconnecting: [],
    transports: [],
  };
  sub.on("event", (e) => r.events.push(e));
  sub.on("warning", (w) => r.warnings.push(w.message));
  sub.on("connect", (c) => r.connects.push(c.peer));
  sub.on("disconnect", (d) => r.disconnects.push(d.reason));
  sub.on("reconnecting", (e) => r.reconnecting.push(e));
  sub.on("transport", (t) => r.transports.push(t));
  return r;
}

function subscriber(port: number, extra: Partial<SubscriberOptions> = {}): VTPSubscriber {
  return new VTPSubscriber({
    host: "127.0.0.1",
    port,
    localIvo: ME,
    backoff: { initialMs: 10, maxMs: 80, jitter: 0 },
    ...extra,
  });
}

/** Active sockets, servers and timers, by kind. */
function handles(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) {
    if (r === "TCPServerWrap" || r === "TCPSocketWrap" || r === "Timeout") out[r] = (out[r] ?? 0) + 1;
  }
  return out;
}

describe("vtp/backoff", () => {
  it("doubles from initialMs to the cap, and starts again after reset()", () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 60000, factor: 2, jitter: 0 });
    const seq = Array.from({ length: 9 }, () => b.next());
    assert.deepEqual(seq, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
    assert.equal(b.attempt, 9);
    b.reset();
    assert.equal(b.attempt, 0);
    assert.equal(b.next(), 1000);
  });

  it("jitter shortens a delay by at most that fraction, never past the cap", () => {
    const low = new Backoff({ initialMs: 1000, maxMs: 4000, jitter: 0.5 }, () => 0.999999);
    assert.deepEqual([low.next(), low.next(), low.next(), low.next()], [500, 1000, 2000, 2000]);
    const high = new Backoff({ initialMs: 1000, maxMs: 4000, jitter: 0.5 }, () => 0);
    assert.deepEqual([high.next(), high.next(), high.next(), high.next()], [1000, 2000, 4000, 4000]);
    const real = new Backoff({ initialMs: 100, jitter: 0.25 });
    for (let i = 0; i < 50; i++) {
      const base = Math.min(60000, 100 * 2 ** i);
      const d = real.next();
      assert.ok(d >= base * 0.75 - 1 && d <= base, `${d} for ${base}`);
    }
  });

  it("defaults to 1 s, ×2, 60 s cap; refuses nonsense", () => {
    const b = new Backoff({ jitter: 0 });
    assert.deepEqual([b.initialMs, b.maxMs, b.factor], [1000, 60000, 2]);
    assert.throws(() => new Backoff({ initialMs: -1 }), RangeError);
    assert.throws(() => new Backoff({ initialMs: 100, maxMs: 50 }), RangeError);
    assert.throws(() => new Backoff({ factor: 0.5 }), RangeError);
    assert.throws(() => new Backoff({ jitter: 2 }), RangeError);
  });
});

describe("vtp/subscriber", () => {
  it("validates its options; a filter that does not compile throws BAD_XPATH", () => {
    assert.throws(
      () => new VTPSubscriber({ host: "h", localIvo: ME, filters: ["//Param[@name="] }),
      (e: unknown) => isVOEventError(e) && e.code === "BAD_XPATH" && /Param/.test(e.message),
    );
    assert.throws(() => new VTPSubscriber({ host: "", localIvo: ME }), /host/);
    assert.throws(() => new VTPSubscriber({ host: "h", localIvo: " " }), /localIvo/);
    assert.throws(() => new VTPSubscriber({ host: "h", port: 0, localIvo: ME }), /port/);
    assert.throws(() => new VTPSubscriber({ host: "h", localIvo: ME, backoff: { jitter: 3 } }), /jitter/);
    const s = new VTPSubscriber({
      host: "h",
      localIvo: ME,
      filters: ["//Who", " ", "/voe:VOEvent[@role='test']"],
    });
    assert.deepEqual(s.filters, ["//Who", "/voe:VOEvent[@role='test']"]);
    assert.equal(s.port, 8099);
    assert.equal(s.state, "idle");
  });

  it("answers authenticate (with its filters) and iamalive exactly, Origin copied, Response = localIvo", async () => {
    const broker = await RawBroker.listen();
    const filters = ["//Who/Author[contactName='KSK']", "//Param[@name='Packet_Type' and @value=61]"];
    const sub = subscriber(broker.port, { filters });
    const r = record(sub);
    sub.start();
    assert.equal(sub.state, "connecting");
    const c = await broker.conn(0);
    await until(() => r.connects.length === 1, "connect");
    assert.equal(sub.state, "connected");
    assert.equal(r.connects[0], `127.0.0.1:${broker.port}`);

    c.send(corpus("transport", "captured-comet-broker__authenticate.xml", () => buildAuthenticate(BROKER)));
    const auth = await c.nextTransport();
    const brokerIvo = HAVE_CORPUS ? "ivo://anchors.test/comet-broker" : BROKER;
    assert.equal(auth.role, "authenticate");
    assert.equal(auth.namespace, TRANSPORT_NS);
    assert.equal(auth.version, "1.0");
    assert.equal(auth.origin, brokerIvo);
    assert.equal(auth.response, ME);
    assert.deepEqual(auth.filters, filters);
    assert.deepEqual(
      auth.params.map((p) => p.name),
      ["xpath-filter", "xpath-filter"],
    );
    assert.ok(auth.timestamp !== null && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(auth.timestamp));

    c.send(corpus("transport", "captured-comet-broker__iamalive.xml", () => buildIamalive(BROKER)));
    const alive = await c.nextTransport();
    assert.equal(alive.role, "iamalive");
    assert.equal(alive.origin, brokerIvo);
    assert.equal(alive.response, ME);
    assert.deepEqual(alive.params, []);

    // The VTP 2.0 listing's forms (another namespace) too.
    c.send(
      corpus("transport", "vtp-2.0-rec-listing__iamalive.xml", () =>
        buildIamalive("ivo://invalid.broker/example#"),
      ),
    );
    const alive2 = await c.nextTransport();
    assert.equal(alive2.origin, "ivo://invalid.broker/example#");
    assert.deepEqual(r.warnings, []);
    await sub.close();
    assert.equal(sub.state, "closed");
    assert.deepEqual(r.disconnects, ["subscriber closed"]);
    await broker.close();
  });

  it("acks each event (Origin = its IVORN, Response = localIvo) and emits it once, bytes exact", async () => {
    const broker = await RawBroker.listen();
    const sub = subscriber(broker.port);
    const r = record(sub);
    sub.start();
    const c = await broker.conn(0);
    const packets = [
      corpus("packets", "voevent-parse__ASASSN#2016-09-25.47_2016fvf_PTSS-16nqb_PS16ejf.xml", () =>
        packet("é"),
      ),
      corpus("packets", "voevent-parse__SWIFT_xrt_position_v1.1_example.xml", () =>
        packet(2).replace(/\n/g, "\r\n"),
      ),
      corpus("packets", "pygcn__gbm_flt_pos.xml", () => packet(3)),
      Buffer.from(packet(4)),
    ];
    for (const p of packets) c.send(p);
    const acks = [];
    for (let i = 0; i < packets.length; i++) acks.push(await c.nextTransport());
    await until(() => r.events.length === packets.length, "events");
    for (let i = 0; i < packets.length; i++) {
      const e = r.events[i]!;
      assert.ok(e.bytes.equals(packets[i]!), `packet ${i} bytes`);
      assert.equal(e.xml, packets[i]!.toString("utf8"));
      assert.equal(e.peer, `127.0.0.1:${broker.port}`);
      assert.ok(e.receivedAt instanceof Date);
      assert.equal(e.doc.root.local, "VOEvent");
      assert.equal(acks[i]!.role, "ack");
      assert.equal(acks[i]!.origin, e.voevent.ivorn);
      assert.equal(acks[i]!.response, ME);
    }
    await delay(20);
    assert.equal(r.events.length, packets.length);
    assert.equal(c.pending, 0, "one ack per event, nothing else");
    await sub.close();
    await broker.close();
  });

  it("tolerates unknown roles, foreign namespaces, un-namespaced packets and junk, and never naks", async () => {
    const broker = await RawBroker.listen();
    const sub = subscriber(broker.port);
    const r = record(sub);
    sub.start();
    const c = await broker.conn(0);
    c.send(buildIamalive(BROKER)); // teaches it the broker's IVORN
    assert.equal((await c.nextTransport()).role, "iamalive");

    c.send(buildTransport({ role: "iamalive", origin: BROKER }).replace('role="iamalive"', 'role="bogus"'));
    c.send(buildTransport({ role: "ack", origin: "ivo://x#1" }));
    c.send(buildIamalive(BROKER).replace(TRANSPORT_NS, "http://example.org/not-transport"));
    await until(() => r.transports.length === 2 && r.warnings.length === 1, "transport events and a warning");
    assert.deepEqual(
      r.transports.map((t) => t.message.role),
      ["bogus", "ack"],
    );
    assert.match(r.warnings[0]!, /namespace/);
    assert.equal(c.pending, 0, "no reply to any of them");

    // An un-namespaced packet (DC-3's, as in the corpus) is an event like any other.
    const noNs = corpus("packets", "voevent-parse__no_namespace_packet.xml", () => packet(5, { ns: false }));
    c.send(noNs);
    const ack = await c.nextTransport();
    await until(() => r.events.length === 1, "the un-namespaced event");
    assert.equal(ack.origin, r.events[0]!.voevent.ivorn);
    assert.equal(r.events[0]!.voevent.namespace, "");

    // Junk is acked (never nak'ed), not emitted, and the connection stays up.
    c.send(packet(6).replace("</What>", "</Wha>")); // not well-formed, ivorn readable
    c.send("\u0000\u0001 binary junk");
    c.send(packet(7).replace(/ivorn="[^"]*"/, "")); // no ivorn
    c.send(packet(8).replace('role="observation"', 'role="retraction"'));
    const junkAcks = [
      await c.nextTransport(),
      await c.nextTransport(),
      await c.nextTransport(),
      await c.nextTransport(),
    ];
    assert.deepEqual(
      junkAcks.map((a) => [a.role, a.origin, a.response]),
      [
        ["ack", "ivo://test.author/stream#6", ME],
        ["ack", BROKER, ME],
        ["ack", BROKER, ME],
        ["ack", "ivo://test.author/stream#8", ME],
      ],
    );
    await until(() => r.warnings.length === 5, "four more warnings");
    assert.match(r.warnings.slice(1).join("\n"), /acked and dropped/);

    c.send(packet(9));
    await c.nextTransport();
    await until(() => r.events.length === 2, "the next good event");
    assert.equal(r.events[1]!.voevent.ivorn, "ivo://test.author/stream#9");
    assert.equal(sub.state, "connected");
    assert.equal(broker.conns.length, 1);
    assert.deepEqual(r.disconnects, []);
    await sub.close();
    await broker.close();
  });

  it("a listener that throws does not break the connection; it becomes a warning", async () => {
    const broker = await RawBroker.listen();
    const sub = subscriber(broker.port);
    const r = record(sub);
    sub.on("event", () => {
      throw new Error("boom");
    });
    sub.start();
    const c = await broker.conn(0);
    c.send(packet(1));
    c.send(packet(2));
    await c.nextTransport();
    await c.nextTransport();
    await until(() => r.events.length === 2, "both events");
    assert.match(r.warnings.join("\n"), /'event' listener threw: boom/);
    assert.equal(sub.state, "connected");
    await sub.close();
    await broker.close();
  });

  it("a broker sending a hostile length is dropped and reconnected to, with no 'error' thrown", async () => {
    const broker = await RawBroker.listen();
    let first = true;
    broker.onConn = (c) => {
      if (first) c.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
      first = false;
    };
    const sub = subscriber(broker.port, { maxBytes: 10000 });
    const r = record(sub);
    sub.start();
    await broker.conn(1);
    await until(() => r.connects.length === 2, "second connect");
    assert.match(r.disconnects[0]!, /frame/);
    await sub.close();
    await broker.close();
  });

  it("reconnects when the broker goes away and comes back on the same port; nothing emitted twice", async () => {
    let b = new VTPBroadcaster({ port: 0, host: "127.0.0.1", localIvo: BROKER });
    const { port } = await b.listen();
    const sub = subscriber(port, { backoff: { initialMs: 20, maxMs: 100, jitter: 0.5 } });
    const r = record(sub);
    sub.start();
    await until(() => b.count === 1, "subscribed");
    for (let i = 1; i <= 3; i++) b.broadcast(packet(i));
    await until(() => r.events.length === 3, "first 3 events");
    await b.close();
    await until(() => r.reconnecting.length >= 2, "failed reconnection attempts");
    assert.equal(sub.state === "waiting" || sub.state === "connecting", true);
    b = new VTPBroadcaster({ port, host: "127.0.0.1", localIvo: BROKER });
    await b.listen();
    await until(() => b.count === 1, "resubscribed", 5000);
    for (let i = 4; i <= 6; i++) b.broadcast(packet(i));
    await until(() => r.events.length === 6, "next 3 events");
    await until(() => b.subscribers[0]!.acks === 3, "acks on the new connection");
    await delay(30);
    assert.deepEqual(
      r.events.map((e) => e.voevent.ivorn.replace(/.*#/, "")),
      ["1", "2", "3", "4", "5", "6"],
    );
    assert.equal(r.connects.length, 2);
    assert.equal(r.disconnects.length, 1);
    const delays = r.reconnecting.map((e) => e.delayMs);
    assert.ok(delays.every((d) => d >= 0 && d <= 100));
    assert.deepEqual(
      r.reconnecting.map((e) => e.attempt),
      r.reconnecting.map((_, i) => i + 1),
    );
    await sub.close();
    await b.close();
  });

  it("treats a silent broker as dead after watchdogMs and reconnects; traffic keeps it alive", async () => {
    const broker = await RawBroker.listen();
    const sub = subscriber(broker.port, { watchdogMs: 60 });
    const r = record(sub);
    sub.start();
    await broker.conn(0);
    const start = Date.now();
    await broker.conn(1);
    assert.ok(Date.now() - start >= 50, "not before the watchdog");
    assert.match(r.disconnects[0]!, /watchdog/);

    // Now a broker that talks every 20 ms: no watchdog.
    const talker = setInterval(() => broker.conns[1]?.send(buildIamalive(BROKER)), 20);
    try {
      await delay(250);
      assert.equal(broker.conns.length, 2);
      assert.equal(r.disconnects.length, 1);
    } finally {
      clearInterval(talker);
    }
    await sub.close();
    await broker.close();
  });

  it("backs off exponentially while the broker is away, and starts again after a healthy connection", async () => {
    const port = await deadPort();
    const sub = subscriber(port, {
      backoff: { initialMs: 10, maxMs: 80, factor: 2, jitter: 0 },
      healthyAfterMs: 100,
    });
    const r = record(sub);
    sub.start();
    await until(() => r.reconnecting.length >= 6, "six attempts");
    assert.deepEqual(
      r.reconnecting.slice(0, 6).map((e) => e.delayMs),
      [10, 20, 40, 80, 80, 80],
    );
    assert.match(r.reconnecting[0]!.reason, /ECONNREFUSED/);

    // The broker comes up but drops every connection at once: that is no healthy connection.
    const broker = await RawBroker.listen(port);
    broker.onConn = (c) => c.socket.destroy();
    const n = r.reconnecting.length;
    await until(() => r.reconnecting.length >= n + 3, "three more attempts");
    assert.ok(
      r.reconnecting.slice(n).every((e) => e.delayMs === 80),
      "no reset",
    );

    // Then it keeps one for longer than healthyAfterMs: the next delay is back to initialMs.
    broker.onConn = (c) => setTimeout(() => c.socket.destroy(), 150);
    const m = r.reconnecting.length;
    await until(() => r.reconnecting.length >= m + 2, "a healthy connection and its end", 3000);
    const after = r.reconnecting.slice(m).map((e) => e.delayMs);
    assert.ok(after.includes(10), `delays after the healthy connection: ${after}`);
    await sub.close();
    await broker.close();
  });

  it("connects over TLS (and retries when the certificate is not trusted)", async () => {
    const cert = testCertificate();
    const b = new VTPBroadcaster({
      port: 0,
      host: "127.0.0.1",
      localIvo: BROKER,
      tls: { cert: cert.cert, key: cert.key },
    });
    const { port } = await b.listen();
    const untrusting = subscriber(port, { tls: {} });
    const u = record(untrusting);
    untrusting.start();
    await until(() => u.reconnecting.length >= 1, "a refused handshake");
    assert.match(u.reconnecting[0]!.reason, /certificate/);
    await untrusting.close();
    const sub = subscriber(port, { host: "localhost", tls: { ca: cert.cert } });
    const r = record(sub);
    sub.start();
    await until(() => b.count === 1, "TLS subscriber");
    b.broadcast(packet(1));
    await until(() => r.events.length === 1, "event over TLS");
    await sub.close();
    await b.close();
  });

  it("close() ends everything, in any state, and nothing reconnects afterwards", async () => {
    await delay(1); // mocha starts its own timer for the test just after calling it
    const before = handles();
    const broker = await RawBroker.listen();

    const connected = subscriber(broker.port, { watchdogMs: 1000 });
    connected.start();
    connected.start(); // no-op
    await broker.conn(0);
    await until(() => connected.state === "connected", "connected");

    const connecting = subscriber(broker.port);
    connecting.start();
    assert.equal(connecting.state, "connecting");

    const waiting = subscriber(await deadPort(), { backoff: { initialMs: 1000 } });
    waiting.start();
    await until(() => waiting.state === "waiting", "waiting");

    await Promise.all([connected.close(), connecting.close(), waiting.close(), waiting.close()]);
    for (const s of [connected, connecting, waiting]) assert.equal(s.state, "closed");
    assert.throws(() => connected.start(), /closed/);
    await delay(50);
    const conns = broker.conns.length;
    await delay(50);
    assert.equal(broker.conns.length, conns, "no reconnection after close()");
    await broker.close();
    await delay(5);
    assert.deepEqual(handles(), before);
  });
});
