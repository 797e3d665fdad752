import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { encodeFrame, FrameDecoder } from "../../src/vtp/framing";
import {
  type NakInfo,
  type ReceivedEvent,
  VTPReceiver,
  type VTPReceiverOptions,
} from "../../src/vtp/receiver";
import { sendEvent } from "../../src/vtp/sender";
import { buildIamalive, parseTransport, TRANSPORT_NS, type TransportMessage } from "../../src/vtp/transport";
import { testCertificate } from "../helpers/tls";

const LOCAL = "ivo://receiver.test/vtp";

function event(ivorn: string, opts: { ns?: string | null; version?: string; what?: string } = {}): string {
  const ns = opts.ns === undefined ? "http://www.ivoa.net/xml/VOEvent/v2.0" : opts.ns;
  const open = ns === null ? "<VOEvent" : `<voe:VOEvent xmlns:voe="${ns}"`;
  const close = ns === null ? "</VOEvent>" : "</voe:VOEvent>";
  return `<?xml version='1.0' encoding='UTF-8'?>
${open} version="${opts.version ?? "2.0"}" role="test" ivorn="${ivorn}">
  <Who><AuthorIVORN>ivo://receiver.test/author</AuthorIVORN><Date>2026-01-01T00:00:00</Date></Who>
  <What>${opts.what ?? '<Param name="mag" value="12.5" dataType="float"/>'}<Description>é ünïcode ✓</Description></What>
${close}
`;
}

/** A scripted raw-socket author: writes whatever it is told, collects decoded replies. */
class RawPeer {
  readonly socket: net.Socket;
  readonly replies: TransportMessage[] = [];
  readonly raw: Buffer[] = [];
  closed = false;
  private waiters: (() => void)[] = [];
  private readonly decoder = new FrameDecoder({
    maxBytes: 1 << 20,
    onFrame: (p) => {
      this.raw.push(Buffer.from(p));
      this.replies.push(parseTransport(p));
      this.wake();
    },
    onError: () => this.socket.destroy(),
  });

