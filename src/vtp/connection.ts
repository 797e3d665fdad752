/**
 * One VTP connection: a net.Socket or tls.TLSSocket with a FrameDecoder on
 * the way in and encodeFrame on the way out.
 *
 * Events:
 * - `frame` (payload: Buffer): one complete message, in order. The Buffer may
 *   share memory with a socket chunk: copy it if you keep a small part long.
 * - `error` (err: Error): a frame error (VOEventError TOO_LARGE / BAD_FRAME),
 *   a socket error (ECONNRESET…), or an exception thrown by a `frame`
 *   listener. The connection is destroyed right after. Emitted only when
 *   someone listens: an unheard error never throws.
 * - `end`: the peer finished sending (half-close). With no `end` listener the
 *   connection closes itself once its writes are flushed.
 * - `drain`: the write buffer has emptied below the high-water mark again.
 * - `close` (reason: string): once, when the socket is fully closed.
 *
 * Nothing thrown by a listener escapes a socket callback.
 */
import { EventEmitter } from "node:events";
import type net from "node:net";
import { VOEventError } from "../errors";
import { encodeFrame, FrameDecoder } from "./framing";

/** Default largest frame accepted: 1 MiB (real packets are a few kB; Comet refuses more than 99,999 bytes). */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

export interface FramedConnectionOptions {
  /** Largest frame accepted, in bytes; a longer length prefix is an error. Default 1 MiB. */
  maxBytes?: number;
  /** After close(), destroy the socket if the peer has not closed within this long. Default 2000 ms. */
  closeTimeoutMs?: number;
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

  constructor(socket: net.Socket, options: FramedConnectionOptions = {}) {
    super();
    this.socket = socket;
    this.remoteAddress = normaliseAddress(socket.remoteAddress);
    this.remotePort = socket.remotePort ?? 0;
    this.remote = formatPeer(this.remoteAddress, this.remotePort);
    this.closeTimeoutMs = options.closeTimeoutMs ?? 2000;
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
    const frame = encodeFrame(payload);
    if (this.closing || this.closedFlag || this.socket.destroyed || this.socket.writableEnded) return false;
    return this.socket.write(frame);
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

  /** Stops reading (back-pressure); frames already received are still delivered. */
  pause(): void {
    if (!this.closedFlag) this.socket.pause();
  }

  resume(): void {
    if (!this.closedFlag) this.socket.resume();
  }

  /**
   * Ends the connection gracefully: no more frames are delivered, queued
   * writes are flushed, then FIN. If the peer has not closed within
   * closeTimeoutMs the socket is destroyed.
   */
  close(reason = "closed"): void {
    if (this.closing || this.closedFlag) return;
    this.closing = true;
    this.reason ??= reason;
    try {
      this.socket.end();
    } catch {
      this.socket.destroy();
      return;
    }
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
      this.reason ??= err instanceof VOEventError ? `frame error: ${err.message}` : `error: ${err.message}`;
      this.safeEmit("error", err);
    }
    this.socket.destroy();
  }

  private onClose(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.closing = true;
    if (this.closeTimer !== null) {
      clearTimeout(this.closeTimer);
      this.closeTimer = null;
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
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m === null ? address : m[1]!;
}

/** "address:port", with an IPv6 address in brackets. */
export function formatPeer(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
