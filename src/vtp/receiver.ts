/**
 * VTP receiver: the server authors publish to (Comet's `--receive`, port 8098
 * by convention). An author connects, sends a VOEvent (or several), and gets
 * an `ack` or a `nak` (reason in Meta/Result) for each, in order.
 *
 * For each event: parse (size limit first, no DTD, well-formed, VOEvent root,
 * IVORN rules, by default a `#local-id` as Comet requires), optionally
 * validate against VOEvent-v2.0.xsd, then await the handler, and only then
 * ack: an ack means "we have it" (Comet acks before its handlers run; we do
 * not). A duplicate is acked like any event: de-duplication is another
 * node's job, and VTP 2.0 §8 says a duplicate is no reason to nak.
 *
 * Decisions, where peers differ or the spec is silent:
 * - Something that is not a VOEvent (junk, malformed XML, a Transport
 *   message, another root element) is answered with a nak, Origin = the
 *   empty string (there is no event IVORN to answer to; Origin is required and
 *   Response carries our own IVORN), reason in Meta/Result; then the
 *   connection is closed, as Comet closes it (Comet sends no reply at all).
 *   When the XML is a well-formed VOEvent that fails a check (bad or missing
 *   IVORN, bad role, no local id, schema), the nak's Origin is its ivorn
 *   attribute as written and the connection stays open for the next event.
 * - A handler that throws or rejects: the event is not accepted, nak
 *   "Event rejected: internal error" (the error itself goes to the `nak`
 *   event, not to the peer).
 * - A frame error (a length above maxBytes, a zero length, XML sent without
 *   the length prefix) closes the connection at once, with no reply.
 * - maxBytes defaults to 1 MiB: real packets are a few kB; Comet refuses
 *   anything above 99,999 bytes, so a larger event accepted here may not
 *   travel further through Comet brokers.
 * - Deadlines, so that no peer holds a connection (one of maxConnections) for
 *   ever. Comet closes every connection 20 s after it opened; we keep a
 *   connection as long as its author keeps using it, within three limits,
 *   each 20 s by default: `idleTimeoutMs` between frames while we owe nothing,
 *   `frameTimeoutMs` for a frame to be complete after its first byte (a frame
 *   trickled a byte at a time is cut off however often bytes come), and
 *   `replyTimeoutMs` for each reply to reach the kernel (an author that never
 *   reads its replies is dropped once the kernel's buffers are full). A
 *   connection whose frame or reply misses its deadline is closed, with no
 *   reply, and reported as `dropped`.
 * - Schema validation has its own deadline (`schemaTimeoutMs`, 10 s): an
 *   xmllint run that takes longer is stopped and the event is naked.
 * - Connections: at most `maxConnections` (256) in all and
 *   `maxConnectionsPerAddress` (64) from one address (connection-limits.ts).
 * - The backlog behind the receiver (backlog.ts): with `awaitFinish`, an event
 *   counts as unfinished from its hand-over until the handler's `finish` is
 *   called (a voevent-receiver node calls it once the flow is done with the
 *   message). While `maxBacklog` (100) events are unfinished the receiver
 *   stops reading from every author, and while one author address holds half
 *   of them it stops reading from that address: a frame already read waits
 *   before its hand-over, the socket is paused, and TCP slows the author down.
 *   Nothing is dropped or naked; acks come later. Reading starts again at
 *   half the bound (a quarter for one address), the authors with the fewest
 *   unfinished events first; while the backlog is half full or more, the
 *   authors with frames waiting hand them over in turn, one each, so that the
 *   room freed is shared rather than taken by the first author woken. An
 *   event unfinished after `backlogTimeoutMs` (60 s) stops counting. An
 *   adapter counts what else it hands on for an author with `backlogHold`
 *   (the voevent-receiver node: refused packets sent to its second output).
 * - Signatures (`signatures`, src/signature): absent or mode "ignore", the
 *   packet's bytes are not looked at for one. "check": the verdict is put on
 *   the event (`signature`) and the event goes on. "require": an event not
 *   signed by a key of the keyring is naked (code SIGNATURE, the verdict's
 *   reason), after the other checks and before the handler; the connection
 *   stays open.
 *
 * Events (all emitted safely: a listener that throws cannot stop the server):
 * - `listening` {host, port}
 * - `connection` {peer}: a whitelisted peer connected
 * - `rejected` {address, port, peer, reason, limit?}: refused (not
 *   whitelisted, or a connection limit: `limit` names it) and closed at
 *   once, with no reply
 * - `event` (ReceivedEvent): accepted and acked
 * - `nak` (NakInfo): refused, with the reason sent
 * - `dropped` {peer, reason, limit?}: we closed a connection (idle, frame
 *   error, junk); `limit` names the option whose deadline was missed
 *   (`idleTimeoutMs`, `frameTimeoutMs`, `replyTimeoutMs`)
 * - `disconnect` {peer, reason}: a connection ended, for whatever reason
 * - `backlog` (BacklogChange): every author paused (`paused` true) or reading
 *   again (false), one author address paused or resumed alone (`author`,
 *   `authorPaused`), or events expired (`expired`); `pending` is the count
 * - `error` (Error): a server error after listen (only if someone listens)
 * - `close`: close() finished
 */
