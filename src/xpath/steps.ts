/**
 * One location step from one context node: its axis, node test and predicates with
 * proximity positions (reverse axes count backwards). A step whose predicates do not
 * depend on position is a plain filter of the axis; one that starts with a constant
 * position (`[1]`) walks the axis only as far as that node.
 */
import type { XNode } from "../xml/types";
import type { Axis, NodeTest } from "./ast";
import { axisSpan, nthOnAxis, type Span } from "./axes";
import { charge, EXCEEDED } from "./budget";
import { asBoolean, type Compiled, type Fn, type NodePred, USES_POSITION, USES_SIZE } from "./compiled";
import type { Env } from "./env";
import type { NodeTestFn } from "./nodetest";

export interface CStep {
  readonly axis: Axis;
  readonly test: NodeTestFn;
  /** node() with no predicates: a step that only moves along its axis. */
  readonly anyNode: boolean;
  /** Predicates as booleans of (node, position, size); a number n means position() = n. */
  readonly preds: readonly Fn<boolean>[];
  /** Some predicate depends on position or size: predicates must see the whole list. */
  readonly positional: boolean;
  /** When the first predicate is a constant positive integer k: k (only the k-th node counts). */
  readonly nth: number;
  /** Budget units per node the step looks at: 1 + the size of its predicates' syntax trees. */
  readonly weight: number;
}

export function makeStep(
  axis: Axis,
  test: NodeTest,
  testFn: NodeTestFn,
  predicates: readonly Compiled[],
  predicateSize = 0,
): CStep {
  const preds: Fn<boolean>[] = [];
  let positional = false;
  let nth = 0;
  predicates.forEach((c, i) => {
    if (c.t === "number") {
      positional = true;
      const k = c.k;
      if (k !== undefined) {
        preds.push((_n, p) => p === k);
        if (i === 0 && Number.isInteger(k) && k >= 1) nth = k;
      } else {
        const f = c.f;
        preds.push((n, p, s, e) => f(n, p, s, e) === p);
      }
    } else {
      preds.push(asBoolean(c));
      if ((c.ctx & (USES_POSITION | USES_SIZE)) !== 0) positional = true;
    }
  });
  return {
    axis,
    test: testFn,
    anyNode: test.kind === "node" && preds.length === 0,
    preds,
    positional,
    nth,
    weight: 1 + predicateSize,
  };
}

const SPAN: Span = { arr: [], lo: 0, hi: 0, rev: false };

/*
 * Budget (budget.ts; charged inline on the hot paths below, which measurably beats a call):
 * a scan charges 1 per node it looks at, and the size of the step's
 * predicates per node that passes the node test (each costs one evaluation of them),
 * in runs of PASS_RUN passing nodes, so that what runs uncharged is one run at most.
 */
const PASS_RUN = 64;
/** What one step from one node costs besides its scan: the span, the lists it allocates. */
const STEP_COST = 4;

/** Appends to `out` the members of arr[lo..hi) that pass a non-positional step's test and predicates. */
export function filterInto(
  st: CStep,
  arr: readonly XNode[],
  lo: number,
  hi: number,
  env: Env,
  out: XNode[],
): void {
  if (hi <= lo) return;
  env.budget -= hi - lo;
  if (env.budget < 0) throw EXCEEDED;
  const test = st.test;
  const preds = st.preds;
  const np = preds.length;
  const extra = st.weight - 1;
  let passed = 0;
  outer: for (let i = lo; i < hi; i++) {
    const m = arr[i];
    if (!test(m, env)) continue;
    if (np > 0) {
      if (++passed === PASS_RUN) {
        charge(env, PASS_RUN * extra);
        passed = 0;
      }
      for (let j = 0; j < np; j++) if (!preds[j](m, 0, 0, env)) continue outer;
    }
    out.push(m);
  }
  if (passed > 0) charge(env, passed * extra);
}

