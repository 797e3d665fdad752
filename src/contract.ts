/**
 * The message contract (docs/design.md, "The message contract"): what every
 * node that emits an event puts on the message, and how nodes that take an
 * event read it. Plain TypeScript, no Node-RED: the node adapters and the CLI
 * share it.
 *
 *   msg.payload  the VOEvent XML as a string, exactly as received
 *   msg.voevent  the parsed model (src/voevent/model.ts)
 *   msg.topic    the stream as an MQTT-safe topic, voevent/<authority>/<path>
 *   msg.vtp      { peer, localIvo, receivedAt }: where and when it came from
 *
 * Decisions:
 * - A message made from an event already parsed (`lazyEventMessage`: the receiver's) carries
 *   its payload's tree under a symbol, not enumerable: no debug sidebar, JSON, Object.keys or
 *   for…in sees it (a copy Node-RED makes itself, where lodash made it enumerable, shows it to
 *   util.inspect as `[Symbol(voevent.tree)]: [Function: value]`; `copyLazyMessage`'s copy keeps
 *   it hidden). Its value is a function, which Node-RED's
 *   copy for a second wire (lodash cloneDeep) shares rather than copies, so the copy finds the
 *   tree too (`treeOf`): a node late in a
 *   deep backlog (the archive beside the broadcaster) does not parse the packet again when
 *   the process-wide parse cache (256 entries) has long let it go. It answers only while
 *   msg.payload is still the text the tree was made from. The tree lives as long as the
 *   message or a copy of it (as the message's lazy model already kept it until read).
 * - The nodes that take an event (`eventOf`, `parsedOf`: filter, broadcaster, monitor, parse)
 *   use the tree a message carries before the process-wide cache, checked as a cache hit is
 *   (maxBytes, requireLocalId), so the receiver and subscriber no longer put their trees in the
 *   cache: a tree then lives as long as its message, where the cache kept the last 256 alive,
 *   and every young-generation collection copied them (issue 16: the broker example's CPU per
 *   event, one-shot authors, 495 → 420 µs in the same minutes).
 */
import { VOEventError } from "./errors";
import { isoTime } from "./iso-time";
import { CARRIED_TREE, carried, carry } from "./message-carry";
import { getParsed } from "./voevent/cache";
import { topicFor } from "./voevent/ivorn";
import type { VOEvent } from "./voevent/model";
import {
  checkLocalId,
  type ParsedVOEvent,
  type ParseVOEventOptions,
  readVOEvent,
  type VOEventHead,
} from "./voevent/parse";
import { DEFAULT_MAX_BYTES } from "./xml/parse";
import type { XDocument } from "./xml/types";

/** Where an event came from: `peer` is `address:port` (null when not from the network). */
export interface VtpInfo {
  peer: string | null;
  localIvo: string | null;
  /** ISO 8601 UTC with milliseconds. */
  receivedAt: string;
}

/** The properties every event-emitting node sets. */
export type EventMessage = {
  payload: string;
  voevent: VOEvent;
  topic: string;
  vtp: VtpInfo;
};

export interface EventMessageOptions {
  peer?: string | null;
  localIvo?: string | null;
  receivedAt?: Date;
}

/** The parts of a parse result the contract needs (ParsedVOEvent has them). */
export interface ParsedEvent {
  xml: string;
  voevent: VOEvent;
}

/** A stream's topic, made once per stream lately seen (a broker sees few streams, each many times). */
const TOPICS = new Map<string, string>();
/** Streams whose topic is kept; when full, the cache starts again (an IVORN is at most 2,048 characters). */
const MAX_TOPICS = 256;

/** topicFor(stream), from the cache when the stream was seen lately. */
function streamTopic(stream: string): string {
  let topic = TOPICS.get(stream);
  if (topic === undefined) {
    topic = topicFor(stream);
    if (TOPICS.size >= MAX_TOPICS) TOPICS.clear();
    TOPICS.set(stream, topic);
  }
  return topic;
}