import { EventEmitter } from "node:events";
import type net from "node:net";
import { isVOEventError } from "../errors";
import type { Keyring } from "../signature/keyring";
import { refusalOf, type SignatureMode } from "../signature/policy";
import { type SignatureVerdict, verifyPacket } from "../signature/verify";
import type { VOEvent } from "../voevent/model";
import { checkLocalId, inputText, readVOEvent, readVOEventHead, type VOEventHead } from "../voevent/parse";
import { parseXml } from "../xml/parse";
import type { XDocument } from "../xml/types";
import { AckFramer } from "./ack-frame";
import { BACKLOG_DEFAULTS, Backlog, type BacklogChange, type Finish } from "./backlog";
import {
  DEFAULT_MAX_FRAME_BYTES,
  FramedConnection,
  formatPeer,
  normaliseAddress,
  safeEmit,
} from "./connection";
import { CONNECTION_LIMIT_DEFAULTS, ConnectionLimits } from "./connection-limits";
import { type DeadlineEntry, DeadlineList } from "./deadline-list";
import { copyFrame, encodeFrame, FRAME_HEADER_BYTES } from "./framing";
import { validateVOEventSchema } from "./schema";
import { createServer, type TlsOptions } from "./tls";
import { buildNak, classify } from "./transport";
import { Whitelist } from "./whitelist";

export interface ReceivedEvent {
  /** The packet as a string (UTF-8 decoded), exactly as received. */
  xml: string;
  /** The packet's bytes, exactly as received (its own copy: a view of `frame`). */
  bytes: Buffer;
  /** The VTP frame as received: its 4-byte length, then `bytes`. */
  frame: Buffer;
  doc: XDocument;
  /** What the root says (IVORN, stream, role…), read before the ack. */
  head: VOEventHead;
  /** The model; the receiver reads it from `doc` when it is first asked for (most relays never do). */
  voevent: VOEvent;
  /** "address:port" of the author. */
  peer: string;
  /** When its last byte arrived. */
  receivedAt: Date;
  /** The signature's verdict, when the receiver checks signatures. */
  signature?: SignatureVerdict;
}

export interface NakInfo {
  peer: string;
  /** The author's address, as the backlog counts it (see backlogHold). */
  author: string;
  /** The refused frame's bytes, as received. */
  bytes: Buffer;
  /** The event's ivorn when it had one, else null. */
  ivorn: string | null;
  /** The reason sent in Meta/Result. */
  reason: string;
  /** VOEventError code (MALFORMED, BAD_IVORN, SCHEMA…), "HANDLER" for a handler failure, "TRANSPORT" for a Transport message, "SIGNATURE" for a signature required and missing or bad. */
  code: string;
  /** The handler's exception, for code HANDLER. */
  error?: Error;
}

/** The `dropped` event: a connection we closed, and why. */
export interface DroppedInfo {
  peer: string;
  reason: string;
  /** The option whose deadline the peer missed (`idleTimeoutMs`, `frameTimeoutMs`, `replyTimeoutMs`). */
  limit?: string;
}

export type Validation = "well-formed" | "schema";

