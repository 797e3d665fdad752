/**
 * Issue 8, row 3: a broker that sends small junk frames (each worth a ~460-byte
 * ack, 91 times its size) and never reads. The subscriber's queue of unread
 * replies must stay bounded: it drops the link past maxQueueBytes.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { VTPSubscriber } from "../../src/vtp/subscriber";
import { frameOf, until } from "./net-peers";

describe("adversarial: subscriber facing a broker that never reads (issue 8, row 3)", function () {
  this.timeout(60_000);

  it("bounds the bytes of acks queued, and drops the link past maxQueueBytes", async () => {
    const junk = frameOf("x"); // 5 bytes on the wire; acked (never naked) with ~460 bytes
    const FRAMES = 40_000; // 200 kB of junk: ~18 MB of acks if nothing bounds them
    const burst = Buffer.concat(Array.from({ length: FRAMES }, () => junk));
    const held: net.Socket[] = [];
    const server = net.createServer((socket) => {
      held.push(socket);
      socket.on("error", () => {});
      socket.pause(); // never reads
      socket.write(burst);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const sub = new VTPSubscriber({
      host: "127.0.0.1",
      port,
      localIvo: "ivo://adversarial.test/subscriber",
      backoff: { initialMs: 60_000, maxMs: 60_000 },
    });
    let warnings = 0;
    let maxQueued = 0;
    const reasons: string[] = [];
    sub.on("warning", () => {
      warnings++;
      maxQueued = Math.max(maxQueued, sub.queuedBytes);
    });
    sub.on("disconnect", (d: { reason: string }) => reasons.push(d.reason));
    try {
      sub.start();
      // Either every junk frame was read (no bound: the queue holds them all), or the link dropped.
      await until(
        () => reasons.length > 0 || warnings >= FRAMES,
        30_000,
        "the junk was read or the link dropped",
      );
      assert.equal(reasons.length, 1, `${warnings} junk frames acked and the link kept`);
      const limit = 1024 * 1024;
      assert.ok(maxQueued <= limit + 4096, `${maxQueued} bytes of acks queued (bound ${limit})`);
      assert.match(reasons[0]!, /not reading our replies.*limit maxQueueBytes = 1048576/);
    } finally {
      await sub.close();
      for (const s of held) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
