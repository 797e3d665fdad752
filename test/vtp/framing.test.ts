import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import { VOEventError } from "../../src/errors";
import {
  copyFrame,
  encodeFrame,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  MAX_FRAME_LENGTH,
} from "../../src/vtp/framing";
import { prng } from "../helpers/prng";

interface Harness {
  decoder: FrameDecoder;
  frames: Buffer[];
  errors: VOEventError[];
}

function harness(maxBytes = 100_000, onFrame?: (payload: Buffer, h: Harness) => void): Harness {
  const h: Harness = { decoder: undefined as unknown as FrameDecoder, frames: [], errors: [] };
  h.decoder = new FrameDecoder({
    maxBytes,
    onFrame: (payload) => {
      h.frames.push(Buffer.from(payload)); // copy: the decoder may hand out subarrays
      onFrame?.(payload, h);
    },
    onError: (err) => h.errors.push(err),
  });
  return h;
}

function header(length: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(length, 0);
  return b;
}

const EVENT = '<?xml version="1.0"?><voe:VOEvent ivorn="ivo://a.b/c#1" role="test">é ☄</voe:VOEvent>';

describe("vtp/framing", () => {
  describe("encodeFrame", () => {
    it("prefixes a string with its UTF-8 byte length, big-endian", () => {
      const frame = encodeFrame(EVENT);
      const bytes = Buffer.from(EVENT, "utf8");
      assert.equal(frame.readUInt32BE(0), bytes.length);
      assert.ok(bytes.length > EVENT.length, "multi-byte characters count as bytes");
      assert.deepEqual(frame.subarray(4), bytes);
    });

    it("sends a Buffer's bytes unchanged", () => {
      const payload = Buffer.from([0x3c, 0xff, 0x00, 0xfe, 0x3e]);
      const frame = encodeFrame(payload);
      assert.deepEqual(frame, Buffer.concat([header(5), payload]));
      payload[0] = 0; // a copy, not a view
      assert.equal(frame[4], 0x3c);
    });

    it("writes the length big-endian", () => {
      const frame = encodeFrame("x".repeat(0x010203));
      assert.deepEqual([...frame.subarray(0, 4)], [0x00, 0x01, 0x02, 0x03]);
    });

    it("refuses an empty message", () => {
      assert.throws(
        () => encodeFrame(""),
        (e: unknown) => e instanceof VOEventError && e.code === "BAD_FRAME",
      );
      assert.throws(() => encodeFrame(Buffer.alloc(0)), VOEventError);
    });

    it("refuses what is neither a string nor a Buffer", () => {
      assert.throws(() => encodeFrame(42 as unknown as string), TypeError);
    });
  });

  describe("FrameDecoder", () => {
    it("round-trips one frame", () => {
      const h = harness();
      h.decoder.push(encodeFrame(EVENT));
      assert.deepEqual(
        h.frames.map((f) => f.toString("utf8")),
        [EVENT],
      );
      assert.equal(h.errors.length, 0);
      assert.equal(h.decoder.buffered, 0);
    });

    it("delivers a frame wholly inside one chunk as a view of it, without copying", () => {
      const chunk = encodeFrame("abc");
      let seen: Buffer | undefined;
      const d = new FrameDecoder({ maxBytes: 10, onFrame: (p) => (seen = p), onError: assert.fail });
      d.push(chunk);
      assert.ok(seen);
      assert.equal(seen.buffer, chunk.buffer);
      assert.equal(seen.byteOffset, chunk.byteOffset + 4);
    });

    it("decodes a frame fed one byte at a time", () => {
      const h = harness();
      const wire = encodeFrame(EVENT);
      for (let i = 0; i < wire.length; i++) {
        assert.equal(h.frames.length, 0);
        h.decoder.push(wire.subarray(i, i + 1));
        assert.equal(h.decoder.buffered, i + 1 < wire.length ? i + 1 : 0);
      }
      assert.deepEqual(h.frames, [Buffer.from(EVENT)]);
    });

    it("decodes many frames in one chunk, in order", () => {
      const h = harness();
      const payloads = Array.from({ length: 50 }, (_, i) => `<e n="${i}">${"x".repeat(i)}</e>`);
      h.decoder.push(Buffer.concat(payloads.map((p) => encodeFrame(p))));
      assert.deepEqual(
        h.frames.map((f) => f.toString()),
        payloads,
      );
    });

    it("decodes a length prefix split across chunks, at every split point", () => {
      const wire = Buffer.concat([encodeFrame("first"), encodeFrame("second one")]);
      for (let cut = 1; cut < wire.length; cut++) {
        const h = harness();
        h.decoder.push(wire.subarray(0, cut));
        h.decoder.push(wire.subarray(cut));
        assert.deepEqual(
          h.frames.map((f) => f.toString()),
          ["first", "second one"],
          `cut at ${cut}`,
        );
      }
    });

    it("handles a prefix split 1+1+2 bytes and a body split in three", () => {
      const h = harness();
      const body = Buffer.from("0123456789");
      h.decoder.push(header(10).subarray(0, 1));
      h.decoder.push(header(10).subarray(1, 2));
      h.decoder.push(Buffer.concat([header(10).subarray(2), body.subarray(0, 3)]));
      assert.equal(h.decoder.buffered, 7);
      h.decoder.push(body.subarray(3, 7));
      h.decoder.push(Buffer.concat([body.subarray(7), encodeFrame("next")]));
      assert.deepEqual(
        h.frames.map((f) => f.toString()),
        ["0123456789", "next"],
      );
    });

    it("ignores empty chunks", () => {
      const h = harness();
      h.decoder.push(Buffer.alloc(0));
      h.decoder.push(encodeFrame("a").subarray(0, 2));
      h.decoder.push(Buffer.alloc(0));
      h.decoder.push(encodeFrame("a").subarray(2));
      assert.deepEqual(h.frames, [Buffer.from("a")]);
    });

    it("accepts a frame of exactly maxBytes and refuses one byte more", () => {
      const ok = harness(1000);
      ok.decoder.push(encodeFrame("y".repeat(1000)));
      assert.equal(ok.frames.length, 1);
      assert.equal(ok.errors.length, 0);

      const big = harness(1000);
      big.decoder.push(encodeFrame("y".repeat(1001)));
      assert.equal(big.frames.length, 0);
      assert.equal(big.errors.length, 1);
      assert.equal(big.errors[0]!.code, "TOO_LARGE");
      assert.equal(big.errors[0]!.message, "frame of 1001 bytes exceeds the limit of 1000 bytes");
    });

    it("refuses a 0xFFFFFFFF length from the prefix alone, holding nothing", () => {
      const h = harness(99_999);
      h.decoder.push(header(MAX_FRAME_LENGTH));
      assert.equal(h.errors.length, 1);
      assert.equal(h.errors[0]!.code, "TOO_LARGE");
      assert.match(h.errors[0]!.message, /^frame of 4294967295 bytes exceeds the limit of 99999 bytes$/);
      assert.equal(h.decoder.buffered, 0);
      assert.ok(h.decoder.stopped);
    });

    it("refuses a huge length whose prefix arrives byte by byte", () => {
      const h = harness(99_999);
      for (const b of header(MAX_FRAME_LENGTH)) h.decoder.push(Buffer.from([b]));
      assert.equal(h.errors.length, 1);
      assert.equal(h.errors[0]!.code, "TOO_LARGE");
      assert.equal(h.errors[0]!.message, "frame of 4294967295 bytes exceeds the limit of 99999 bytes");
    });

    it("reads the length and the hint alike from a prefix split at every point", () => {
      const xml = Buffer.from('<?xml version="1.0"?><voe:VOEvent/>');
      for (const cut of [1, 2, 3]) {
        const h = harness(99_999);
        h.decoder.push(xml.subarray(0, cut));
        assert.equal(h.errors.length, 0, `nothing to say after ${cut} bytes`);
        h.decoder.push(xml.subarray(cut));
        assert.equal(h.errors.length, 1);
        assert.match(
          h.errors[0]!.message,
          /^frame of 1010792557 bytes exceeds .*without the 4-byte length prefix/,
        );
      }
    });

    it("reports a zero length as BAD_FRAME and stops", () => {
      const h = harness();
      h.decoder.push(Buffer.concat([header(0), encodeFrame("after")]));
      assert.equal(h.errors.length, 1);
      assert.equal(h.errors[0]!.code, "BAD_FRAME");
      assert.match(h.errors[0]!.message, /0 bytes/);
      assert.equal(h.frames.length, 0);
    });

    it("reads XML sent without a length prefix as a huge length: TOO_LARGE, with a hint", () => {
      const h = harness(99_999);
      h.decoder.push(Buffer.from('<?xml version="1.0"?><voe:VOEvent/>'));
      assert.equal(h.errors.length, 1);
      const err = h.errors[0]!;
      assert.ok(err instanceof VOEventError);
      assert.equal(err.code, "TOO_LARGE");
      assert.equal(Buffer.from("<?xm").readUInt32BE(0), 1010792557);
      assert.match(err.message, /^frame of 1010792557 bytes exceeds the limit of 99999 bytes/);
      assert.match(err.message, /without the 4-byte length prefix/);
    });

    it("after an error, ignores input until reset(), then decodes afresh", () => {
      const h = harness(10);
      h.decoder.push(Buffer.concat([encodeFrame("ok"), header(11), Buffer.alloc(11)]));
      assert.deepEqual(h.frames, [Buffer.from("ok")]);
      assert.equal(h.errors.length, 1);
      h.decoder.push(encodeFrame("ignored"));
      assert.equal(h.frames.length, 1);
      assert.equal(h.errors.length, 1, "the error is reported once");
      assert.equal(h.decoder.buffered, 0);
      h.decoder.reset();
      assert.equal(h.decoder.stopped, false);
      h.decoder.push(encodeFrame("again"));
      assert.deepEqual(h.frames[1], Buffer.from("again"));
    });

    it("reset() drops a partial frame", () => {
      const h = harness();
      h.decoder.push(encodeFrame("partial").subarray(0, 6));
      assert.equal(h.decoder.buffered, 6);
      h.decoder.reset();
      assert.equal(h.decoder.buffered, 0);
      h.decoder.push(encodeFrame("whole"));
      assert.deepEqual(h.frames, [Buffer.from("whole")]);
    });

    it("does not allocate for a large declared length before the bytes arrive", () => {
      const h = harness(50_000_000);
      h.decoder.push(header(40_000_000));
      assert.equal(h.decoder.buffered, 4);
      h.decoder.push(Buffer.alloc(10));
      assert.equal(h.decoder.buffered, 14);
    });

    describe("callbacks that throw", () => {
      it("rethrows after delivering the rest of the chunk; no frame lost or repeated", () => {
        const h = harness(100, (p) => {
          if (p.toString() === "boom") throw new Error("handler failed");
        });
        const wire = Buffer.concat(["a", "boom", "b", "c"].map((p) => encodeFrame(p)));
        assert.throws(() => h.decoder.push(wire), /handler failed/);
        assert.deepEqual(
          h.frames.map((f) => f.toString()),
          ["a", "boom", "b", "c"],
        );
        h.decoder.push(encodeFrame("d"));
        assert.deepEqual(h.frames.at(-1), Buffer.from("d"));
        assert.equal(h.decoder.buffered, 0);
      });

      it("keeps a partial frame that follows the throwing one", () => {
        const h = harness(100, (p) => {
          if (p.toString() === "boom") throw new Error("x");
        });
        const next = encodeFrame("tail end");
        assert.throws(() => h.decoder.push(Buffer.concat([encodeFrame("boom"), next.subarray(0, 7)])));
        assert.equal(h.decoder.buffered, 7);
        h.decoder.push(next.subarray(7));
        assert.deepEqual(
          h.frames.map((f) => f.toString()),
          ["boom", "tail end"],
        );
      });

      it("rethrows the first of several exceptions", () => {
        let n = 0;
        const h = harness(100, () => {
          n++;
          throw new Error(`failure ${n}`);
        });
        assert.throws(() => h.decoder.push(Buffer.concat([encodeFrame("1"), encodeFrame("2")])), /failure 1/);
        assert.equal(h.frames.length, 2);
      });

      it("propagates an exception from onError; the decoder stays stopped", () => {
        const d = new FrameDecoder({
          maxBytes: 4,
          onFrame: () => {},
          onError: () => {
            throw new Error("onError failed");
          },
        });
        assert.throws(() => d.push(header(5)), /onError failed/);
        assert.ok(d.stopped);
        d.push(encodeFrame("ok"));
      });

      it("reset() from onFrame drops the rest of the chunk", () => {
        const h = harness(100, (p, self) => {
          if (p.toString() === "close") self.decoder.reset();
        });
        h.decoder.push(Buffer.concat(["a", "close", "dropped"].map((p) => encodeFrame(p))));
        assert.deepEqual(
          h.frames.map((f) => f.toString()),
          ["a", "close"],
        );
        h.decoder.push(encodeFrame("fresh"));
        assert.deepEqual(h.frames.at(-1), Buffer.from("fresh"));
      });

      it("push() from onFrame is queued after the chunk in progress", () => {
        const h = harness(100, (p, self) => {
          if (p.toString() === "1") self.decoder.push(encodeFrame("3"));
        });
        h.decoder.push(Buffer.concat([encodeFrame("1"), encodeFrame("2")]));
        assert.deepEqual(
          h.frames.map((f) => f.toString()),
          ["1", "2", "3"],
        );
      });
    });

    it("validates its options", () => {
      const cb = () => {};
      assert.throws(() => new FrameDecoder({ maxBytes: 0, onFrame: cb, onError: cb }), RangeError);
      assert.throws(() => new FrameDecoder({ maxBytes: 1.5, onFrame: cb, onError: cb }), RangeError);
      assert.throws(() => new FrameDecoder({ maxBytes: Number.NaN, onFrame: cb, onError: cb }), RangeError);
      const d = new FrameDecoder({ maxBytes: 1, onFrame: cb, onError: cb });
      assert.throws(() => d.push("text" as unknown as Buffer), TypeError);
    });

    it("fuzz: random payloads cut into random chunks come out unchanged", () => {
      for (let seed = 1; seed <= 40; seed++) {
        const random = prng(seed);
        const payloads: Buffer[] = [];
        for (let i = 0; i < 60; i++) {
          const size = random() < 0.1 ? 1 + Math.floor(random() * 20_000) : 1 + Math.floor(random() * 300);
          payloads.push(randomBytes(size));
        }
        const wire = Buffer.concat(payloads.map((p) => encodeFrame(p)));
        const h = harness(20_000);
        let offset = 0;
        while (offset < wire.length) {
          const r = random();
          const size = r < 0.3 ? 1 : r < 0.5 ? 1 + Math.floor(random() * 8) : 1 + Math.floor(random() * 5000);
          h.decoder.push(wire.subarray(offset, offset + size));
          offset += size;
        }
        assert.equal(h.errors.length, 0, `seed ${seed}`);
        assert.equal(h.frames.length, payloads.length, `seed ${seed}`);
        for (const [i, f] of h.frames.entries()) {
          assert.ok(f.equals(payloads[i]!), `seed ${seed}, frame ${i}`);
        }
        assert.equal(h.decoder.buffered, 0);
      }
    });

    it("fuzz: a truncated stream delivers the complete frames and holds the rest", () => {
      const random = prng(99);
      const payloads = Array.from({ length: 20 }, () => randomBytes(1 + Math.floor(random() * 100)));
      const wire = Buffer.concat(payloads.map((p) => encodeFrame(p)));
      for (let cut = 0; cut <= wire.length; cut += 7) {
        const h = harness(1000);
        h.decoder.push(wire.subarray(0, cut));
        let complete = 0;
        let bytes = 0;
        for (const p of payloads) {
          if (bytes + 4 + p.length > cut) break;
          bytes += 4 + p.length;
          complete++;
        }
        assert.equal(h.frames.length, complete);
        assert.equal(h.decoder.buffered, cut - bytes);
      }
    });
  });

  describe("copyFrame", () => {
    /** The payload as the decoder hands it over for one chunk. */
    function decoded(chunk: Buffer): Buffer[] {
      const out: Buffer[] = [];
      new FrameDecoder({ maxBytes: 1 << 20, onFrame: (p) => out.push(p), onError: () => {} }).push(chunk);
      return out;
    }

    it("gives the frame as received for a socket read that held exactly it, and it stays right", () => {
      const frame = encodeFrame(EVENT);
      // A socket read's memory is its own ArrayBuffer of exactly the bytes read.
      const chunk = Buffer.from(new Uint8Array(frame).buffer);
      const [payload] = decoded(chunk);
      const copy = copyFrame(payload!);
      assert.deepEqual(copy, frame);
      assert.deepEqual(copy.subarray(FRAME_HEADER_BYTES), payload);
    });

    it("copies a frame that shares its chunk with another, so neither can change the other", () => {
      const one = encodeFrame(EVENT);
      const two = encodeFrame(EVENT.replace("#1", "#2"));
      const chunk = Buffer.from(new Uint8Array(Buffer.concat([one, two])).buffer);
      const frames = decoded(chunk).map(copyFrame);
      assert.deepEqual(frames, [one, two]);
      chunk.fill(0);
      assert.deepEqual(frames, [one, two], "the copies do not share the chunk's memory");
    });

    it("copies a payload whose four bytes before are not its length prefix", () => {
      const body = Buffer.from(EVENT, "utf8");
      const memory = new Uint8Array(body.length + FRAME_HEADER_BYTES);
      memory.set([0xde, 0xad, 0xbe, 0xef]);
      memory.set(body, FRAME_HEADER_BYTES);
      const payload = Buffer.from(memory.buffer, FRAME_HEADER_BYTES, body.length);
      const frame = copyFrame(payload);
      assert.equal(frame.readUInt32BE(0), body.length);
      assert.deepEqual(frame.subarray(FRAME_HEADER_BYTES), body);
      assert.equal(memory[0], 0xde, "the memory it was given is left as it was");
    });

    it("copies a frame put together from several chunks, and a length prefix split byte by byte", () => {
      const frame = encodeFrame(EVENT);
      const out: Buffer[] = [];
      const d = new FrameDecoder({
        maxBytes: 1 << 20,
        onFrame: (p) => out.push(copyFrame(p)),
        onError: () => {},
      });
      for (let i = 0; i < frame.length; i++) d.push(Buffer.from(frame.subarray(i, i + 1)));
      assert.deepEqual(out, [frame]);
    });
  });
});