export interface VTPReceiverOptions {
  /** Address to listen on. Default "0.0.0.0". */
  host?: string;
  /** Port; 0 = any free port (see listen()'s result). */
  port: number;
  /** This system's IVOA identifier: the Response of every ack and nak. */
  localIvo: string;
  /** Addresses allowed to connect (CIDR list). Default "127.0.0.0/8, ::1". */
  whitelist?: string | readonly string[];
  /** Largest event accepted, bytes. Default 1 MiB (Comet: 99,999). */
  maxBytes?: number;
  /** A connection that sends no frame for this long (while we owe it nothing) is closed. Default 20000 ms. */
  idleTimeoutMs?: number;
  /** A frame must be complete this long after its first byte, or the connection is closed. Default 20000 ms; 0 = none. */
  frameTimeoutMs?: number;
  /** Each reply must reach the kernel this long after it is written (the author must read), or the connection is closed. Default 20000 ms; 0 = none. */
  replyTimeoutMs?: number;
  /** With validate "schema": an xmllint run that takes longer is stopped and the event naked. Default 10000 ms. */
  schemaTimeoutMs?: number;
  /** "well-formed" (default): parse and IVORN checks only; "schema": also VOEvent-v2.0.xsd. */
  validate?: Validation;
  /** Refuse an ivorn without a `#local-id`, as Comet does ("No per-event local ID"). Default true. */
  requireLocalId?: boolean;
  /** Serve TLS with this certificate and key. */
  tls?: TlsOptions;
  /**
   * Called for each valid event before it is acked; a throw or rejection naks it. With
   * `awaitFinish`, `finish` must be called once the event is done with (see maxBacklog).
   */
  handler?: (ev: ReceivedEvent, finish: Finish) => void | Promise<void>;
  /**
   * Count each event handed to the handler as unfinished until the handler's `finish` is
   * called, and stop reading from authors while `maxBacklog` are. Default false: an event is
   * finished once the handler returns (or its promise settles).
   */
  awaitFinish?: boolean;
  /** With awaitFinish: unfinished events above which authors are paused (one address: half). Default 100; 0 = no bound. */
  maxBacklog?: number;
  /** With awaitFinish: an event unfinished this long stops counting. Default 60000 ms. */
  backlogTimeoutMs?: number;
  /** Connections served at once; more are refused. Default 256. */
  maxConnections?: number;
  /** Check (or require) OpenPGP signatures against a keyring; `keyring` is awaited per event (load it once). */
  signatures?: { mode: SignatureMode; keyring: () => Keyring | Promise<Keyring> };
  /** Connections from one address at once; more are refused. Default 64. */
  maxConnectionsPerAddress?: number;
}

export const DEFAULT_RECEIVER_WHITELIST = "127.0.0.0/8, ::1";
export const DEFAULT_IDLE_TIMEOUT_MS = 20000;
/** Defaults of the receiver's deadlines, ms. */
export const RECEIVER_DEADLINES = {
  frameTimeoutMs: 20000,
  replyTimeoutMs: 20000,
  schemaTimeoutMs: 10000,
} as const;

/** Frames read ahead of the one being answered before the connection stops reading. */
const MAX_QUEUED_FRAMES = 16;
/** Replies written but not yet read by the author above which we wait for it to read them. */
const MAX_UNREAD_REPLY_BYTES = 256 * 1024;

interface Outcome {
  /** The reply, framed. */
  reply: Buffer;
  /** Close the connection after the reply. */
  close: boolean;
  /** The accepted event, emitted once its ack is written. */
  event?: ReceivedEvent;
}

export class VTPReceiver extends EventEmitter {
  private readonly opts: Required<
    Omit<
      VTPReceiverOptions,
      | "tls"
      | "handler"
      | "whitelist"
      | "maxConnections"
      | "maxConnectionsPerAddress"
      | "signatures"
      | "maxBacklog"
      | "backlogTimeoutMs"
    >
  > & {
    tls: TlsOptions | undefined;
    handler: VTPReceiverOptions["handler"];
    signatures: VTPReceiverOptions["signatures"];
  };
  private readonly whitelist: Whitelist;
  /** The acks, made as bytes (./ack-frame.ts). */
  private readonly acks: AckFramer;
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  /** TCP connections accepted and not yet closed (TLS sockets are counted once, by their raw socket). */
  private readonly limits: ConnectionLimits;
  private readonly sessions = new Set<Session>();
  /** Events handed over and not finished (with awaitFinish). */
  private readonly backlogCount: Backlog;
  /** Every session's idle deadline, with one timer. */
  private readonly idleDeadlines = new DeadlineList();
  private closing = false;
  private bound: { host: string; port: number } | null = null;

