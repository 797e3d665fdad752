/**
 * The limits on filters that others supply: a broadcaster's subscribers (their
 * `authenticate` filters) and the entries of a filter node's context registry. One place
 * for their names and defaults; the broadcaster node, the filter node and the README
 * document them.
 *
 * - `xpathBudget`: units of work (about node visits) one evaluation may use: for a
 *   subscriber, all its filters on one event together; for a registry entry, its rule on
 *   one event. More stops the evaluation: the filter counts as not matching and is
 *   reported once with its text.
 * - `maxBudgetOverruns`: a subscriber whose filters exceed the budget on this many events
 *   in a row is dropped; a registry entry is set aside (until the registry changes).
 * - `maxFilters`: filters per subscriber (per name in a registry).
 * - `maxFilterLength`: characters of those filters together.
 */
import { XPATH_DEFAULT_BUDGET } from "../xpath";

export interface FilterLimits {
  xpathBudget: number;
  maxBudgetOverruns: number;
  maxFilters: number;
  maxFilterLength: number;
}

export const FILTER_LIMIT_DEFAULTS: Readonly<FilterLimits> = {
  xpathBudget: XPATH_DEFAULT_BUDGET,
  maxBudgetOverruns: 3,
  maxFilters: 16,
  maxFilterLength: 4096,
};

/**
 * Limits of whole numbers ≥ 1 with their defaults filled in; RangeError naming the limit for a
 * value that is not one. Keys not in `defaults` are ignored.
 */
export function wholeLimits<T extends { [K in keyof T]: number }>(
  defaults: Readonly<T>,
  given: Partial<T> | undefined,
): T {
  const out = { ...defaults } as T;
  for (const key of Object.keys(defaults) as (keyof T & string)[]) {
    const v = given?.[key];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
      throw new RangeError(`${key} must be a whole number ≥ 1, not ${String(v)}`);
    }
    out[key] = v as T[typeof key];
  }
  return out;
}

/** The limits with defaults filled in; RangeError naming the limit for a value that is not a whole number ≥ 1. */
export function filterLimits(given: Partial<FilterLimits> | undefined): FilterLimits {
  return wholeLimits(FILTER_LIMIT_DEFAULTS, given);
}
