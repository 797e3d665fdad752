/**
 * A broadcaster subscriber's XPath filters (Comet's `authenticate` extension) and the
 * policy that keeps them from costing the other subscribers anything: the broadcaster
 * (./broadcaster.ts) asks this file whether a subscriber takes an event, and what to do
 * with a subscriber whose filters are too many or too costly.
 *
 * Decisions (limits and defaults in src/filter/limits.ts):
 * - Caps, checked when an `authenticate` arrives: more than `maxFilters` filters, or
 *   filters longer than `maxFilterLength` characters together, and the subscriber is
 *   dropped with a reason naming the limit. Not "the first N": a subscriber that asked
 *   for a subset should not silently get another one.
 * - A filter that does not compile is reported and ignored; if none compiles the
 *   subscriber gets nothing (see broadcaster.ts).
 * - Budget: the filters of one subscriber share `xpathBudget` units of work (about node
 *   visits) per event, so one subscriber costs at most a few milliseconds per event
 *   however many filters it has. The filter that runs out of it counts as not matching
 *   (as do those after it) and is reported, the first time only, with its text.
 * - A subscriber whose filters run out of budget on `maxBudgetOverruns` events in a row
 *   is dropped, with the filter and the limit as the reason: it costs every event its
 *   budget and receives nothing for it.
 * - Many subscribers together: on one event a subscriber may get less than `xpathBudget`,
 *   its share of the event's budget (./filter-runs.ts, which evaluates one event's filters
 *   for all subscribers); running out of that share counts as running out of budget. What
 *   its filters used on the last event (`lastCost`) decides when it is evaluated.
 */
import { type FilterLimits, filterLimits } from "../filter/limits";
import type { XDocument } from "../xml/types";
import { type CompiledXPath, compileXPath, isBudgetError, quoteXPath } from "../xpath";

export type SubscriberFilterOptions = Partial<FilterLimits>;
export { FILTER_LIMIT_DEFAULTS as SUBSCRIBER_FILTER_DEFAULTS } from "../filter/limits";

/** What an `authenticate` with filters comes to. */
export type FilterSetup =
  /** Over a cap: drop the subscriber, with this reason. */
  | { ok: false; reason: string }
  | { ok: true; filters: SubscriberFilters; errors: { filter: string; message: string }[] };

/** What one event comes to for one subscriber. */
export interface FilterVerdict {
  match: boolean;
  /** The filter that ran out of budget on this event, when it is the first time for it. */
  report?: { filter: string; message: string };
  /** Set when the subscriber must now be dropped: the reason. */
  drop?: string;
  /** A tentative evaluation (./filter-runs.ts, first pass) ran out of its share: evaluate again. */
  retry?: true;
}

/**
 * Work the XPath budget does not count, charged to the event's budget (./filter-runs.ts):
 * each evaluation (its set-up, about half a microsecond), and each evaluation stopped by its
 * budget (the error it builds, about ten microseconds), in units of about 20 ns.
 */
export const FILTER_CALL_UNITS = 25;
export const OVERRUN_UNITS = 500;

export class SubscriberFilters {
  /** No filters: every event. */
  static readonly NONE = new SubscriberFilters([], [], false, filterLimits(undefined));
  /** Being dropped for its filters: nothing more. */
  static readonly DROPPED = new SubscriberFilters([], [], true, filterLimits(undefined));

  private overrunsInARow = 0;
  private readonly reported = new Set<string>();
  /** Units its filters used on the last event they were evaluated on (0 before the first). */
  lastCost = 0;

  private constructor(
    /** The filters in force (those that compiled). */
    readonly texts: readonly string[],
    private readonly compiled: readonly CompiledXPath[],
    /** Filters were given and none compiled: nothing can match. */
    readonly matchNothing: boolean,
    private readonly limits: FilterLimits,
  ) {}

