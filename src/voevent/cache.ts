/**
 * Parse once per process: a small LRU of parsed packets keyed by the payload
 * string. Node-RED clones a msg for each wire but shares its payload string, so
 * the nodes a packet passes through (filter, dedupe, broadcaster, …) find it here
 * instead of parsing it again.
 *
 * - A packet that came from the network is not here: the receiver's and subscriber's messages
 *   carry their tree (src/contract.ts `treeOf`, used by `eventOf` and `parsedOf` before this
 *   cache), so it lives as long as its message; kept here, the last 256 stayed alive and every
 *   young-generation collection copied them. `rememberParsed` remains for a caller that wants a
 *   parse it made found by payload.
 * - Errors are not cached: a bad payload is parsed (and refused) each time.
 * - An entry is stored independently of the options; `maxBytes` and
 *   `requireLocalId` are checked again on every hit, so a hit refuses exactly what
 *   a fresh parse would.
 * - Each call returns its own copy of the model (`voevent`), so a consumer that
 *   changes it cannot change what the next one gets (`peek` skips the copy for a
 *   reader that only reads; `peekDoc` gives the tree alone, without building the model of a
 *   remembered entry: the archive node). `xml` and `doc` are shared: treat the tree as read-only.
 * - Bounded by entries (default 256) and by the total length of the cached
 *   payloads (default 8 Mi characters); a payload longer than a sixteenth of that
 *   budget is parsed but not cached.
 */
import { VOEventError } from "../errors";
import { DEFAULT_MAX_BYTES } from "../xml/parse";
import type { XDocument } from "../xml/types";
import { cloneVOEvent } from "./clone";
import type { VOEvent } from "./model";
import {
  checkLocalId,
  inputText,
  type ParsedVOEvent,
  type ParseVOEventOptions,
  parseVOEvent,
  readVOEvent,
} from "./parse";

export interface ParseCacheOptions {
  /** Most entries kept. Default 256. */
  capacity?: number;
  /** Most payload characters kept, all entries together. Default 8 Mi. */
  maxChars?: number;
}

/** A payload as text and its tree. */
export interface ParsedDoc {
  xml: string;
  doc: XDocument;
}

interface Entry {
  xml: string;
  doc: XDocument;
  /** Private: never handed out, only copies of it (or read-only by peek). Null until first asked
   *  for when the entry was remembered (read from the tree then). */
  voevent: VOEvent | null;
  bytes: number;
}

export class ParseCache {
  readonly capacity: number;
  readonly maxChars: number;
  private readonly entries = new Map<string, Entry>();
  private chars = 0;
  private hitCount = 0;
  private missCount = 0;
  private modelCount = 0;

  constructor(options: ParseCacheOptions = {}) {
    this.capacity = Math.max(1, Math.floor(options.capacity ?? 256));
    this.maxChars = Math.max(1, Math.floor(options.maxChars ?? 8 * 1024 * 1024));
  }

  /** Like parseVOEvent, but answers from the cache when the same payload was parsed before. */
  get(payload: string | Buffer, options: ParseVOEventOptions = {}): ParsedVOEvent {
    const { entry, voevent } = this.lookup(payload, options);
    return { xml: entry.xml, doc: entry.doc, voevent: cloneVOEvent(voevent) };
  }

  /**
   * Like get, but the model is the cache's own, not a copy: for a reader that only reads it (the
   * archive node makes its record from it). Never change what it returns.
   */
  peek(payload: string | Buffer, options: ParseVOEventOptions = {}): Readonly<ParsedVOEvent> {
    const { entry, voevent } = this.lookup(payload, options);
    return { xml: entry.xml, doc: entry.doc, voevent };
  }

  /**
   * The tree only, never the model: for a reader that walks the tree itself (the archive node,
   * whose record needs a few fields of the model, read by readVOEventHead and readWhoDateAuthor). A payload the
   * receiver remembered is answered without building its model (which costs more than the
   * record). Read the tree, never change it. A miss parses (and checks) as parseVOEvent does.
   */
  peekDoc(
    payload: string | Buffer,
    options: Pick<ParseVOEventOptions, "maxBytes"> = {},
  ): Readonly<ParsedDoc> {
    const entry = this.entryOf(payload, options);
    return { xml: entry.xml, doc: entry.doc };
  }

