/**
 * The subscriber: a VTP client of a remote broker (Comet `--remote`, pygcn's
 * listen()). It connects, answers what the broker sends, emits each event
 * once, and reconnects for as long as it is not closed.
 *
 * What it sends, and to what:
 * - each event → `ack` (Origin = the event's IVORN, Response = localIvo), sent
 *   before the event is emitted, as pygcn does. It never sends a `nak` (a
 *   broker may drop a subscriber that naks);
 * - `iamalive` → `iamalive` (Origin copied, Response = localIvo);
 * - `authenticate` → `authenticate` (Origin copied, Response = localIvo, one
 *   `Meta/Param name="xpath-filter"` per configured filter).
 *
 * Decisions:
 * - A frame it cannot use as an event (not XML, not well-formed, a VOEvent
 *   without an ivorn, with a bad role, an unknown root…) is still acked and
 *   dropped with a 'warning'; the connection stays up. pygcn drops the
 *   connection on unparsable XML, losing whatever the broker sends while it
 *   reconnects; Comet acks. The ack's Origin is the packet's ivorn attribute
 *   when one can be found in the raw text, else the broker's own IVORN. So the
 *   broker's count of unacknowledged events never grows because of us.
 * - Transport messages with another role (ack, nak, or one nobody defined) are
 *   answered with nothing and emitted as 'transport'. Transport messages in an
 *   unknown namespace are ignored with a 'warning', as pygcn does.
 * - Packets without a namespace are accepted as events (pygcn sends nothing
 *   back for them; we ack them).
 * - Silence for `watchdogMs` (no complete message) means the connection is
 *   dead: it is dropped and reopened. Reconnection delays grow from 1 s
 *   (doubling, with jitter, capped) and go back to the start only after a
 *   connection stayed up `healthyAfterMs` (a broker that accepts and at once
 *   drops us is retried with growing delays, not hammered: Comet issue #29).
 * - Nothing is ever emitted as 'error': problems are 'warning' {message}.
 * - A broker that does not read our replies: they are bounded. More than
 *   `maxQueueBytes` (1 MiB) of replies waiting to be written, or a reply not
 *   handed to the kernel within `replyTimeoutMs` (60 s), drops the connection
 *   (and we reconnect with backoff), so a broker sending small junk frames
 *   (each worth a 460-byte ack) and never reading cannot grow our memory.
 *   Replies coalesced in one turn of the loop are flushed early once they pass
 *   64 KiB, so only replies the broker has not taken count.
 * - A frame must be complete `frameTimeoutMs` (60 s) after its first byte; a
 *   broker that trickles bytes is dropped (the watchdog counts only complete
 *   messages, so trickling does not keep it quiet either).
 *
 * Events (a listener that throws is reported as a 'warning'):
 * - `connecting` {attempt}: a connection attempt starts (the first, and each after a `reconnecting`)
 * - `connect` {peer}; `disconnect` {reason} (only after a `connect`)
 * - `reconnecting` {delayMs, attempt, reason}: the next attempt, after a drop or a failed connect
 * - `event` (SubscribedEvent): each event once, right after its ack is queued on the socket
 * - `transport` {peer, message}: a Transport message with another role than iamalive/authenticate
 * - `warning` {message}
 *
 * `state`: "idle" (before start()), "connecting", "connected", "waiting" (for the next attempt), "closed".
 */
import { EventEmitter } from "node:events";
import type net from "node:net";
import type { VOEvent } from "../voevent/model";
import { inputText, readVOEvent } from "../voevent/parse";
import { parseXml } from "../xml/parse";
import type { XDocument } from "../xml/types";
import { compileXPath } from "../xpath";
import { Backoff, type BackoffOptions } from "./backoff";
import { FramedConnection } from "./connection";
import { copyFrame, FRAME_HEADER_BYTES } from "./framing";
import type { ReceivedEvent } from "./receiver";
import { connect, readyEvent, type TlsOptions } from "./tls";
import {
  buildAck,
  buildAuthenticate,
  buildIamalive,
  classify,
  parseTransport,
  type TransportMessage,
} from "./transport";