  constructor(options: VTPReceiverOptions) {
    super();
    if (typeof options.localIvo !== "string" || options.localIvo === "") {
      throw new Error("VTPReceiver: localIvo (this system's IVOA identifier) is required");
    }
    if (
      options.validate !== undefined &&
      options.validate !== "well-formed" &&
      options.validate !== "schema"
    ) {
      throw new Error(
        `VTPReceiver: validate must be "well-formed" or "schema", not ${JSON.stringify(options.validate)}`,
      );
    }
    if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
      throw new RangeError(`VTPReceiver: port must be 0–65535, not ${options.port}`);
    }
    this.opts = {
      host: options.host ?? "0.0.0.0",
      port: options.port,
      localIvo: options.localIvo,
      maxBytes: options.maxBytes ?? DEFAULT_MAX_FRAME_BYTES,
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      validate: options.validate ?? "well-formed",
      requireLocalId: options.requireLocalId ?? true,
      frameTimeoutMs: nonNegative(
        "frameTimeoutMs",
        options.frameTimeoutMs,
        RECEIVER_DEADLINES.frameTimeoutMs,
      ),
      replyTimeoutMs: nonNegative(
        "replyTimeoutMs",
        options.replyTimeoutMs,
        RECEIVER_DEADLINES.replyTimeoutMs,
      ),
      schemaTimeoutMs: nonNegative(
        "schemaTimeoutMs",
        options.schemaTimeoutMs,
        RECEIVER_DEADLINES.schemaTimeoutMs,
        1,
      ),
      tls: options.tls,
      handler: options.handler,
      awaitFinish: options.awaitFinish ?? false,
      signatures: options.signatures?.mode === "ignore" ? undefined : options.signatures,
    };
    this.whitelist = new Whitelist(options.whitelist ?? DEFAULT_RECEIVER_WHITELIST);
    this.acks = new AckFramer(this.opts.localIvo);
    this.limits = new ConnectionLimits(
      {
        maxConnections: options.maxConnections ?? CONNECTION_LIMIT_DEFAULTS.receiverMaxConnections,
        maxConnectionsPerAddress:
          options.maxConnectionsPerAddress ?? CONNECTION_LIMIT_DEFAULTS.maxConnectionsPerAddress,
      },
      "VTPReceiver",
    );
    this.backlogCount = new Backlog(
      {
        maxBacklog: options.maxBacklog ?? BACKLOG_DEFAULTS.maxBacklog,
        backlogTimeoutMs: options.backlogTimeoutMs ?? BACKLOG_DEFAULTS.backlogTimeoutMs,
      },
      (change) => this.backlogChanged(change),
    );
  }

  /** Events handed over and not yet finished (with awaitFinish), and whether authors are paused. */
  get backlog(): { pending: number; paused: boolean; maxBacklog: number } {
    const b = this.backlogCount;
    return { pending: b.pending, paused: b.paused, maxBacklog: b.maxBacklog };
  }

  private backlogChanged(change: BacklogChange): void {
    // Authors with the fewest unfinished events go on first: their waits are woken first, so
    // they hand over their next event before a flooding author takes the room back.
    const b = this.backlogCount;
    const order = [...this.sessions].sort((x, y) => b.pendingFrom(x.author) - b.pendingFrom(y.author));
    for (const session of order) session.backlogChanged();
    safeEmit(this, "backlog", change);
  }

  /**
   * Counts one more unfinished event from `author` (an address) in the backlog, for something
   * the adapter hands to its flow besides accepted events (a refused packet sent on); the
   * returned Finish takes it off. With awaitFinish off, counts nothing.
   */
  backlogHold(author: string): Finish {
    return this.opts.awaitFinish ? this.backlogCount.add(author) : noFinish;
  }

  /** @internal Whether the backlog is at least half full: authors then take turns, one event each. */
  get contended(): boolean {
    const b = this.backlogCount;
    return this.opts.awaitFinish && b.maxBacklog > 0 && b.pending * 2 >= b.maxBacklog;
  }

  /** @internal Whether a session from this address must wait before handing over its next event. */
  held(author: string): boolean {
    return this.opts.awaitFinish && this.backlogCount.holds(author);
  }

  /** Open connections (whitelisted, past any TLS handshake). */
  get connections(): number {
    return this.sessions.size;
  }

  /** Where it listens, once listening. */
  get address(): { host: string; port: number } | null {
    return this.bound;
  }

  /** Starts listening; resolves with the address and port actually bound. */
  listen(): Promise<{ host: string; port: number }> {
    if (this.server !== null) return Promise.reject(new Error("VTPReceiver: already listening"));
    if (this.closing) return Promise.reject(new Error("VTPReceiver: closed"));
    const server = createServer(this.opts.tls, {
      accept: (raw) => this.accept(raw),
      onSocket: (socket) => this.onSocket(socket),
      handshakeTimeoutMs: this.opts.idleTimeoutMs,
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        server.removeListener("listening", onListening);
        this.server = null;
        reject(err);
      };
      const onListening = (): void => {
        server.removeListener("error", onError);
        if (this.closing) {
          // close() was called while a host name was being resolved.
          server.close();
          reject(new Error("VTPReceiver: closed while starting to listen"));
          return;
        }
        server.on("error", (err: Error) => safeEmit(this, "error", err));
        const a = server.address() as net.AddressInfo;
        this.bound = { host: a.address, port: a.port };
        safeEmit(this, "listening", this.bound);
        resolve(this.bound);
      };
      server.once("error", onError);
      server.once("listening", onListening);
      server.listen({ host: this.opts.host, port: this.opts.port });
    });
  }

  /** Stops listening and frees every socket and timer. Resolves when all are closed. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.backlogCount.close();
    this.idleDeadlines.close();
    const server = this.server;
    const waits: Promise<void>[] = [];
    if (server?.listening) {
      waits.push(new Promise<void>((resolve) => server.close(() => resolve())));
    }
    for (const session of this.sessions) session.stop();
    for (const socket of this.sockets) {
      if (!socket.destroyed || socket.listenerCount("close") > 0) {
        waits.push(
          new Promise<void>((resolve) => (socket.closed ? resolve() : socket.once("close", () => resolve()))),
        );
      }
      socket.destroy();
    }
    await Promise.all(waits);
    // The listening handle is released by libuv after server.close()'s callback: let the loop
    // turn so that, once close() resolves, no handle of ours is left (tests count them).
    await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.sockets.clear();
    this.server = null;
    safeEmit(this, "close");
  }

  private accept(raw: net.Socket): boolean {
    const address = normaliseAddress(raw.remoteAddress);
    const port = raw.remotePort ?? 0;
    let reason: string | null = null;
    let limit: string | undefined;
    if (this.closing) reason = "receiver closing";
    else if (!this.whitelist.allows(raw.remoteAddress)) reason = "address not in the whitelist";
    else {
      const refusal = this.limits.check(address);
      if (refusal !== null) ({ reason, limit } = refusal);
    }
    if (reason !== null) {
      const peer = formatPeer(address, port);
      safeEmit(
        this,
        "rejected",
        limit === undefined ? { address, port, peer, reason } : { address, port, peer, reason, limit },
      );
      return false;
    }
    const release = this.limits.hold(address);
    this.sockets.add(raw);
    // "close" comes once: `on`, not the costlier `once`.
    raw.on("close", () => {
      this.sockets.delete(raw);
      release();
    });
    return true;
  }

  private onSocket(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    // A TLS socket wraps the raw one we track; track it too, so close() destroys both.
    if (!this.sockets.has(socket)) {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    }
    const conn = new FramedConnection(socket, {
      maxBytes: this.opts.maxBytes,
      closeTimeoutMs: 2000,
      frameTimeoutMs: this.opts.frameTimeoutMs,
      writeTimeoutMs: this.opts.replyTimeoutMs,
      writeLimitName: "replyTimeoutMs",
    });
    const session = new Session(this, conn);
    this.sessions.add(session);
    conn.on("close", (reason: string) => {
      this.sessions.delete(session);
      session.stop();
      safeEmit(this, "disconnect", { peer: conn.remote, reason });
    });
    safeEmit(this, "connection", { peer: conn.remote });
    session.start();
  }

  /**
   * @internal Decides the answer to one frame. Never throws. Synchronous unless a step must wait
   * (schema validation, a signature check, a handler that returns a promise): the usual frame
   * costs no promise and no turn of the microtask queue before its ack.
   */
  answer(
    bytes: Buffer,
    peer: string,
    receivedAt: Date,
    frame?: Buffer,
    author = peer,
  ): Outcome | Promise<Outcome> {
    const maxBytes = this.opts.maxBytes;
    let xml: string;
    let doc: XDocument;
    try {
      xml = inputText(bytes, maxBytes);
      doc = parseXml(xml, { maxBytes });
    } catch (err) {
      const code = isVOEventError(err) ? err.code : "MALFORMED";
      return this.nak(
        peer,
        bytes,
        { ivorn: null, code, reason: `Event rejected: ${messageOf(err)}` },
        true,
        author,
      );
    }
    const kind = classify(doc);
    if (kind === "transport") {
      const role = doc.root.attrs.find((a) => a.local === "role" && a.ns === "")?.value ?? "";
      return this.nak(
        peer,
        bytes,
        {
          ivorn: null,
          code: "TRANSPORT",
          reason: `Event rejected: a Transport message (role "${role}") sent to a receiver, which takes only VOEvents`,
        },
        true,
        author,
      );
    }
    let head: VOEventHead;
    try {
      head = readVOEventHead(doc);
      if (this.opts.requireLocalId) checkLocalId(head);
    } catch (err) {
      const code = isVOEventError(err) ? err.code : "MALFORMED";
      // The nak answers to the ivorn as written, when the root has one.
      const ivornAttr = doc.root.local === "VOEvent" ? rootIvorn(doc) : null;
      return this.nak(
        peer,
        bytes,
        { ivorn: ivornAttr, code, reason: `Event rejected: ${messageOf(err)}` },
        doc.root.local !== "VOEvent",
        author,
      );
    }
    const ev = receivedEvent({ xml, bytes, frame: frame ?? encodeFrame(bytes), doc, head, peer, receivedAt });
    if (this.opts.validate === "schema" || this.opts.signatures !== undefined)
      return this.answerChecked(ev, author);
    return this.handOver(ev, author);
  }

  /** The checks that wait (schema validation in a worker, a signature), then the handler. */
  private async answerChecked(ev: ReceivedEvent, author: string): Promise<Outcome> {
    const { peer, bytes, head } = ev;
    if (this.opts.validate === "schema") {
      const r = await validateVOEventSchema(bytes, ev.doc, { timeoutMs: this.opts.schemaTimeoutMs });
      if (!r.valid) {
        return this.nak(
          peer,
          bytes,
          {
            ivorn: head.ivorn,
            code: r.timedOut ? "TIMEOUT" : "SCHEMA",
            reason: r.timedOut
              ? `Event rejected: ${r.error}`
              : `Event rejected: schema validation failed: ${r.error}`,
          },
          false,
          author,
        );
      }
    }
    const signatures = this.opts.signatures;
    if (signatures !== undefined) {
      let signature: SignatureVerdict;
      try {
        signature = await verifyPacket(bytes, await signatures.keyring());
      } catch (err) {
        signature = {
          verdict: "unknown-key",
          keyId: null,
          userId: null,
          reason: `no keyring: ${messageOf(err)}`,
        };
      }
      ev.signature = signature;
      const refusal = refusalOf(signatures.mode, signature);
      if (refusal !== null)
        return this.nak(
          peer,
          bytes,
          { ivorn: head.ivorn, code: "SIGNATURE", reason: `Event rejected: ${refusal}` },
          false,
          author,
        );
    }
    return this.handOver(ev, author);
  }

  /** Gives an accepted event to the handler; the ack, or a nak if the handler fails. */
  private handOver(ev: ReceivedEvent, author: string): Outcome | Promise<Outcome> {
    const handler = this.opts.handler;
    const accepted = (): Outcome => ({
      reply: this.acks.frame(ev.head.ivorn),
      close: false,
      event: ev,
    });
    if (handler === undefined) return accepted();
    const finish = this.opts.awaitFinish ? this.backlogCount.add(author) : noFinish;
    let result: void | Promise<void>;
    try {
      result = handler(ev, finish);
    } catch (err) {
      finish();
      return this.handlerFailed(ev, err, author);
    }
    // `event` is emitted by the Session once the ack is written: ack first, then the event.
    if (result instanceof Promise)
      return result.then(accepted, (err: unknown) => {
        finish();
        return this.handlerFailed(ev, err, author);
      });
    return accepted();
  }

  private handlerFailed(ev: ReceivedEvent, err: unknown, author: string): Outcome {
    const error = err instanceof Error ? err : new Error(String(err));
    return this.nak(
      ev.peer,
      ev.bytes,
      { ivorn: ev.head.ivorn, code: "HANDLER", reason: "Event rejected: internal error", error },
      false,
      author,
    );
  }

  private nak(
    peer: string,
    bytes: Buffer,
    info: Omit<NakInfo, "peer" | "bytes" | "author">,
    close: boolean,
    author: string,
  ): Outcome {
    safeEmit(this, "nak", { peer, author, bytes, ...info });
    return { reply: encodeFrame(buildNak(info.ivorn ?? "", this.opts.localIvo, info.reason)), close };
  }

  /** @internal */
  get framesTimed(): boolean {
    return this.opts.frameTimeoutMs > 0;
  }

  /** @internal */
  get idleTimeoutMs(): number {
    return this.opts.idleTimeoutMs;
  }

  /** @internal The idle deadlines of the sessions. */
  get idleClock(): DeadlineList {
    return this.idleDeadlines;
  }

  /** @internal */
  emitSafely(event: string, arg: unknown): void {
    safeEmit(this, event, arg);
  }
}

