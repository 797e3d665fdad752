/**
 * Issue 8, rows 4 and 8: the receiver's deadlines. An author that never reads
 * its replies is dropped (row 4), a frame trickled a byte at a time is cut
 * off (row 8), and so a few such peers cannot hold `maxConnections` for ever.
 * Deadlines are set short here; each test measures that the socket closes
 * and the slot comes back, with a generous cap only as the failure bound.
 */
import assert from "node:assert/strict";
import type net from "node:net";
import { type DroppedInfo, VTPReceiver } from "../../src/vtp/receiver";
import { sendEvent } from "../../src/vtp/sender";
import { closesWithin, frameOf, longIvornEvent, rawConnect, until } from "./net-peers";

const LOCAL = "ivo://adversarial.test/receiver";

describe("adversarial: receiver deadlines (issue 8, rows 4 and 8)", function () {
  this.timeout(60_000);
  let rx: VTPReceiver | null = null;
  const sockets: net.Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await rx?.close();
    rx = null;
  });

  it("row 4: authors that never read their acks are dropped, and an honest author gets their slot", async () => {
    const dropped: DroppedInfo[] = [];
    rx = new VTPReceiver({
      host: "127.0.0.1",
      port: 0,
      localIvo: LOCAL,
      maxConnections: 2,
      replyTimeoutMs: 300,
    });
    rx.on("dropped", (d: DroppedInfo) => dropped.push(d));
    const { port } = await rx.listen();
    // Two authors fill maxConnections, send far more events than the kernel's buffers can hold
    // acks for (each ack ~2.5 kB: a 2,000-character IVORN), and never read a byte.
    const burst = Buffer.concat(Array.from({ length: 3000 }, (_, i) => frameOf(longIvornEvent(i))));
    for (let i = 0; i < 2; i++) {
      const s = await rawConnect(port);
      s.pause();
      s.write(burst);
      sockets.push(s);
    }
    await until(() => rx !== null && rx.connections === 2, 5000, "both hostile authors connected");
    // Both are dropped once their oldest unread ack has waited replyTimeoutMs. (Measured on the
    // receiver's side: a peer that never reads does not notice its own socket closing.)
    await until(() => dropped.length === 2, 30_000, "both hostile authors dropped");
    await until(() => rx !== null && rx.connections === 0, 5000, "their connections released");
    // The message names the receiver's own option (issue 18, point 8: it named writeTimeoutMs,
    // which the receiver does not have), and so does `limit`.
    for (const d of dropped) {
      assert.match(d.reason, /not reading.*limit replyTimeoutMs = 300\)$/);
      assert.equal(d.limit, "replyTimeoutMs");
    }
    // The slots are free again: an honest author is served.
    const r = await sendEvent({ host: "127.0.0.1", port, payload: longIvornEvent(9999, 60), retries: 0 });
    assert.equal(r.reply, "ack");
  });

  it("row 8: a frame trickled a byte at a time is cut off frameTimeoutMs after its first byte", async () => {
    const dropped: DroppedInfo[] = [];
    rx = new VTPReceiver({
      host: "127.0.0.1",
      port: 0,
      localIvo: LOCAL,
      frameTimeoutMs: 400,
      idleTimeoutMs: 400,
    });
    rx.on("dropped", (d: DroppedInfo) => dropped.push(d));
    const { port } = await rx.listen();
    const s = await rawConnect(port);
    sockets.push(s);
    const frame = frameOf(longIvornEvent(1, 100));
    // One byte every 20 ms: each byte arrives well within the idle timeout, the frame never completes in time.
    let sent = 0;
    const trickle = setInterval(() => {
      if (sent < frame.length && !s.destroyed) s.write(frame.subarray(sent, ++sent));
    }, 20);
    try {
      const ms = await closesWithin(s, 15_000, "the trickling author");
      // Cut off by the deadline, long before the frame could have been completed.
      assert.ok(sent < frame.length, `all ${frame.length} bytes went through in ${ms} ms`);
    } finally {
      clearInterval(trickle);
    }
    assert.equal(dropped.length, 1);
    assert.match(
      dropped[0]!.reason,
      /frame not complete 400 ms after its first byte.*limit frameTimeoutMs = 400/,
    );
    assert.equal(dropped[0]!.limit, "frameTimeoutMs");
  });

  it("rows 4 and 8: trickling authors cannot hold maxConnections for ever", async () => {
    rx = new VTPReceiver({
      host: "127.0.0.1",
      port: 0,
      localIvo: LOCAL,
      maxConnections: 3,
      frameTimeoutMs: 300,
      idleTimeoutMs: 300,
    });
    const { port } = await rx.listen();
    const trickles: NodeJS.Timeout[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const s = await rawConnect(port);
        sockets.push(s);
        const frame = frameOf(longIvornEvent(i, 100));
        let sent = 0;
        trickles.push(
          setInterval(() => {
            if (sent < frame.length && !s.destroyed) s.write(frame.subarray(sent, ++sent));
          }, 20),
        );
      }
      await until(() => rx !== null && rx.connections === 3, 5000, "the trickling authors connected");
      await Promise.all(sockets.map((s, i) => closesWithin(s, 15_000, `trickling author ${i}`)));
      await until(() => rx !== null && rx.connections === 0, 5000, "connections released after the deadline");
      const r = await sendEvent({ host: "127.0.0.1", port, payload: longIvornEvent(7, 60), retries: 0 });
      assert.equal(r.reply, "ack");
    } finally {
      for (const t of trickles) clearInterval(t);
    }
  });
});