  /** Checks the caps, then compiles; never throws for a subscriber's input. */
  static setup(filters: readonly string[], limits: FilterLimits): FilterSetup {
    if (filters.length > limits.maxFilters) {
      return {
        ok: false,
        reason: `its authenticate has ${filters.length} filters (limit maxFilters ${limits.maxFilters})`,
      };
    }
    let length = 0;
    for (const f of filters) length += f.length;
    if (length > limits.maxFilterLength) {
      return {
        ok: false,
        reason: `its filters are ${length} characters long together (limit maxFilterLength ${limits.maxFilterLength})`,
      };
    }
    const texts: string[] = [];
    const compiled: CompiledXPath[] = [];
    const errors: { filter: string; message: string }[] = [];
    for (const filter of filters) {
      try {
        compiled.push(compileXPath(filter, { context: "root", budget: limits.xpathBudget }));
        texts.push(filter);
      } catch (err) {
        errors.push({ filter, message: err instanceof Error ? err.message : String(err) });
      }
    }
    const set = new SubscriberFilters(texts, compiled, filters.length > 0 && compiled.length === 0, limits);
    return { ok: true, filters: set, errors };
  }

  /** Whether there are filters to evaluate (else every event is taken, unless matchNothing). */
  get active(): boolean {
    return this.compiled.length > 0;
  }

  /**
   * Whether some filter accepts `doc`, all of them sharing one budget: `xpathBudget`, or
   * `share` when less (its share of the event's budget `eventBudget`, ./filter-runs.ts). A
   * filter that fails otherwise at run time counts as not matching. Sets lastCost: the units
   * used, with the work the budget does not see (FILTER_CALL_UNITS, OVERRUN_UNITS).
   * `tentative`: running out of `share` is not counted against the subscriber, and the verdict
   * says `retry` instead.
   */
  evaluate(
    doc: XDocument,
    share = Number.POSITIVE_INFINITY,
    eventBudget = 0,
    tentative = false,
  ): FilterVerdict {
    const own = this.limits.xpathBudget;
    const budget = Math.min(own, Math.max(0, Math.floor(share)));
    const shared = budget < own;
    let left = budget;
    let calls = 0;
    const filters = this.compiled;
    const verdict = (v: FilterVerdict, overran = false): FilterVerdict => {
      this.lastCost = budget - left + calls * FILTER_CALL_UNITS + (overran ? OVERRUN_UNITS : 0);
      return v;
    };
    for (let i = 0; i < filters.length; i++) {
      const f = filters[i];
      if (left <= 0) {
        if (tentative && shared) return verdict({ match: false, retry: true });
        return verdict(
          this.overrun(
            f,
            shared
              ? `XPath ${quoteXPath(f.source)} was not evaluated: the filters before it used this subscriber's share (${budget} steps) of the event's filter budget (eventFilterBudget ${eventBudget}, shared by all subscribers)`
              : `XPath ${quoteXPath(f.source)} had no budget left after the filters before it`,
            shared,
            budget,
          ),
        );
      }
      calls++;
      try {
        const hit = f.test(doc, { budget: left });
        left -= f.stepsUsed;
        if (hit) {
          this.overrunsInARow = 0;
          return verdict({ match: true });
        }
      } catch (err) {
        left -= f.stepsUsed;
        if (isBudgetError(err)) {
          left = Math.min(left, 0);
          if (tentative && shared) return verdict({ match: false, retry: true }, true);
          return verdict(
            this.overrun(
              f,
              shared
                ? `XPath ${quoteXPath(f.source)} needed more than this subscriber's share (${budget} steps) of the event's filter budget (eventFilterBudget ${eventBudget}, shared by all subscribers) and was stopped`
                : err.message,
              shared,
              budget,
            ),
            true,
          );
        }
        // Any other failure: not a match.
      }
    }
    this.overrunsInARow = 0;
    return verdict({ match: false });
  }

  private overrun(f: CompiledXPath, message: string, shared: boolean, budget: number): FilterVerdict {
    this.overrunsInARow++;
    const verdict: FilterVerdict = { match: false };
    if (!this.reported.has(f.source)) {
      this.reported.add(f.source);
      verdict.report = { filter: f.source, message };
    }
    if (this.overrunsInARow >= this.limits.maxBudgetOverruns) {
      const what = shared
        ? `its share (${budget} steps) of the events' filter budget`
        : `the XPath budget of ${this.limits.xpathBudget} steps`;
      verdict.drop = `its filter ${quoteXPath(f.source)} exceeded ${what} on ${this.overrunsInARow} events in a row (limit maxBudgetOverruns ${this.limits.maxBudgetOverruns})`;
    }
    return verdict;
  }
}
