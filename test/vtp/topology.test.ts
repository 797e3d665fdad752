/**
 * Whole VTP topologies on loopback: author → receiver → broadcaster → many
 * subscribers; broker → subscriber → broker → subscriber; filters end to end;
 * a stalled subscriber among healthy ones. Real sockets, port 0.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { testAlert } from "../../src/voevent/alert";
import { VTPBroadcaster } from "../../src/vtp/broadcaster";
import { FrameDecoder } from "../../src/vtp/framing";
import { VTPReceiver } from "../../src/vtp/receiver";
import { sendEvent } from "../../src/vtp/sender";
import { type SubscribedEvent, VTPSubscriber } from "../../src/vtp/subscriber";
import { corpusAvailable, readIndex, readPacket } from "../helpers/corpus";

const BROKER = "ivo://test.topology/broker";

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(3);
  }
}

/** Packets to send: valid VOEvent 2.0 with a local id from the corpus, or test alerts when it is absent. */
function packets(n: number): Buffer[] {
  if (corpusAvailable()) {
    const rows = readIndex().filter(
      (r) =>
        r.notable_features.includes("valid VOEvent-v2.0.xsd") &&
        r.ivorn.includes("#") &&
        r.ivorn.startsWith("ivo://"),
    );
    const byIvorn = new Map<string, Buffer>();
    for (const r of rows) if (!byIvorn.has(r.ivorn)) byIvorn.set(r.ivorn, readPacket(r.file));
    const out = [...byIvorn.values()].slice(0, n);
    if (out.length === n) return out;
  }
  console.log("    (corpus absent: topology tests send built test alerts)");
  return Array.from({ length: n }, (_, i) => Buffer.from(testAlert({ contactName: `Sender ${i}` })));
}

function subscriber(port: number, filters: string[] = []): { sub: VTPSubscriber; events: SubscribedEvent[] } {
  const sub = new VTPSubscriber({
    host: "127.0.0.1",
    port,
    localIvo: "ivo://test.topology/subscriber",
    filters,
    backoff: { initialMs: 10, maxMs: 100 },
  });
  const events: SubscribedEvent[] = [];
  sub.on("event", (e) => events.push(e));
  sub.start();
  return { sub, events };
}

function handles(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) {
    if (r === "TCPServerWrap" || r === "TCPSocketWrap" || r === "Timeout") out[r] = (out[r] ?? 0) + 1;
  }
  return out;
}

