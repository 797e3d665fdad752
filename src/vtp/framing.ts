/**
 * VTP framing: every message, in both directions, is a 4-byte unsigned
 * big-endian length followed by that many bytes (UTF-8 XML). Nothing else is
 * on the wire.
 */
import { VOEventError } from "../errors";
import { encodeXmlText } from "../xml/encoding";

/** Size of the length prefix, in bytes. */
export const FRAME_HEADER_BYTES = 4;
/** The largest length a 4-byte prefix can carry. */
export const MAX_FRAME_LENGTH = 0xffffffff;

/**
 * Encodes one message as a VTP frame: a 4-byte big-endian length, then the
 * payload (a string is encoded as UTF-8, or as its XML declaration says (encodeXmlText); a Buffer is sent byte for byte, so a
 * relayed event keeps its exact bytes). One allocation, one copy.
 *
 * Throws VOEventError("BAD_FRAME") for an empty payload (a peer would refuse
 * it, as our own decoder does) or one too long for a 4-byte length.
 */
export function encodeFrame(payload: string | Buffer): Buffer {
  if (typeof payload === "string") {
    // A packet that arrived in another encoding than UTF-8 goes out in that encoding again.
    const declared = payload.startsWith("<?xml") || payload.charCodeAt(0) === 0xfeff;
    const bytes = declared ? encodeXmlText(payload) : null;
    if (bytes !== null) return encodeFrame(bytes);
    const length = Buffer.byteLength(payload, "utf8");
    checkEncodable(length);
    const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
    frame.writeUInt32BE(length, 0);
    frame.write(payload, FRAME_HEADER_BYTES, "utf8");
    return frame;
  }
  if (!Buffer.isBuffer(payload)) {
    throw new TypeError("encodeFrame: payload must be a string or a Buffer");
  }
  checkEncodable(payload.length);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  payload.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * A frame's own copy, length header included, from its payload as decoded (often a view of a
 * larger socket chunk): the payload is `frame.subarray(FRAME_HEADER_BYTES)`. A relay that keeps
 * it forwards the bytes as received with no second copy or encoding (VTP 2.0: byte-exact relay).
 *
 * When the socket read held exactly this frame (its memory is the frame's length prefix, then the
 * payload, and nothing else), that memory is already the frame's own: it is returned as it is,
 * not copied. Anything else (part of a larger chunk, a frame put together from several chunks) is
 * copied.
 */
export function copyFrame(payload: Buffer): Buffer {
  const start = payload.byteOffset - FRAME_HEADER_BYTES;
  if (
    start === 0 &&
    payload.buffer.byteLength === payload.length + FRAME_HEADER_BYTES &&
    !(payload.buffer instanceof SharedArrayBuffer)
  ) {
    const whole = Buffer.from(payload.buffer, 0, payload.buffer.byteLength);
    if (whole.readUInt32BE(0) === payload.length) return whole;
  }
  return encodeFrame(payload);
}

function checkEncodable(length: number): void {
  if (length === 0) throw new VOEventError("BAD_FRAME", "cannot frame an empty message");
  if (length > MAX_FRAME_LENGTH) {
    throw new VOEventError(
      "BAD_FRAME",
      `message of ${length} bytes is too long for a VTP frame (at most ${MAX_FRAME_LENGTH} bytes)`,
    );
  }
}

export interface FrameDecoderOptions {
  /** Largest frame accepted, in bytes; checked on the length prefix, before any allocation. */
  maxBytes: number;
  /** Called once per complete frame, in order, with the payload (length prefix removed). */
  onFrame: (payload: Buffer) => void;
  /** Called once when the stream is unusable; the decoder then ignores input until reset(). */
  onError: (err: VOEventError) => void;
}

