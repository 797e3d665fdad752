/**
 * The broadcaster: a VTP server that subscribers connect to (Comet's
 * `--broadcast`, port 8099 by convention).
 *
 * Per connection: the peer is checked against the whitelist (refused peers are
 * closed at once, with no reply); an `authenticate` is sent; the subscriber's
 * `authenticate` reply may carry XPath filters (Comet's extension:
 * `Meta/Param name="xpath-filter"`, or the legacy `Meta/filter type="xpath"`);
 * from then on that subscriber is sent only the events one of its filters
 * accepts (no filters: everything). Acks are counted, whatever their Origin or
 * Transport version; a `nak` ends the connection (as Comet). An `iamalive` is
 * sent every `iamaliveIntervalMs`; a subscriber that has not answered the
 * previous one when the next is due is dropped (as Comet).
 *
 * Broadcasting never waits on a subscriber: each event is framed once and the
 * same Buffer is written to every socket. With `COALESCE.minSubscribers` (8)
 * subscribers or more, writes made in one turn of the event loop are coalesced
 * per socket (corked until the loop's check phase), so a burst of events costs
 * one system call per subscriber, not one per event; with fewer, each frame is
 * written at once (a few system calls, and no turn of the loop to wait); and
 * while events come back to back to many subscribers, a flush waits up to two
 * more turns for the next event (COALESCE: the flow after a receiver takes a
 * turn or two per node, so the next event is on its way). A
 * subscriber that still has more than `maxQueueBytes` unsent from earlier
 * turns is disconnected at the next write ('overflow'), so one slow or stalled
 * reader neither delays the others nor grows memory without bound (and the
 * queued Buffers are the shared frames, not copies).
 *
 * Decisions:
 * - A filter that does not compile is reported ('filter-error') and ignored;
 *   the subscriber's other filters still apply. If none of its filters
 *   compiles, it gets nothing rather than everything: it asked for a subset,
 *   and flooding it with every event would be the worse surprise.
 * - `maxOutstandingAcks` is off by default. Comet drops a subscriber with 10
 *   or more events unacked at iamalive time, but pygcn sends no ack at all for
 *   a packet without a namespace, so that rule drops healthy pygcn clients;
 *   a subscriber that stops reading is caught by `maxQueueBytes` instead.
 * - Messages a subscriber sends that are not Transport (or not XML) are
 *   reported ('warning') and ignored; only frame-level garbage (a length
 *   prefix above `maxBytes`, a zero length) ends the connection.
 * - Nothing is emitted as 'error': problems are 'warning' events, so an
 *   unheard event can never throw.
 * - Limits on peers (connection-limits.ts): `maxConnections` (1000) and
 *   `maxConnectionsPerAddress` (64) refuse more connections at once; a frame
 *   from a subscriber must be complete `frameTimeoutMs` (20 s) after its first
 *   byte; a subscriber whose queued bytes have not moved between two iamalive
 *   ticks is dropped (reported on 'unsubscribe'), even if it answers iamalive
 *   without reading.
 *
 * Events (a listener that throws is reported as a 'warning', never into a socket callback):
 * - `subscribe` {id, peer}; `unsubscribe` {id, peer, reason}
 * - `ack` {id, peer, origin}; `nak` {id, peer, origin, reason} (that subscriber is then dropped)
 * - `overflow` {id, peer}: dropped for not reading; `rejected` {address}: not
 *   whitelisted, or {address, reason, limit} refused by a connection limit (`limit` names it)
 * - `filter-error` {id, peer, filter, message}: a filter that does not compile, ignored
 * - `filter-budget` {id, peer, filter, message}: a filter ran out of its evaluation budget (once per filter);
 *   `filter-drop` {id, peer, reason}: dropped for its filters (over a cap, or over budget again and
 *   again; see ./subscriber-filters.ts, which holds the filter policy)
 * - `filter-run` {sent, evaluated, units, slices}: an event's filtering went on after
 *   broadcast() returned (./filter-runs.ts: one budget per event for all subscribers'
 *   filters, evaluated in slices of the event loop); `sent` counts its filtered subscribers
 * - `test-event` {ivorn, sent}; `warning` {message}
 */
