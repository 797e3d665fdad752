/**
 * One event's filtering, all subscribers together: the broadcaster (./broadcaster.ts) hands
 * each event with filtered subscribers to a FilterRuns queue, which decides which of them get
 * it, within a bound on the whole event, not only on each subscriber (./subscriber-filters.ts).
 *
 * Decisions (limits and defaults in EVENT_FILTER_DEFAULTS, documented in the README's "Running
 * a public broker safely" and the broadcaster's help):
 * - One budget per event: all subscribers' filters together may use `eventFilterBudget` units
 *   of work (the XPath budget's units, about node visits) on one event. 1,000 subscribers each
 *   holding a filter that uses its whole `xpathBudget` would otherwise cost 1,000 times a few
 *   milliseconds, seconds per event.
 * - Shared fairly, cheapest first: the subscribers are evaluated in the order of what their
 *   filters cost on the previous event (new ones first, in the order they connected), and
 *   each gets at most an equal share of what is left (and never more than its own
 *   `xpathBudget`). Ordinary filters use a few hundred units and leave most of their share
 *   to those after them; the costliest come last and get what remains. A subscriber cut short
 *   by its share counts as over budget, like one over its own budget: no event, and dropped
 *   after `maxBudgetOverruns` events in a row. So hostile filters, however many, cost each
 *   event at most `eventFilterBudget` units and are soon dropped, and honest subscribers keep
 *   getting every event.
 * - Two passes: in the first, each subscriber may use at most FIRST_PASS_UNITS (2,000: an
 *   ordinary filter on a real packet uses tens to hundreds), so that every ordinary filter has
 *   been evaluated, and its subscriber sent the event, before the costly ones use their
 *   shares, whatever the order (new subscribers have no cost yet). Those cut short only by
 *   that limit are evaluated again, from the start, in the second pass, with what is left
 *   shared among them; the first attempt is charged to the event too.
 * - Work the XPath budget does not see is charged to the event: each filter evaluated costs
 *   FILTER_CALL_UNITS, each evaluation stopped by its budget OVERRUN_UNITS more (the error
 *   it builds; ./subscriber-filters.ts; measured beside the engine's worst cases, about
 *   20 ns a unit).
 * - In slices: one turn of the event loop evaluates filters for at most `filterSliceMs` (and
 *   then at most one subscriber's share more); the rest of the event's subscribers are
 *   evaluated after a pause as long (a timer, not setImmediate: a request to the runtime
 *   that needs several turns of the loop, as the admin API's do, would otherwise wait a
 *   slice at each), so that the runtime (its admin API, other flows, the acks) gets at least
 *   half of the loop while filtering goes on. broadcast() returns how many subscribers the
 *   event was sent to at once; when the filtering went on later, a `filter-run` event says
 *   what the whole event came to.
 * - Dropped a few at a time: subscribers dropped for their filters are disconnected at most
 *   DROPS_PER_TURN (25) per turn of the event loop (PacedDrops), and get nothing meanwhile, so
 *   that a crowd dropped at once (each with its warning, log line and closed socket) does not
 *   hold the runtime either.
 * - In order: events are filtered one after the other, so each subscriber gets them in the
 *   order they were broadcast. At most `maxFilterBacklog` events wait to be filtered; an event
 *   beyond that reaches no filtered subscriber (and is reported): filtering that cannot keep
 *   up must not grow memory without bound.
 */
import { performance } from "node:perf_hooks";
import { wholeLimits } from "../filter/limits";
import type { XDocument } from "../xml/types";
import type { FilterVerdict, SubscriberFilters } from "./subscriber-filters";

export interface EventFilterLimits {
  /** Units of work all subscribers' filters may use on one event together. */
  eventFilterBudget: number;
  /** Longest one turn of the event loop spends evaluating filters, ms. */
  filterSliceMs: number;
  /** Events waiting to be filtered at most; more reach no filtered subscriber. */
  maxFilterBacklog: number;
}

