/**
 * The in-memory core shared by the stores: a Map from key to an entry, the
 * entries also chained in a doubly linked list, oldest first. A key moves to
 * the newest end only when recorded again after expiring (a duplicate
 * refreshes nothing), so with a clock that does not go backwards the list is
 * in time order: capacity eviction and expiry pruning both take from the
 * oldest end. Every operation is O(1) (pruning amortised: each entry is
 * removed once).
 *
 * Why not the Map's own insertion order: V8 leaves deleted slots in place
 * until it rehashes, so a Map that is repeatedly deleted from the front makes
 * every `map.keys().next()` skip over them, O(capacity) per call.
 */
import type { SeenStoreOptions } from "./store";

interface Entry {
  readonly key: string;
  time: number;
  older: Entry | undefined;
  newer: Entry | undefined;
}

export class SeenIndex {
  readonly ttlMs: number;
  readonly capacity: number;
  private readonly map = new Map<string, Entry>();
  private oldest: Entry | undefined;
  private newest: Entry | undefined;

  constructor(opts: Pick<SeenStoreOptions, "ttlMs" | "capacity">, owner: string) {
    checkOptions(opts, owner);
    this.ttlMs = opts.ttlMs;
    this.capacity = opts.capacity;
  }

  get size(): number {
    return this.map.size;
  }

  isLive(recordedAt: number, now: number): boolean {
    return now - recordedAt < this.ttlMs;
  }

  /** Whether the key is seen at `now`; forgets it if it has expired. */
  lookup(key: string, now: number): boolean {
    const entry = this.map.get(key);
    if (entry === undefined) return false;
    if (this.isLive(entry.time, now)) return true;
    this.unlink(entry);
    return false;
  }

  /** Records the key at `now` as the newest entry, then evicts the oldest over capacity. */
  record(key: string, now: number): void {
    const existing = this.map.get(key);
    if (existing !== undefined) this.unlink(existing);
    const entry: Entry = { key, time: now, older: this.newest, newer: undefined };
    if (this.newest === undefined) this.oldest = entry;
    else this.newest.newer = entry;
    this.newest = entry;
    this.map.set(key, entry);
    while (this.map.size > this.capacity && this.oldest !== undefined) this.unlink(this.oldest);
  }

  /** Forgets a key (if present). */
  remove(key: string): void {
    const entry = this.map.get(key);
    if (entry !== undefined) this.unlink(entry);
  }

  /** Forgets expired entries at the oldest end. */
  prune(now: number): void {
    while (this.oldest !== undefined && !this.isLive(this.oldest.time, now)) this.unlink(this.oldest);
  }

  /** Forgets every expired entry, wherever it is (a clock that went backwards can leave some behind). */
  sweep(now: number): void {
    for (let e = this.oldest; e !== undefined; e = e.newer) {
      if (!this.isLive(e.time, now)) this.unlink(e);
    }
  }

  clear(): void {
    this.map.clear();
    this.oldest = undefined;
    this.newest = undefined;
  }

  /** The entries as [key, recorded at], oldest first. */
  *entries(): IterableIterator<[string, number]> {
    for (let e = this.oldest; e !== undefined; e = e.newer) yield [e.key, e.time];
  }

  private unlink(entry: Entry): void {
    this.map.delete(entry.key);
    if (entry.older === undefined) this.oldest = entry.newer;
    else entry.older.newer = entry.newer;
    if (entry.newer === undefined) this.newest = entry.older;
    else entry.newer.older = entry.older;
    // entry.newer is kept, so a loop walking the list can step past a removed entry.
    entry.older = undefined;
  }
}

export function checkOptions(opts: Pick<SeenStoreOptions, "ttlMs" | "capacity">, owner: string): void {
  if (typeof opts.ttlMs !== "number" || Number.isNaN(opts.ttlMs) || opts.ttlMs <= 0) {
    throw new RangeError(`${owner}: ttlMs must be a number of milliseconds above 0, not ${opts.ttlMs}`);
  }
  if (!Number.isSafeInteger(opts.capacity) || opts.capacity < 1) {
    throw new RangeError(`${owner}: capacity must be a whole number of at least 1, not ${opts.capacity}`);
  }
}

/** Refuses a key that is not a string (a JS caller passing undefined would otherwise dedupe "undefined"). */
export function checkKey(key: unknown, owner: string): asserts key is string {
  if (typeof key !== "string") throw new TypeError(`${owner}: the key must be a string, not ${typeof key}`);
}

/** Reads the time to use for a call: the explicit `now`, else the store's clock. */
export function timeOf(now: number | undefined, clock: () => number, owner: string): number {
  const t = now === undefined ? clock() : now;
  if (typeof t !== "number" || !Number.isFinite(t)) {
    throw new TypeError(`${owner}: the time must be a finite number of milliseconds, not ${t}`);
  }
  return t;
}