  private lookup(payload: string | Buffer, options: ParseVOEventOptions): { entry: Entry; voevent: VOEvent } {
    const entry = this.entryOf(payload, options);
    // A remembered entry's model is read from its tree when first asked for.
    if (entry.voevent === null) {
      entry.voevent = readVOEvent(entry.doc);
      this.modelCount++;
    }
    if (options.requireLocalId === true) checkLocalId(entry.voevent);
    return { entry, voevent: entry.voevent };
  }

  private entryOf(payload: string | Buffer, options: ParseVOEventOptions): Entry {
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    const xml = inputText(payload, maxBytes);
    const hit = this.entries.get(xml);
    let entry: Entry;
    if (hit !== undefined) {
      this.hitCount++;
      if (hit.bytes > maxBytes) {
        throw new VOEventError(
          "TOO_LARGE",
          `XML of ${hit.bytes} bytes exceeds the limit of ${maxBytes} bytes`,
        );
      }
      // Most recently used goes last.
      this.entries.delete(xml);
      this.entries.set(xml, hit);
      entry = hit;
    } else {
      this.missCount++;
      const parsed = parseVOEvent(xml, { maxBytes });
      entry = { xml, doc: parsed.doc, voevent: parsed.voevent, bytes: Buffer.byteLength(xml) };
      this.store(entry);
    }
    return entry;
  }

  /**
   * Keeps a parse made elsewhere, so that later lookups of the same payload find it here. `doc` must be the tree of `xml`, of a VOEvent that
   * readVOEvent accepted. Only the tree is kept: the model is read from it when first asked for
   * (copying the caller's model here would cost every flow, and most never ask). A payload
   * already cached is left as it is.
   */
  remember(xml: string, doc: XDocument): void {
    if (this.entries.has(xml)) return;
    this.store({ xml, doc, voevent: null, bytes: Buffer.byteLength(xml) });
  }

  private store(entry: Entry): void {
    const n = entry.xml.length;
    if (n > this.maxChars / 16) return;
    this.entries.set(entry.xml, entry);
    this.chars += n;
    for (const [key, old] of this.entries) {
      if (this.entries.size <= this.capacity && this.chars <= this.maxChars) break;
      this.entries.delete(key);
      this.chars -= old.xml.length;
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** Hits and misses since creation or the last clear(). */
  get stats(): { hits: number; misses: number; size: number; chars: number } {
    return { hits: this.hitCount, misses: this.missCount, size: this.entries.size, chars: this.chars };
  }

  /** Models read from remembered trees (when get or peek first asked for one) since creation or clear(). */
  get modelsRead(): number {
    return this.modelCount;
  }

  clear(): void {
    this.modelCount = 0;
    this.entries.clear();
    this.chars = 0;
    this.hitCount = 0;
    this.missCount = 0;
  }
}

const shared = new ParseCache();

/** parseVOEvent through the process-wide cache (256 entries). */
export function getParsed(payload: string | Buffer, options?: ParseVOEventOptions): ParsedVOEvent {
  return shared.get(payload, options);
}

/** Puts a parse made elsewhere into the process-wide cache (ParseCache.remember). */
export function rememberParsed(xml: string, doc: XDocument): void {
  shared.remember(xml, doc);
}

/** The payload's tree, without the model (ParseCache.peekDoc): read it, never change it. */
export function peekDoc(
  payload: string | Buffer,
  options?: Pick<ParseVOEventOptions, "maxBytes">,
): Readonly<ParsedDoc> {
  return shared.peekDoc(payload, options);
}

/** getParsed without the copy of the model: read it, never change it (ParseCache.peek). */
export function peekParsed(payload: string | Buffer, options?: ParseVOEventOptions): Readonly<ParsedVOEvent> {
  return shared.peek(payload, options);
}

/** The process-wide cache behind getParsed (for stats, and for tests to clear it). */
export function sharedParseCache(): ParseCache {
  return shared;
}