export interface SubscriberOptions {
  /** The broker's host name or address. */
  host: string;
  /** The broker's port. Default 8099. */
  port?: number;
  /** Our IVORN: Response of every message we send. */
  localIvo: string;
  /** XPath filters sent to the broker in our authenticate reply (Comet's extension). Checked at construction. */
  filters?: readonly string[];
  /** No complete message for this long → the connection is dead → reconnect. Default 150000 ms (pygcn). */
  watchdogMs?: number;
  /** Reconnection delays. Default: 1 s doubling to 60 s, jitter 0.25. */
  backoff?: BackoffOptions;
  /** A connection that stayed up this long resets the backoff when it ends. Default 30000 ms. */
  healthyAfterMs?: number;
  /** Give up a connection attempt (TCP connect and TLS handshake) after this long. Default 20000 ms. */
  connectTimeoutMs?: number;
  /** Largest frame accepted, bytes. Default 1 MiB. */
  maxBytes?: number;
  /** Connect with TLS; plain TCP when absent. */
  tls?: TlsOptions;
  /** Most bytes of replies waiting to be written before the connection is dropped. Default 1 MiB. */
  maxQueueBytes?: number;
  /** Each reply must reach the kernel this long after it is written, or the connection is dropped. Default 60000 ms. */
  replyTimeoutMs?: number;
  /** A frame must be complete this long after its first byte, or the connection is dropped. Default 60000 ms. */
  frameTimeoutMs?: number;
}

export type SubscriberState = "idle" | "connecting" | "connected" | "waiting" | "closed";

/**
 * An event as received (the receiver's ReceivedEvent): `xml` and `bytes` exactly
 * as received (`bytes` is a copy owned by the event), the parsed tree and
 * model, the broker as "address:port", and when it came.
 */
export type SubscribedEvent = ReceivedEvent;

export const SUBSCRIBER_DEFAULTS = {
  port: 8099,
  watchdogMs: 150000,
  healthyAfterMs: 30000,
  connectTimeoutMs: 20000,
  maxBytes: 1024 * 1024,
  maxQueueBytes: 1024 * 1024,
  replyTimeoutMs: 60000,
  frameTimeoutMs: 60000,
} as const;

/** Replies coalesced (corked) in one turn are flushed at once past this many bytes. */
const CORK_FLUSH_BYTES = 64 * 1024;

export class VTPSubscriber extends EventEmitter {
  readonly host: string;
  readonly port: number;
  readonly localIvo: string;
  readonly filters: readonly string[];
  private readonly watchdogMs: number;
  private readonly healthyAfterMs: number;
  private readonly connectTimeoutMs: number;
  private readonly maxBytes: number;
  private readonly maxQueueBytes: number;
  private readonly replyTimeoutMs: number;
  private readonly frameTimeoutMs: number;
  private readonly tls: TlsOptions | undefined;
  private readonly backoff: Backoff;

  private stateValue: SubscriberState = "idle";
  private socket: net.Socket | null = null;
  /** Settles when `socket` has emitted 'close'. */
  private socketClosed: Promise<void> = Promise.resolve();
  private conn: FramedConnection | null = null;
  private connectedAt = 0;
  private lastActivity = 0;
  /** The broker's IVORN, once it has told us (authenticate / iamalive Origin). */
  private brokerIvo: string | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private watchdogTimer: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;
  /** The connection's socket is corked until the next check phase (see reply()). */
  private corked = false;