/** One author connection: frames answered one at a time, in order. */
class Session implements DeadlineEntry {
  private readonly queue: { frame: Buffer; at: Date }[] = [];
  private busy = false;
  /** Reading stopped: too many frames read ahead (`queueFull`), or the backlog holds this author. */
  private paused = false;
  private queueFull = false;
  /** Resolves the wait of a drain held by the backlog. */
  private unheld: (() => void) | null = null;
  /** The author's address, as the backlog counts it. */
  readonly author: string;
  private peerEnded = false;
  private stopped = false;
  /** When the idle clock last started (the receiver's idle clock): the connection opened, or the last reply was written. */
  private idleSince: number;
  /** Its place among the receiver's idle deadlines (DeadlineEntry). */
  due = 0;
  prev: DeadlineEntry | null = null;
  next: DeadlineEntry | null = null;
  listed = false;

  constructor(
    private readonly receiver: VTPReceiver,
    private readonly conn: FramedConnection,
  ) {
    this.author = conn.remoteAddress;
    this.idleSince = receiver.idleClock.now();
  }

  /** The backlog changed: pause or resume reading, and wake a drain that waits on it. */
  backlogChanged(): void {
    this.updateReading();
    if (this.unheld !== null && !this.receiver.held(this.author)) {
      const wake = this.unheld;
      this.unheld = null;
      wake();
    }
  }

