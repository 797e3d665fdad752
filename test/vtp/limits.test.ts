/**
 * The bounds added for issue 8 at the unit level: FramedConnection's frame and
 * write deadlines, the SendQueue, the per-node peer warning limiter.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { PeerWarnings } from "../../nodes/shared/peer-warnings";
import type { Node } from "../../nodes/shared/types";
import { isVOEventError } from "../../src/errors";
import { FramedConnection } from "../../src/vtp/connection";
import { encodeFrame } from "../../src/vtp/framing";
import { SendQueue } from "../../src/vtp/send-queue";

/** A connected pair: our FramedConnection on the server side, a raw client socket. */
async function pair(opts: ConstructorParameters<typeof FramedConnection>[1]) {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = once(server, "connection") as Promise<[net.Socket]>;
  const client = net.connect(port, "127.0.0.1");
  client.on("error", () => {});
  const [socket] = await accepted;
  const conn = new FramedConnection(socket, opts);
  const errors: Error[] = [];
  conn.on("error", (e: Error) => errors.push(e));
  const closed = new Promise<string>((r) => conn.once("close", (reason: string) => r(reason)));
  const done = async (): Promise<void> => {
    client.destroy();
    conn.destroy();
    await closed;
    await new Promise<void>((r) => server.close(() => r()));
  };
  return { conn, client, errors, closed, done };
}