import { EventEmitter } from "node:events";
import type net from "node:net";
import { type FilterLimits, filterLimits } from "../filter/limits";
import { buildVOEvent } from "../voevent/build";
import { getParsed } from "../voevent/cache";
import { newIvorn, streamOf } from "../voevent/ivorn";
import type { VOEvent } from "../voevent/model";
import { parseXml } from "../xml/parse";
import type { XDocument } from "../xml/types";
import { FramedConnection, normaliseAddress } from "./connection";
import { CONNECTION_LIMIT_DEFAULTS, ConnectionLimits, WriteProgress } from "./connection-limits";
import { type EventFilterLimits, eventFilterLimits, FilterRuns, PacedDrops } from "./filter-runs";
import { encodeFrame } from "./framing";
import { AckReader } from "./quick-ack";
import { type FilterVerdict, type SubscriberFilterOptions, SubscriberFilters } from "./subscriber-filters";
import type { TlsOptions } from "./tls";
import { createServer } from "./tls";
import { buildAuthenticate, buildIamalive, parseTransport, type TransportMessage } from "./transport";
import { Whitelist } from "./whitelist";

export { quickAckOrigin } from "./quick-ack";

/**
 * With the limits on subscribers' filters (./subscriber-filters.ts): maxFilters, maxFilterLength,
 * xpathBudget, maxBudgetOverruns; and on one event's filtering (./filter-runs.ts):
 * eventFilterBudget, filterSliceMs, maxFilterBacklog.
 */
export interface BroadcasterOptions extends SubscriberFilterOptions, Partial<EventFilterLimits> {
  /** Address to listen on. Default "0.0.0.0". */
  host?: string;
  /** Port to listen on; 0 picks a free one (see listen()'s result). */
  port: number;
  /** This broker's IVORN: Origin of its authenticate, iamalive and test events. */
  localIvo: string;
  /** CIDR list of peers allowed to subscribe. Default "127.0.0.0/8, ::1". */
  whitelist?: string | readonly string[];
  /** Period of iamalive messages, ms. Default 60000. */
  iamaliveIntervalMs?: number;
  /**
   * Drop a subscriber whose oldest unanswered iamalive is this old, ms.
   * Default: as Comet, a subscriber that has not answered the previous
   * iamalive when the next one is due is dropped.
   */
  aliveTimeoutMs?: number;
  /** At iamalive time, drop a subscriber with this many events unacked or more (Comet: 10). Default 0 = off. */
  maxOutstandingAcks?: number;
  /**
   * Period of test events (role "test"), ms; 0 = off (default). Comet's
   * --broadcast-test-interval. localIvo must then be an IVORN: the events' IVORNs go under its stream.
   */
  testIntervalMs?: number;
  /**
   * Per subscriber: most bytes left unsent from earlier turns of the event loop
   * (it is not reading); more at the next write → disconnect + 'overflow'. Default 4 MiB.
   */
  maxQueueBytes?: number;
  /** Largest frame accepted from a subscriber, bytes. Default 99999 (Comet's limit). */
  maxBytes?: number;
  /** Subscribers connected at once; more are refused. Default 1000. */
  maxConnections?: number;
  /** Connections from one address at once; more are refused. Default 64. */
  maxConnectionsPerAddress?: number;
  /** A frame from a subscriber must be complete this long after its first byte. Default 20000 ms. */
  frameTimeoutMs?: number;
  /** Serve TLS with this certificate and key; plain TCP when absent. */
  tls?: TlsOptions;
}

export interface SubscriberInfo {
  id: number;
  /** "address:port". */
  peer: string;
  connectedAt: Date;
  /** The filters in force (those that compiled). */
  filters: string[];
  acks: number;
  naks: number;
  /** Events sent and not yet acknowledged (never below 0). */
  outstanding: number;
  /** Bytes written to its socket and not yet handed to the kernel. */
  queuedBytes: number;
}

export interface ParsedEvent {
  doc: XDocument;
  voevent: VOEvent;
}