/**
 * The contract's properties for a parsed event. The payload is the XML string
 * as parsed (a Buffer decoded as UTF-8), never re-serialised. Throws
 * VOEventError("BAD_IVORN") only if the stream cannot be made a topic, which a
 * successful parse rules out.
 */
export function eventMessage(parsed: ParsedEvent, options: EventMessageOptions = {}): EventMessage {
  return {
    payload: parsed.xml,
    voevent: parsed.voevent,
    topic: streamTopic(parsed.voevent.stream),
    vtp: {
      peer: options.peer ?? null,
      localIvo: options.localIvo ?? null,
      receivedAt: isoTime(options.receivedAt ?? new Date()),
    },
  };
}

/** An event whose model is read when first asked for (the receiver's ReceivedEvent). */
export interface LazyEvent {
  xml: string;
  /** What the root says, read from the tree with readVOEventHead's checks (the receiver's ack did). */
  head: VOEventHead;
  readonly voevent: VOEvent;
  /** The tree of `xml`, when the maker has it: the message carries it (`treeOf`). */
  readonly doc?: XDocument;
  /** The VTP frame `xml` came in, when the maker has it: the message carries it (`frameOf`). */
  readonly frame?: Buffer;
}

/** A payload's text and its tree. */
export interface PayloadTree {
  xml: string;
  doc: XDocument;
  /**
   * What the root of `doc` says, when the maker read it with readVOEventHead (a receiver's event,
   * read before its ack): a reader that needs it need not check the root again.
   */
  head?: VOEventHead;
}

/** The key of the tree a message carries (see the file's Decisions). */
const TREE = CARRIED_TREE;

/**
 * Lets `msg` (and every copy Node-RED makes of it) carry the tree of its payload `xml`: a
 * function under a symbol, not enumerable. The tree must be `xml`'s, and is read-only.
 */
export function carryTree(msg: object, tree: PayloadTree): void {
  carry(msg, TREE, tree);
}

/**
 * The tree of msg.payload when the message (or the message it was copied from) carries it and
 * msg.payload is still the text it was made from; else null (parse the payload, or ask the
 * cache). Read it, never change it.
 */
export function treeOf(msg: { payload?: unknown }): PayloadTree | null {
  const tree = carried(msg, TREE);
  if (tree === null || typeof tree !== "object") return null;
  const t = tree as Partial<PayloadTree>;
  return typeof t.xml === "string" && t.doc !== undefined && t.xml === msg.payload
    ? (t as PayloadTree)
    : null;
}

/**
 * msg.voevent of a lazy message: the model read from the event the message carries, once; the
 * property then holds it. One function for every message (see lazyEventMessage).
 */
function readLazyModel(this: object): VOEvent | undefined {
  // The event is carried as the message's tree (it has the text and, usually, the tree).
  const ev = carried(this, TREE) as LazyEvent | undefined;
  if (ev === undefined) return undefined;
  // Each message its own model (a copy for a second wire shares the event, not the model).
  const model = ev.doc === undefined ? ev.voevent : readVOEvent(ev.doc);
  settle(this, model);
  return model;
}

/** Assigning msg.voevent of a lazy message: it becomes a plain property. */
function assignModel(this: object, model: VOEvent): void {
  settle(this, model);
}

/**
 * eventMessage for an event whose model is read when first asked for: msg.voevent is an accessor
 * that reads the model on first use and then becomes a plain property holding it (assigning it
 * does the same). Whatever reads msg.voevent (a function node, the copy Node-RED makes for a
 * second wire, the debug sidebar) sees the model, as with eventMessage; a relay that never reads
 * it (receiver → dedupe by bytes → broadcaster) never pays for it.
 *
 * The accessor's functions are the same for every message, and the event is carried under a
 * symbol: an object literal with a getter of its own makes new functions per message, which V8
 * keeps in the object's hidden class, in the old generation; every message and what it holds (its
 * tree) then outlived the young generation's collections, and a broker taking one event per
 * connection spent about a quarter of its CPU time copying and collecting them.
 */
