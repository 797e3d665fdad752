/**
 * The dedupe node's decision, apart from Node-RED: a primary store (memory,
 * file or Redis) with a memory fallback, many checks in flight and answers in
 * input order.
 *
 * Degrade, don't drop: when the primary store fails (a full disk, Redis
 * unreachable), the key is checked and kept in the fallback memory store, the
 * event passes as first-seen when memory has not seen it, and `onDegraded` is
 * called once; the next success of the primary calls `onRecovered` with how
 * many events passed on memory alone meanwhile ("unshared": another instance
 * may have passed them too). With `whenDown: "hold"` (an asynchronous primary
 * that reports when it is back), checks wait for the store instead, up to
 * `maxPending`; past that a check fails with a DedupeError (code
 * PENDING_LIMIT). Without hold, at most `maxPending` checks wait for the
 * primary at once; further ones are answered by memory (as during an outage).
 *
 * A key in the fallback store is a duplicate without asking the primary: so a
 * key kept in memory during an outage stays seen after it. With `mirror` every
 * key the primary answered is kept in memory as well (Redis: a copy of an
 * event arriving during an outage is still caught if this instance saw the
 * event before).
 *
 * Write-back after an outage (a primary with `writeBack`, i.e. Redis): a key
 * that passed on memory alone is also noted, with when it was first seen, so
 * that once the primary is back (its `onAvailable`, or the next check it
 * answers) the key is written to it for the rest of its TTL, and another
 * instance that then receives the same event finds it there. Decisions:
 * - Bounded: at most `maxWriteBack` (DEFAULT_MAX_WRITE_BACK) keys are noted;
 *   past that the oldest is forgotten and counted as `dropped` (it stays a
 *   duplicate here, in memory; only the other instances may pass it again).
 * - In the background: checks never wait for it; at most
 *   WRITE_BACK_CONCURRENCY writes are in flight at once.
 * - `SET NX` with the remaining TTL: a key another instance wrote meanwhile is
 *   left as it is (counted as `present`); a key whose TTL has passed is not
 *   written (`expired`).
 * - A write that fails (the primary down again) stops the run: the keys not
 *   written stay noted for the next recovery (`left`). Each run ends with one
 *   `onWrittenBack` report of the counts.
 */
import { Fifo } from "../fifo";
import { MemoryStore } from "./memory";

/** A store the Deduper can use: a SeenStore, or an asynchronous one (Redis). */
export interface PrimaryStore {
  checkAndAdd(key: string): boolean | Promise<boolean>;
  clear(): void | Promise<void>;
  /** false while the store is known to be unreachable (checks then go to memory, or wait). */
  readonly available?: boolean;
  /** Calls `listener` when the store becomes reachable again; returns a function that stops it. */
  onAvailable?(listener: () => void): () => void;
  /**
   * Records `key` for `ttlMs` more ms unless the store has it already (Redis: `SET NX PX`);
   * resolves true when it wrote it. Used to write back the keys seen during an outage.
   */
  writeBack?(key: string, ttlMs: number): Promise<boolean>;
}

/** One write-back run after an outage: what became of the keys that passed on memory alone. */
export interface WriteBackInfo {
  /** Written to the primary. */
  written: number;
  /** Already there (another instance saw the event meanwhile): left as they were. */
  present: number;
  /** Their TTL had passed: not written. */
  expired: number;
  /** Not written because the primary failed again: kept for the next recovery. */
  left: number;
  /** Forgotten during the outage because more than maxWriteBack keys were noted. */
  dropped: number;
}

export type WhenDown = "memory" | "hold";

export interface DeduperOptions {
  /** The shared or durable store; null for memory only. */
  primary: PrimaryStore | null;
  /** TTL and capacity of the fallback memory store. */
  ttlMs: number;
  capacity: number;
  /** Keep every key the primary answered in memory too (default false). */
  mirror?: boolean;
  /** What to do while the primary fails: use memory (default) or hold the checks. */
  whenDown?: WhenDown;
  /** Most checks waiting for an answer at once (default DEFAULT_MAX_PENDING). */
  maxPending?: number;
  onDegraded?: (err: Error) => void;
  onRecovered?: (info: { unshared: number; downForMs: number }) => void;
  /** Most keys noted during an outage for write-back (default DEFAULT_MAX_WRITE_BACK). */
  maxWriteBack?: number;
  /** Called once each write-back run ends. */
  onWrittenBack?: (info: WriteBackInfo) => void;
  now?: () => number;
}