export const BROADCASTER_DEFAULTS = {
  host: "0.0.0.0",
  whitelist: "127.0.0.0/8, ::1",
  iamaliveIntervalMs: 60000,
  maxOutstandingAcks: 0,
  testIntervalMs: 0,
  maxQueueBytes: 4 * 1024 * 1024,
  maxBytes: 99999,
  maxConnections: CONNECTION_LIMIT_DEFAULTS.broadcasterMaxConnections,
  maxConnectionsPerAddress: CONNECTION_LIMIT_DEFAULTS.maxConnectionsPerAddress,
  frameTimeoutMs: 20000,
} as const;

/**
 * When a flush of the corked sockets waits for more events: at most `maxTurns` more turns of the
 * event loop (each a few µs when the loop is idle), only when at least `minSubscribers` sockets
 * are corked (the saving is one system call per subscriber per event) and the previous flush was
 * less than `busyMs` ago (events coming back to back). A lone event is flushed at once. With fewer
 * than `minSubscribers` subscribers nothing is corked: each frame is written at once. Measured
 * with the broker example, 50 subscribers, one persistent author (bench/ceiling.ts, scenario 3):
 * broker CPU per event 1,035–1,543 µs → 863–1,093 µs (loaded machine, 2026-12-07); on a quiet
 * machine, two rounds each: 0 more turns 40,166–45,843 deliveries/s (p99 11–12.5 ms), 1 turn
 * 47,831–48,383 (11.2–11.8 ms), 2 turns 52,979–53,014 (9.9–10.1 ms), 3 or 4 turns the same as 2.
 */
const COALESCE = { maxTurns: 2, minSubscribers: 8, busyMs: 2 } as const;

interface Subscription {
  readonly id: number;
  readonly peer: string;
  readonly conn: FramedConnection;
  readonly connectedAt: Date;
  filters: SubscriberFilters;
  acks: number;
  naks: number;
  outstanding: number;
  /** When the oldest unanswered iamalive was sent (ms since epoch); null when all are answered. */
  aliveSince: number | null;
  /** Its socket is corked until the loop's check phase (writes coalesced into one system call). */
  corked: boolean;
  /** Bytes written while corked (not yet handed to the socket's stream). */
  corkedBytes: number;
  /** Whether its queued bytes move between iamalive ticks. */
  readonly progress: WriteProgress;
  /** Reads its acks on the fast path (./quick-ack.ts). */
  readonly ackReader: AckReader;
}

export class VTPBroadcaster extends EventEmitter {
  readonly localIvo: string;
  private readonly opts: BroadcasterOptions;
  private readonly whitelist: Whitelist;
  private readonly intervalMs: number;
  private readonly aliveTimeoutMs: number | undefined;
  private readonly maxOutstanding: number;
  private readonly testIntervalMs: number;
  private readonly maxQueueBytes: number;
  private readonly maxBytes: number;
  private readonly frameTimeoutMs: number;
  private readonly limits: ConnectionLimits;
  private readonly filterLimits: FilterLimits;
  private readonly filterRuns: FilterRuns<Subscription>;
  private readonly filterDrops: PacedDrops<Subscription>;

  private server: net.Server | null = null;
  private readonly subs = new Map<number, Subscription>();
  private readonly sockets = new Set<net.Socket>();
  /** Subscribers whose sockets write() corked in this turn of the loop; uncorked in its check phase. */
  private corked: Subscription[] = [];
  private nextId = 1;
  private testSeq = 0;
  private aliveTimer: NodeJS.Timeout | null = null;
  private aliveCheckTimer: NodeJS.Timeout | null = null;
  private testTimer: NodeJS.Timeout | null = null;
  private listening: Promise<{ host: string; port: number }> | null = null;
  private closing: Promise<void> | null = null;