describe("vtp limits (issue 8)", () => {
  describe("FramedConnection deadlines", () => {
    it("a frame's deadline runs from its first byte: later bytes do not extend it", async () => {
      const p = await pair({ frameTimeoutMs: 150 });
      const frame = encodeFrame(`<a>${"x".repeat(100)}</a>`);
      let sent = 2;
      p.client.write(frame.subarray(0, sent));
      const t0 = Date.now();
      const more = setInterval(() => {
        if (sent < frame.length) p.client.write(frame.subarray(sent, ++sent));
      }, 20);
      try {
        const reason = await p.closed;
        assert.match(reason, /frame not complete 150 ms after its first byte/);
        assert.ok(Date.now() - t0 >= 140, "not before the deadline");
        assert.ok(isVOEventError(p.errors[0]) && p.errors[0].code === "TIMEOUT");
      } finally {
        clearInterval(more);
        await p.done();
      }
    });

    it("whole frames, however slow between them, are not cut off; the clock stops while we pause", async () => {
      const p = await pair({ frameTimeoutMs: 100 });
      const frames: string[] = [];
      p.conn.on("frame", (b: Buffer) => frames.push(b.toString()));
      try {
        for (let i = 0; i < 3; i++) {
          p.client.write(encodeFrame(`<a n="${i}"/>`));
          await new Promise((r) => setTimeout(r, 150));
        }
        p.conn.pause();
        p.client.write(encodeFrame("<b/>").subarray(0, 3));
        await new Promise((r) => setTimeout(r, 250));
        assert.equal(p.conn.closed, false, "cut off while paused");
        p.client.write(encodeFrame("<b/>").subarray(3));
        p.conn.resume();
        await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(frames, ['<a n="0"/>', '<a n="1"/>', '<a n="2"/>', "<b/>"]);
        assert.equal(p.errors.length, 0);
      } finally {
        await p.done();
      }
    });

    it("a peer that never reads: the oldest unflushed send past writeTimeoutMs closes the connection", async () => {
      const p = await pair({ writeTimeoutMs: 200 });
      p.client.pause();
      try {
        const big = Buffer.alloc(256 * 1024, 0x61);
        for (let i = 0; i < 64 && p.conn.bufferedBytes === 0; i++) p.conn.send(big);
        assert.ok(p.conn.unflushedSends > 0, "the kernel's buffers filled");
        const reason = await p.closed;
        assert.match(reason, /the peer is not reading.*limit writeTimeoutMs = 200/);
      } finally {
        await p.done();
      }
    });

    it("a peer that reads late but within writeTimeoutMs is kept; each unflushed send has its own clock", async () => {
      const p = await pair({ writeTimeoutMs: 300 });
      p.client.pause();
      try {
        const big = Buffer.alloc(256 * 1024, 0x61);
        const fill = (): void => {
          for (let i = 0; i < 64 && p.conn.bufferedBytes === 0; i++) p.conn.send(big);
        };
        const drained = async (): Promise<void> => {
          p.client.resume();
          while (p.conn.bufferedBytes > 0) await new Promise((r) => setTimeout(r, 10));
          p.client.pause();
        };
        // A send that reaches the kernel at once leaves nothing to time.
        p.conn.send("<a/>");
        assert.equal(p.conn.unflushedSends, 0);
        fill();
        assert.ok(p.conn.unflushedSends > 0, "the kernel's buffers filled");
        await new Promise((r) => setTimeout(r, 150));
        await drained();
        assert.equal(p.conn.unflushedSends, 0);
        // Sends made 200 ms after the first batch: the timer armed by the first (due at 300 ms)
        // finds them young and waits for their own deadline, 300 ms after they were made.
        await new Promise((r) => setTimeout(r, 50));
        const t1 = Date.now();
        fill();
        // The kernel may still take what waits (its buffers grow): keep some waiting until closed.
        let more = 256;
        const topUp = setInterval(() => {
          if (p.conn.bufferedBytes < big.length && more-- > 0) p.conn.send(big);
        }, 20);
        const reason = await p.closed.finally(() => clearInterval(topUp));
        const waited = Date.now() - t1;
        assert.match(reason, /the peer is not reading.*limit writeTimeoutMs = 300/);
        assert.ok(waited >= 280, `closed ${waited} ms after the late sends: not before their deadline`);
      } finally {
        await p.done();
      }
    });

    it("a role's own name for the write deadline is the one its message and error name (issue 18, point 8)", async () => {
      const p = await pair({ writeTimeoutMs: 200, writeLimitName: "replyTimeoutMs" });
      p.client.pause();
      try {
        const big = Buffer.alloc(256 * 1024, 0x61);
        for (let i = 0; i < 64 && p.conn.bufferedBytes === 0; i++) p.conn.send(big);
        const reason = await p.closed;
        assert.match(reason, /the peer is not reading.*limit replyTimeoutMs = 200\)$/);
        assert.doesNotMatch(reason, /writeTimeoutMs/);
        const err = p.errors[0];
        assert.ok(isVOEventError(err) && err.code === "TIMEOUT", "a TIMEOUT error");
        assert.equal(err.limit, "replyTimeoutMs");
      } finally {
        await p.done();
      }
    });

    it("refuses a negative deadline", () => {
      const socket = new net.Socket();
      assert.throws(() => new FramedConnection(socket, { frameTimeoutMs: -1 }), /frameTimeoutMs/);
      socket.destroy();
    });
  });

  describe("SendQueue", () => {
    it("runs at most maxInFlight at once, queues maxWaiting in order, refuses one more with LIMIT", async () => {
      const q = new SendQueue({ maxInFlight: 2, maxWaiting: 2 });
      const release: (() => void)[] = [];
      const started: number[] = [];
      const task = (n: number) => () =>
        new Promise<number>((r) => {
          started.push(n);
          release.push(() => r(n));
        });
      const runs = [1, 2, 3, 4].map((n) => q.run(task(n)));
      await assert.rejects(q.run(task(5)), (e: unknown) => isVOEventError(e) && e.code === "LIMIT");
      assert.deepEqual(started, [1, 2]);
      assert.equal(q.waiting, 2);
      release.shift()!();
      await runs[0];
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(started, [1, 2, 3]);
      q.clear(new Error("stopped"));
      await assert.rejects(runs[3]!, /stopped/);
      for (const r of release.splice(0)) r();
      assert.deepEqual(await Promise.all(runs.slice(0, 3)), [1, 2, 3]);
      assert.equal(q.inFlight, 0);
    });
  });

  describe("PeerWarnings", () => {
    it("logs a burst, then one warning with the count at the end of the window", async () => {
      const logged: string[] = [];
      const node = { warn: (t: string) => logged.push(t) } as unknown as Node;
      const w = new PeerWarnings(
        node,
        (count, seconds, last) => `${count} more in ${seconds} s; last: ${last}`,
        {
          burst: 3,
          windowMs: 100,
        },
      );
      for (let i = 0; i < 50; i++) w.warn(`w${i}`);
      assert.deepEqual(logged, ["w0", "w1", "w2"]);
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(logged.slice(3), ["47 more in 0 s; last: w49"]);
      w.warn("again");
      assert.equal(logged.at(-1), "again", "a new window logs again");
      w.close();
      assert.equal(w.suppressed, 47);
    });
  });
});