describe("vtp topology", () => {
  it("author → receiver → broadcaster → 20 subscribers: exact bytes to each, acks counted, nothing left open", async () => {
    await delay(1); // mocha starts its own timer for the test just after calling it
    const before = handles();
    // iamalive every 100 ms; a generous reply deadline, as 21 peers share this one busy event loop.
    const b = new VTPBroadcaster({
      port: 0,
      host: "127.0.0.1",
      localIvo: BROKER,
      iamaliveIntervalMs: 100,
      aliveTimeoutMs: 2000,
    });
    const { port: bport } = await b.listen();
    const dropped: string[] = [];
    b.on("unsubscribe", (e) => dropped.push(e.reason));
    const receiver = new VTPReceiver({
      port: 0,
      host: "127.0.0.1",
      localIvo: BROKER,
      handler: (ev) => {
        b.broadcast(ev.bytes, ev);
      },
    });
    const { port: rport } = await receiver.listen();
    const subs = Array.from({ length: 20 }, () => subscriber(bport));
    await until(() => b.count === 20, "20 subscribers");

    const sent = packets(30);
    // One connection per event, as comet-sendvo; a few at a time.
    for (let i = 0; i < sent.length; i += 5) {
      const replies = await Promise.all(
        sent
          .slice(i, i + 5)
          .map((payload) => sendEvent({ host: "127.0.0.1", port: rport, payload, retries: 0 })),
      );
      assert.ok(replies.every((r) => r.reply === "ack"));
    }
    await until(
      () => subs.every((s) => s.events.length === sent.length) || dropped.length > 0,
      "every event at every subscriber",
    );
    assert.deepEqual(dropped, []);
    // Each got every packet, byte for byte, in the order the receiver accepted them.
    const order = subs[0]!.events.map((e) => e.voevent.ivorn);
    for (const { events } of subs) {
      assert.deepEqual(
        events.map((e) => e.voevent.ivorn),
        order,
      );
      for (const e of events) {
        const original = sent.find((p) => p.equals(e.bytes));
        assert.ok(original !== undefined, `bytes of ${e.voevent.ivorn} changed on the way`);
      }
    }
    await until(
      () => b.subscribers.reduce((n, s) => n + s.acks, 0) === 20 * sent.length,
      "every ack back at the broadcaster",
    );
    assert.ok(b.subscribers.every((s) => s.outstanding === 0));
    await delay(350); // three iamalive rounds: every subscriber answers, none is dropped
    assert.equal(b.count, 20);

    await Promise.all(subs.map((s) => s.sub.close()));
    await receiver.close();
    await b.close();
    await delay(10);
    assert.deepEqual(handles(), before);
  });

  it("filters end to end: each subscriber gets what its own filters accept", async () => {
    const b = new VTPBroadcaster({ port: 0, host: "127.0.0.1", localIvo: BROKER });
    const { port } = await b.listen();
    const all = subscriber(port);
    const ksk = subscriber(port, ['//Who/Author[contactName="KSK"]']);
    const tests = subscriber(port, ['/voe:VOEvent[@role="test"]']);
    const either = subscriber(port, [
      '//Who/Author[contactName="KSK"]',
      "//Param[@name='Sender' and @value='Bob']",
    ]);
    await until(
      () => b.subscribers.filter((s) => s.filters.length > 0).length === 3,
      "three filtered subscribers",
    );
    const events = [
      testAlert({ contactName: "KSK" }), // test, KSK
      testAlert({ contactName: "Bob", role: "observation" }), // observation, Bob
      testAlert({ contactName: "Ann", role: "observation" }), // observation, Ann
      testAlert({ contactName: "Ann" }), // test, Ann
    ];
    assert.deepEqual(
      events.map((e) => b.broadcast(e)),
      [4, 2, 1, 2],
    );
    await until(() => all.events.length === 4, "all four at the unfiltered subscriber");
    await delay(30);
    const senders = (s: { events: SubscribedEvent[] }) => s.events.map((e) => e.voevent.params.Sender);
    assert.deepEqual(senders(all), ["KSK", "Bob", "Ann", "Ann"]);
    assert.deepEqual(senders(ksk), ["KSK"]);
    assert.deepEqual(
      tests.events.map((e) => e.voevent.role),
      ["test", "test"],
    );
    assert.deepEqual(senders(either), ["KSK", "Bob"]);
    await Promise.all([all, ksk, tests, either].map((s) => s.sub.close()));
    await b.close();
  });

  it("broker → subscriber → broker → subscriber keeps the bytes", async () => {
    const upstream = new VTPBroadcaster({ port: 0, host: "127.0.0.1", localIvo: `${BROKER}/up` });
    const downstream = new VTPBroadcaster({ port: 0, host: "127.0.0.1", localIvo: `${BROKER}/down` });
    const { port: up } = await upstream.listen();
    const { port: down } = await downstream.listen();
    const relay = subscriber(up);
    relay.sub.on("event", (e) => downstream.broadcast(e.bytes, e));
    const leaf = subscriber(down);
    await until(() => upstream.count === 1 && downstream.count === 1, "both links");
    const sent = packets(10);
    for (const p of sent) upstream.broadcast(p);
    await until(() => leaf.events.length === sent.length, "every event at the leaf");
    for (const [i, e] of leaf.events.entries()) assert.ok(e.bytes.equals(sent[i]!));
    await until(() => downstream.subscribers[0]!.acks === sent.length, "leaf acks");
    await Promise.all([relay.sub.close(), leaf.sub.close()]);
    await Promise.all([upstream.close(), downstream.close()]);
  });

  it("a stalled subscriber among 10 healthy ones: they get every event on time, it is cut off", async () => {
    const b = new VTPBroadcaster({
      port: 0,
      host: "127.0.0.1",
      localIvo: BROKER,
      maxQueueBytes: 128 * 1024,
    });
    const { port } = await b.listen();
    const overflows: number[] = [];
    b.on("overflow", (e) => overflows.push(e.id));
    const dropped: string[] = [];
    b.on("unsubscribe", (e) => dropped.push(`${e.id}: ${e.reason}`));
    // The stalled one connects, then reads nothing more.
    const stalled = net.connect(port, "127.0.0.1");
    stalled.on("error", () => {});
    const stalledClosed = once(stalled, "close");
    let stalledFrames = 0;
    const decoder = new FrameDecoder({
      maxBytes: 1 << 20,
      onFrame: () => stalledFrames++,
      onError: () => {},
    });
    stalled.on("data", (c: Buffer) => decoder.push(c));
    await once(stalled, "connect");
    await until(() => b.count === 1, "the stalled subscriber");
    stalled.pause();
    const healthy = Array.from({ length: 10 }, () => subscriber(port));
    await until(() => b.count === 11, "11 subscribers");

    // Real packets, and two of 200 kB so that the stalled one's buffers fill up quickly.
    const sent = [
      ...packets(20),
      Buffer.from(testAlert({ description: "x".repeat(200000) })),
      Buffer.from(testAlert({ description: "y".repeat(200000) })),
    ];
    const latencies: number[] = [];
    const t0 = Date.now();
    // Until the stalled one's socket buffers fill up and it overflows (loopback buffers can
    // hold megabytes), then a few rounds more.
    let after = 0;
    for (let round = 0; round < 400 && after < 5; round++) {
      for (const p of sent) b.broadcast(p);
      const want = (round + 1) * sent.length;
      const start = Date.now();
      await until(
        () => healthy.every((h) => h.events.length === want) || dropped.length > 1,
        `round ${round}`,
      );
      assert.ok(dropped.length <= 1, `dropped: ${dropped.join("; ")}`);
      latencies.push(Date.now() - start);
      if (overflows.length > 0) after++;
    }
    assert.deepEqual(overflows, [1]);
    assert.ok(Math.max(...latencies) < 5000, `round latencies ${latencies}`);
    assert.ok(Date.now() - t0 < 18000);
    assert.match(dropped[0]!, /^1: overflow/);
    assert.equal(b.count, 10);
    stalled.resume();
    await stalledClosed;
    assert.ok(stalledFrames < latencies.length * sent.length);
    await Promise.all(healthy.map((h) => h.sub.close()));
    await b.close();
  });
});