  /**
   * Throws on bad options: RangeError, the whitelist's Error, or VOEventError
   * BAD_IVORN when test events are on and localIvo is not an IVORN.
   */
  constructor(options: BroadcasterOptions) {
    super();
    this.opts = options;
    if (typeof options.localIvo !== "string" || options.localIvo.trim() === "") {
      throw new RangeError("VTPBroadcaster: localIvo (this broker's IVORN) is required");
    }
    this.localIvo = options.localIvo.trim();
    checkPort(options.port);
    this.whitelist = new Whitelist(options.whitelist ?? BROADCASTER_DEFAULTS.whitelist);
    this.intervalMs = positive(
      "iamaliveIntervalMs",
      options.iamaliveIntervalMs,
      BROADCASTER_DEFAULTS.iamaliveIntervalMs,
    );
    this.aliveTimeoutMs =
      options.aliveTimeoutMs === undefined
        ? undefined
        : positive("aliveTimeoutMs", options.aliveTimeoutMs, 1);
    this.maxOutstanding = nonNegative(
      "maxOutstandingAcks",
      options.maxOutstandingAcks,
      BROADCASTER_DEFAULTS.maxOutstandingAcks,
    );
    this.testIntervalMs = nonNegative(
      "testIntervalMs",
      options.testIntervalMs,
      BROADCASTER_DEFAULTS.testIntervalMs,
    );
    this.maxQueueBytes = positive("maxQueueBytes", options.maxQueueBytes, BROADCASTER_DEFAULTS.maxQueueBytes);
    this.maxBytes = positive("maxBytes", options.maxBytes, BROADCASTER_DEFAULTS.maxBytes);
    this.frameTimeoutMs = positive(
      "frameTimeoutMs",
      options.frameTimeoutMs,
      BROADCASTER_DEFAULTS.frameTimeoutMs,
    );
    this.limits = new ConnectionLimits(
      {
        maxConnections: options.maxConnections ?? BROADCASTER_DEFAULTS.maxConnections,
        maxConnectionsPerAddress:
          options.maxConnectionsPerAddress ?? BROADCASTER_DEFAULTS.maxConnectionsPerAddress,
      },
      "VTPBroadcaster",
    );
    this.filterLimits = filterLimits(options);
    this.filterRuns = new FilterRuns<Subscription>(eventFilterLimits(options), {
      verdict: (s, verdict) => this.onVerdict(s, verdict),
      deliver: (s, frame) => this.deliver(s, frame),
      finished: (report) => this.safeEmit("filter-run", report),
      refused: (message) => this.warn(message),
      failed: (err) => this.warn(`filtering failed: ${errorMessage(err)}`),
    });
    this.filterDrops = new PacedDrops<Subscription>(
      (s, reason) => this.dropForFilters(s, reason),
      (err) => this.warn(`dropping a subscriber failed: ${errorMessage(err)}`),
    );
    if (this.testIntervalMs > 0) streamOf(this.localIvo); // test events need an IVORN: throws BAD_IVORN now, not later
    if (options.tls !== undefined && (options.tls.cert === undefined || options.tls.key === undefined)) {
      throw new RangeError("VTPBroadcaster: TLS needs a certificate and a private key");
    }
  }

  /** Starts listening; resolves with the address actually bound (port 0 → the port chosen). */
  listen(): Promise<{ host: string; port: number }> {
    if (this.closing !== null) return Promise.reject(new Error("VTPBroadcaster: closed"));
    if (this.listening !== null) return this.listening;
    this.listening = new Promise((resolve, reject) => {
      let server: net.Server;
      try {
        server = createServer(this.opts.tls, {
          accept: (raw) => this.accept(raw),
          onSocket: (socket) => this.onSocket(socket),
          onTlsError: (err, socket) =>
            this.warn(`TLS handshake with ${normaliseAddress(socket.remoteAddress)} failed: ${err.message}`),
        });
      } catch (err) {
        reject(err);
        return;
      }
      this.server = server;
      const onError = (err: Error): void => {
        this.server = null;
        this.listening = null; // listen() may be tried again
        reject(err);
      };
      server.once("error", onError);
      server.listen(this.opts.port, this.opts.host ?? BROADCASTER_DEFAULTS.host, () => {
        server.removeListener("error", onError);
        server.on("error", (err: Error) => this.warn(`server error: ${err.message}`));
        if (this.closing !== null) {
          reject(new Error("VTPBroadcaster: closed while starting"));
          return;
        }
        this.startTimers();
        const address = server.address();
        if (address === null || typeof address === "string") {
          resolve({ host: this.opts.host ?? BROADCASTER_DEFAULTS.host, port: this.opts.port });
        } else {
          resolve({ host: address.address, port: address.port });
        }
      });
    });
    return this.listening;
  }