export function lazyEventMessage(ev: LazyEvent, options: EventMessageOptions = {}): EventMessage {
  const msg = { payload: ev.xml } as EventMessage;
  Object.defineProperty(msg, "voevent", {
    get: readLazyModel,
    set: assignModel,
    enumerable: true,
    configurable: true,
  });
  msg.topic = streamTopic(ev.head.stream);
  msg.vtp = {
    peer: options.peer ?? null,
    localIvo: options.localIvo ?? null,
    receivedAt: isoTime(options.receivedAt ?? new Date()),
  };
  // One carried value for all three: the event is the tree (`treeOf` reads its xml and doc), the
  // frame (`frameOf` reads its xml and frame) and what msg.voevent is read from.
  carry(msg, TREE, ev);
  return msg;
}

/**
 * Node-RED's copy of a lazy message for a second wire, without reading its model: the message
 * less msg.voevent goes through `deepClone` (Node-RED's cloneMessage), and the copy gets the same
 * lazy msg.voevent, read from the same tree when first used into a model of its own. Null when
 * `msg` is not a lazy message whose msg.voevent is still unread (copy it as usual then).
 *
 * Node-RED copies a message for every wire of an output after the first (lodash's cloneDeep),
 * which reads every property: msg.voevent's accessor then built the model (and the copy copied
 * it) for each event, though the nodes of a relay never look at it. A `preRoute` hook
 * (nodes/shared/lazy-copy.ts) makes the copy here instead.
 */
export function copyLazyMessage(msg: object, deepClone: (msg: object) => object): object | null {
  if (Object.getOwnPropertyDescriptor(msg, "voevent")?.get !== readLazyModel) return null;
  // What Node-RED's copy would copy (the enumerable properties, symbols too), less msg.voevent,
  // in a plain object: not through Object.getOwnPropertyDescriptors and defineProperties, whose
  // C++ paths (and the deleted key's dictionary mode) cost more than the copy (perf, one-shot
  // authors with an archive beside the broadcaster: ~19 µs of ~50 per event the archive added).
  const from = msg as Record<string | symbol, unknown>;
  const plain: Record<string | symbol, unknown> = {};
  for (const key of Object.keys(msg)) if (key !== "voevent") plain[key] = from[key];
  const carriedKeys: symbol[] = [];
  for (const key of Object.getOwnPropertySymbols(msg)) {
    if (Object.prototype.propertyIsEnumerable.call(msg, key)) plain[key] = from[key];
    else carriedKeys.push(key);
  }
  const copy = deepClone(plain);
  // What the message carries (src/message-carry.ts: a function, not enumerable) is shared as it is.
  for (const key of carriedKeys) {
    const d = Object.getOwnPropertyDescriptor(msg, key);
    if (d !== undefined) Object.defineProperty(copy, key, d);
  }
  Object.defineProperty(copy, "voevent", {
    get: readLazyModel,
    set: assignModel,
    enumerable: true,
    configurable: true,
  });
  return copy;
}