  /** Reads while neither the frames read ahead nor the backlog say to wait. */
  private updateReading(): void {
    if (this.stopped || this.conn.closed) return;
    const pause = this.queueFull || this.receiver.held(this.author);
    if (pause === this.paused) return;
    this.paused = pause;
    if (pause) this.conn.pause();
    else this.conn.resume();
  }

  /** Waits until the backlog no longer holds this author (or the session stops). */
  private whileHeld(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.unheld = resolve;
    });
  }

  start(): void {
    const conn = this.conn;
    conn.on("frame", (payload: Buffer) => {
      // Our own copy (the payload may be a view of a larger socket chunk, and the handler may keep
      // it), kept framed: a relay forwards it as it came.
      this.queue.push({ frame: copyFrame(payload), at: new Date() });
      if (this.queue.length >= MAX_QUEUED_FRAMES && !this.queueFull) {
        this.queueFull = true;
        this.updateReading();
      }
      if (!this.busy) void this.drain();
    });
    conn.on("error", (err: Error) => {
      // Frame errors and missed deadlines (TIMEOUT); a socket error is only a disconnect.
      if (isVOEventError(err)) {
        const dropped: DroppedInfo = { peer: conn.remote, reason: err.message };
        if (err.limit !== undefined) dropped.limit = err.limit;
        this.receiver.emitSafely("dropped", dropped);
      }
    });
    conn.on("end", () => {
      this.peerEnded = true;
      if (!this.busy && this.queue.length === 0) conn.close("peer closed the connection");
    });
    this.receiver.idleClock.add(this, this.idleSince + this.receiver.idleTimeoutMs);
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    this.clearIdle();
    if (this.unheld !== null) {
      const wake = this.unheld;
      this.unheld = null;
      wake();
    }
    this.conn.destroy("receiver closed");
  }

  private async drain(): Promise<void> {
    this.busy = true;
    try {
      for (;;) {
        if (this.queue.length === 0 || this.stopped || this.conn.closed) break;
        // The flow behind is too far behind: the frame waits (and reading stops) until it catches up.
        if (this.receiver.held(this.author)) {
          this.updateReading();
          await this.whileHeld();
          continue;
        }
        const next = this.queue.shift();
        if (next === undefined) break;
        if (this.queueFull && this.queue.length < MAX_QUEUED_FRAMES / 2) {
          this.queueFull = false;
          this.updateReading();
        }
        const frame = next.frame;
        const answered = this.receiver.answer(
          frame.subarray(FRAME_HEADER_BYTES),
          this.conn.remote,
          next.at,
          frame,
          this.author,
        );
        const outcome = answered instanceof Promise ? await answered : answered;
        if (this.stopped || this.conn.closed) break;
        this.conn.sendFrame(outcome.reply);
        if (outcome.event !== undefined) this.receiver.emitSafely("event", outcome.event);
        if (outcome.close) {
          this.queue.length = 0;
          this.receiver.emitSafely("dropped", { peer: this.conn.remote, reason: "not a VOEvent" });
          this.conn.close("not a VOEvent");
          break;
        }
        // An author that sends and never reads our replies: stop answering (and soon reading)
        // until it takes them, rather than buffering replies without bound.
        if (this.conn.bufferedBytes > MAX_UNREAD_REPLY_BYTES) await this.writable();
        // Room in the backlog is short: let the other authors' waiting frames go in turn.
        else if (this.receiver.contended) await Promise.resolve();
      }
    } catch (err) {
      // answer() never throws; this is a last guard so nothing escapes.
      this.receiver.emitSafely("dropped", { peer: this.conn.remote, reason: messageOf(err) });
      this.conn.destroy(`internal error: ${messageOf(err)}`);
    } finally {
      this.busy = false;
    }
    if (this.stopped || this.conn.closed) return;
    this.queueFull = false;
    this.updateReading();
    if (this.peerEnded) {
      this.clearIdle();
      this.conn.close("peer closed the connection");
    } else this.idleSince = this.receiver.idleClock.now();
  }

  private writable(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.conn.removeListener("drain", done);
        this.conn.removeListener("close", done);
        resolve();
      };
      this.conn.on("drain", done);
      this.conn.on("close", done);
    });
  }

  /**
   * The idle deadline (idleTimeoutMs): the author is dropped when it has sent nothing for that
   * long while we owe it nothing. The clock runs from the connection's start and from each last
   * reply; it does not run while a frame is being answered or waits for the backlog, while we
   * have stopped reading, or while a frame is arriving that the frame deadline times (bytes
   * trickling in do not restart it; without a frame deadline, the idle clock still bounds the
   * frame). Looked at only when its deadline comes (the receiver's DeadlineList, one timer for
   * every session): returns the next time to look, or null once the author is dropped.
   */
  expire(now: number): number | null {
    // Stopped, or closing (the author ended and was answered): nothing left to time.
    if (this.stopped || this.conn.closed) return null;
    const limit = this.receiver.idleTimeoutMs;
    const owing = this.busy || this.queue.length > 0;
    const framing = this.conn.receiving && this.receiver.framesTimed;
    // We stopped reading (the backlog): its silence is ours, not the author's.
    if (owing || framing || this.paused) return now + limit;
    const idle = now - this.idleSince;
    if (idle < limit) return this.idleSince + limit;
    const reason = `idle for ${limit} ms (limit idleTimeoutMs = ${limit})`;
    const dropped: DroppedInfo = { peer: this.conn.remote, reason, limit: "idleTimeoutMs" };
    this.receiver.emitSafely("dropped", dropped);
    this.conn.destroy(reason);
    return null;
  }

  private clearIdle(): void {
    this.receiver.idleClock.remove(this);
  }
}