  /** Stops listening, drops every subscriber, stops every timer. Resolves when all sockets are closed. */
  close(): Promise<void> {
    if (this.closing === null) this.closing = this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.clearTimers();
    this.filterRuns.stop();
    this.filterDrops.stop();
    // A listen() still in progress: let it settle (it sees `closing` and fails), then close its server.
    if (this.listening !== null) await this.listening.then(noop, noop);
    this.clearTimers();
    const server = this.server;
    // Everything still in these collections has not emitted 'close' yet (their 'close' handlers remove them).
    const waits: Promise<void>[] = [];
    for (const socket of this.sockets) waits.push(new Promise((r) => socket.once("close", () => r())));
    for (const s of this.subs.values()) waits.push(new Promise((r) => s.conn.once("close", () => r())));
    for (const s of this.subs.values()) s.conn.destroy("broadcaster closed");
    for (const socket of this.sockets) socket.destroy();
    if (server?.listening) waits.push(new Promise<void>((resolve) => server.close(() => resolve())));
    await Promise.all(waits);
    this.server = null;
  }

  /** How many subscribers are connected. */
  get count(): number {
    return this.subs.size;
  }

  /**
   * The worst subscriber backlog: most events unacknowledged, and most bytes
   * queued unsent, over all subscribers (0 when none). Cheap (no snapshot), for
   * a caller that wants to slow its input down when subscribers fall behind.
   */
  get backlog(): { maxOutstanding: number; maxQueuedBytes: number } {
    let maxOutstanding = 0;
    let maxQueuedBytes = 0;
    for (const s of this.subs.values()) {
      if (s.outstanding > maxOutstanding) maxOutstanding = s.outstanding;
      const q = s.conn.socket.writableLength;
      if (q > maxQueuedBytes) maxQueuedBytes = q;
    }
    return { maxOutstanding, maxQueuedBytes };
  }

  /**
   * Whether some subscriber has filters to evaluate (so that a broadcast parses the packet).
   * Cheap (no snapshot), for a caller deciding per event whether to hand over a parsed tree.
   */
  get filtering(): boolean {
    for (const s of this.subs.values()) if (s.filters.active) return true;
    return false;
  }

  /** A snapshot of every connected subscriber. */
  get subscribers(): SubscriberInfo[] {
    const out: SubscriberInfo[] = [];
    for (const s of this.subs.values()) {
      out.push({
        id: s.id,
        peer: s.peer,
        connectedAt: s.connectedAt,
        filters: s.filters.texts.slice(),
        acks: s.acks,
        naks: s.naks,
        outstanding: s.outstanding,
        queuedBytes: s.conn.bufferedBytes,
      });
    }
    return out;
  }

  /**
   * Sends an event to every subscriber whose filters accept it; returns to how
   * many at once. The bytes are sent exactly as given (a string as UTF-8), framed
   * once. The packet is parsed only if a subscriber has filters, at most once,
   * and not at all when `parsed` is given. Subscribers without filters get it at
   * once; filtered ones as soon as their filters have been evaluated, at once too
   * unless filtering takes more than `filterSliceMs` or an earlier event is still
   * being filtered (./filter-runs.ts; then 'filter-run' reports the rest). Never
   * waits; throws only for a payload that cannot be framed (empty). `frame`, when
   * given, is the payload's VTP frame as it was received (its 4-byte length, then
   * the bytes): it is sent as it is, neither encoded again nor copied.
   */
  broadcast(payload: string | Buffer, parsed?: ParsedEvent, frame?: Buffer): number {
    if (this.closing !== null || this.subs.size === 0) return 0;
    frame ??= encodeFrame(payload);
    let sent = 0;
    const filtered: Subscription[] = [];
    for (const s of this.subs.values()) {
      if (s.filters.matchNothing) continue;
      if (s.filters.active) filtered.push(s);
      else if (this.deliver(s, frame)) sent++;
    }
    if (filtered.length === 0) return sent;
    const doc = parsed?.doc ?? this.parseForFilters(payload);
    if (doc === null) return sent;
    return sent + this.filterRuns.add(doc, frame, filtered);
  }

  /** Events waiting for their filters to be evaluated (./filter-runs.ts), the one in progress included. */
  get filterBacklog(): number {
    return this.filterRuns.backlog;
  }

  private deliver(s: Subscription, frame: Buffer): boolean {
    if (!this.write(s, frame)) return false;
    s.outstanding++;
    return true;
  }

