/**
 * The archive node's path to its store: `enqueue(record)` returns at once; records are written in
 * batches, one transaction each, off the message path; a store that is down or full is retried
 * while the pending queue holds what its bound allows.
 *
 * Decisions:
 * - A batch starts when `batchSize` records wait or `batchDelayMs` after the first; one batch is
 *   written at a time, so batches (and ids) keep arrival order. A batch takes everything pending
 *   up to `maxBatchSize` records and `maxBatchBytes` of packets (at least one record): under load
 *   the queue grows while a batch is written and the next transaction is larger, which costs the
 *   store less per record (a random index page changed by many records is written once).
 * - After a write, records it could not take are written at once; what arrived meanwhile waits
 *   as above (batchSize records, or batchDelayMs from when that write started). Starting the next
 *   write at once had made, at a steady rate, one transaction (and commit) per few records, each
 *   write as short as the last (test/archive/writer.test.ts: at 500 records/s, batches of 143,
 *   14, 2, 2, 1, 2, …).
 * - Pending is bounded (`maxPending`): a record that finds it full is dropped and counted
 *   (`dropped`), never blocking the flow. The node shows it; the log says it once per outage.
 * - A batch that fails with UNAVAILABLE or TIMEOUT (server down, disk full, time budget) stays at
 *   the head of the queue and is retried after `retryMinMs`, doubling to `retryMaxMs`. Any other
 *   failure is a record the store refuses: the batch is dropped and counted, and the error emitted.
 * - Retention (`maxAge`, `maxEvents`) is applied every `pruneIntervalMs` (and once at start).
 * - `close()` stops taking records and flushes within `closeDeadlineMs`; what is still pending
 *   then is counted dropped. It does not close the store (the config node owns it).
 * - Nothing throws out of a timer: failures become `error` events and the state.
 *
 * Events: `state` (WriterState), `written` (ivorns stored in a batch, and duplicates),
 * `error` (ArchiveError or Error; only when a listener is attached), `dropped` (count).
 */
import { EventEmitter } from "node:events";
import { Fifo } from "../fifo";
import { ARCHIVE_LIMITS } from "./limits";
import { xmlByteLength } from "./packed";
import { ArchiveError, type ArchiveRecord, type ArchiveStore, type RetentionPolicy } from "./types";

export type WriterState = "idle" | "writing" | "retrying" | "closed";

export interface WriterCounters {
  stored: number;
  duplicates: number;
  pending: number;
  dropped: number;
  pruned: number;
}

export interface WriterOptions {
  maxPending?: number;
  batchSize?: number;
  maxBatchSize?: number;
  maxBatchBytes?: number;
  batchDelayMs?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  pruneIntervalMs?: number;
  closeDeadlineMs?: number;
  /** Retention; absent or zeros keep everything. */
  retention?: RetentionPolicy;
}

function retryable(err: unknown): boolean {
  return err instanceof ArchiveError && (err.code === "UNAVAILABLE" || err.code === "TIMEOUT");
}

export class ArchiveWriter extends EventEmitter {
  /** Records not yet written, oldest first (a written one is let go of at once). */
  private readonly queue = new Fifo<ArchiveRecord>();
  private readonly opts: Required<Omit<WriterOptions, "retention">>;
  private readonly retention: RetentionPolicy;
  private timer: NodeJS.Timeout | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  private running = false;
  private pruning = false;
  private failures = 0;
  private closing = false;
  private drained: Array<() => void> = [];
  private _state: WriterState = "idle";
  /** The last write failure (null once a write succeeds). */
  lastError: Error | null = null;
  readonly counters: WriterCounters = { stored: 0, duplicates: 0, pending: 0, dropped: 0, pruned: 0 };

  constructor(
    private readonly store: ArchiveStore,
    options: WriterOptions = {},
  ) {
    super();
    this.opts = {
      maxPending: options.maxPending ?? ARCHIVE_LIMITS.maxPending,
      batchSize: options.batchSize ?? ARCHIVE_LIMITS.batchSize,
      maxBatchSize: Math.max(
        options.batchSize ?? ARCHIVE_LIMITS.batchSize,
        options.maxBatchSize ?? ARCHIVE_LIMITS.maxBatchSize,
      ),
      maxBatchBytes: options.maxBatchBytes ?? ARCHIVE_LIMITS.maxBatchBytes,
      batchDelayMs: options.batchDelayMs ?? ARCHIVE_LIMITS.batchDelayMs,
      retryMinMs: options.retryMinMs ?? ARCHIVE_LIMITS.retryMinMs,
      retryMaxMs: options.retryMaxMs ?? ARCHIVE_LIMITS.retryMaxMs,
      pruneIntervalMs: options.pruneIntervalMs ?? ARCHIVE_LIMITS.pruneIntervalMs,
      closeDeadlineMs: options.closeDeadlineMs ?? ARCHIVE_LIMITS.closeDeadlineMs,
    };
    this.retention = options.retention ?? { maxAge: 0, maxEvents: 0 };
    if (this.retention.maxAge > 0 || this.retention.maxEvents > 0) {
      this.pruneTimer = setInterval(() => this.prune(), this.opts.pruneIntervalMs);
      this.pruneTimer.unref();
      setImmediate(() => this.prune());
    }
  }

  get state(): WriterState {
    return this._state;
  }

  private setState(s: WriterState): void {
    if (this._state === s) return;
    this._state = s;
    this.emit("state", s);
  }