/** The answer for one key. */
export interface Verdict {
  first: boolean;
  /** "store": the primary answered; "memory": the fallback did (primary failing or absent). */
  by: "store" | "memory";
}

export type DedupeErrorCode = "PENDING_LIMIT" | "CLOSED";

export class DedupeError extends Error {
  constructor(
    readonly code: DedupeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "DedupeError";
  }
}

/** Checks waiting at once before new ones go to memory (or, when holding, are refused). */
export const DEFAULT_MAX_PENDING = 10_000;

/** Keys that passed on memory alone during an outage noted for write-back, at most. */
export const DEFAULT_MAX_WRITE_BACK = 10_000;

/** Write-back writes in flight at once. */
export const WRITE_BACK_CONCURRENCY = 16;

type Deliver = (err: Error | null, verdict?: Verdict) => void;

interface Slot {
  key: string;
  deliver: Deliver;
  settled: boolean;
  err: Error | null;
  verdict: Verdict | undefined;
}

export class Deduper {
  readonly memory: MemoryStore;
  private readonly primary: PrimaryStore | null;
  private readonly mirror: boolean;
  private readonly whenDown: WhenDown;
  private readonly maxPending: number;
  private readonly clock: () => number;
  private readonly onDegradedCb: (err: Error) => void;
  private readonly onRecoveredCb: (info: { unshared: number; downForMs: number }) => void;
  /** Checks in input order; answered ones leave from the front (and are let go of). */
  private readonly queue = new Fifo<Slot>();
  /** Checks sent to an asynchronous primary and not yet answered. */
  private inFlight = 0;
  /** Checks waiting for the primary to come back (hold). */
  private held: Slot[] = [];
  private stopListening: (() => void) | undefined;
  private stopWatchingForWriteBack: (() => void) | undefined;
  private readonly ttlMs: number;
  private readonly maxWriteBack: number;
  private readonly onWrittenBackCb: (info: WriteBackInfo) => void;
  /** Keys that passed on memory alone, and when, to write to the primary when it is back (oldest first). */
  private readonly unwritten = new Map<string, number>();
  private writeBackDropped = 0;
  private writingBack = false;
  /** The primary came back while a run was under way: run again when it ends. */
  private writeBackAgain = false;
  private downSince: number | undefined;
  private closed = false;
  /** Events that passed on memory alone during the current outage / in total. */
  unsharedNow = 0;
  unsharedTotal = 0;

  constructor(opts: DeduperOptions) {
    this.memory = new MemoryStore({ ttlMs: opts.ttlMs, capacity: opts.capacity, now: opts.now });
    this.primary = opts.primary;
    this.mirror = opts.mirror ?? false;
    this.whenDown = opts.whenDown ?? "memory";
    this.maxPending = opts.maxPending ?? DEFAULT_MAX_PENDING;
    this.clock = opts.now ?? Date.now;
    this.onDegradedCb = opts.onDegraded ?? (() => {});
    this.onRecoveredCb = opts.onRecovered ?? (() => {});
    this.ttlMs = opts.ttlMs;
    this.maxWriteBack = opts.maxWriteBack ?? DEFAULT_MAX_WRITE_BACK;
    if (!Number.isSafeInteger(this.maxWriteBack) || this.maxWriteBack < 0) {
      throw new RangeError(`Deduper: maxWriteBack must be a whole number ≥ 0, not ${opts.maxWriteBack}`);
    }
    this.onWrittenBackCb = opts.onWrittenBack ?? (() => {});
    if (this.primary?.onAvailable !== undefined && this.whenDown === "hold") {
      this.stopListening = this.primary.onAvailable(() => this.release());
    }
    if (this.primary?.onAvailable !== undefined && this.primary.writeBack !== undefined) {
      this.stopWatchingForWriteBack = this.primary.onAvailable(() => this.startWriteBack());
    }
  }

