/**
 * A SeenStore in memory: LRU by first-seen order (a duplicate refreshes
 * nothing), TTL expiry both lazily on lookup and by pruning the oldest
 * entries on every write. O(1) amortised per call; lost on restart.
 */
import { checkKey, SeenIndex, timeOf } from "./seen-index";
import type { SeenStore, SeenStoreOptions } from "./store";

export type MemoryStoreOptions = SeenStoreOptions;

export class MemoryStore implements SeenStore {
  private readonly index: SeenIndex;
  private readonly clock: () => number;
  private closed = false;

  constructor(opts: MemoryStoreOptions) {
    this.index = new SeenIndex(opts, "MemoryStore");
    this.clock = opts.now ?? Date.now;
  }

  checkAndAdd(key: string, now?: number): boolean {
    const t = this.time(now);
    checkKey(key, "MemoryStore");
    if (this.index.lookup(key, t)) return false;
    this.index.record(key, t);
    this.index.prune(t);
    return true;
  }

  has(key: string, now?: number): boolean {
    const t = this.time(now);
    checkKey(key, "MemoryStore");
    return this.index.lookup(key, t);
  }

  clear(): void {
    this.index.clear();
  }

  get size(): number {
    if (!this.closed) this.index.prune(timeOf(undefined, this.clock, "MemoryStore"));
    return this.index.size;
  }

  close(): void {
    this.closed = true;
    this.index.clear();
  }

  private time(now: number | undefined): number {
    if (this.closed) throw new Error("MemoryStore: the store is closed");
    return timeOf(now, this.clock, "MemoryStore");
  }
}