  private fail(err: Error): void {
    this.lastError = err;
    if (this.listenerCount("error") > 0) this.emit("error", err);
  }

  /** Queues a record; false (and counted dropped) when the queue is full or the writer closed. */
  enqueue(record: ArchiveRecord): boolean {
    if (this.closing || this.counters.pending >= this.opts.maxPending) {
      this.counters.dropped++;
      this.emit("dropped", 1);
      return false;
    }
    this.queue.push(record);
    this.counters.pending++;
    // A full batch is written now, though the first of it set a longer wait (not a retry's wait:
    // while retrying the state says so, and the failed batch waits at the head of the queue).
    if (
      this.counters.pending === this.opts.batchSize &&
      this.timer !== null &&
      !this.running &&
      this._state !== "retrying"
    ) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.schedule();
    return true;
  }

  private schedule(delay?: number): void {
    if (this.running || this.timer !== null || this.counters.pending === 0) return;
    const wait = delay ?? (this.counters.pending >= this.opts.batchSize ? 0 : this.opts.batchDelayMs);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.writeBatch();
    }, wait);
  }

  private async writeBatch(): Promise<void> {
    if (this.running || this.counters.pending === 0) return;
    this.running = true;
    const startedAt = Date.now();
    const batch = this.queue.slice(0, this.batchEnd());
    // Records the batch could not take (maxBatchSize, maxBatchBytes) are written next, at once.
    const leftBehind = this.counters.pending > batch.length;
    this.inFlight = batch.length;
    if (this._state !== "retrying") this.setState("writing");
    let retryIn: number | undefined;
    try {
      const result = await this.store.insertBatch(batch);
      this.take(batch.length);
      this.counters.stored += result.stored;
      this.counters.duplicates += result.duplicates;
      this.failures = 0;
      this.lastError = null;
      this.emit("written", { ivorns: batch.map((r) => r.ivorn), ...result });
      this.setState("writing");
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      if (retryable(e) && !(this.closing && this.closeExpired)) {
        this.failures++;
        retryIn = Math.min(this.opts.retryMaxMs, this.opts.retryMinMs * 2 ** Math.min(this.failures - 1, 20));
        this.setState("retrying");
      } else {
        this.take(batch.length);
        this.counters.dropped += batch.length;
        this.emit("dropped", batch.length);
      }
      this.fail(e);
    } finally {
      this.running = false;
      this.inFlight = 0;
    }
    if (this.counters.pending === 0) {
      if (this._state !== "retrying") this.setState("idle");
      for (const f of this.drained.splice(0)) f();
      return;
    }
    if (this.closeExpired) return;
    if (retryIn !== undefined) this.schedule(retryIn);
    else if (leftBehind || this.closing || this.counters.pending >= this.opts.batchSize) this.schedule(0);
    // What arrived while this batch was written came after it started: it waits out batchDelayMs
    // from then for more to join it (a new transaction for every few records that arrived during
    // the last one cost the store a commit per few records).
    else this.schedule(Math.max(0, this.opts.batchDelayMs - (Date.now() - startedAt)));
  }

  /** Where the next batch ends: maxBatchSize records, maxBatchBytes of packets, at least one. */
  private batchEnd(): number {
    const last = Math.min(this.queue.length, this.opts.maxBatchSize);
    let end = 1;
    let bytes = xmlByteLength(this.at(0).xml);
    while (end < last) {
      bytes += xmlByteLength(this.at(end).xml);
      if (bytes > this.opts.maxBatchBytes) break;
      end++;
    }
    return end;
  }

  /** Removes n records from the head of the queue. */
  private take(n: number): void {
    this.queue.drop(n);
    this.counters.pending -= n;
  }

  /** The record i places from the front of the queue (the caller knows it is there). */
  private at(i: number): ArchiveRecord {
    const record = this.queue.at(i);
    if (record === undefined)
      throw new Error(`ArchiveWriter: no record ${i} in a queue of ${this.queue.length}`);
    return record;
  }

  private prune(): void {
    if (this.pruning || this.closing) return;
    this.pruning = true;
    this.store
      .prune(this.retention)
      .then((n) => {
        this.counters.pruned += n;
      })
      .catch((err: unknown) => this.fail(err instanceof Error ? err : new Error(String(err))))
      .finally(() => {
        this.pruning = false;
      });
  }

  private closeExpired = false;
  private inFlight = 0;

  /** Stops taking records and flushes what is pending within `closeDeadlineMs` (the rest is dropped). */
  async close(): Promise<void> {
    if (this._state === "closed") return;
    this.closing = true;
    if (this.pruneTimer !== null) clearInterval(this.pruneTimer);
    this.pruneTimer = null;
    if (this.counters.pending > 0) {
      // Flush now rather than after a retry wait.
      if (this.timer !== null) {
        clearTimeout(this.timer);
        this.timer = null;
        void this.writeBatch();
      }
      let deadline: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.drained.push(resolve)),
        new Promise<void>((resolve) => {
          deadline = setTimeout(resolve, this.opts.closeDeadlineMs);
        }),
      ]);
      clearTimeout(deadline);
    }
    this.closeExpired = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    // A batch still being written settles by itself (stored, or dropped if it fails now).
    const left = this.counters.pending - this.inFlight;
    if (left > 0) {
      this.queue.truncate(this.inFlight);
      this.counters.pending -= left;
      this.counters.dropped += left;
      this.emit("dropped", left);
    }
    this.setState("closed");
  }
}
