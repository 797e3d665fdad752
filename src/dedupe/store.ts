/**
 * A set of keys seen recently, for the dedupe node: an event passes only the
 * first time its key is seen within `ttlMs`.
 *
 * Times are milliseconds from the store's clock (Date.now unless injected);
 * a call may pass `now` to override it. An entry recorded at time t is seen
 * while now - t < ttlMs. Over `capacity`, the entries recorded longest ago
 * are forgotten first.
 */
export interface SeenStore {
  /** true when first seen (and records it); false for a duplicate (refreshes nothing). */
  checkAndAdd(key: string, now?: number): boolean;
  /** Whether the key is currently seen; records nothing. */
  has(key: string, now?: number): boolean;
  /** Forgets every key. */
  clear(): void;
  /** Number of keys currently held (expired ones may count until pruned). */
  readonly size: number;
  /** Releases resources; the store cannot be used afterwards. Idempotent. */
  close(): void;
}

export interface SeenStoreOptions {
  /** How long a key stays seen, in ms (> 0; Infinity for ever). */
  ttlMs: number;
  /** Most keys kept (a positive whole number). */
  capacity: number;
  /** Clock in ms; Date.now by default. */
  now?: () => number;
}
