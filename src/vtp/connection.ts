/**
 * One VTP connection: a net.Socket or tls.TLSSocket with a FrameDecoder on
 * the way in and encodeFrame on the way out.
 *
 * Events:
 * - `frame` (payload: Buffer): one complete message, in order. The Buffer may
 *   share memory with a socket chunk: copy it if you keep a small part long.
 * - `error` (err: Error): a frame error (VOEventError TOO_LARGE / BAD_FRAME),
 *   a missed deadline (VOEventError TIMEOUT: `frameTimeoutMs`,
 *   `writeTimeoutMs`), a socket error (ECONNRESET…), or an exception thrown
 *   by a `frame` listener. The connection is destroyed right after. Emitted
 *   only when someone listens: an unheard error never throws.
 * - `end`: the peer finished sending (half-close). With no `end` listener the
 *   connection closes itself once its writes are flushed.
 * - `drain`: the write buffer has emptied below the high-water mark again.
 * - `close` (reason: string): once, when the socket is fully closed.
 *
 * Nothing thrown by a listener escapes a socket callback.
 *
 * Deadlines (both off unless given, so that each role chooses its own):
 * - `frameTimeoutMs`: a frame must be complete this long after its first byte
 *   (of the length prefix) arrived. A peer that trickles a frame a byte at a
 *   time, or sends a length and then stops, is cut off however often it sends.
 *   The clock stops while we ourselves have paused reading.
 * - `writeTimeoutMs`: every frame we send must be handed to the kernel within
 *   this long of send(). Once the kernel's buffers are full, that happens only
 *   as fast as the peer reads: a peer that never reads its replies is cut off.
 *   A send the socket writes through at once costs nothing more; one it keeps
 *   (the kernel's buffers are full) is noted with its time, and one timer runs
 *   while any is waiting, checking on firing which have left the buffer since.
 *   A role names this deadline after its own option (`writeLimitName`: the
 *   receiver and the subscriber call it `replyTimeoutMs`), so that the message
 *   names an option the user can find.
 *
 * A missed deadline's error (VOEventError TIMEOUT) carries the option's name in
 * `limit`.
 */
import { EventEmitter } from "node:events";
import type net from "node:net";
import { VOEventError } from "../errors";
import { Fifo } from "../fifo";
import { encodeFrame, FrameDecoder } from "./framing";

/** Default largest frame accepted: 1 MiB (real packets are a few kB; Comet refuses more than 99,999 bytes). */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

export interface FramedConnectionOptions {
  /** Largest frame accepted, in bytes; a longer length prefix is an error. Default 1 MiB. */
  maxBytes?: number;
  /** After close(), destroy the socket if the peer has not closed within this long. Default 2000 ms. */
  closeTimeoutMs?: number;
  /** A frame must be complete this long after its first byte; 0 = no deadline (default). */
  frameTimeoutMs?: number;
  /** Every frame sent must reach the kernel this long after send(); 0 = no deadline (default). */
  writeTimeoutMs?: number;
  /** The name of writeTimeoutMs in the role's own options, for messages (default "writeTimeoutMs"). */
  writeLimitName?: string;
}

export class FramedConnection extends EventEmitter {
  readonly socket: net.Socket;
  /** "address:port"; IPv6 in brackets; IPv4-mapped IPv6 shown as IPv4. */
  readonly remote: string;
  /** The peer's address (IPv4-mapped IPv6 shown as IPv4); "" if unknown. */
  readonly remoteAddress: string;
  readonly remotePort: number;

  private readonly decoder: FrameDecoder;
  private readonly closeTimeoutMs: number;
  private closing = false;
  private closedFlag = false;
  private reason: string | null = null;
  private closeTimer: NodeJS.Timeout | null = null;

  private readonly frameTimeoutMs: number;
  private frameTimer: NodeJS.Timeout | null = null;
  /** decoder.frames of the partial frame being timed (-1: none), and when its first byte came. */
  private frameTimed = -1;
  private frameStartedAt = 0;
  private paused = false;

  private readonly writeTimeoutMs: number;
  private readonly writeLimitName: string;
  private writeTimer: NodeJS.Timeout | null = null;
  /** Bytes of every frame sent so far (with writeTimeoutMs): what `writableLength` is counted against. */
  private sentBytes = 0;
  /**
   * The sends the socket could not hand to the kernel at once, oldest first: when each was made
   * and `sentBytes` at its end. A send written through at once leaves nothing here.
   */
  private readonly unflushed = new Fifo<{ at: number; end: number }>();

