/**
 * The archive's batching writer: records are queued at once (the message path never waits for the
 * database) and written in transactions of up to `batchSize` (`insertBatch`), a batch starting as
 * soon as one is full or `batchDelayMs` after its first record. Counters: stored, duplicates,
 * pending (queued or being written), dropped.
 *
 * Decisions:
 * - The queue is bounded (`maxPending` records and `maxPendingBytes` of XML): a record that does
 *   not fit is dropped and counted, never held without bound.
 * - A batch that fails (database down, disk full, time budget) goes back to the front of the queue
 *   and is tried again after a wait that doubles from `retryMinMs` to `retryMaxMs`; `onError` is
 *   told each failure and `onRecovered` the first success after failures. The order of records
 *   is kept.
 * - close() stops taking records and flushes for at most `closeDeadlineMs`; what is left is
 *   counted as dropped. Nothing throws out of a timer.
 * - Limits default to ARCHIVE_LIMITS (limits.ts).
 */
import { ARCHIVE_LIMITS } from "./limits";
import type { ArchiveRecord, ArchiveStore } from "./types";

export interface WriterCounters {
  stored: number;
  duplicates: number;
  pending: number;
  dropped: number;
}

export interface ArchiveWriterOptions {
  maxPending?: number;
  /** Most bytes of XML waiting; default 64 MiB. */
  maxPendingBytes?: number;
  batchSize?: number;
  batchDelayMs?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  closeDeadlineMs?: number;
  onError?: (err: Error) => void;
  onRecovered?: () => void;
}

export const WRITER_DEFAULTS = { maxPendingBytes: 64 * 1024 * 1024 } as const;

export class ArchiveWriter {
  private queue: ArchiveRecord[] = [];
  private queuedBytes = 0;
  private inFlight = 0;
  private stored = 0;
  private duplicates = 0;
  private dropped = 0;
  private timer: NodeJS.Timeout | undefined;
  private writing = false;
  private failing = false;
  private retryMs: number;
  private closed = false;
  private readonly o: Required<Omit<ArchiveWriterOptions, "onError" | "onRecovered">>;

  constructor(
    private readonly store: () => Promise<ArchiveStore>,
    private readonly options: ArchiveWriterOptions = {},
  ) {
    this.o = {
      maxPending: options.maxPending ?? ARCHIVE_LIMITS.maxPending,
      maxPendingBytes: options.maxPendingBytes ?? WRITER_DEFAULTS.maxPendingBytes,
      batchSize: options.batchSize ?? ARCHIVE_LIMITS.batchSize,
      batchDelayMs: options.batchDelayMs ?? ARCHIVE_LIMITS.batchDelayMs,
      retryMinMs: options.retryMinMs ?? ARCHIVE_LIMITS.retryMinMs,
      retryMaxMs: options.retryMaxMs ?? ARCHIVE_LIMITS.retryMaxMs,
      closeDeadlineMs: options.closeDeadlineMs ?? ARCHIVE_LIMITS.closeDeadlineMs,
    };
    this.retryMs = this.o.retryMinMs;
  }

  get counters(): WriterCounters {
    return {
      stored: this.stored,
      duplicates: this.duplicates,
      pending: this.queue.length + this.inFlight,
      dropped: this.dropped,
    };
  }

  /** Queues a record; false when it was dropped (queue full or writer closed). */
  add(record: ArchiveRecord): boolean {
    const pending = this.queue.length + this.inFlight;
    if (
      this.closed ||
      pending >= this.o.maxPending ||
      this.queuedBytes + record.xml.length > this.o.maxPendingBytes
    ) {
      this.dropped++;
      return false;
    }
    this.queue.push(record);
    this.queuedBytes += record.xml.length;
    if (!this.writing && !this.failing)
      this.schedule(this.queue.length >= this.o.batchSize ? 0 : this.o.batchDelayMs);
    return true;
  }

  private schedule(ms: number): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flushOnce();
    }, ms);
  }

  /** Writes one batch; schedules the next (or a retry). Never rejects. */
  private async flushOnce(): Promise<boolean> {
    if (this.writing || this.queue.length === 0) return true;
    this.writing = true;
    const batch = this.queue.splice(0, this.o.batchSize);
    this.inFlight = batch.length;
    let ok = false;
    try {
      const store = await this.store();
      const result = await store.insertBatch(batch);
      this.stored += result.stored;
      this.duplicates += result.duplicates;
      for (const r of batch) this.queuedBytes -= r.xml.length;
      ok = true;
      this.retryMs = this.o.retryMinMs;
      if (this.failing) {
        this.failing = false;
        this.safe(() => this.options.onRecovered?.());
      }
    } catch (err) {
      this.queue.unshift(...batch);
      this.failing = true;
      this.safe(() => this.options.onError?.(err instanceof Error ? err : new Error(String(err))));
    } finally {
      this.inFlight = 0;
      this.writing = false;
    }
    if (this.closed) return ok;
    if (!ok) {
      const wait = this.retryMs;
      this.retryMs = Math.min(this.o.retryMaxMs, this.retryMs * 2);
      this.schedule(wait);
    } else if (this.queue.length > 0) {
      this.schedule(this.queue.length >= this.o.batchSize ? 0 : this.o.batchDelayMs);
    }
    return ok;
  }

  private safe(f: () => void): void {
    try {
      f();
    } catch {
      // a listener's failure is not the writer's
    }
  }

  /** Stops taking records, writes what it can within closeDeadlineMs, counts the rest as dropped. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const deadline = Date.now() + this.o.closeDeadlineMs;
    while (this.writing && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    while (this.queue.length > 0 && Date.now() < deadline) {
      const flushing = this.flushOnce();
      const left = Math.max(0, deadline - Date.now());
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        flushing,
        new Promise<"late">((r) => {
          timer = setTimeout(() => r("late"), left);
        }),
      ]).finally(() => clearTimeout(timer));
      if (outcome !== true) break;
    }
    this.dropped += this.queue.length + this.inFlight;
    this.queue = [];
    this.queuedBytes = 0;
  }
}
