/**
 * A bound on sends: at most `maxInFlight` running at once, at most
 * `maxWaiting` more waiting their turn, in order. One more is refused at once
 * with VOEventError LIMIT naming the limit, so a burst while the receiver is
 * down holds a bounded number of sockets and payloads, and the caller reports
 * the overflow (the sender node: done(err)).
 */
import { VOEventError } from "../errors";

export const SEND_QUEUE_DEFAULTS = { maxInFlight: 16, maxWaiting: 100 } as const;

export interface SendQueueOptions {
  /** Sends running at once. Default 16. */
  maxInFlight?: number;
  /** Sends waiting for a free slot; more are refused. Default 100. */
  maxWaiting?: number;
}

interface Waiting {
  start: () => void;
  reject: (err: Error) => void;
}

export class SendQueue {
  readonly maxInFlight: number;
  readonly maxWaiting: number;
  private running = 0;
  private readonly queue: Waiting[] = [];

  /** Throws RangeError for a limit that is not a whole number (≥ 1 in flight, ≥ 0 waiting). */
  constructor(options: SendQueueOptions = {}) {
    this.maxInFlight = options.maxInFlight ?? SEND_QUEUE_DEFAULTS.maxInFlight;
    this.maxWaiting = options.maxWaiting ?? SEND_QUEUE_DEFAULTS.maxWaiting;
    if (!Number.isSafeInteger(this.maxInFlight) || this.maxInFlight < 1) {
      throw new RangeError(`SendQueue: maxInFlight must be a whole number ≥ 1, not ${this.maxInFlight}`);
    }
    if (!Number.isSafeInteger(this.maxWaiting) || this.maxWaiting < 0) {
      throw new RangeError(`SendQueue: maxWaiting must be a whole number ≥ 0, not ${this.maxWaiting}`);
    }
  }

  get inFlight(): number {
    return this.running;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Runs `task` when a slot is free. Rejects at once with VOEventError LIMIT
   * when `maxWaiting` sends already wait; otherwise settles as the task does.
   */
  run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running < this.maxInFlight) return this.start(task);
    if (this.queue.length >= this.maxWaiting) {
      return Promise.reject(
        new VOEventError(
          "LIMIT",
          `too many sends: ${this.running} in flight and ${this.queue.length} waiting (limit maxWaiting = ${this.maxWaiting}); this one was not sent`,
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ start: () => this.start(task).then(resolve, reject), reject });
    });
  }

  /** Refuses every waiting send with `err` (those in flight carry on). */
  clear(err: Error): void {
    const waiting = this.queue.splice(0);
    for (const w of waiting) w.reject(err);
  }

  private start<T>(task: () => Promise<T>): Promise<T> {
    this.running++;
    let p: Promise<T>;
    try {
      p = task();
    } catch (err) {
      p = Promise.reject(err);
    }
    return p.finally(() => {
      this.running--;
      this.queue.shift()?.start();
    });
  }
}