  /** Throws RangeError on bad options, VOEventError BAD_XPATH for a filter that does not compile. */
  constructor(options: SubscriberOptions) {
    super();
    if (typeof options.host !== "string" || options.host.trim() === "") {
      throw new RangeError("VTPSubscriber: host is required");
    }
    if (typeof options.localIvo !== "string" || options.localIvo.trim() === "") {
      throw new RangeError("VTPSubscriber: localIvo (our IVORN) is required");
    }
    this.host = options.host.trim();
    this.port = options.port ?? SUBSCRIBER_DEFAULTS.port;
    if (!Number.isInteger(this.port) || this.port < 1 || this.port > 65535) {
      throw new RangeError(`VTPSubscriber: port must be a whole number 1–65535, not ${this.port}`);
    }
    this.localIvo = options.localIvo.trim();
    const filters: string[] = [];
    for (const f of options.filters ?? []) {
      if (typeof f !== "string" || f.trim() === "") continue;
      compileXPath(f.trim()); // throws VOEventError BAD_XPATH with the reason
      filters.push(f.trim());
    }
    this.filters = filters;
    this.watchdogMs = positive("watchdogMs", options.watchdogMs, SUBSCRIBER_DEFAULTS.watchdogMs);
    this.healthyAfterMs = positive(
      "healthyAfterMs",
      options.healthyAfterMs,
      SUBSCRIBER_DEFAULTS.healthyAfterMs,
    );
    this.connectTimeoutMs = positive(
      "connectTimeoutMs",
      options.connectTimeoutMs,
      SUBSCRIBER_DEFAULTS.connectTimeoutMs,
    );
    this.maxBytes = positive("maxBytes", options.maxBytes, SUBSCRIBER_DEFAULTS.maxBytes);
    this.maxQueueBytes = positive("maxQueueBytes", options.maxQueueBytes, SUBSCRIBER_DEFAULTS.maxQueueBytes);
    this.replyTimeoutMs = positive(
      "replyTimeoutMs",
      options.replyTimeoutMs,
      SUBSCRIBER_DEFAULTS.replyTimeoutMs,
    );
    this.frameTimeoutMs = positive(
      "frameTimeoutMs",
      options.frameTimeoutMs,
      SUBSCRIBER_DEFAULTS.frameTimeoutMs,
    );
    this.tls = options.tls;
    this.backoff = new Backoff(options.backoff);
  }

  get state(): SubscriberState {
    return this.stateValue;
  }

  /** "host:port" of the broker. */
  get remote(): string {
    return this.conn?.remote ?? `${this.host}:${this.port}`;
  }

  /** Bytes of our replies written and not yet handed to the kernel (0 when not connected). */
  get queuedBytes(): number {
    return this.conn?.bufferedBytes ?? 0;
  }

  /** Starts connecting (and reconnecting). Does nothing if already started; throws after close(). */
  start(): void {
    if (this.stateValue === "closed") throw new Error("VTPSubscriber: closed; make a new one");
    if (this.stateValue !== "idle") return;
    this.open();
  }