  // -------------------------------------------------------------------------
  // Connections

  private accept(raw: net.Socket): boolean {
    if (this.closing !== null) return false;
    const address = normaliseAddress(raw.remoteAddress);
    if (!this.whitelist.allows(raw.remoteAddress)) {
      this.safeEmit("rejected", { address });
      return false;
    }
    const refusal = this.limits.check(address);
    if (refusal !== null) {
      this.safeEmit("rejected", { address, reason: refusal.reason, limit: refusal.limit });
      return false;
    }
    const release = this.limits.hold(address);
    this.sockets.add(raw);
    raw.once("close", () => {
      this.sockets.delete(raw);
      release();
    });
    return true;
  }

  private onSocket(socket: net.Socket): void {
    if (this.closing !== null) {
      socket.destroy();
      return;
    }
    const conn = new FramedConnection(socket, {
      maxBytes: this.maxBytes,
      frameTimeoutMs: this.frameTimeoutMs,
    });
    const s: Subscription = {
      id: this.nextId++,
      peer: conn.remote,
      conn,
      connectedAt: new Date(),
      filters: SubscriberFilters.NONE,
      acks: 0,
      naks: 0,
      outstanding: 0,
      aliveSince: null,
      corked: false,
      corkedBytes: 0,
      progress: new WriteProgress(),
      ackReader: new AckReader(),
    };
    conn.on("error", () => {
      // The reason is kept by the connection and reported on 'unsubscribe'.
    });
    conn.on("frame", (payload: Buffer) => this.onFrame(s, payload));
    conn.on("close", (reason: string) => {
      if (this.subs.delete(s.id)) this.safeEmit("unsubscribe", { id: s.id, peer: s.peer, reason });
    });
    if (conn.closed) return;
    this.subs.set(s.id, s);
    this.safeEmit("subscribe", { id: s.id, peer: s.peer });
    conn.send(buildAuthenticate(this.localIvo));
  }

  private onFrame(s: Subscription, payload: Buffer): void {
    // Acks are most of what subscribers send (one per event each): read the usual shapes
    // without building a tree. Anything else, or anything unusual, gets the full parser.
    // The Origin is only read out for someone listening to `ack` (a monitor output).
    const ackOrigin = s.ackReader.read(payload, this.listenerCount("ack") > 0);
    if (ackOrigin !== null) {
      this.onAck(s, ackOrigin);
      return;
    }
    let msg: TransportMessage;
    try {
      msg = parseTransport(payload, { maxBytes: this.maxBytes });
    } catch (err) {
      this.warn(`ignored a message from subscriber ${s.peer}: ${errorMessage(err)}`);
      return;
    }
    switch (msg.role) {
      case "ack":
        this.onAck(s, msg.origin);
        return;
      case "nak": {
        s.naks++;
        if (s.outstanding > 0) s.outstanding--;
        const reason = msg.result ?? "";
        this.safeEmit("nak", { id: s.id, peer: s.peer, origin: msg.origin, reason });
        s.conn.destroy(reason === "" ? "subscriber sent a nak" : `subscriber sent a nak: ${reason}`);
        return;
      }
      case "iamalive":
        s.aliveSince = null;
        return;
      case "authenticate":
        this.setFilters(s, msg.filters);
        return;
      default:
        this.warn(`ignored a Transport message with role "${msg.role}" from subscriber ${s.peer}`);
    }
  }

  private onAck(s: Subscription, origin: string | null): void {
    s.acks++;
    if (s.outstanding > 0) s.outstanding--;
    if (this.listenerCount("ack") > 0) this.safeEmit("ack", { id: s.id, peer: s.peer, origin });
  }

  private setFilters(s: Subscription, filters: readonly string[]): void {
    const setup = SubscriberFilters.setup(filters, this.filterLimits);
    if (!setup.ok) {
      this.dropForFilters(s, setup.reason);
      return;
    }
    for (const e of setup.errors) this.safeEmit("filter-error", { id: s.id, peer: s.peer, ...e });
    s.filters = setup.filters;
  }