/** Units each subscriber may use in an event's first pass (see the Decisions above). */
export const FIRST_PASS_UNITS = 2000;

export const EVENT_FILTER_DEFAULTS: Readonly<EventFilterLimits> = {
  eventFilterBudget: 4_000_000,
  filterSliceMs: 20,
  maxFilterBacklog: 100,
};

/** The limits with defaults filled in; RangeError naming the limit for a value that is not a whole number ≥ 1. */
export function eventFilterLimits(given: Partial<EventFilterLimits> | undefined): EventFilterLimits {
  return wholeLimits(EVENT_FILTER_DEFAULTS, given);
}

/** A subscriber as the queue sees it. */
export interface FilterTarget {
  readonly filters: SubscriberFilters;
  /** Its connection: a closed one is skipped. */
  readonly conn: { readonly closed: boolean };
}

/** What one event's filtering came to, when it went on after broadcast() returned. */
export interface FilterRunReport {
  /** Filtered subscribers the event was sent to, in all. */
  sent: number;
  /** Filtered subscribers evaluated. */
  evaluated: number;
  /** Units of work used, of eventFilterBudget. */
  units: number;
  /** Turns of the event loop it took. */
  slices: number;
}

interface Job<T extends FilterTarget> {
  readonly doc: XDocument;
  readonly frame: Buffer;
  /** Filtered subscribers of the event. */
  readonly total: number;
  /** The subscribers of this pass, in order. */
  targets: T[];
  /** First pass, or second (those the first cut short). */
  pass: 1 | 2;
  /** Cut short in the first pass: evaluated again in the second. */
  retry: T[];
  next: number;
  left: number;
  sent: number;
  slices: number;
}

export interface FilterRunHooks<T extends FilterTarget> {
  /** The verdict for one subscriber (report, drop); returns whether it must be sent the event. */
  verdict(target: T, verdict: FilterVerdict): boolean;
  /** Sends the event's frame to `target`; returns whether it was sent. */
  deliver(target: T, frame: Buffer): boolean;
  /** The event's filtering finished after broadcast() returned. */
  finished(report: FilterRunReport): void;
  /** An event could not be queued (backlog full). */
  refused(message: string): void;
  /** Something unexpected went wrong in a later turn. */
  failed(err: unknown): void;
}

export class FilterRuns<T extends FilterTarget> {
  private readonly jobs: Job<T>[] = [];
  /** The pause before the next slice, while events wait. */
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** The job add() is running at once: if it finishes then, broadcast() reports it. */
  private adding: Job<T> | null = null;

  constructor(
    private readonly limits: EventFilterLimits,
    private readonly hooks: FilterRunHooks<T>,
  ) {}

  /** Events waiting to be filtered (the one in progress included). */
  get backlog(): number {
    return this.jobs.length;
  }

  /**
   * Queues one event for `targets` (its filtered subscribers) and, when nothing is waiting
   * before it, evaluates as much as one slice allows at once. Returns how many were sent the
   * event (`frame`) at once.
   */
  add(doc: XDocument, frame: Buffer, targets: T[]): number {
    if (this.stopped || targets.length === 0) return 0;
    if (this.jobs.length >= this.limits.maxFilterBacklog) {
      this.hooks.refused(
        `an event reached none of the ${targets.length} filtered subscribers: ${this.jobs.length} events are waiting to be filtered (limit maxFilterBacklog ${this.limits.maxFilterBacklog})`,
      );
      return 0;
    }
    // Cheapest first (stable: new subscribers, cost 0, in the order they connected).
    targets.sort((a, b) => a.filters.lastCost - b.filters.lastCost);
    const job: Job<T> = {
      doc,
      frame,
      total: targets.length,
      targets,
      pass: 1,
      retry: [],
      next: 0,
      left: this.limits.eventFilterBudget,
      sent: 0,
      slices: 0,
    };
    this.jobs.push(job);
    if (this.jobs.length > 1) return 0;
    this.adding = job;
    try {
      this.run();
    } finally {
      this.adding = null;
    }
    return job.sent;
  }