  /** Ends the connection and every timer; no reconnection after this. Resolves when the socket is closed. */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    const wasConnected = this.stateValue === "connected";
    this.stateValue = "closed";
    this.clearReconnect();
    this.clearWatchdog();
    const socket = this.socket;
    const conn = this.conn;
    const wait = socket === null ? Promise.resolve() : this.socketClosed;
    if (conn !== null) conn.destroy("subscriber closed");
    else socket?.destroy();
    this.closing = wait.then(() => {
      this.socket = null;
      this.conn = null;
    });
    if (wasConnected) this.safeEmit("disconnect", { reason: "subscriber closed" });
    return this.closing;
  }

  // -------------------------------------------------------------------------
  // Connecting

  private open(): void {
    this.reconnectTimer = null;
    if (this.stateValue === "closed") return;
    this.stateValue = "connecting";
    this.safeEmit("connecting", { attempt: this.backoff.attempt });
    let socket: net.Socket;
    try {
      socket = connect({
        host: this.host,
        port: this.port,
        ...(this.tls === undefined ? {} : { tls: this.tls }),
      });
    } catch (err) {
      this.retry(`cannot connect to ${this.host}:${this.port}: ${errorMessage(err)}`);
      return;
    }
    this.socket = socket;
    this.socketClosed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    let ready = false;
    let failure: string | null = null;
    const timer = setTimeout(() => {
      failure ??= `no connection within ${this.connectTimeoutMs} ms`;
      socket.destroy();
    }, this.connectTimeoutMs);
    socket.on("error", (err: Error) => {
      failure ??= err.message;
    });
    socket.once(readyEvent(this.tls), () => {
      clearTimeout(timer);
      ready = true;
      this.guard(() => this.onReady(socket));
    });
    socket.once("close", () => {
      clearTimeout(timer);
      if (ready) return; // the FramedConnection reports it
      if (this.socket === socket) this.socket = null;
      this.guard(() => this.retry(`cannot connect to ${this.host}:${this.port}: ${failure ?? "closed"}`));
    });
  }

  private onReady(socket: net.Socket): void {
    if (this.stateValue === "closed" || this.socket !== socket) {
      socket.destroy();
      return;
    }
    const conn = new FramedConnection(socket, {
      maxBytes: this.maxBytes,
      frameTimeoutMs: this.frameTimeoutMs,
      writeTimeoutMs: this.replyTimeoutMs,
      writeLimitName: "replyTimeoutMs",
    });
    this.conn = conn;
    this.stateValue = "connected";
    this.connectedAt = this.lastActivity = Date.now();
    this.brokerIvo = null;
    conn.on("error", () => {
      // Kept as the connection's close reason and reported on 'disconnect'.
    });
    conn.on("frame", (payload: Buffer) => this.onFrame(conn, payload));
    conn.on("close", (reason: string) => this.guard(() => this.onClosed(conn, socket, reason)));
    this.armWatchdog(this.watchdogMs);
    this.safeEmit("connect", { peer: conn.remote });
  }

  private onClosed(conn: FramedConnection, socket: net.Socket, reason: string): void {
    if (this.conn !== conn) return;
    this.conn = null;
    if (this.socket === socket) this.socket = null;
    this.clearWatchdog();
    if (this.stateValue === "closed") return;
    if (Date.now() - this.connectedAt >= this.healthyAfterMs) this.backoff.reset();
    this.safeEmit("disconnect", { reason });
    this.retry(reason);
  }

  private retry(reason: string): void {
    if (this.stateValue === "closed") return;
    this.clearReconnect();
    const delayMs = this.backoff.next();
    this.stateValue = "waiting";
    this.reconnectTimer = setTimeout(() => this.guard(() => this.open()), delayMs);
    this.safeEmit("reconnecting", { delayMs, attempt: this.backoff.attempt, reason });
  }

  // -------------------------------------------------------------------------
  // Messages

  private onFrame(conn: FramedConnection, payload: Buffer): void {
    if (this.conn !== conn) return;
    const receivedAt = new Date();
    this.lastActivity = receivedAt.getTime();
    let xml: string;
    let doc: XDocument;
    try {
      xml = inputText(payload, this.maxBytes);
      doc = parseXml(xml, { maxBytes: this.maxBytes });
    } catch (err) {
      this.ackUnusable(conn, payload, `unparsable message (${errorMessage(err)})`);
      return;
    }
    if (doc.root.local === "Transport" || classify(doc) === "transport") {
      this.onTransport(conn, doc);
      return;
    }
    let voevent: VOEvent;
    try {
      voevent = readVOEvent(doc);
    } catch (err) {
      this.ackUnusable(conn, payload, `not a usable VOEvent (${errorMessage(err)})`);
      return;
    }
    this.reply(conn, buildAck(voevent.ivorn, this.localIvo));
    // Our own copy, kept framed: a relay forwards it as it came.
    const frame = copyFrame(payload);
    const event: SubscribedEvent = {
      xml,
      bytes: frame.subarray(FRAME_HEADER_BYTES),
      frame,
      doc,
      head: voevent,
      voevent,
      peer: conn.remote,
      receivedAt,
    };
    this.safeEmit("event", event);
  }

  private onTransport(conn: FramedConnection, doc: XDocument): void {
    let msg: TransportMessage;
    try {
      msg = parseTransport(doc);
    } catch (err) {
      this.warn(`ignored a Transport message from ${conn.remote}: ${errorMessage(err)}`);
      return;
    }
    const origin = msg.origin ?? "";
    switch (msg.role) {
      case "iamalive":
        if (origin !== "") this.brokerIvo = origin;
        this.reply(conn, buildIamalive(origin, this.localIvo));
        return;
      case "authenticate":
        if (origin !== "") this.brokerIvo = origin;
        this.reply(conn, buildAuthenticate(origin, this.localIvo, this.filters));
        return;
      default:
        this.safeEmit("transport", { peer: conn.remote, message: msg });
    }
  }

  /**
   * Sends a reply. Replies written in one turn of the event loop (acks for a
   * burst of events) are coalesced into one write: the socket is corked until
   * the loop's check phase.
   */
  private reply(conn: FramedConnection, xml: string): void {
    if (conn.closed) return;
    if (!this.corked) {
      this.corked = true;
      conn.socket.cork();
      setImmediate(() => {
        if (!this.corked) return;
        this.corked = false;
        conn.socket.uncork();
      });
    }
    conn.send(xml);
    const queued = conn.bufferedBytes;
    if (queued <= CORK_FLUSH_BYTES) return;
    if (this.corked) {
      // Hand the replies coalesced so far to the kernel: what stays queued is what the broker has not read.
      this.corked = false;
      conn.socket.uncork();
    }
    const waiting = conn.bufferedBytes;
    if (waiting > this.maxQueueBytes) {
      conn.destroy(
        `the broker is not reading our replies: ${waiting} bytes waiting (limit maxQueueBytes = ${this.maxQueueBytes})`,
      );
    }
  }

  /** Acks a frame that cannot be emitted as an event (never a nak), and says why in a warning. */
  private ackUnusable(conn: FramedConnection, payload: Buffer, why: string): void {
    const origin = sniffIvorn(payload) ?? this.brokerIvo ?? "";
    this.reply(conn, buildAck(origin, this.localIvo));
    this.warn(`${why} from ${conn.remote}: acked and dropped`);
  }

  // -------------------------------------------------------------------------
  // Timers

  private armWatchdog(delay: number): void {
    this.clearWatchdog();
    this.watchdogTimer = setTimeout(() => this.guard(() => this.checkWatchdog()), delay);
  }

  private checkWatchdog(): void {
    this.watchdogTimer = null;
    const conn = this.conn;
    if (conn === null || this.stateValue !== "connected") return;
    const silent = Date.now() - this.lastActivity;
    if (silent >= this.watchdogMs) {
      conn.destroy(`no message from the broker for ${silent} ms (watchdog ${this.watchdogMs} ms)`);
    } else {
      this.armWatchdog(this.watchdogMs - silent);
    }
  }

  private clearWatchdog(): void {
    if (this.watchdogTimer !== null) clearTimeout(this.watchdogTimer);
    this.watchdogTimer = null;
  }

  private clearReconnect(): void {
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }

  // -------------------------------------------------------------------------
  // Reporting

  private warn(message: string): void {
    this.safeEmit("warning", { message });
  }

  /** Emits without letting a listener's exception escape into a socket or timer callback. */
  private safeEmit(event: string, payload: object): void {
    try {
      this.emit(event, payload);
    } catch (err) {
      if (event === "warning") return;
      try {
        this.emit("warning", { message: `a '${event}' listener threw: ${errorMessage(err)}` });
      } catch {
        // Nothing more can be done safely.
      }
    }
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.warn(`internal error: ${errorMessage(err)}`);
    }
  }
}

const IVORN_ATTR = /\bivorn\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/;

/** The ivorn attribute of a packet too broken to parse, if the raw text shows one. */
function sniffIvorn(payload: Buffer): string | null {
  const text = payload.subarray(0, 8192).toString("utf8");
  const m = IVORN_ATTR.exec(text);
  const value = m === null ? undefined : (m[1] ?? m[2]);
  return value === undefined || value.trim() === "" ? null : value.trim();
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0)
    throw new RangeError(`VTPSubscriber: ${name} must be a number above 0, not ${v}`);
  return v;
}
