/**
 * The evaluation budget: every evaluation may do at most so many units of work, so that no
 * expression, on any document, holds the event loop for more than a few milliseconds.
 *
 * A unit is about one node visit. Every loop of the evaluator charges what it does (a
 * scan of an axis charges its length times the size of the step's predicates, since each
 * node costs one evaluation of them; sorting n nodes charges n log n; a string of n
 * characters produced or read charges n / 8; a union charges each operand and each node it
 * merges, unions: 8 + 3 per node, since a 512-operand `count(//*|…)` did most of its work
 * there), before or as it does it, so that the work
 * done between two charges is at most one pass over the document. When the count goes
 * below zero evaluation stops at once with EXCEEDED, which index.ts turns into
 * VOEventError("XPATH_BUDGET"). Building the per-document index (docindex.ts) is not
 * charged: it is linear in the document, done once per document, and charging it would
 * make the first rule pay for the others.
 */
import type { Env } from "./env";

/**
 * Default units per evaluation: calibrated (bench/xpath.ts, "worst cases") so that
 * the costliest unit takes 10–20 ns, i.e. a few milliseconds for the budget; a
 * typical filter on a corpus packet uses under a thousand.
 */
export const XPATH_DEFAULT_BUDGET = 200_000;

/** Thrown through the closures when the budget runs out; never escapes compileXPath's results. */
export class BudgetExceeded extends Error {
  constructor() {
    super("XPath evaluation budget exceeded");
    this.name = "BudgetExceeded";
  }
}

/** One shared instance: throwing it costs no stack capture. */
export const EXCEEDED = new BudgetExceeded();

/** Charges `units` of work; throws EXCEEDED when the budget is spent. */
export function charge(env: Env, units: number): void {
  env.budget -= units;
  if (env.budget < 0) throw EXCEEDED;
}

/** Charges for a string of `length` characters read or produced (1 unit per 8 characters). */
export function chargeText(env: Env, length: number): void {
  env.budget -= 1 + (length >> 3);
  if (env.budget < 0) throw EXCEEDED;
}

/** Charges for putting n nodes in document order (a sort: n log n). */
export function chargeSort(env: Env, n: number): void {
  if (n > 1) charge(env, n * (32 - Math.clz32(n)));
}