/**
 * A ReceivedEvent whose model is read from its tree on first use, once. A class, so that `voevent`
 * is an accessor of its prototype: an object literal spread with an accessor of its own cost ~5 µs
 * per event to make, a class instance ~0.2 µs (10^6 of each, timed in one process).
 */
class LazyReceivedEvent implements ReceivedEvent {
  readonly xml: string;
  readonly bytes: Buffer;
  readonly frame: Buffer;
  readonly doc: XDocument;
  readonly head: VOEventHead;
  readonly peer: string;
  readonly receivedAt: Date;
  signature?: SignatureVerdict;
  private model: VOEvent | null = null;

  constructor(fields: Omit<ReceivedEvent, "voevent">) {
    this.xml = fields.xml;
    this.bytes = fields.bytes;
    this.frame = fields.frame;
    this.doc = fields.doc;
    this.head = fields.head;
    this.peer = fields.peer;
    this.receivedAt = fields.receivedAt;
    if (fields.signature !== undefined) this.signature = fields.signature;
  }

  get voevent(): VOEvent {
    this.model ??= readVOEvent(this.doc);
    return this.model;
  }

  set voevent(value: VOEvent) {
    this.model = value;
  }
}

/** A ReceivedEvent whose model is read from its tree on first use, once. */
export function receivedEvent(fields: Omit<ReceivedEvent, "voevent">): ReceivedEvent {
  return new LazyReceivedEvent(fields);
}

function rootIvorn(doc: XDocument): string | null {
  const a = doc.root.attrs.find((x) => x.local === "ivorn" && x.ns === "");
  return a === undefined ? null : a.value.trim();
}

/** The finish of an event the backlog does not count. */
function noFinish(): void {}

/** The longest delay a Node.js timer keeps (a longer one fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

function nonNegative(name: string, value: number | undefined, fallback: number, min = 0): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < min || v > MAX_TIMER_MS)
    throw new RangeError(
      `VTPReceiver: ${name} must be a number of ms from ${min} to ${MAX_TIMER_MS}, not ${v}`,
    );
  return v;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