  /** Keys noted during an outage and not yet written back. */
  get awaitingWriteBack(): number {
    return this.unwritten.size;
  }

  /** Whether the primary is failing (the fallback answers). */
  get degraded(): boolean {
    return this.downSince !== undefined;
  }

  /** Checks waiting for an answer. */
  get pending(): number {
    return this.queue.length;
  }

  /** Checks held until the primary is back. */
  get holding(): number {
    return this.held.length;
  }

  /**
   * Checks `key`; `deliver` is called once, in the order of check() calls
   * (synchronously when nothing is waiting and the store answers at once).
   */
  check(key: string, deliver: Deliver): void {
    if (this.closed) {
      deliver(new DedupeError("CLOSED", "the dedupe store is closed"));
      return;
    }
    const slot: Slot = { key, deliver, settled: false, err: null, verdict: undefined };
    this.queue.push(slot);
    this.run(slot);
  }

  /** Forgets every key, in memory and in the primary. */
  async clear(): Promise<void> {
    this.memory.clear();
    if (this.primary !== null) await this.primary.clear();
  }

  /** Answers the held checks with an error, stops listening. Does not close the primary. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopListening?.();
    this.stopWatchingForWriteBack?.();
    this.unwritten.clear();
    const held = this.held;
    this.held = [];
    for (const slot of held)
      this.settle(slot, new DedupeError("CLOSED", "closed while waiting for the store"));
    this.memory.close();
  }

  /** Resolves when every check in flight has been answered. */
  async drain(): Promise<void> {
    while (this.pending > this.held.length) await new Promise((r) => setTimeout(r, 5));
  }

  private run(slot: Slot): void {
    const key = slot.key;
    let known: boolean;
    try {
      known = this.memory.has(key);
    } catch (err) {
      this.settle(slot, asError(err));
      return;
    }
    if (known) {
      this.settle(slot, null, { first: false, by: "memory" });
      return;
    }
    const primary = this.primary;
    if (primary === null) {
      this.settle(slot, null, { first: this.remember(key), by: "memory" });
      return;
    }
    if (primary.available === false) {
      this.unavailable(slot, new Error("the store is unreachable"));
      return;
    }
    if (this.inFlight >= this.maxPending && !this.holds()) {
      // Too many round trips outstanding (a store that stopped answering): memory answers this one.
      this.unavailable(
        slot,
        new Error(`${this.maxPending} checks already waiting for the store (maxPending)`),
      );
      return;
    }
    let answer: boolean | Promise<boolean>;
    try {
      answer = primary.checkAndAdd(key);
    } catch (err) {
      this.unavailable(slot, asError(err));
      return;
    }
    if (typeof answer === "boolean") {
      // A synchronous store (file) proves it works again only by a write: a key it records.
      this.answered(slot, answer, answer);
      return;
    }
    this.inFlight++;
    answer.then(
      (first) => {
        this.inFlight--;
        this.answered(slot, first, true);
      },
      (err: unknown) => {
        this.inFlight--;
        this.unavailable(slot, asError(err));
      },
    );
  }

  private answered(slot: Slot, first: boolean, works: boolean): void {
    if (this.downSince !== undefined && works) {
      const info = { unshared: this.unsharedNow, downForMs: this.clock() - this.downSince };
      this.downSince = undefined;
      this.unsharedNow = 0;
      safely(() => this.onRecoveredCb(info));
      this.startWriteBack();
    }
    let verdict: Verdict = { first, by: "store" };
    if (this.mirror || this.memory.has(slot.key)) {
      // Keep it in memory; and a key memory saw meanwhile (a check in flight alongside) stays a duplicate.
      const firstHere = this.remember(slot.key);
      if (first && !firstHere) verdict = { first: false, by: "memory" };
    }
    this.settle(slot, null, verdict);
  }