  constructor(port: number) {
    this.socket = net.connect(port, "127.0.0.1");
    this.socket.on("data", (c: Buffer) => this.decoder.push(c));
    this.socket.on("error", () => {});
    this.socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  async connected(): Promise<void> {
    if (this.socket.readyState !== "open") await once(this.socket, "connect");
  }

  /** Waits for n replies in all, or the close. */
  async replyCount(n: number): Promise<TransportMessage[]> {
    while (this.replies.length < n && !this.closed) await new Promise<void>((r) => this.waiters.push(r));
    return this.replies;
  }

  async closedPromise(): Promise<void> {
    while (!this.closed) await new Promise<void>((r) => this.waiters.push(r));
  }

  send(xml: string | Buffer): void {
    this.socket.write(encodeFrame(xml));
  }

  destroy(): void {
    this.socket.destroy();
  }
}

interface Harness {
  rx: VTPReceiver;
  port: number;
  events: ReceivedEvent[];
  naks: NakInfo[];
  dropped: { peer: string; reason: string }[];
  rejected: { address: string; reason: string }[];
}

const open: VTPReceiver[] = [];

async function start(extra: Partial<VTPReceiverOptions> = {}): Promise<Harness> {
  const rx = new VTPReceiver({ host: "127.0.0.1", port: 0, localIvo: LOCAL, ...extra });
  open.push(rx);
  const h: Harness = { rx, port: 0, events: [], naks: [], dropped: [], rejected: [] };
  rx.on("event", (e: ReceivedEvent) => h.events.push(e));
  rx.on("nak", (n: NakInfo) => h.naks.push(n));
  rx.on("dropped", (d: { peer: string; reason: string }) => h.dropped.push(d));
  rx.on("rejected", (r: { address: string; reason: string }) => h.rejected.push(r));
  const { port } = await rx.listen();
  h.port = port;
  return h;
}

function countHandles(): Record<string, number> {
  const out: Record<string, number> = { TCPServerWrap: 0, TCPSocketWrap: 0, Timeout: 0 };
  for (const r of process.getActiveResourcesInfo()) if (r in out) out[r] = (out[r] ?? 0) + 1;
  return out;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

describe("vtp/receiver", () => {
  afterEach(async () => {
    while (open.length > 0) await open.pop()?.close();
  });

  it("acks an event from our sender; the handler gets the exact bytes; ack Origin = ivorn, Response = localIvo", async () => {
    const got: ReceivedEvent[] = [];
    const h = await start({ handler: (ev) => void got.push(ev) });
    const xml = event("ivo://receiver.test/s#1");
    const bytes = Buffer.from(xml);
    const r = await sendEvent({
      host: "127.0.0.1",
      port: h.port,
      payload: bytes,
      timeoutMs: 2000,
      retries: 0,
    });
    assert.equal(r.reply, "ack");
    assert.equal(r.transport.origin, "ivo://receiver.test/s#1");
    assert.equal(r.transport.response, LOCAL);
    assert.equal(r.transport.namespace, TRANSPORT_NS);
    assert.equal(r.originMatches, true);
    assert.equal(r.attempts, 1);
    assert.equal(got.length, 1);
    assert.ok(got[0]?.bytes.equals(bytes));
    assert.equal(got[0]?.xml, xml);
    assert.equal(got[0]?.voevent.ivorn, "ivo://receiver.test/s#1");
    assert.match(got[0]?.peer ?? "", /^127\.0\.0\.1:\d+$/);
    assert.ok(got[0]?.receivedAt instanceof Date);
    await settle();
    assert.equal(h.events.length, 1);
  });

  it("awaits an async handler before acking, and acks a duplicate too", async () => {
    const order: string[] = [];
    const h = await start({
      handler: async (ev) => {
        await new Promise((r) => setTimeout(r, 20));
        order.push(`handled ${ev.voevent.ivorn}`);
      },
    });
    const p = new RawPeer(h.port);
    await p.connected();
    const xml = event("ivo://receiver.test/s#dup");
    p.send(xml);
    await p.replyCount(1);
    order.push("acked");
    p.send(xml);
    const replies = await p.replyCount(2);
    assert.deepEqual(
      replies.map((r) => r.role),
      ["ack", "ack"],
    );
    assert.deepEqual(order.slice(0, 2), ["handled ivo://receiver.test/s#dup", "acked"]);
    p.destroy();
  });

  describe("naks, with the reason in Meta/Result", () => {
    const cases: {
      name: string;
      payload: string | Buffer;
      origin: string;
      reason: RegExp;
      closes: boolean;
    }[] = [
      {
        name: "broken XML",
        payload: event("ivo://receiver.test/s#2").slice(0, 150),
        origin: "",
        reason: /^Event rejected: XML is not well-formed/,
        closes: true,
      },
      {
        name: "a bad IVORN",
        payload: event("http://receiver.test/s#3"),
        origin: "http://receiver.test/s#3",
        reason: /^Event rejected: .*ivo:\/\//,
        closes: false,
      },
      {
        name: "no local id",
        payload: event("ivo://receiver.test/s"),
        origin: "ivo://receiver.test/s",
        reason: /^Event rejected: .*local id/,
        closes: false,
      },
      {
        name: "a Transport message",
        payload: buildIamalive("ivo://someone.test/b"),
        origin: "",
        reason: /^Event rejected: a Transport message \(role "iamalive"\)/,
        closes: true,
      },
      {
        name: "framed binary garbage",
        payload: Buffer.from([0, 1, 2, 3, 0xff, 0xfe]),
        origin: "",
        reason: /^Event rejected: .*not XML/,
        closes: true,
      },
      {
        name: "a DOCTYPE",
        payload: `<!DOCTYPE x [<!ENTITY a "aaaa">]>${event("ivo://receiver.test/s#4")}`,
        origin: "",
        reason: /^Event rejected: .*DOCTYPE/,
        closes: true,
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const h = await start();
        const p = new RawPeer(h.port);
        await p.connected();
        p.send(c.payload);
        const [r] = await p.replyCount(1);
        assert.ok(r, "a reply");
        assert.equal(r.role, "nak");
        assert.equal(r.origin, c.origin);
        assert.equal(r.response, LOCAL);
        assert.match(r.result ?? "", c.reason);
        assert.equal(h.naks.length, 1);
        assert.equal(h.naks[0]?.reason, r.result);
        if (c.closes) {
          await p.closedPromise();
        } else {
          // The connection stays open for the next event.
          p.send(event("ivo://receiver.test/s#ok"));
          const rs = await p.replyCount(2);
          assert.equal(rs[1]?.role, "ack");
          p.destroy();
        }
        assert.equal(h.events.length, c.closes ? 0 : 1);
      });
    }

    it("schema-invalid VOEvent 2.0 (validate: schema), quoting the schema error", async () => {
      const h = await start({ validate: "schema" });
      const p = new RawPeer(h.port);
      await p.connected();
      p.send(event("ivo://receiver.test/s#5", { what: '<Param name="x" value="1" datatype="int"/>' }));
      const [r] = await p.replyCount(1);
      assert.equal(r?.role, "nak");
      assert.equal(r?.origin, "ivo://receiver.test/s#5");
      assert.match(r?.result ?? "", /^Event rejected: schema validation failed: .*datatype/);
      p.send(event("ivo://receiver.test/s#6"));
      const rs = await p.replyCount(2);
      assert.equal(rs[1]?.role, "ack");
      p.destroy();
    });

    it("VOEvent 1.1 under validate: schema", async () => {
      const h = await start({ validate: "schema" });
      const p = new RawPeer(h.port);
      await p.connected();
      p.send(
        event("ivo://receiver.test/s#7", { ns: "http://www.ivoa.net/xml/VOEvent/v1.1", version: "1.1" }),
      );
      const [r] = await p.replyCount(1);
      assert.equal(r?.role, "nak");
      assert.match(r?.result ?? "", /schema validation failed: .*VOEvent 1\.1/);
      p.destroy();
    });

    it("a handler that throws or rejects: nak 'internal error', the error reported on the nak event", async () => {
      let n = 0;
      const h = await start({
        handler: (ev) => {
          n++;
          if (ev.voevent.ivorn.endsWith("#sync")) throw new Error("sync boom");
          return Promise.reject(new Error("async boom"));
        },
      });
      const p = new RawPeer(h.port);
      await p.connected();
      p.send(event("ivo://receiver.test/s#sync"));
      p.send(event("ivo://receiver.test/s#async"));
      const rs = await p.replyCount(2);
      assert.deepEqual(
        rs.map((r) => [r.role, r.origin, r.result]),
        [
          ["nak", "ivo://receiver.test/s#sync", "Event rejected: internal error"],
          ["nak", "ivo://receiver.test/s#async", "Event rejected: internal error"],
        ],
      );
      assert.equal(n, 2);
      assert.deepEqual(
        h.naks.map((k) => [k.code, k.error?.message]),
        [
          ["HANDLER", "sync boom"],
          ["HANDLER", "async boom"],
        ],
      );
      assert.equal(h.events.length, 0);
      p.destroy();
    });
  });

  it("reads an event written one byte at a time", async () => {
    const h = await start();
    const p = new RawPeer(h.port);
    await p.connected();
    const frame = encodeFrame(event("ivo://receiver.test/s#bytewise"));
    for (const b of frame) {
      p.socket.write(Buffer.from([b]));
      if (b % 16 === 0) await new Promise((r) => setImmediate(r));
    }
    const [r] = await p.replyCount(1);
    assert.equal(r?.role, "ack");
    assert.equal(r?.origin, "ivo://receiver.test/s#bytewise");
    p.destroy();
  });

  it("answers several events from one write in order (slow first handler)", async () => {
    const h = await start({
      handler: async (ev) => {
        if (ev.voevent.ivorn.endsWith("#1")) await new Promise((r) => setTimeout(r, 30));
      },
    });
    const p = new RawPeer(h.port);
    await p.connected();
    const ids = Array.from({ length: 40 }, (_, i) => `ivo://receiver.test/batch#${i + 1}`);
    ids[2] = "ivo://receiver.test/batch"; // no local id: nak, in its place
    p.socket.write(Buffer.concat(ids.map((id) => encodeFrame(event(id)))));
    const rs = await p.replyCount(ids.length);
    assert.deepEqual(
      rs.map((r) => r.origin),
      ids,
    );
    assert.deepEqual(
      rs.map((r) => r.role),
      ids.map((_, i) => (i === 2 ? "nak" : "ack")),
    );
    assert.equal(h.events.length, ids.length - 1);
    p.destroy();
  });

  it("answers an author that half-closes after sending (one-shot)", async () => {
    const h = await start();
    const p = new RawPeer(h.port);
    await p.connected();
    const errors: Error[] = [];
    p.socket.on("error", (err: Error) => errors.push(err));
    const ended = once(p.socket, "end");
    p.socket.end(encodeFrame(event("ivo://receiver.test/s#half")));
    const [r] = await p.replyCount(1);
    assert.equal(r?.role, "ack");
    await ended; // an orderly FIN after the ack, not a reset
    await p.closedPromise();
    assert.deepEqual(errors, []);
    assert.equal(p.replies.length, 1);
  });

  it("a peer vanishing mid-frame: nothing escapes, others are still served", async () => {
    const h = await start();
    const p = new RawPeer(h.port);
    await p.connected();
    const frame = encodeFrame(event("ivo://receiver.test/s#gone"));
    p.socket.write(frame.subarray(0, 40));
    await settle();
    p.socket.resetAndDestroy();
    await p.closedPromise();
    const r = await sendEvent({
      host: "127.0.0.1",
      port: h.port,
      payload: event("ivo://receiver.test/s#after"),
      retries: 0,
      timeoutMs: 2000,
    });
    assert.equal(r.reply, "ack");
    assert.equal(h.events.length, 1);
  });

  it("a length of 0xFFFFFFFF: closed at once, no reply", async () => {
    const h = await start();
    const p = new RawPeer(h.port);
    await p.connected();
    const before = process.memoryUsage().arrayBuffers;
    p.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x3c]));
    await p.closedPromise();
    assert.equal(p.replies.length, 0);
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 << 20, "no large allocation");
    assert.match(h.dropped[0]?.reason ?? "", /exceeds the limit/);
  });

  it("unframed garbage (an HTTP request): closed, no reply", async () => {
    const h = await start();
    const p = new RawPeer(h.port);
    await p.connected();
    p.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await p.closedPromise();
    assert.equal(p.replies.length, 0);
  });

  it("a frame above maxBytes: closed, no reply", async () => {
    const h = await start({ maxBytes: 1000 });
    const p = new RawPeer(h.port);
    await p.connected();
    p.send(event("ivo://receiver.test/s#big", { what: `<Description>${"x".repeat(2000)}</Description>` }));
    await p.closedPromise();
    assert.equal(p.replies.length, 0);
  });

  it("a connection that never sends is dropped after idleTimeoutMs", async () => {
    const h = await start({ idleTimeoutMs: 40 });
    const p = new RawPeer(h.port);
    await p.connected();
    const t0 = Date.now();
    await p.closedPromise();
    const ms = Date.now() - t0;
    assert.ok(ms >= 30 && ms < 10000, `dropped after ${ms} ms (the default is 20 s)`);
    assert.match(h.dropped[0]?.reason ?? "", /idle for 40 ms/);
    assert.equal(p.replies.length, 0);
  });

  it("times the idle deadlines of many connections with one timer, and drops each when due", async () => {
    const h = await start({ idleTimeoutMs: 200 });
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = timers();
    const peers = Array.from({ length: 20 }, () => new RawPeer(h.port));
    await Promise.all(peers.map((p) => p.connected()));
    while (h.rx.connections < peers.length) await settle();
    const t0 = Date.now();
    assert.ok(timers() - before <= 1, `${timers() - before} more timers for ${peers.length} connections`);
    await Promise.all(peers.map((p) => p.closedPromise()));
    const ms = Date.now() - t0;
    assert.ok(ms >= 150 && ms < 5000, `all dropped after ${ms} ms (limit 200 ms)`);
    assert.equal(h.dropped.filter((d) => /idle for 200 ms/.test(d.reason)).length, peers.length);
  });

  it("the idle clock runs from the last reply; an author that keeps sending is never dropped", async () => {
    const h = await start({ idleTimeoutMs: 300 });
    const p = new RawPeer(h.port);
    await p.connected();
    const t0 = Date.now();
    // Four events 150 ms apart: 600 ms in all, twice the idle limit, without a pause that long.
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 150));
      p.send(event(`ivo://receiver.test/s#kept-${i}`));
      while (p.replies.length <= i) await settle();
    }
    const lastReply = Date.now();
    assert.equal(h.rx.connections, 1, "still connected after 600 ms");
    await p.closedPromise();
    const idle = Date.now() - lastReply;
    assert.ok(
      idle >= 280,
      `dropped ${idle} ms after the last reply (limit 300 ms), ${Date.now() - t0} ms in all`,
    );
    assert.deepEqual(
      p.replies.map((r) => r.role),
      ["ack", "ack", "ack", "ack"],
    );
    assert.match(h.dropped[0]?.reason ?? "", /idle for 300 ms/);
  });

  it("an author that half-closes after its ack gets our FIN at once, and its connection is gone", async () => {
    const h = await start();
    const p = new RawPeer(h.port);
    await p.connected();
    p.send(event("ivo://receiver.test/s#half"));
    await p.replyCount(1);
    const ended = once(p.socket, "end");
    const t0 = Date.now();
    p.socket.end(); // our side of the connection closed; still reading
    await ended;
    while (h.rx.connections > 0) await settle();
    const ms = Date.now() - t0;
    // Nothing waits to be sent: the receiver's FIN follows at once, not after its 2 s close timer.
    assert.ok(ms < 1000, `closed ${ms} ms after the author's FIN`);
    assert.equal(p.replies[0]?.role, "ack");
  });

  it("a connection from outside the whitelist is closed with no reply, and reported", async () => {
    const h = await start({ whitelist: "10.0.0.0/8" });
    const p = new RawPeer(h.port);
    p.send(event("ivo://receiver.test/s#out"));
    await p.closedPromise();
    assert.equal(p.replies.length, 0);
    assert.equal(h.rejected.length, 1);
    assert.equal(h.rejected[0]?.address, "127.0.0.1");
    assert.equal(h.rx.connections, 0);
  });

  it("serves TLS with a certificate the test makes", async () => {
    const cert = testCertificate();
    const h = await start({ tls: { cert: cert.cert, key: cert.key } });
    const r = await sendEvent({
      host: "127.0.0.1",
      port: h.port,
      payload: event("ivo://receiver.test/s#tls"),
      tls: { ca: cert.cert, servername: "localhost" },
      retries: 0,
      timeoutMs: 5000,
    });
    assert.equal(r.reply, "ack");
    assert.equal(h.events[0]?.voevent.ivorn, "ivo://receiver.test/s#tls");
    // A plain-TCP client speaking VTP to the TLS port gets nowhere, and leaves nothing behind.
    const p = new RawPeer(h.port);
    await p.connected();
    p.send(event("ivo://receiver.test/s#plain"));
    await p.closedPromise();
    assert.equal(p.replies.length, 0);
  });

  it("close() frees every server, socket and timer", async () => {
    await settle();
    const before = countHandles();
    const h = await start({ idleTimeoutMs: 5000, handler: () => new Promise(() => {}) /* never settles */ });
    const peers = [new RawPeer(h.port), new RawPeer(h.port), new RawPeer(h.port)];
    await Promise.all(peers.map((p) => p.connected()));
    peers[0]?.send(event("ivo://receiver.test/s#stuck")); // handler in progress
    peers[1]?.socket.write(Buffer.from([0, 0])); // half a length prefix
    while (h.rx.connections < 3) await settle();
    const during = countHandles();
    assert.ok((during.TCPSocketWrap ?? 0) >= (before.TCPSocketWrap ?? 0) + 6);
    await h.rx.close();
    open.length = 0;
    await Promise.all(peers.map((p) => p.closedPromise()));
    await settle();
    assert.deepEqual(countHandles(), before);
    assert.equal(h.rx.connections, 0);
  });

  it("serves 50 authors at once", async () => {
    const h = await start();
    const rs = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        sendEvent({
          host: "127.0.0.1",
          port: h.port,
          payload: event(`ivo://receiver.test/c#${i}`),
          retries: 0,
        }),
      ),
    );
    assert.ok(rs.every((r, i) => r.reply === "ack" && r.transport.origin === `ivo://receiver.test/c#${i}`));
    assert.equal(h.events.length, 50);
  });

  it("refuses connections beyond maxConnections", async () => {
    const h = await start({ maxConnections: 1 });
    const a = new RawPeer(h.port);
    await a.connected();
    while (h.rx.connections < 1) await settle();
    const b = new RawPeer(h.port);
    await b.closedPromise();
    assert.match(h.rejected[0]?.reason ?? "", /^too many connections \(limit maxConnections = 1\)/);
    a.send(event("ivo://receiver.test/s#first"));
    const [r] = await a.replyCount(1);
    assert.equal(r?.role, "ack");
    a.destroy();
  });

  it("stops answering an author that never reads its replies", async function () {
    this.timeout(90_000);
    const h = await start();
    const p = new RawPeer(h.port);
    await p.connected();
    p.socket.pause(); // never read
    const frame = encodeFrame(event("ivo://receiver.test/s#flood"));
    const burst = Buffer.concat(Array.from({ length: 200 }, () => frame));
    let written = 0;
    let stalled = false;
    const t0 = Date.now();
    // Keep writing until the receiver stops reading (our writes back up and never drain).
    // The kernel's loopback buffers absorb several MB of acks and events first, so allow plenty.
    while (written < 400_000 && Date.now() - t0 < 60_000) {
      if (!p.socket.write(burst)) {
        const drained = await Promise.race([
          once(p.socket, "drain").then(() => true),
          new Promise<boolean>((r) => setTimeout(() => r(false), 500)),
        ]);
        if (!drained) {
          stalled = true;
          break;
        }
      }
      written += 200;
    }
    assert.ok(stalled, `the receiver kept reading: ${written} events written`);
    assert.ok(h.events.length < written, `answered ${h.events.length} of ${written}`);
    p.destroy();
  });

  it("refuses bad options and a second listen", async () => {
    assert.throws(
      () => new VTPReceiver({ port: 0, localIvo: LOCAL, validate: "strict" as "schema" }),
      /validate must be/,
    );
    assert.throws(() => new VTPReceiver({ port: 0, localIvo: "" }), /localIvo/);
    assert.throws(() => new VTPReceiver({ port: 70000, localIvo: LOCAL }), /port/);
    const h = await start();
    await assert.rejects(h.rx.listen(), /already listening/);
    const clash = new VTPReceiver({ host: "127.0.0.1", port: h.port, localIvo: LOCAL });
    await assert.rejects(clash.listen(), /EADDRINUSE/);
    await clash.close();
  });
});
