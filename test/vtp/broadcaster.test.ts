import assert from "node:assert/strict";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import { dirname } from "node:path";
import { sharedParseCache } from "../../src/voevent/cache";
import { parseVOEvent } from "../../src/voevent/parse";
import { quickAckOrigin, type SubscriberInfo, VTPBroadcaster } from "../../src/vtp/broadcaster";
import { encodeFrame, FrameDecoder } from "../../src/vtp/framing";
import { AckReader } from "../../src/vtp/quick-ack";
import { VTPSubscriber } from "../../src/vtp/subscriber";
import {
  buildAck,
  buildAuthenticate,
  buildIamalive,
  buildNak,
  parseTransport,
} from "../../src/vtp/transport";
import {
  corpusAvailable,
  corpusDir,
  corpusRequired,
  readIndex,
  readPacket,
  transportPath,
} from "../helpers/corpus";
import { testCertificate } from "../helpers/tls";

const IVO = "ivo://test.broker/broadcaster";
const HAVE_CORPUS = corpusAvailable();
if (!HAVE_CORPUS) console.log(`corpus absent at ${corpusDir()}: broadcaster tests use built-in messages`);

/** A small VOEvent 2.0 packet; `contact` goes in Who/Author/contactName. */
function packet(n: number | string, opts: { role?: string; contact?: string; stream?: string } = {}): string {
  const stream = opts.stream ?? "ivo://test.author/stream";
  return (
    "<?xml version='1.0' encoding='UTF-8'?>\n" +
    `<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" version="2.0" role="${opts.role ?? "observation"}" ivorn="${stream}#${n}">\n` +
    `  <Who><AuthorIVORN>${stream}</AuthorIVORN><Date>2026-11-23T06:30:27</Date>` +
    `<Author><contactName>${opts.contact ?? "Nobody"}</contactName></Author></Who>\n` +
    `  <What><Param name="n" value="${n}" dataType="int"/></What>\n` +
    "</voe:VOEvent>\n"
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

/** A scripted subscriber on a raw socket: sees every frame, answers only what a test tells it to. */
class RawPeer {
  readonly frames: Buffer[] = [];
  private taken = 0;
  readonly closed: Promise<void>;
  isClosed = false;
  /** Answer each iamalive: with this reply, or by echoing it back (eSTAR); null: never. */
  alive: string | "echo" | null = null;
  private readonly decoder = new FrameDecoder({
    maxBytes: 1 << 24,
    onFrame: (p) => this.onFrame(Buffer.from(p)),
    onError: () => this.socket.destroy(),
  });

  constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => this.decoder.push(chunk));
    socket.on("error", () => {});
    this.closed = new Promise((r) =>
      socket.once("close", () => {
        this.isClosed = true;
        r();
      }),
    );
  }

  private onFrame(frame: Buffer): void {
    this.frames.push(frame);
    if (this.alive !== null && frame.includes('role="iamalive"')) {
      this.send(this.alive === "echo" ? frame : this.alive);
    }
  }

  static async connect(port: number): Promise<RawPeer> {
    const peer = new RawPeer(net.connect(port, "127.0.0.1"));
    await once(peer.socket, "connect");
    return peer;
  }

  /** Connects and waits for the broadcaster's authenticate (so it is registered). */
  static async subscribe(port: number): Promise<RawPeer> {
    const peer = await RawPeer.connect(port);
    const auth = parseTransport(await peer.next());
    assert.equal(auth.role, "authenticate");
    return peer;
  }

  send(payload: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(encodeFrame(payload));
  }

  /** The next frame not yet taken. */
  async next(timeoutMs = 3000): Promise<Buffer> {
    await until(() => this.frames.length > this.taken || this.isClosed, "a frame", timeoutMs);
    if (this.frames.length <= this.taken) throw new Error("connection closed before the frame came");
    return this.frames[this.taken++]!;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

async function withBroadcaster(
  options: Partial<ConstructorParameters<typeof VTPBroadcaster>[0]>,
  fn: (b: VTPBroadcaster, port: number) => Promise<void>,
): Promise<void> {
  const b = new VTPBroadcaster({ port: 0, host: "127.0.0.1", localIvo: IVO, ...options });
  const { port } = await b.listen();
  try {
    await fn(b, port);
  } finally {
    await b.close();
  }
}

function readTransport(name: string): string {
  return readFileSync(transportPath(name), "utf8");
}

function only(b: VTPBroadcaster): SubscriberInfo {
  assert.equal(b.count, 1);
  return b.subscribers[0]!;
}

/** Active sockets, servers and timers, by kind (process.getActiveResourcesInfo()). */
function handles(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) {
    if (r === "TCPServerWrap" || r === "TCPSocketWrap" || r === "Timeout") out[r] = (out[r] ?? 0) + 1;
  }
  return out;
}

describe("vtp/broadcaster", () => {
  it("refuses bad options", () => {
    assert.throws(() => new VTPBroadcaster({ port: 0, localIvo: "" }), /localIvo/);
    assert.throws(() => new VTPBroadcaster({ port: 70000, localIvo: IVO }), /port/);
    assert.throws(() => new VTPBroadcaster({ port: 0, localIvo: IVO, whitelist: "10.0.0.300/8" }));
    assert.throws(() => new VTPBroadcaster({ port: 0, localIvo: IVO, iamaliveIntervalMs: 0 }), /iamalive/);
    assert.throws(() => new VTPBroadcaster({ port: 0, localIvo: IVO, tls: {} }), /certificate/);
    assert.throws(
      () => new VTPBroadcaster({ port: 0, localIvo: "not an ivorn", testIntervalMs: 10 }),
      /ivorn/i,
    );
    assert.doesNotThrow(() => new VTPBroadcaster({ port: 0, localIvo: "not an ivorn" }));
  });

  it("sends authenticate on connect (Origin = localIvo), announces the subscriber, sends events byte for byte", async () => {
    await withBroadcaster({}, async (b, port) => {
      const subscribed: unknown[] = [];
      b.on("subscribe", (e) => subscribed.push(e));
      const peer = await RawPeer.connect(port);
      const auth = parseTransport(await peer.next());
      assert.equal(auth.role, "authenticate");
      assert.equal(auth.origin, IVO);
      assert.equal(auth.response, null);
      assert.equal(subscribed.length, 1);
      const info = only(b);
      assert.match(info.peer, /^127\.0\.0\.1:\d+$/);
      assert.deepEqual(info.filters, []);
      assert.ok(info.connectedAt instanceof Date);

      // Non-ASCII, CRLF, a string and a Buffer: what goes out is exactly what came in.
      const texts = [packet(1), packet("é-ü-✓"), packet(3).replace(/\n/g, "\r\n")];
      for (const t of texts) assert.equal(b.broadcast(t), 1);
      const raw = Buffer.from(packet(4));
      assert.equal(b.broadcast(raw), 1);
      for (const t of texts) assert.deepEqual(await peer.next(), Buffer.from(t, "utf8"));
      assert.deepEqual(await peer.next(), raw);
      assert.equal(only(b).outstanding, 4);
      peer.destroy();
      await until(() => b.count === 0, "unsubscribe");
    });
  });

  it("relays corpus packets byte-identically", async function () {
    if (!HAVE_CORPUS) {
      if (corpusRequired()) throw new Error(`corpus absent at ${corpusDir()}, and VOEVENT_REQUIRE_CORPUS=1`);
      this.skip();
    }
    await withBroadcaster({}, async (b, port) => {
      const peer = await RawPeer.subscribe(port);
      const bytes = readIndex().map((row) => readPacket(row.file));
      assert.ok(bytes.length > 50);
      for (const buf of bytes) assert.equal(b.broadcast(buf), 1);
      for (const buf of bytes) assert.ok((await peer.next()).equals(buf));
      peer.destroy();
    });
  });

  it("counts acks whatever their form: Comet, pygcn's namespace, eSTAR's v0.1, wrong Origin", async () => {
    await withBroadcaster({}, async (b, port) => {
      const acks: { origin: string | null }[] = [];
      b.on("ack", (e) => acks.push(e));
      const peer = await RawPeer.subscribe(port);
      for (let i = 0; i < 5; i++) b.broadcast(packet(i));
      await until(() => peer.frames.length === 6, "5 events");
      peer.send(buildAck("ivo://test.author/stream#0", "ivo://me/sub"));
      const pygcnAck = HAVE_CORPUS
        ? readTransport("captured-pygcn__ack-reply.xml")
        : buildAck("x", "y").replace(
            /http:\/\/www\.telescope-networks\.org\/xml/,
            "http://telescope-networks.org/schema",
          );
      peer.send(pygcnAck);
      const estarAck = HAVE_CORPUS
        ? readTransport("perl-xml-document-transport__2_build-DATA-v0.1.xml")
        : buildAck("ivo://uk.org.estar/estar.ex#", null).replace(/v1\.1/g, "v0.1");
      peer.send(estarAck);
      peer.send(buildAck("ivo://somebody/else#not-the-event", "ivo://me/sub"));
      await until(() => acks.length === 4, "4 acks");
      assert.equal(acks[0]!.origin, "ivo://test.author/stream#0");
      const info = only(b);
      assert.equal(info.acks, 4);
      assert.equal(info.outstanding, 1);
      // More acks than events never makes `outstanding` negative.
      for (let i = 0; i < 3; i++) peer.send(buildAck("x#1", null));
      await until(() => only(b).acks === 7, "7 acks");
      assert.equal(only(b).outstanding, 0);
      peer.destroy();
    });
  });

  it("drops a subscriber that does not answer iamalive; keeps pygcn-style and echoing (eSTAR) ones", async () => {
    await withBroadcaster({ iamaliveIntervalMs: 40 }, async (b, port) => {
      const gone: { id: number; reason: string }[] = [];
      b.on("unsubscribe", (e) => gone.push(e));
      const silent = await RawPeer.subscribe(port);
      const pygcn = await RawPeer.subscribe(port);
      const estar = await RawPeer.subscribe(port);
      pygcn.alive = HAVE_CORPUS
        ? readTransport("captured-pygcn__iamalive-reply.xml")
        : buildIamalive(IVO, "ivo://python_voeventclient/anonymous");
      estar.alive = "echo";
      try {
        await silent.closed;
        await until(() => gone.length === 1, "unsubscribe");
        assert.match(gone[0]!.reason, /iamalive/);
        const first = parseTransport(silent.frames[1]!);
        assert.equal(first.role, "iamalive");
        assert.equal(first.origin, IVO);
        assert.equal(first.response, null);
        await delay(200); // five more iamalive rounds
        assert.equal(b.count, 2);
        assert.ok(pygcn.frames.length >= 4);
      } finally {
        pygcn.destroy();
        estar.destroy();
      }
    });
  });

  it("aliveTimeoutMs: drops a silent subscriber that long after the iamalive, before the next one", async () => {
    await withBroadcaster({ iamaliveIntervalMs: 300, aliveTimeoutMs: 50 }, async (b, port) => {
      const peer = await RawPeer.subscribe(port);
      const start = Date.now();
      await peer.closed;
      const elapsed = Date.now() - start;
      assert.ok(elapsed >= 300, `dropped after ${elapsed} ms, before the first iamalive was due`);
      // Dropped before the next iamalive: it saw authenticate and exactly one iamalive.
      assert.equal(peer.frames.length, 2);
      await until(() => b.count === 0, "unsubscribe");
    });
  });

  it("maxOutstandingAcks: drops a subscriber with that many events unacked at iamalive time", async () => {
    await withBroadcaster({ iamaliveIntervalMs: 30, maxOutstandingAcks: 3 }, async (b, port) => {
      const reasons: string[] = [];
      b.on("unsubscribe", (e) => reasons.push(e.reason));
      const lazy = await RawPeer.subscribe(port);
      const keen = await RawPeer.subscribe(port);
      lazy.alive = buildIamalive(IVO, "ivo://sub/lazy");
      keen.alive = buildIamalive(IVO, "ivo://sub/keen");
      // keen is sent nothing (its filter matches no event), so it owes no ack.
      keen.send(buildAuthenticate(IVO, "ivo://sub/keen", ["//Param[@name='nothing']"]));
      await until(() => b.subscribers.some((s) => s.filters.length === 1), "keen's filter");
      try {
        for (let i = 0; i < 3; i++) assert.equal(b.broadcast(packet(i)), 1);
        await lazy.closed;
        await until(() => reasons.length === 1, "unsubscribe");
        assert.match(reasons[0]!, /3 events unacknowledged/);
        await delay(100);
        assert.equal(b.count, 1);
      } finally {
        keen.destroy();
      }
    });
  });

  it("a nak ends that subscriber's connection, with a 'nak' event", async () => {
    await withBroadcaster({}, async (b, port) => {
      const naks: { origin: string | null; reason: string }[] = [];
      const gone: string[] = [];
      b.on("nak", (e) => naks.push(e));
      b.on("unsubscribe", (e) => gone.push(e.reason));
      const bad = await RawPeer.subscribe(port);
      const good = await RawPeer.subscribe(port);
      b.broadcast(packet(1));
      await bad.next();
      bad.send(buildNak("ivo://test.author/stream#1", "ivo://sub", "no thanks"));
      await bad.closed;
      assert.equal(naks.length, 1);
      assert.equal(naks[0]!.origin, "ivo://test.author/stream#1");
      assert.equal(naks[0]!.reason, "no thanks");
      assert.equal(only(b).naks, 0); // the nak'ing subscriber is gone

      assert.match(gone[0]!, /nak: no thanks/);
      assert.equal(b.broadcast(packet(2)), 1);
      assert.equal(parseVOEvent(await good.next()).voevent.ivorn, "ivo://test.author/stream#1");
      assert.equal(parseVOEvent(await good.next()).voevent.ivorn, "ivo://test.author/stream#2");
      good.destroy();
    });
  });

  it("disconnects a peer sending garbage or a huge length, or vanishing mid-frame; the others carry on", async () => {
    await withBroadcaster({}, async (b, port) => {
      const warnings: string[] = [];
      b.on("warning", (w) => warnings.push(w.message));
      const good = await RawPeer.subscribe(port);
      const garbage = await RawPeer.subscribe(port);
      const huge = await RawPeer.subscribe(port);
      const vanishing = await RawPeer.subscribe(port);
      const chatty = await RawPeer.subscribe(port);
      garbage.socket.write("<?xml version='1.0'?><trn:Transport role='ack'/>"); // no length prefix
      huge.socket.write(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0x3c]));
      const frame = encodeFrame(buildAck("x#1", null));
      vanishing.socket.write(frame.subarray(0, 10));
      await delay(10);
      vanishing.destroy();
      chatty.send("this is not XML"); // a framed message that is not Transport: ignored
      chatty.send(packet(99)); // an event sent to a broadcaster: ignored
      await Promise.all([garbage.closed, huge.closed, vanishing.closed]);
      await until(() => b.count === 2, "three peers gone");
      await until(() => warnings.length >= 2, "warnings");
      assert.equal(b.broadcast(packet(5)), 2);
      assert.equal(parseVOEvent(await good.next()).voevent.ivorn, "ivo://test.author/stream#5");
      assert.equal(parseVOEvent(await chatty.next()).voevent.ivorn, "ivo://test.author/stream#5");
      good.destroy();
      chatty.destroy();
    });
  });

  it("closes a peer outside the whitelist at once, sending it nothing ('rejected')", async () => {
    await withBroadcaster({ whitelist: "10.0.0.0/8" }, async (b, port) => {
      const rejected: { address: string }[] = [];
      b.on("rejected", (e) => rejected.push(e));
      const peer = await RawPeer.connect(port);
      await peer.closed;
      assert.equal(peer.frames.length, 0);
      assert.deepEqual(rejected, [{ address: "127.0.0.1" }]);
      assert.equal(b.count, 0);
    });
  });

  describe("filters (Comet's authenticate extension)", () => {
    it("evaluates filters at the root element as Comet does, so relative filters work too", async () => {
      await withBroadcaster({}, async (b, port) => {
        const rel = await RawPeer.subscribe(port);
        rel.send(buildAuthenticate(IVO, "ivo://sub/rel", ['Who/Author[contactName="KSK"]', '@role="test"']));
        await until(() => b.subscribers.some((s) => s.filters.length === 2), "filters");
        const sent = [packet(1, { contact: "KSK" }), packet(2, { role: "test" }), packet(3)].map((e) =>
          b.broadcast(e),
        );
        assert.deepEqual(sent, [1, 1, 0]);
        const got: string[] = [];
        for (let i = 0; i < 2; i++) got.push(parseVOEvent(await rel.next()).voevent.ivorn.replace(/.*#/, ""));
        assert.deepEqual(got, ["1", "2"]);
      });
    });

    it("forwards to a filtered subscriber only what one of its filters accepts; unfiltered ones get all", async () => {
      await withBroadcaster({}, async (b, port) => {
        const all = await RawPeer.subscribe(port);
        const ksk = await RawPeer.subscribe(port);
        const tests = await RawPeer.subscribe(port);
        const legacy = await RawPeer.subscribe(port);
        const two = await RawPeer.subscribe(port);
        ksk.send(buildAuthenticate(IVO, "ivo://sub/ksk", ['//Who/Author[contactName="KSK"]']));
        tests.send(buildAuthenticate(IVO, "ivo://sub/tests", ['/voe:VOEvent[@role="test"]']));
        const legacyXml = HAVE_CORPUS
          ? readTransport("comet__DUMMY_AUTHENTICATE_RESPONSE_LEGACY.xml").replace(
              "%s",
              "//Param[@name='n' and @value='3']",
            )
          : buildAuthenticate(IVO, "x").replace(
              "</trn:Transport>",
              "<Meta><filter type=\"xpath\">//Param[@name='n' and @value='3']</filter></Meta></trn:Transport>",
            );
        legacy.send(legacyXml);
        two.send(
          buildAuthenticate(IVO, "ivo://sub/two", [
            "//Param[@name='n'][@value=1]",
            "/voe:VOEvent[@role='test' and .//contactName='KSK']",
          ]),
        );
        await until(() => b.subscribers.filter((s) => s.filters.length > 0).length === 4, "filters");
        assert.deepEqual(b.subscribers.find((s) => s.filters.length === 2)?.filters, [
          "//Param[@name='n'][@value=1]",
          "/voe:VOEvent[@role='test' and .//contactName='KSK']",
        ]);
        const events = [
          packet(1, { contact: "KSK" }),
          packet(2, { role: "test" }),
          packet(3),
          packet(4, { contact: "KSK", role: "test" }),
        ];
        assert.deepEqual(
          events.map((e) => b.broadcast(e)),
          [3, 2, 2, 4],
        );
        const ivorns = async (p: RawPeer, n: number) => {
          const out: string[] = [];
          for (let i = 0; i < n; i++) out.push(parseVOEvent(await p.next()).voevent.ivorn.replace(/.*#/, ""));
          await delay(20);
          assert.equal(p.frames.length, n + 1, "no more frames");
          return out;
        };
        assert.deepEqual(await ivorns(all, 4), ["1", "2", "3", "4"]);
        assert.deepEqual(await ivorns(ksk, 2), ["1", "4"]);
        assert.deepEqual(await ivorns(tests, 2), ["2", "4"]);
        assert.deepEqual(await ivorns(legacy, 1), ["3"]);
        assert.deepEqual(await ivorns(two, 2), ["1", "4"]);
        for (const p of [all, ksk, tests, legacy, two]) p.destroy();
      });
    });

    it("reports a filter that does not compile ('filter-error') and keeps the others", async () => {
      await withBroadcaster({}, async (b, port) => {
        const errors: { peer: string; filter: string; message: string }[] = [];
        b.on("filter-error", (e) => errors.push(e));
        const mixed = await RawPeer.subscribe(port);
        const broken = await RawPeer.subscribe(port);
        mixed.send(
          buildAuthenticate(IVO, "ivo://sub", ["//Param[@name='n' and @value='2']", "//Param[@name="]),
        );
        broken.send(buildAuthenticate(IVO, "ivo://sub", ["///"]));
        await until(() => errors.length === 2, "two filter errors");
        assert.equal(errors[0]!.filter, "//Param[@name=");
        assert.match(errors[0]!.message, /XPath/);
        assert.match(errors[0]!.peer, /^127\.0\.0\.1:\d+$/);
        assert.equal(b.broadcast(packet(1)), 0);
        assert.equal(b.broadcast(packet(2)), 1);
        assert.equal(parseVOEvent(await mixed.next()).voevent.ivorn, "ivo://test.author/stream#2");
        await delay(20);
        assert.equal(broken.frames.length, 1, "a subscriber whose only filter is broken gets nothing");
        mixed.destroy();
        broken.destroy();
      });
    });

    it("parses an event at most once per broadcast, and not at all without filters or with `parsed`", async () => {
      await withBroadcaster({}, async (b, port) => {
        const cache = sharedParseCache();
        const plain = await RawPeer.subscribe(port);
        cache.clear();
        assert.equal(b.broadcast(packet("p2")), 1);
        assert.deepEqual([cache.stats.hits, cache.stats.misses], [0, 0], "no filters: no parse");
        assert.equal(b.filtering, false, "no subscriber has filters");
        const f1 = await RawPeer.subscribe(port);
        const f2 = await RawPeer.subscribe(port);
        f1.send(buildAuthenticate(IVO, "s", ["//Param"]));
        f2.send(buildAuthenticate(IVO, "s", ["//Who"]));
        await until(() => b.subscribers.filter((s) => s.filters.length > 0).length === 2, "filters");
        assert.equal(b.filtering, true, "two subscribers have filters");
        assert.equal(b.broadcast(packet("p3")), 3);
        assert.deepEqual(
          [cache.stats.hits, cache.stats.misses],
          [0, 1],
          "one parse for two filtered subscribers",
        );
        const parsed = parseVOEvent(packet("p4"));
        assert.equal(b.broadcast(parsed.xml, parsed), 3);
        assert.deepEqual([cache.stats.hits, cache.stats.misses], [0, 1], "`parsed` given: no parse");
        for (const p of [plain, f1, f2]) p.destroy();
      });
    });
  });

  it("a subscriber that stops reading is disconnected on overflow; the others keep receiving on time", async () => {
    const maxQueueBytes = 256 * 1024;
    await withBroadcaster({ maxQueueBytes }, async (b, port) => {
      const overflows: { id: number }[] = [];
      const reasons: string[] = [];
      b.on("overflow", (e) => overflows.push(e));
      b.on("unsubscribe", (e) => reasons.push(e.reason));
      const stalled = await RawPeer.subscribe(port);
      stalled.socket.pause();
      const fast = await RawPeer.subscribe(port);
      const big = `${packet("big").replace("</voe:VOEvent>", `<Description>${"x".repeat(16000)}</Description></voe:VOEvent>`)}`;
      let maxQueued = 0;
      let lastSent = 0;
      const start = Date.now();
      // 2000 × 16 kB = 32 MB: far beyond the kernel's buffers and the queue limit.
      for (let i = 0; i < 2000; i++) {
        lastSent = b.broadcast(big);
        for (const s of b.subscribers) maxQueued = Math.max(maxQueued, s.queuedBytes);
        if (i % 4 === 0) await delay(1); // pace it (64 kB per turn) so the fast subscriber keeps up
      }
      await until(
        () => fast.frames.length === 2001 || fast.isClosed,
        "the fast subscriber's 2000 events",
        15000,
      );
      assert.equal(fast.frames.length, 2001);
      assert.ok(Date.now() - start < 15000);
      assert.equal(overflows.length, 1);
      assert.equal(overflows[0]!.id, 1);
      assert.match(reasons[0]!, /overflow/);
      assert.equal(lastSent, 1);
      // At most the limit, plus what one turn of the loop writes (4 events here), plus one more.
      assert.ok(maxQueued <= maxQueueBytes + 5 * (big.length + 4), `queued ${maxQueued}`);
      stalled.socket.resume(); // it sees the end of its connection only once it reads again
      await stalled.closed;
      assert.ok(stalled.frames.length < 2001);
      fast.destroy();
    });
  });

  it("sends periodic test events (role test) when testIntervalMs is set", async () => {
    await withBroadcaster({ testIntervalMs: 20 }, async (b, port) => {
      const sent: { ivorn: string; sent: number }[] = [];
      b.on("test-event", (e) => sent.push(e));
      const peer = await RawPeer.subscribe(port);
      const a = parseVOEvent(await peer.next());
      const c = parseVOEvent(await peer.next());
      assert.equal(a.voevent.role, "test");
      assert.equal(a.voevent.version, "2.0");
      assert.equal(a.voevent.namespace, "http://www.ivoa.net/xml/VOEvent/v2.0");
      assert.equal(a.voevent.stream, IVO);
      assert.notEqual(a.voevent.ivorn, c.voevent.ivorn);
      assert.ok(sent.some((e) => e.ivorn === a.voevent.ivorn && e.sent === 1));
      peer.destroy();
    });
  });

  it("serves TLS", async () => {
    const cert = testCertificate();
    await withBroadcaster({ tls: { cert: cert.cert, key: cert.key } }, async (b, port) => {
      const sub = new VTPSubscriber({
        host: "localhost",
        port,
        localIvo: "ivo://sub/tls",
        tls: { ca: cert.cert },
        backoff: { initialMs: 10 },
      });
      const got: Buffer[] = [];
      sub.on("event", (e) => got.push(e.bytes));
      sub.start();
      await until(() => b.count === 1, "TLS subscriber");
      const p = packet("tls");
      b.broadcast(p);
      await until(() => got.length === 1, "event over TLS");
      assert.equal(got[0]!.toString(), p);
      await until(() => only(b).acks === 1, "the ack"); // the authenticate reply is no ack
      await sub.close();
    });
  });

  it("close() frees every socket, server and timer, and is idempotent", async () => {
    await delay(1); // mocha starts its own timer for the test just after calling it
    const before = handles();
    const b = new VTPBroadcaster({
      port: 0,
      host: "127.0.0.1",
      localIvo: IVO,
      iamaliveIntervalMs: 20,
      aliveTimeoutMs: 10,
      testIntervalMs: 15,
    });
    const { port } = await b.listen();
    const peers = await Promise.all([
      RawPeer.subscribe(port),
      RawPeer.subscribe(port),
      RawPeer.connect(port),
    ]);
    peers[2]!.socket.write(Buffer.from([0, 0])); // half a length prefix
    await delay(30);
    await Promise.all([b.close(), b.close()]);
    await Promise.all(peers.map((p) => p.closed));
    assert.equal(b.count, 0);
    assert.equal(b.broadcast(packet(1)), 0);
    await assert.rejects(b.listen(), /closed/);
    // close() while listen() is still under way: its server is closed too.
    const early = new VTPBroadcaster({ port: 0, host: "localhost", localIvo: IVO });
    const starting = early.listen();
    await early.close();
    await assert.rejects(starting, /closed/);
    await delay(5);
    assert.deepEqual(handles(), before);
  });

  it("reads acks on a fast path that agrees with the full parser, and leaves anything unusual to it", () => {
    const samples: Buffer[] = [
      Buffer.from(buildAck("ivo://a.b/c#1", "ivo://me")),
      Buffer.from(buildAck("ivo://a.b/c#é", null)),
      Buffer.from(buildNak("ivo://a.b/c#1", "ivo://me", "no")),
      Buffer.from(buildIamalive(IVO, "ivo://me")),
      Buffer.from(buildAuthenticate(IVO, "ivo://me", ["//Who"])),
    ];
    if (HAVE_CORPUS) {
      for (const name of readdirSync(dirname(transportPath("x"))))
        samples.push(readFileSync(transportPath(name)));
    }
    const ack = buildAck("ivo://a.b/c#1", "ivo://me");
    const odd = [
      ack.replace("<Origin>ivo://a.b/c#1", "<Origin>ivo://a.b/c#1&amp;2"), // a reference: full parser
      ack.replace("<Origin>ivo://a.b/c#1", "<Origin><![CDATA[ivo://a.b/c#1]]>"),
      ack.replace("<?xml version='1.0' encoding='UTF-8'?>\n", "<!-- hi -->"),
      ack.replace("http://www.telescope-networks.org/xml/Transport/v1.1", "http://example.org/other"),
      ack.replace('role="ack"', 'foo=\'role="ack"\' role="nak"'),
      ack.replace('role="ack"', "role='ack'"),
      ack.replace("</trn:Transport>", ""), // truncated
      ack
        .replace(/trn:/g, "")
        .replace('xmlns:trn="http://www.telescope-networks.org/xml/Transport/v1.1" ', ""),
      ack.replace(/<Origin>.*<\/Origin>/, ""),
    ];
    for (const o of odd) samples.push(Buffer.from(o));
    let fast = 0;
    for (const sample of samples) {
      const quick = quickAckOrigin(sample);
      let full: { role: string; origin: string | null } | null = null;
      try {
        full = parseTransport(sample);
      } catch {
        full = null;
      }
      if (quick !== null) {
        fast++;
        assert.equal(full?.role, "ack", sample.toString());
        assert.equal(quick, full?.origin ?? "", sample.toString());
      }
    }
    assert.ok(fast >= 6, `${fast} on the fast path`);
    assert.equal(quickAckOrigin(Buffer.from(odd[0]!)), null);
    assert.equal(quickAckOrigin(Buffer.from(odd[1]!)), null);
    assert.equal(quickAckOrigin(Buffer.from(odd[4]!)), null);
    assert.equal(quickAckOrigin(Buffer.from(odd[5]!)), "ivo://a.b/c#1");
    assert.equal(quickAckOrigin(Buffer.from(odd[7]!)), "ivo://a.b/c#1");
    assert.equal(quickAckOrigin(Buffer.from(odd[8]!)), "");
    assert.equal(quickAckOrigin(samples[1]!), "ivo://a.b/c#é");

    // A subscriber's reader that has seen an ack skips re-reading the same head: the answers
    // stay those of the whole reading, for every sample, whichever ack it saw before.
    for (const primer of samples) {
      for (const sample of samples) {
        const reader = new AckReader();
        reader.read(primer);
        assert.equal(reader.read(sample), quickAckOrigin(sample), `${primer}\nthen\n${sample}`);
        // Without the Origin read out (nobody listens to `ack`): the same verdict, "" for an ack.
        const quiet = new AckReader();
        quiet.read(primer, false);
        const whole = quickAckOrigin(sample);
        assert.equal(quiet.read(sample, false), whole === null ? null : "", `${primer}\nthen\n${sample}`);
      }
    }
    const reader = new AckReader();
    for (let i = 0; i < 3; i++) {
      assert.equal(reader.read(Buffer.from(buildAck(`ivo://a.b/c#${i}`, "ivo://me"))), `ivo://a.b/c#${i}`);
    }
  });

  it("events broadcast back to back arrive in order; to many subscribers they share one write each", async () => {
    await withBroadcaster({}, async (b, port) => {
      // Few subscribers: each event is written at once.
      const few = [await RawPeer.subscribe(port), await RawPeer.subscribe(port)];
      for (let i = 0; i < 3; i++) b.broadcast(packet(`few-${i}`));
      for (const p of few) {
        for (let i = 0; i < 3; i++) assert.ok((await p.next()).includes(`#few-${i}"`), `few-${i} in order`);
      }
      // Ten subscribers (the corked path): three events in one turn of the loop reach each of
      // them in one chunk, one system call per subscriber rather than three.
      const many = [...few];
      while (many.length < 10) many.push(await RawPeer.subscribe(port));
      const chunks = many.map(() => 0);
      many.forEach((p, k) => {
        p.socket.on("data", () => chunks[k]!++);
      });
      for (let i = 0; i < 3; i++) b.broadcast(packet(`many-${i}`));
      for (const p of many) {
        for (let i = 0; i < 3; i++) assert.ok((await p.next()).includes(`#many-${i}"`), `many-${i} in order`);
      }
      assert.deepEqual(
        chunks,
        many.map(() => 1),
      );
      for (const p of many) p.destroy();
    });
  });

  it("listen() rejects when the port is taken", async () => {
    await withBroadcaster({}, async (_b, port) => {
      const other = new VTPBroadcaster({ port, host: "127.0.0.1", localIvo: IVO });
      await assert.rejects(other.listen(), /EADDRINUSE/);
      await assert.rejects(other.listen(), /EADDRINUSE/); // tried again, not a stale promise
      await other.close();
    });
  });
});