  /** What a subscriber's filters said of an event (./subscriber-filters.ts): reports, drops; whether to send it. */
  private onVerdict(s: Subscription, verdict: FilterVerdict): boolean {
    if (verdict.report) this.safeEmit("filter-budget", { id: s.id, peer: s.peer, ...verdict.report });
    if (verdict.drop !== undefined) {
      // Nothing more for it; disconnected a few subscribers at a time (./filter-runs.ts).
      s.filters = SubscriberFilters.DROPPED;
      this.filterDrops.add(s, verdict.drop);
    }
    return verdict.match;
  }

  private dropForFilters(s: Subscription, reason: string): void {
    if (s.conn.closed) return;
    this.safeEmit("filter-drop", { id: s.id, peer: s.peer, reason });
    s.conn.destroy(`dropped: ${reason}`);
  }

  /**
   * Writes one ready frame; false (and the subscriber is dropped) when more
   * than maxQueueBytes written in earlier turns of the event loop are still
   * unsent: it is not reading. What this turn writes is coalesced (corked) and
   * not counted, so a burst of events broadcast at once cannot trip the limit.
   */
  private write(s: Subscription, frame: Buffer): boolean {
    const conn = s.conn;
    if (conn.closed) return false;
    const socket = conn.socket;
    const pending = socket.writableLength - s.corkedBytes;
    if (pending > this.maxQueueBytes) {
      this.safeEmit("overflow", { id: s.id, peer: s.peer });
      conn.destroy(`overflow: ${pending} bytes unsent (limit ${this.maxQueueBytes})`);
      return false;
    }
    if (!s.corked && this.subs.size < COALESCE.minSubscribers) {
      // A few subscribers: a system call each costs less than waiting a turn of the loop
      // (bench/ceiling scenario 1, one subscriber: 270–285 → 250–270 µs of CPU per event).
      socket.write(frame);
      return true;
    }
    if (!s.corked) {
      // Coalesce everything written to this subscriber in this turn of the loop (several
      // events broadcast back to back) into one system call: fewer writes and wake-ups.
      socket.cork();
      s.corked = true;
      this.corked.push(s);
      if (this.corked.length === 1) setImmediate(this.uncorkAll);
    }
    s.corkedBytes += frame.length;
    socket.write(frame);
    return true;
  }

  /** Turns of the loop the current flush has waited for more events (COALESCE). */
  private flushWaits = 0;
  /** When the last flush was (performance.now()). */
  private lastFlush = 0;

  /**
   * Flushes what every corked socket holds. While events come back to back to many subscribers,
   * a flush waits a few more turns of the loop (COALESCE) so that the next event's frames, on
   * their way through the flow, join the same system call per subscriber.
   */
  private readonly uncorkAll = (): void => {
    const now = performance.now();
    if (
      this.flushWaits < COALESCE.maxTurns &&
      this.corked.length >= COALESCE.minSubscribers &&
      now - this.lastFlush < COALESCE.busyMs
    ) {
      this.flushWaits++;
      setImmediate(this.uncorkAll);
      return;
    }
    this.lastFlush = now;
    this.flushWaits = 0;
    const list = this.corked;
    this.corked = [];
    for (const s of list) {
      s.corked = false;
      s.corkedBytes = 0;
      s.conn.socket.uncork();
    }
  };

  private parseForFilters(payload: string | Buffer): XDocument | null {
    try {
      return getParsed(payload).doc;
    } catch {
      // Not a VOEvent our model accepts; the filters may still make sense of its XML.
    }
    try {
      return parseXml(payload, { maxBytes: Math.max(this.maxBytes, Buffer.byteLength(payload)) });
    } catch (err) {
      this.warn(`an event could not be parsed, so no filtered subscriber gets it: ${errorMessage(err)}`);
      return null;
    }
  }

  // -------------------------------------------------------------------------
  // Timers

  private startTimers(): void {
    // The tick runs after the loop's next poll phase (setImmediate), so replies already
    // received by the kernel when the next iamalive is due are read before they are judged.
    this.aliveTimer = setInterval(() => {
      setImmediate(() => this.guard(() => this.aliveTick()));
    }, this.intervalMs);
    if (this.testIntervalMs > 0) {
      this.testTimer = setInterval(() => this.guard(() => this.sendTestEvent()), this.testIntervalMs);
    }
  }