  constructor(socket: net.Socket, options: FramedConnectionOptions = {}) {
    super();
    this.socket = socket;
    this.remoteAddress = normaliseAddress(socket.remoteAddress);
    this.remotePort = socket.remotePort ?? 0;
    this.remote = formatPeer(this.remoteAddress, this.remotePort);
    this.closeTimeoutMs = options.closeTimeoutMs ?? 2000;
    this.frameTimeoutMs = deadline("frameTimeoutMs", options.frameTimeoutMs);
    this.writeLimitName = options.writeLimitName ?? "writeTimeoutMs";
    this.writeTimeoutMs = deadline(this.writeLimitName, options.writeTimeoutMs);
    this.decoder = new FrameDecoder({
      maxBytes: options.maxBytes ?? DEFAULT_MAX_FRAME_BYTES,
      onFrame: (payload) => this.onFrame(payload),
      onError: (err) => this.fail(err),
    });
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      if (this.closing || this.closedFlag) return;
      try {
        this.decoder.push(chunk);
      } catch (err) {
        this.fail(toError(err));
      }
      if (this.frameTimeoutMs > 0) this.timeFrame();
    });
    socket.on("error", (err: Error) => this.fail(err));
    socket.on("end", () => {
      if (this.closedFlag) return;
      if (this.listenerCount("end") > 0) this.safeEmit("end");
      else this.close("peer closed the connection");
    });
    socket.on("drain", () => this.safeEmit("drain"));
    socket.on("close", () => this.onClose());
    if (socket.destroyed) queueMicrotask(() => this.onClose());
  }

  /**
   * Frames and writes one message (a string is sent as UTF-8, a Buffer byte
   * for byte). Returns false when the message was not written because the
   * connection is closing or closed, and also (the message then *is* queued)
   * when the socket's write buffer is above its high-water mark: wait for
   * `drain` before sending much more. Throws VOEventError BAD_FRAME for an
   * empty payload.
   */
  send(payload: Buffer | string): boolean {
    return this.sendFrame(encodeFrame(payload));
  }

  /** `send` for a message already framed (its 4-byte length, then its bytes), written as it is. */
  sendFrame(frame: Buffer): boolean {
    if (this.closing || this.closedFlag || this.socket.destroyed || this.socket.writableEnded) return false;
    const written = this.socket.write(frame);
    if (this.writeTimeoutMs === 0) return written;
    // Timed only when the socket keeps some of it: most replies reach the kernel at once.
    this.sentBytes += frame.length;
    if (this.socket.writableLength > 0) {
      this.unflushed.push({ at: Date.now(), end: this.sentBytes });
      if (this.writeTimer === null) this.armWriteTimer(this.writeTimeoutMs);
    }
    return written;
  }

  /** Sends made and not yet handed to the kernel (counted only with writeTimeoutMs). */
  get unflushedSends(): number {
    this.forgetFlushed();
    return this.unflushed.length;
  }

  /** True while part of a frame has arrived and the rest has not. */
  get receiving(): boolean {
    return this.decoder.partial;
  }

  /** Bytes written but not yet handed to the kernel. */
  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  /** True once close() or destroy() was called or the socket closed. */
  get closed(): boolean {
    return this.closing || this.closedFlag;
  }

  /** Why the connection ended (or is ending); null while open. */
  get closeReason(): string | null {
    return this.reason;
  }

  /** Stops reading (back-pressure); frames already received are still delivered. The frame deadline stops too. */
  pause(): void {
    if (this.closedFlag) return;
    this.paused = true;
    this.clearFrameTimer();
    this.socket.pause();
  }

  /** Reads again; a frame left partial by the pause gets a full frameTimeoutMs from now. */
  resume(): void {
    if (this.closedFlag) return;
    this.paused = false;
    this.socket.resume();
    if (this.frameTimeoutMs > 0) this.timeFrame();
  }

  /**
   * Ends the connection gracefully: no more frames are delivered, queued
   * writes are flushed, then FIN. If the peer has not closed within
   * closeTimeoutMs the socket is destroyed. A peer that has already closed its
   * side, with nothing of ours left to flush, needs no timer: our FIN closes it.
   * On plain TCP that FIN is sent by closing the socket at once (the kernel
   * sends what it still holds of ours, then FIN: all was read, so no reset),
   * without the stream's shutdown steps, which cost a one-shot author's
   * connection several microseconds more.
   */
  close(reason = "closed"): void {
    if (this.closing || this.closedFlag) return;
    this.closing = true;
    this.reason ??= reason;
    const socket = this.socket;
    const answered = socket.readableEnded && socket.writableLength === 0;
    if (answered && (socket as { encrypted?: boolean }).encrypted !== true) {
      socket.destroy();
      return;
    }
    try {
      socket.end();
    } catch {
      socket.destroy();
      return;
    }
    if (answered) return;
    this.closeTimer = setTimeout(() => {
      this.closeTimer = null;
      this.socket.destroy();
    }, this.closeTimeoutMs);
  }

  /** Ends the connection at once, dropping unsent data. */
  destroy(reason = "destroyed"): void {
    if (this.closedFlag) return;
    this.closing = true;
    this.reason ??= reason;
    this.socket.destroy();
  }

  private onFrame(payload: Buffer): void {
    if (this.closing || this.closedFlag) return;
    try {
      this.emit("frame", payload);
    } catch (err) {
      const e = toError(err);
      this.fail(new Error(`frame listener threw: ${e.message}`, { cause: e }));
    }
  }

  private fail(err: Error): void {
    if (this.closedFlag) return;
    if (!this.closing) {
      // Errors after close()/destroy() (a reset while closing) are of no interest to anyone.
      this.closing = true;
      this.reason ??=
        err instanceof VOEventError
          ? err.code === "TIMEOUT"
            ? err.message
            : `frame error: ${err.message}`
          : `error: ${err.message}`;
      this.safeEmit("error", err);
    }
    this.socket.destroy();
  }

  /**
   * Notes when a frame's first byte arrived. One timer per connection at most,
   * armed when a partial frame is first seen and re-armed only when it fires,
   * so the hot path (most chunks end mid-frame) costs a comparison and a clock read.
   */
  private timeFrame(): void {
    const decoder = this.decoder;
    if (!decoder.partial || this.paused) {
      this.frameTimed = -1;
      return;
    }
    if (this.frameTimed === decoder.frames) return; // same frame, same deadline
    this.frameTimed = decoder.frames;
    this.frameStartedAt = Date.now();
    if (this.frameTimer === null && !this.closing && !this.closedFlag)
      this.armFrameTimer(this.frameTimeoutMs);
  }

  private armFrameTimer(ms: number): void {
    this.frameTimer = setTimeout(() => {
      this.frameTimer = null;
      const decoder = this.decoder;
      if (this.closing || this.closedFlag || this.paused) return;
      if (!decoder.partial || decoder.frames !== this.frameTimed) {
        this.frameTimed = -1;
        return;
      }
      const limit = this.frameTimeoutMs;
      const waited = Date.now() - this.frameStartedAt;
      if (waited < limit) {
        this.armFrameTimer(limit - waited);
        return;
      }
      this.fail(
        new VOEventError(
          "TIMEOUT",
          `frame not complete ${limit} ms after its first byte (${decoder.buffered} bytes received; limit frameTimeoutMs = ${limit})`,
          "frameTimeoutMs",
        ),
      );
    }, ms);
  }

  private clearFrameTimer(): void {
    this.frameTimed = -1;
    if (this.frameTimer !== null) {
      clearTimeout(this.frameTimer);
      this.frameTimer = null;
    }
  }

  /** Drops the unflushed sends whose bytes have all left the socket's buffer since. */
  private forgetFlushed(): void {
    const flushed = this.sentBytes - this.socket.writableLength;
    const list = this.unflushed;
    while ((list.at(0)?.end ?? Number.POSITIVE_INFINITY) <= flushed) list.shift();
  }

  private armWriteTimer(ms: number): void {
    this.writeTimer = setTimeout(() => {
      this.writeTimer = null;
      if (this.closing || this.closedFlag) return;
      this.forgetFlushed();
      const oldest = this.unflushed.at(0);
      if (oldest === undefined) return;
      const waited = Date.now() - oldest.at;
      const limit = this.writeTimeoutMs;
      if (waited < limit) {
        this.armWriteTimer(limit - waited);
        return;
      }
      this.fail(
        new VOEventError(
          "TIMEOUT",
          `the peer is not reading: a message sent ${waited} ms ago is still waiting (${this.socket.writableLength} bytes unsent; limit ${this.writeLimitName} = ${limit})`,
          this.writeLimitName,
        ),
      );
    }, ms);
  }

  private onClose(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.closing = true;
    if (this.closeTimer !== null) {
      clearTimeout(this.closeTimer);
      this.closeTimer = null;
    }
    this.clearFrameTimer();
    if (this.writeTimer !== null) {
      clearTimeout(this.writeTimer);
      this.writeTimer = null;
    }
    this.decoder.reset();
    this.reason ??= "peer closed the connection";
    this.safeEmit("close", this.reason);
  }

  private safeEmit(event: string, ...args: unknown[]): void {
    safeEmit(this, event, ...args);
  }
}