/**
 * Incremental VTP frame decoder for one connection.
 *
 * - Accepts any chunking: byte-at-a-time, several frames per chunk, a length
 *   prefix split across chunks.
 * - A length above `maxBytes` (TOO_LARGE) or of zero (BAD_FRAME) is reported
 *   once through `onError`, before anything is allocated for it; the decoder
 *   then stops and ignores further input until `reset()`. Every real peer
 *   closes the connection at that point, and so should the caller: the stream
 *   cannot be resynchronised.
 * - Cost: a frame lying wholly inside one chunk is delivered as a subarray of
 *   that chunk (no copy); a frame spread over several chunks is copied exactly
 *   once, when its last byte arrives. The decoder keeps references to the
 *   chunks it was given until their frame completes, and a delivered payload
 *   may share memory with a chunk: callers must not reuse chunk buffers
 *   (node's sockets never do unless given an `onread` buffer), and should
 *   copy a payload they keep for long if it is a small part of a large chunk.
 *
 * Callbacks that throw: the decoder's state is always advanced past a frame
 * before `onFrame` sees it, so an exception cannot corrupt it. If `onFrame`
 * throws, the decoder carries on with the rest of the chunk — later frames are
 * still delivered, in order, nothing is lost or delivered twice — and `push()`
 * then rethrows the first exception. If `onError` throws, `push()` rethrows it
 * (the decoder has already stopped). Callbacks may call `reset()`
 * (the rest of the current chunk is dropped) or `push()` (the chunk is queued
 * and decoded after the current one).
 */
export class FrameDecoder {
  private readonly maxBytes: number;
  private readonly onFrame: (payload: Buffer) => void;
  private readonly onError: (err: VOEventError) => void;

  /**
   * A length prefix split across chunks: its bytes received so far, their value so far (big-endian)
   * and its first byte (for the error's hint). Numbers, not a Buffer: most connections never split
   * a prefix, and a Buffer of their own cost each one an allocation.
   */
  private headerBytes = 0;
  private headerValue = 0;
  private headerFirst = 0;
  /** Payload length of the frame being read; -1 while reading a length prefix. */
  private expected = -1;
  /** Pieces of the current frame's payload (subarrays of pushed chunks). */
  private parts: Buffer[] = [];
  private partBytes = 0;

  private stoppedFlag = false;
  private busy = false;
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  /** Bumped by reset(), so a push() in progress notices and drops its chunk. */
  private generation = 0;
  /** Frames completed since construction (not reset): tells one partial frame from the next. */
  private completed = 0;

  constructor(opts: FrameDecoderOptions) {
    if (!Number.isInteger(opts.maxBytes) || opts.maxBytes < 1) {
      throw new RangeError(`FrameDecoder: maxBytes must be a positive whole number, not ${opts.maxBytes}`);
    }
    if (typeof opts.onFrame !== "function" || typeof opts.onError !== "function") {
      throw new TypeError("FrameDecoder: onFrame and onError must be functions");
    }
    this.maxBytes = opts.maxBytes;
    this.onFrame = opts.onFrame;
    this.onError = opts.onError;
  }

  /** Bytes received and held for a frame not yet complete (length prefix included). */
  get buffered(): number {
    const prefix = this.expected >= 0 ? FRAME_HEADER_BYTES : this.headerBytes;
    return prefix + this.partBytes + this.queuedBytes;
  }

  /** True while part of a frame (a byte of its length prefix or more) has arrived and the rest has not. */
  get partial(): boolean {
    return this.headerBytes > 0 || this.expected >= 0;
  }

  /** How many frames have been completed (delivered or being delivered) so far. */
  get frames(): number {
    return this.completed;
  }

  /** True after an error: input is ignored until reset(). */
  get stopped(): boolean {
    return this.stoppedFlag;
  }

  /** Forgets any partial frame and any error, ready for a new stream. */
  reset(): void {
    this.generation++;
    this.headerBytes = 0;
    this.expected = -1;
    this.parts = [];
    this.partBytes = 0;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.stoppedFlag = false;
  }