  private unavailable(slot: Slot, err: Error): void {
    if (this.closed) {
      this.settle(slot, new DedupeError("CLOSED", "closed while waiting for the store"));
      return;
    }
    if (this.downSince === undefined) {
      this.downSince = this.clock();
      safely(() => this.onDegradedCb(err));
    }
    if (this.holds()) {
      if (this.held.length >= this.maxPending) {
        this.settle(
          slot,
          new DedupeError(
            "PENDING_LIMIT",
            `${this.maxPending} events already held for the store (maxPending)`,
          ),
        );
        return;
      }
      this.held.push(slot);
      return;
    }
    let first: boolean;
    try {
      first = this.remember(slot.key);
    } catch (e) {
      this.settle(slot, asError(e));
      return;
    }
    if (first) {
      this.unsharedNow++;
      this.unsharedTotal++;
      this.noteForWriteBack(slot.key);
    }
    this.settle(slot, null, { first, by: "memory" });
  }

  private noteForWriteBack(key: string): void {
    if (this.primary?.writeBack === undefined || this.maxWriteBack === 0) return;
    this.unwritten.delete(key);
    this.unwritten.set(key, this.clock());
    while (this.unwritten.size > this.maxWriteBack) {
      const oldest = this.unwritten.keys().next().value;
      if (oldest === undefined) break;
      this.unwritten.delete(oldest);
      this.writeBackDropped++;
    }
  }

  /** Writes the noted keys to the primary, in the background; one run at a time. */
  private startWriteBack(): void {
    if (this.closed || (this.unwritten.size === 0 && this.writeBackDropped === 0)) return;
    if (this.writingBack) {
      // It may be failing on the outage this recovery ends: go again once it has.
      this.writeBackAgain = true;
      return;
    }
    this.writingBack = true;
    this.writeBackAgain = false;
    void this.writeBackRun().finally(() => {
      this.writingBack = false;
      if (this.writeBackAgain) this.startWriteBack();
    });
  }

  private async writeBackRun(): Promise<void> {
    const writeBack = this.primary?.writeBack?.bind(this.primary);
    if (writeBack === undefined) return;
    const info: WriteBackInfo = { written: 0, present: 0, expired: 0, left: 0, dropped: 0 };
    let failed = false;
    while (!failed && !this.closed && this.unwritten.size > 0) {
      const now = this.clock();
      const batch: Array<[string, number]> = [];
      for (const [key, seenAt] of this.unwritten) {
        const remaining = this.ttlMs - (now - seenAt);
        if (remaining <= 0) {
          this.unwritten.delete(key);
          info.expired++;
          continue;
        }
        batch.push([key, remaining]);
        if (batch.length >= WRITE_BACK_CONCURRENCY) break;
      }
      const results = await Promise.allSettled(
        batch.map(([key, remaining]) => Promise.resolve().then(() => writeBack(key, remaining))),
      );
      for (const [i, result] of results.entries()) {
        const key = batch[i]![0];
        if (result.status === "rejected") {
          failed = true;
          continue;
        }
        this.unwritten.delete(key);
        if (result.value) info.written++;
        else info.present++;
      }
    }
    info.left = this.unwritten.size;
    info.dropped = this.writeBackDropped;
    this.writeBackDropped = 0;
    if (!this.closed) safely(() => this.onWrittenBackCb(info));
  }

  private holds(): boolean {
    return this.whenDown === "hold" && this.primary?.onAvailable !== undefined;
  }

  /** The primary is back: run the held checks again, in order. */
  private release(): void {
    const held = this.held;
    this.held = [];
    for (const slot of held) this.run(slot);
  }

  private remember(key: string): boolean {
    return this.memory.checkAndAdd(key);
  }

  private settle(slot: Slot, err: Error | null, verdict?: Verdict): void {
    slot.settled = true;
    slot.err = err;
    slot.verdict = verdict;
    // Deliver from the front, in order, every check that has its answer.
    for (let next = this.queue.at(0); next?.settled === true; next = this.queue.at(0)) {
      this.queue.shift();
      const { deliver, err, verdict } = next;
      safely(() => deliver(err, verdict));
    }
  }
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // a listener's failure must not break the order of the other answers
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