/**
 * Emits without ever throwing, for use in socket and timer callbacks: an
 * `error` nobody listens for is dropped (EventEmitter would throw it), and an
 * exception thrown by a listener is passed to the `error` listeners, if any,
 * and otherwise dropped.
 */
export function safeEmit(emitter: EventEmitter, event: string, ...args: unknown[]): void {
  if (event === "error" && emitter.listenerCount("error") === 0) return;
  try {
    emitter.emit(event, ...args);
  } catch (err) {
    if (event !== "error" && emitter.listenerCount("error") > 0) {
      try {
        emitter.emit("error", toError(err));
      } catch {
        // An error listener that throws: nothing more can be done safely.
      }
    }
  }
}

/** Strips the IPv4-mapped IPv6 prefix (`::ffff:127.0.0.1` → `127.0.0.1`). */
export function normaliseAddress(address: string | undefined): string {
  if (address === undefined) return "";
  // Most addresses are plain IPv4 or IPv6: no regular expression run for them (once per connection).
  if (address.length < 7 || address.charCodeAt(0) !== 58 /* : */) return address;
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m === null ? address : m[1]!;
}

/** "address:port", with an IPv6 address in brackets. */
export function formatPeer(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

function deadline(name: string, value: number | undefined): number {
  const v = value ?? 0;
  if (!Number.isFinite(v) || v < 0)
    throw new RangeError(`FramedConnection: ${name} must be a number ≥ 0, not ${v}`);
  return v;
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
