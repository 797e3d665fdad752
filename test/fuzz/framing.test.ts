/**
 * Property-based fuzzing of VTP framing (issue 8): arbitrary byte streams,
 * split into chunks at arbitrary points, fed to the FrameDecoder and to a
 * FramedConnection over a loopback socket. Every frame is either decoded (the
 * same frames, in order, whatever the chunking) or refused with a typed
 * VOEventError (TOO_LARGE, BAD_FRAME); no other exception escapes; and the
 * bytes held for a partial frame never exceed the frame limit plus its
 * 4-byte prefix.
 *
 * Fixed seed and a few thousand cases in `npm test` (test/fuzz/config.ts);
 * `npm run fuzz` runs more.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import fc from "fast-check";
import { isVOEventError, type VOEventError } from "../../src/errors";
import { FramedConnection } from "../../src/vtp/connection";
import { encodeFrame, FrameDecoder } from "../../src/vtp/framing";
import { FUZZ_SEED, fuzzRuns, fuzzTimeout } from "./config";

const MAX = 96; // a small frame limit, so that generated lengths hit it often

interface Model {
  frames: Buffer[];
  error: "TOO_LARGE" | "BAD_FRAME" | null;
  /** Bytes after the last whole frame, when there is no error. */
  rest: number;
}

/** What a correct decoder makes of the whole stream at once. */
function model(stream: Buffer, maxBytes: number): Model {
  const frames: Buffer[] = [];
  let i = 0;
  while (i + 4 <= stream.length) {
    const length = stream.readUInt32BE(i);
    if (length === 0) return { frames, error: "BAD_FRAME", rest: 0 };
    if (length > maxBytes) return { frames, error: "TOO_LARGE", rest: 0 };
    if (i + 4 + length > stream.length) break;
    frames.push(stream.subarray(i + 4, i + 4 + length));
    i += 4 + length;
  }
  return { frames, error: null, rest: stream.length - i };
}

/** Pieces of a stream: whole frames, frames cut short, hostile lengths, junk. */
const piece = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.uint8Array({ minLength: 1, maxLength: MAX }).map((p) => encodeFrame(Buffer.from(p))),
  },
  { weight: 1, arbitrary: fc.constant(Buffer.from([0, 0, 0, 0])) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: MAX + 1, max: 0xffffffff }).map((n) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n >>> 0);
      return b;
    }),
  },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.constant(Buffer.from("<?xml version='1.0'?><VOEvent/>")) },
);

const stream = fc.oneof(
  fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
  fc.array(piece, { maxLength: 12 }).map((ps) => Buffer.concat(ps)),
);

/** A stream and where to cut it. */
const chunked = stream.chain((s) =>
  fc
    .uniqueArray(fc.integer({ min: 1, max: Math.max(1, s.length - 1) }), { maxLength: 20 })
    .map((cuts) => ({ stream: s, chunks: split(s, cuts) })),
);

function split(s: Buffer, cuts: number[]): Buffer[] {
  const points = cuts.filter((c) => c > 0 && c < s.length).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of points) {
    out.push(s.subarray(at, p));
    at = p;
  }
  if (at < s.length) out.push(s.subarray(at));
  return out;
}

describe("fuzz: VTP framing (issue 8)", function () {
  this.timeout(fuzzTimeout(3000, 5));

  it("FrameDecoder: any bytes, any chunking: the model's frames or one typed error; memory bounded", () => {
    fc.assert(
      fc.property(chunked, ({ stream: s, chunks }) => {
        const frames: Buffer[] = [];
        const errors: VOEventError[] = [];
        const decoder = new FrameDecoder({
          maxBytes: MAX,
          onFrame: (p) => frames.push(Buffer.from(p)),
          onError: (e) => errors.push(e),
        });
        for (const c of chunks) {
          decoder.push(c); // must not throw: the callbacks do not
          assert.ok(decoder.buffered <= MAX + 4, `${decoder.buffered} bytes held (limit ${MAX} + 4)`);
        }
        const m = model(s, MAX);
        assert.deepEqual(frames, m.frames);
        assert.ok(errors.length <= 1, "one error at most");
        assert.equal(errors[0]?.code ?? null, m.error);
        if (errors.length > 0) assert.ok(isVOEventError(errors[0]) && decoder.stopped);
        else assert.equal(decoder.partial, m.rest > 0);
      }),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(3000) },
    );
  });

  it("encodeFrame then FrameDecoder, split anywhere: the same payloads, in order", () => {
    const payloads = fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), {
      minLength: 1,
      maxLength: 8,
    });
    const input = payloads.chain((ps) => {
      const s = Buffer.concat(ps.map((p) => encodeFrame(Buffer.from(p))));
      return fc
        .uniqueArray(fc.integer({ min: 1, max: Math.max(1, s.length - 1) }), { maxLength: 30 })
        .map((cuts) => ({ ps, chunks: split(s, cuts) }));
    });
    fc.assert(
      fc.property(input, ({ ps, chunks }) => {
        const got: Buffer[] = [];
        const decoder = new FrameDecoder({
          maxBytes: 300,
          onFrame: (p) => got.push(Buffer.from(p)),
          onError: (e) => assert.fail(`unexpected ${e.code}: ${e.message}`),
        });
        for (const c of chunks) decoder.push(c);
        assert.deepEqual(
          got,
          ps.map((p) => Buffer.from(p)),
        );
        assert.equal(decoder.partial, false);
      }),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(2000) },
    );
  });

  it("FramedConnection over loopback: the model's frames, or a typed error and a closed socket", async () => {
    const server = net.createServer();
    const accepted: net.Socket[] = [];
    server.on("connection", (s) => accepted.push(s));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as net.AddressInfo).port;
    try {
      await fc.assert(
        fc.asyncProperty(chunked, async ({ stream: s, chunks }) => {
          const client = net.connect({ port, host: "127.0.0.1" });
          client.on("error", () => {}); // reset by our side after a frame error
          await once(client, "connect");
          while (accepted.length === 0) await new Promise((r) => setImmediate(r));
          const socket = accepted.shift()!;
          const conn = new FramedConnection(socket, { maxBytes: MAX, frameTimeoutMs: 10_000 });
          const frames: Buffer[] = [];
          const errors: Error[] = [];
          conn.on("frame", (p: Buffer) => frames.push(Buffer.from(p)));
          conn.on("error", (e: Error) => errors.push(e));
          conn.on("end", () => conn.close("peer finished"));
          const closed = new Promise<void>((r) => conn.once("close", () => r()));
          for (const c of chunks) {
            client.write(c);
            await new Promise((r) => setImmediate(r)); // separate chunks on the wire, mostly
          }
          client.end();
          client.resume();
          await closed;
          client.destroy();
          const m = model(s, MAX);
          assert.deepEqual(frames, m.frames);
          if (m.error === null) assert.equal(errors.length, 0, errors.map((e) => e.message).join("; "));
          else {
            assert.equal(errors.length, 1);
            assert.ok(isVOEventError(errors[0]), `not a VOEventError: ${errors[0]}`);
            assert.equal((errors[0] as VOEventError).code, m.error);
          }
        }),
        { seed: FUZZ_SEED, numRuns: fuzzRuns(200) },
      );
    } finally {
      for (const s of accepted) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