  private clearTimers(): void {
    if (this.aliveTimer !== null) clearInterval(this.aliveTimer);
    if (this.aliveCheckTimer !== null) clearTimeout(this.aliveCheckTimer);
    if (this.testTimer !== null) clearInterval(this.testTimer);
    this.aliveTimer = this.aliveCheckTimer = this.testTimer = null;
  }

  private aliveTick(): void {
    if (this.closing !== null) return;
    const now = Date.now();
    if (this.aliveTimeoutMs === undefined) {
      // Comet's rule: the previous iamalive must have been answered by now.
      for (const s of this.subs.values()) {
        if (s.aliveSince !== null) s.conn.destroy("no reply to the previous iamalive");
      }
    } else {
      this.expireAlive(now);
    }
    for (const s of this.subs.values()) {
      if (s.progress.stalled(s.conn.socket, s.corkedBytes) && !s.conn.closed) {
        s.conn.destroy(
          `not reading: ${s.conn.bufferedBytes} bytes queued and none taken since the last iamalive`,
        );
      }
    }
    if (this.maxOutstanding > 0) {
      for (const s of this.subs.values()) {
        if (s.outstanding >= this.maxOutstanding && !s.conn.closed) {
          s.conn.destroy(`${s.outstanding} events unacknowledged (limit ${this.maxOutstanding})`);
        }
      }
    }
    if (this.subs.size === 0) return;
    const frame = encodeFrame(buildIamalive(this.localIvo));
    for (const s of this.subs.values()) {
      if (this.write(s, frame) && s.aliveSince === null) s.aliveSince = now;
    }
    this.armAliveCheck();
  }

  /** With aliveTimeoutMs: drops subscribers whose oldest unanswered iamalive has expired. */
  private expireAlive(now: number): void {
    const limit = this.aliveTimeoutMs ?? this.intervalMs;
    for (const s of this.subs.values()) {
      if (s.aliveSince !== null && now - s.aliveSince >= limit && !s.conn.closed) {
        s.conn.destroy(`no reply to iamalive within ${limit} ms`);
      }
    }
  }

  private armAliveCheck(): void {
    const timeout = this.aliveTimeoutMs;
    if (timeout === undefined || this.aliveCheckTimer !== null || this.closing !== null) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const s of this.subs.values()) {
      if (s.aliveSince !== null && !s.conn.closed) earliest = Math.min(earliest, s.aliveSince);
    }
    if (earliest === Number.POSITIVE_INFINITY) return;
    const delay = Math.max(1, earliest + timeout - Date.now());
    this.aliveCheckTimer = setTimeout(() => {
      this.aliveCheckTimer = null;
      this.guard(() => {
        this.expireAlive(Date.now());
        this.armAliveCheck();
      });
    }, delay);
  }

  private sendTestEvent(): void {
    if (this.closing !== null) return;
    const xml = buildTestEvent(this.localIvo, ++this.testSeq, new Date());
    const sent = this.broadcast(xml.xml);
    this.safeEmit("test-event", { ivorn: xml.ivorn, sent });
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
      this.warn(`timer failed: ${errorMessage(err)}`);
    }
  }
}

/**
 * A small VOEvent 2.0 packet with role "test", as a broadcaster sends every
 * `testIntervalMs` (Comet: --broadcast-test-interval): a new IVORN under the
 * broker's stream, the broker as author, no position, one Param. Throws
 * VOEventError BAD_IVORN when `localIvo` is not an IVORN.
 */
export function buildTestEvent(localIvo: string, seq: number, now: Date): { xml: string; ivorn: string } {
  const stream = streamOf(localIvo);
  const ivorn = newIvorn(stream);
  const xml = buildVOEvent({
    ivorn,
    role: "test",
    date: now.toISOString(),
    author: { ivorn: stream, shortName: "VTP broadcaster" },
    params: { Test_Sequence: seq },
    description: "Periodic test event from a VTP broadcaster; no astronomical meaning.",
  });
  return { xml, ivorn };
}

function noop(): void {}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`port must be a whole number 0–65535, not ${port}`);
  }
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${name} must be a number above 0, not ${v}`);
  return v;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a number ≥ 0, not ${v}`);
  return v;
}