  /** Feeds bytes received from the connection. */
  push(chunk: Buffer): void {
    if (!Buffer.isBuffer(chunk)) throw new TypeError("FrameDecoder.push: chunk must be a Buffer");
    if (this.stoppedFlag || chunk.length === 0) return;
    if (this.busy) {
      // Called from inside a callback: decode after the chunk in progress.
      this.queue.push(chunk);
      this.queuedBytes += chunk.length;
      return;
    }
    this.busy = true;
    let failure: { error: unknown } | undefined;
    try {
      let next: Buffer | undefined = chunk;
      while (next !== undefined && !this.stoppedFlag) {
        const thrown = this.decode(next);
        if (thrown !== undefined && failure === undefined) failure = thrown;
        next = this.queue.shift();
        if (next !== undefined) this.queuedBytes -= next.length;
      }
    } finally {
      this.busy = false;
    }
    if (failure !== undefined) throw failure.error;
  }

  /** Decodes one chunk; returns the first exception a callback threw, if any. */
  private decode(chunk: Buffer): { error: unknown } | undefined {
    const generation = this.generation;
    let failure: { error: unknown } | undefined;
    let offset = 0;
    while (offset < chunk.length) {
      if (this.expected < 0) {
        let length: number;
        let firstByte: number;
        if (this.headerBytes === 0 && chunk.length - offset >= FRAME_HEADER_BYTES) {
          length = chunk.readUInt32BE(offset);
          firstByte = chunk[offset]!;
          offset += FRAME_HEADER_BYTES;
        } else {
          if (this.headerBytes === 0) {
            this.headerFirst = chunk[offset]!;
            this.headerValue = 0;
          }
          while (this.headerBytes < FRAME_HEADER_BYTES && offset < chunk.length) {
            // × 256 rather than << 8: a prefix of 2^31 or more stays positive.
            this.headerValue = this.headerValue * 256 + chunk[offset]!;
            this.headerBytes++;
            offset++;
          }
          if (this.headerBytes < FRAME_HEADER_BYTES) break;
          length = this.headerValue;
          firstByte = this.headerFirst;
          this.headerBytes = 0;
        }
        const problem = this.checkLength(length, firstByte);
        if (problem !== undefined) {
          this.stop();
          try {
            this.onError(problem);
          } catch (error) {
            failure ??= { error };
          }
          return failure;
        }
        this.expected = length;
      }

      const available = chunk.length - offset;
      if (available === 0) break;
      let payload: Buffer;
      if (this.partBytes === 0 && available >= this.expected) {
        payload = chunk.subarray(offset, offset + this.expected);
        offset += this.expected;
      } else {
        const take = Math.min(this.expected - this.partBytes, available);
        this.parts.push(chunk.subarray(offset, offset + take));
        this.partBytes += take;
        offset += take;
        if (this.partBytes < this.expected) break;
        payload = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.partBytes);
        this.parts = [];
        this.partBytes = 0;
      }
      this.expected = -1;
      this.completed++;

      try {
        this.onFrame(payload);
      } catch (error) {
        failure ??= { error };
      }
      if (this.stoppedFlag || this.generation !== generation) break;
    }
    return failure;
  }

  private checkLength(length: number, firstByte: number): VOEventError | undefined {
    if (length === 0) {
      return new VOEventError("BAD_FRAME", "frame of 0 bytes: a VTP message cannot be empty");
    }
    if (length > this.maxBytes) {
      // "<?xm", "<voe" … read as a length: the peer is not sending length prefixes.
      const hint = firstByte === 0x3c ? " (the peer seems to send XML without the 4-byte length prefix)" : "";
      return new VOEventError(
        "TOO_LARGE",
        `frame of ${length} bytes exceeds the limit of ${this.maxBytes} bytes${hint}`,
      );
    }
    return undefined;
  }

  private stop(): void {
    this.stoppedFlag = true;
    this.headerBytes = 0;
    this.expected = -1;
    this.parts = [];
    this.partBytes = 0;
    this.queue.length = 0;
    this.queuedBytes = 0;
  }
}