/** Makes msg.voevent a plain property holding `model`. */
function settle(msg: object, model: VOEvent): void {
  Object.defineProperty(msg, "voevent", {
    value: model,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}

/** msg.payload when it is a string or a Buffer (of XML); else VOEventError("NOT_XML"). */
export function rawPayloadOf(msg: { payload?: unknown }): string | Buffer {
  const payload = msg.payload;
  if (typeof payload === "string" || Buffer.isBuffer(payload)) return payload;
  throw new VOEventError(
    "NOT_XML",
    `msg.payload must be VOEvent XML as a string or a Buffer, not ${describe(payload)}`,
  );
}

/** msg.payload as a string (a Buffer decoded as UTF-8); else VOEventError("NOT_XML"). */
export function payloadOf(msg: { payload?: unknown }): string {
  const payload = rawPayloadOf(msg);
  return typeof payload === "string" ? payload : payload.toString("utf8");
}

/**
 * Whether a value looks like a VOEvent model (msg.voevent as a node of this
 * package left it): an object with string ivorn and stream, a known role and
 * the object-valued fields in place. Anything else is ignored and the payload
 * parsed instead.
 */
export function isVOEventModel(value: unknown): value is VOEvent {
  if (value === null || typeof value !== "object") return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.ivorn === "string" &&
    typeof v.stream === "string" &&
    typeof v.role === "string" &&
    typeof v.params === "object" &&
    v.params !== null &&
    typeof v.groups === "object" &&
    v.groups !== null &&
    typeof v.author === "object" &&
    v.author !== null
  );
}

/** An event taken from a message: the model now, the tree and XML text when asked for. */
export interface MessageEvent {
  readonly voevent: VOEvent;
  /** Parsed from msg.payload through the cache on first use; throws VOEventError if it does not parse. */
  readonly doc: XDocument;
  /** The XML text (a Buffer payload decoded as UTF-8). */
  readonly xml: string;
}

/**
 * The event a message carries, for the nodes that take one (filter, dedupe,
 * broadcaster, sender): msg.voevent when it looks like a model (design.md:
 * "use msg.voevent when present rather than parsing again"), else msg.payload
 * parsed through the process-wide cache. The tree is parsed lazily, and only
 * once per process for a given payload. Throws VOEventError when the payload
 * is needed and is not a string/Buffer or does not parse.
 */
export function eventOf(
  msg: { payload?: unknown; voevent?: unknown },
  options: ParseVOEventOptions = {},
): MessageEvent {
  if (isVOEventModel(msg.voevent)) return new ModelEvent(msg.voevent, msg, options);
  const parsed = parsedOf(msg, options);
  return { voevent: parsed.voevent, doc: parsed.doc, xml: parsed.xml };
}

/**
 * eventOf's answer for a message with its model: the tree and the text read when asked for. A
 * class rather than an object literal with getters, whose functions (made anew for each message)
 * V8 keeps in the object's hidden class, in the old generation, with all they hold.
 */
class ModelEvent implements MessageEvent {
  constructor(
    readonly voevent: VOEvent,
    private readonly msg: { payload?: unknown },
    private readonly options: ParseVOEventOptions,
  ) {}

  get doc(): XDocument {
    const tree = carriedTree(this.msg, this.options);
    return tree === null ? getParsed(rawPayloadOf(this.msg), this.options).doc : tree.doc;
  }

  get xml(): string {
    return payloadOf(this.msg);
  }
}

/**
 * parseVOEvent of msg.payload: from the tree the message carries (`treeOf`), checked as a cache
 * hit is, its model read from the tree (the caller's own), else through the process-wide cache.
 * Throws VOEventError as parseVOEvent does.
 */
export function parsedOf(msg: { payload?: unknown }, options: ParseVOEventOptions = {}): ParsedVOEvent {
  const tree = carriedTree(msg, options);
  if (tree === null) return getParsed(rawPayloadOf(msg), options);
  const voevent = readVOEvent(tree.doc);
  if (options.requireLocalId === true) checkLocalId(voevent);
  return { xml: tree.xml, doc: tree.doc, voevent };
}

/** The tree msg carries, refused (TOO_LARGE) above maxBytes as the cache refuses a hit; null when none. */
function carriedTree(msg: { payload?: unknown }, options: ParseVOEventOptions): PayloadTree | null {
  const tree = treeOf(msg);
  if (tree === null) return null;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  // UTF-8 takes at most 3 bytes per UTF-16 unit: count only when that bound is not enough.
  if (tree.xml.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(tree.xml);
    if (bytes > maxBytes)
      throw new VOEventError("TOO_LARGE", `XML of ${bytes} bytes exceeds the limit of ${maxBytes} bytes`);
  }
  return tree;
}

/** Whether a value looks like msg.vtp as set by a node of this package. */
export function isVtpInfo(value: unknown): value is VtpInfo {
  if (value === null || typeof value !== "object") return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.receivedAt === "string" &&
    (v.peer === null || typeof v.peer === "string") &&
    (v.localIvo === null || typeof v.localIvo === "string")
  );
}

function describe(value: unknown): string {
  if (value === undefined) return "missing (undefined)";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}