/** Whether some member of arr[lo..hi) passes a non-positional step's test and predicates, and `pred`. */
export function someIn(
  st: CStep,
  arr: readonly XNode[],
  lo: number,
  hi: number,
  env: Env,
  pred: NodePred,
): boolean {
  const test = st.test;
  const preds = st.preds;
  const np = preds.length;
  if (np === 0) {
    // No predicates (`@name = …`, `contactName = …`): charge the scan at once, and keep
    // the loop bare: this is the hottest path of ordinary filters.
    env.budget -= hi - lo;
    if (env.budget < 0) throw EXCEEDED;
    for (let i = lo; i < hi; i++) {
      const m = arr[i];
      if (test(m, env) && pred(m, env)) return true;
    }
    return false;
  }
  const extra = st.weight - 1;
  // Charged as it goes, so that an early match pays only for what it looked at.
  let from = lo;
  let passed = 0;
  outer: for (let i = lo; i < hi; i++) {
    const m = arr[i];
    if (!test(m, env)) continue;
    if (++passed === PASS_RUN) {
      charge(env, i + 1 - from + PASS_RUN * extra);
      from = i + 1;
      passed = 0;
    }
    for (let j = 0; j < np; j++) if (!preds[j](m, 0, 0, env)) continue outer;
    if (pred(m, env)) {
      env.budget -= i + 1 - from + passed * extra;
      if (env.budget < 0) throw EXCEEDED;
      return true;
    }
  }
  env.budget -= hi - from + passed * extra;
  if (env.budget < 0) throw EXCEEDED;
  return false;
}

/** Appends to `out` the nodes step `st` selects from `node`, in axis order. */
export function stepFrom(st: CStep, node: XNode, env: Env, out: XNode[]): void {
  env.budget -= STEP_COST;
  if (env.budget < 0) throw EXCEEDED;
  if (st.nth > 0) {
    nthStepFrom(st, node, env, out);
    return;
  }
  axisSpan(st.axis, node, env, SPAN);
  // Read the span at once: predicates may call axisSpan again.
  const arr = SPAN.arr;
  const lo = SPAN.lo;
  const hi = SPAN.hi;
  const rev = SPAN.rev;
  if (!st.positional) {
    filterInto(st, arr, lo, hi, env, out);
    return;
  }
  const test = st.test;
  const preds = st.preds;
  if (hi > lo) charge(env, hi - lo);
  let list: XNode[] = [];
  for (let i = lo; i < hi; i++) if (test(arr[i], env)) list.push(arr[i]);
  if (rev) list.reverse();
  const w = st.weight;
  for (let j = 0; j < preds.length && list.length > 0; j++) list = filterByPredicate(list, preds[j], env, w);
  for (let i = 0; i < list.length; i++) out.push(list[i]);
}

/** A step whose first predicate is a constant position: find that node without listing the axis. */
function nthStepFrom(st: CStep, node: XNode, env: Env, out: XNode[]): void {
  const m = nthOnAxis(st.axis, node, env, st.test, st.nth);
  if (m === null) return;
  let list: XNode[] = [m];
  const preds = st.preds;
  for (let j = 1; j < preds.length && list.length > 0; j++)
    list = filterByPredicate(list, preds[j], env, st.weight);
  if (list.length > 0) out.push(m);
}

/** Keeps the members of `list` (in proximity order) for which `pred` holds at their position. */
function filterByPredicate(list: readonly XNode[], pred: Fn<boolean>, env: Env, weight: number): XNode[] {
  const size = list.length;
  charge(env, size * weight);
  const kept: XNode[] = [];
  for (let k = 0; k < size; k++) if (pred(list[k], k + 1, size, env)) kept.push(list[k]);
  return kept;
}

/** Applies predicates to a node set in document order (a filter expression's predicates). */
export function applyPredicates(
  list: readonly XNode[],
  preds: readonly Fn<boolean>[],
  env: Env,
  weight: number,
): readonly XNode[] {
  let cur = list;
  for (let j = 0; j < preds.length && cur.length > 0; j++)
    cur = filterByPredicate(cur, preds[j], env, weight);
  return cur;
}

/** Whether step `st` from `node` selects some node satisfying `pred`. */
export function stepSome(st: CStep, node: XNode, env: Env, pred: NodePred): boolean {
  env.budget -= STEP_COST;
  if (env.budget < 0) throw EXCEEDED;
  if (st.positional) {
    const out: XNode[] = [];
    stepFrom(st, node, env, out);
    charge(env, out.length);
    for (let i = 0; i < out.length; i++) if (pred(out[i], env)) return true;
    return false;
  }
  axisSpan(st.axis, node, env, SPAN);
  return someIn(st, SPAN.arr, SPAN.lo, SPAN.hi, env, pred);
}
