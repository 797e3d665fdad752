/**
 * The receiver's backlog: events it has acked and handed on that whoever took them (the flow
 * behind a voevent-receiver node) has not finished yet, counted so that the receiver can stop
 * reading from authors while too many are unfinished. TCP then slows the authors down (their
 * sends wait on full socket buffers, their acks come later): nothing is dropped and nothing is
 * naked, and the memory the unfinished events hold is bounded.
 *
 * Decisions:
 * - The measure is events, not bytes or event-loop delay: what a slow flow holds is messages
 *   (each with its parsed tree, ~10–20 times the packet's bytes), and a flow that waits on a
 *   slow service holds them without delaying the event loop at all.
 * - `maxBacklog` (100) for all authors together; reading stops at the bound and starts again
 *   at half of it (hysteresis, so that authors are not paused and resumed on every event).
 *   100, not more: a flow that keeps up needs only a few events in hand, and one that falls
 *   behind at full speed (a persistent author faster than the flow) held up to the bound, each
 *   event with its tree, long enough for the garbage collector to copy them all to its old
 *   generation: measured with one persistent author and one subscriber (bench/flow.ts
 *   --max-backlog), 100 against 1000 took CPU per event from 500–550 µs to 230–300 µs and the
 *   rate from ~2,600 to ~3,700–4,800 events/s.
 * - Fairness: one author address may hold at most half of the bound (`maxBacklog / 2`, at
 *   least 1); an address at its share is paused alone, down to a quarter, so that one flooding
 *   author is slowed before the others are and the other half stays free for the rest. When the
 *   shared bound is reached every author is paused, each resuming at half the bound.
 * - `backlogTimeoutMs` (60 s): an event still unfinished after this long stops counting (and is
 *   reported as expired). A flow whose nodes never report that they are done with a message
 *   would otherwise stop the receiver for good; with it, the receiver goes on, slowly.
 * - `maxBacklog` 0 turns the bound off (events are still counted).
 */

export const BACKLOG_DEFAULTS = {
  /** Events handed on and not yet finished, all authors together, above which reading stops. */
  maxBacklog: 100,
  /** An unfinished event stops counting after this long, ms. */
  backlogTimeoutMs: 60_000,
} as const;

export interface BacklogOptions {
  maxBacklog: number;
  backlogTimeoutMs: number;
}

/** Call once the event is finished with; later calls do nothing. */
export type Finish = () => void;

/** A change of who may be read from. */
export interface BacklogChange {
  /** All authors paused (true) or reading again (false); absent when only one author changed. */
  paused?: boolean;
  /** The author address that was paused or resumed alone. */
  author?: string;
  authorPaused?: boolean;
  /** Events unfinished now. */
  pending: number;
  /** Events that stopped counting because they stayed unfinished past backlogTimeoutMs. */
  expired?: number;
}

interface Entry {
  author: string;
  at: number;
}

export class Backlog {
  readonly maxBacklog: number;
  readonly backlogTimeoutMs: number;
  private readonly entries = new Map<number, Entry>();
  private readonly perAuthor = new Map<string, number>();
  private readonly pausedAuthors = new Set<string>();
  private nextId = 0;
  private full = false;
  private timer: NodeJS.Timeout | null = null;

  /** Throws RangeError for an option out of range; `onChange` must not throw (it is called as is). */
  constructor(
    options: BacklogOptions,
    private readonly onChange: (change: BacklogChange) => void,
  ) {
    if (!Number.isInteger(options.maxBacklog) || options.maxBacklog < 0)
      throw new RangeError(
        `VTPReceiver: maxBacklog must be a whole number ≥ 0 (0 = no bound), not ${options.maxBacklog}`,
      );
    if (
      !Number.isFinite(options.backlogTimeoutMs) ||
      options.backlogTimeoutMs < 1 ||
      options.backlogTimeoutMs > 2 ** 31 - 1
    )
      throw new RangeError(
        `VTPReceiver: backlogTimeoutMs must be a number of ms from 1 to ${2 ** 31 - 1}, not ${options.backlogTimeoutMs}`,
      );
    this.maxBacklog = options.maxBacklog;
    this.backlogTimeoutMs = options.backlogTimeoutMs;
  }

  /** Events unfinished now. */
  get pending(): number {
    return this.entries.size;
  }

  /** Events unfinished from one author address. */
  pendingFrom(author: string): number {
    return this.perAuthor.get(author) ?? 0;
  }

  /** Whether reading from this author address must wait. */
  holds(author: string): boolean {
    return this.full || this.pausedAuthors.has(author);
  }

  /** Whether every author is paused (the shared bound was reached). */
  get paused(): boolean {
    return this.full;
  }

  /** Counts one more unfinished event from `author`; the returned Finish takes it off. */
  add(author: string): Finish {
    const id = this.nextId++;
    this.entries.set(id, { author, at: Date.now() });
    const n = (this.perAuthor.get(author) ?? 0) + 1;
    this.perAuthor.set(author, n);
    if (this.timer === null) this.arm(this.backlogTimeoutMs);
    const max = this.maxBacklog;
    if (max > 0) {
      if (!this.full && this.entries.size >= max) {
        this.full = true;
        this.onChange({ paused: true, pending: this.entries.size });
      } else if (!this.pausedAuthors.has(author) && n >= this.share) {
        this.pausedAuthors.add(author);
        this.onChange({ author, authorPaused: true, pending: this.entries.size });
      }
    }
    let finished = false;
    return () => {
      if (finished) return;
      finished = true;
      if (this.entries.delete(id)) this.settled(author);
    };
  }

  /** Stops the expiry timer (the receiver is closing). */
  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** One author's share of the bound: half of it, at least 1. */
  private get share(): number {
    return Math.max(1, Math.floor(this.maxBacklog / 2));
  }

  private settled(author: string): void {
    const n = (this.perAuthor.get(author) ?? 1) - 1;
    if (n <= 0) this.perAuthor.delete(author);
    else this.perAuthor.set(author, n);
    if (this.full && this.entries.size <= Math.floor(this.maxBacklog / 2)) {
      this.full = false;
      this.onChange({ paused: false, pending: this.entries.size });
    }
    if (this.pausedAuthors.has(author) && n <= Math.floor(this.share / 2)) {
      this.pausedAuthors.delete(author);
      this.onChange({ author, authorPaused: false, pending: this.entries.size });
    }
  }

  /** The expiry timer is left to run out when the backlog empties (no timer per event). */
  private arm(ms: number): void {
    this.timer = setTimeout(() => this.expire(), Math.max(1, ms));
    this.timer.unref();
  }

  /** Takes off the events unfinished for longer than backlogTimeoutMs (oldest first: Map order). */
  private expire(): void {
    this.timer = null;
    const limit = Date.now() - this.backlogTimeoutMs;
    let expired = 0;
    for (const [id, entry] of this.entries) {
      if (entry.at > limit) break;
      this.entries.delete(id);
      expired++;
      this.settled(entry.author);
    }
    const oldest = this.entries.values().next();
    if (!oldest.done && this.timer === null) this.arm(oldest.value.at + this.backlogTimeoutMs - Date.now());
    if (expired > 0) this.onChange({ pending: this.entries.size, expired });
  }
}