  /** Drops every waiting event; nothing runs after this. */
  stop(): void {
    this.stopped = true;
    this.jobs.length = 0;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private readonly resume = (): void => {
    this.timer = null;
    try {
      this.run();
    } catch (err) {
      this.hooks.failed(err);
    }
  };

  /**
   * Runs jobs for one slice. A job finished in the turn it was added in is not reported:
   * broadcast() returns its count.
   */
  private run(): void {
    const deadline = performance.now() + this.limits.filterSliceMs;
    try {
      while (this.jobs.length > 0 && !this.stopped) {
        const job = this.jobs[0];
        job.slices++;
        const complete = this.step(job, deadline);
        if (!complete) break;
        this.jobs.shift();
        if (job !== this.adding) {
          this.hooks.finished({
            sent: job.sent,
            evaluated: job.total,
            units: this.limits.eventFilterBudget - job.left,
            slices: job.slices,
          });
        }
        if (performance.now() >= deadline) break;
      }
    } finally {
      // Even after a throw (the subscriber that threw is behind `next` already): never stuck.
      if (this.jobs.length > 0 && !this.stopped && this.timer === null) {
        // A pause as long as the slice: the rest of the runtime gets at least half of the
        // loop's time while filtering goes on, even a request that needs several turns.
        this.timer = setTimeout(this.resume, this.limits.filterSliceMs);
      }
    }
  }

  /** Evaluates the job's subscribers until the deadline; true when none is left. */
  private step(job: Job<T>, deadline: number): boolean {
    const limits = this.limits;
    for (;;) {
      let list = job.targets;
      if (job.next >= list.length) {
        if (job.pass === 2 || job.retry.length === 0) return true;
        // Second pass: those the first pass cut short, with what is left shared among them.
        job.pass = 2;
        job.targets = list = job.retry;
        job.retry = [];
        job.next = 0;
      }
      if (performance.now() >= deadline) return false;
      const t = list[job.next];
      const waiting = list.length - job.next + job.retry.length;
      const fair = Math.floor(job.left / waiting);
      job.next++;
      if (t.conn.closed) continue;
      const filters = t.filters;
      let take: boolean;
      if (filters.matchNothing) take = false;
      else if (!filters.active)
        take = true; // its filters were removed since the event was queued
      else {
        // First pass: at most FIRST_PASS_UNITS each, so that ordinary filters are all done
        // before any costly one has used its share; a filter cut short by that limit alone
        // is evaluated again in the second pass, and nothing is counted against it yet.
        const tentative = job.pass === 1 && fair > FIRST_PASS_UNITS;
        const share = tentative ? FIRST_PASS_UNITS : fair;
        const verdict = filters.evaluate(job.doc, share, limits.eventFilterBudget, tentative);
        job.left -= filters.lastCost;
        if (verdict.retry === true) {
          job.retry.push(t);
          continue;
        }
        take = this.hooks.verdict(t, verdict);
      }
      if (take && this.hooks.deliver(t, job.frame)) job.sent++;
    }
  }
}

/** Subscribers disconnected per turn of the event loop at most (PacedDrops). */
export const DROPS_PER_TURN = 25;

/** Drops targets at most DROPS_PER_TURN per turn of the loop, in the order they were given. */
export class PacedDrops<T> {
  private readonly queue: { target: T; reason: string }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly drop: (target: T, reason: string) => void,
    private readonly failed: (err: unknown) => void,
  ) {}

  add(target: T, reason: string): void {
    if (this.stopped) return;
    this.queue.push({ target, reason });
    if (this.timer === null) this.timer = setTimeout(this.run, 0);
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private readonly run = (): void => {
    this.timer = null;
    const batch = this.queue.splice(0, DROPS_PER_TURN);
    for (const { target, reason } of batch) {
      try {
        this.drop(target, reason);
      } catch (err) {
        this.failed(err);
      }
    }
    if (this.queue.length > 0 && !this.stopped) this.timer = setTimeout(this.run, 0);
  };
}
