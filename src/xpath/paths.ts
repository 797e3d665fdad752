/**
 * Location paths, evaluated two ways: as a node set in document order (`f`), or as an
 * existence test with a condition on the members (`some`), which stops at the first
 * match and never sorts.
 *
 * At compile time `//x` (descendant-or-self::node()/child::x) becomes descendant::x when
 * its predicates do not depend on position; the descendant axes are slices of the
 * per-document index rather than walks of the tree.
 */
import { type XNode, XNodeType } from "../xml/types";
import { isReverseAxis } from "./ast";
import { chargeSort } from "./budget";
import type { CNodeSet, NodePred } from "./compiled";
import type { Env } from "./env";
import { stepAll, stepAllSome } from "./multi";
import { type CStep, someIn, stepFrom, stepSome } from "./steps";
import { inDocumentOrder } from "./values";

export { applyPredicates, makeStep } from "./steps";

/** Rewrites `//x` and `./x` into cheaper equivalents. */
function optimize(steps: readonly CStep[]): CStep[] {
  const out: CStep[] = [];
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    if (s.axis === "self" && s.anyNode) continue;
    const next = steps[i + 1];
    if (s.axis === "descendant-or-self" && s.anyNode && next !== undefined && !next.positional) {
      if (next.axis === "child") {
        out.push({ ...next, axis: "descendant" });
        i++;
        continue;
      }
      if (next.axis === "self") {
        out.push({ ...next, axis: "descendant-or-self" });
        i++;
        continue;
      }
      if (next.axis === "descendant" || next.axis === "descendant-or-self") continue;
    }
    out.push(s);
  }
  return out;
}

/** Applies steps[from..to) to a node set in document order; returns a node set in document order. */
function runSteps(
  steps: readonly CStep[],
  from: number,
  to: number,
  start: readonly XNode[],
  env: Env,
): readonly XNode[] {
  let cur = start;
  for (let k = from; k < to && cur.length > 0; k++) {
    const st = steps[k];
    const out: XNode[] = [];
    if (cur.length === 1) {
      // From one node, forward axes come in document order already.
      stepFrom(st, cur[0], env, out);
      cur = isReverseAxis(st.axis) ? inDocumentOrder(out) : out;
    } else {
      stepAll(st, cur, env, out);
      chargeSort(env, out.length);
      cur = inDocumentOrder(out);
    }
  }
  return cur;
}

/** Steps applied to a single start node. */
function runFrom(steps: readonly CStep[], to: number, node: XNode, env: Env): readonly XNode[] {
  if (to === 0) return [node];
  const out: XNode[] = [];
  const st = steps[0];
  stepFrom(st, node, env, out);
  const first = isReverseAxis(st.axis) ? inDocumentOrder(out) : out;
  return runSteps(steps, 1, to, first, env);
}

function someFromNode(steps: readonly CStep[], node: XNode, env: Env, pred: NodePred): boolean {
  const n = steps.length;
  if (n === 0) return pred(node, env);
  if (n === 1) return stepSome(steps[0], node, env, pred);
  return stepAllSome(steps[n - 1], runFrom(steps, n - 1, node, env), env, pred);
}

function someFromSet(steps: readonly CStep[], start: readonly XNode[], env: Env, pred: NodePred): boolean {
  const n = steps.length;
  if (n === 0) {
    for (let i = 0; i < start.length; i++) if (pred(start[i], env)) return true;
    return false;
  }
  return stepAllSome(steps[n - 1], runSteps(steps, 0, n - 1, start, env), env, pred);
}

/**
 * A location path: from the root when `absolute`, from the node set `start` when given,
 * else from the context node.
 */
export function compilePath(absolute: boolean, start: CNodeSet | null, rawSteps: readonly CStep[]): CNodeSet {
  const steps = optimize(rawSteps);
  const n = steps.length;
  if (start !== null) {
    const sf = start.f;
    if (n === 0) return start;
    return {
      t: "nodeset",
      f: (node, p, s, env) => runSteps(steps, 0, n, sf(node, p, s, env), env),
      some: (node, p, s, env, pred) => someFromSet(steps, sf(node, p, s, env), env, pred),
      ctx: start.ctx,
    };
  }
  if (absolute) {
    return {
      t: "nodeset",
      f: (_node, _p, _s, env) => runFrom(steps, n, env.doc, env),
      some: (_node, _p, _s, env, pred) => someFromNode(steps, env.doc, env, pred),
      ctx: 0,
    };
  }
  const only = steps[0];
  if (n === 1 && !only.positional && (only.axis === "attribute" || only.axis === "child")) {
    // `@name = …` and `contactName = …` in predicates: a scan of the node's own arrays.
    const attr = only.axis === "attribute";
    return {
      t: "nodeset",
      f: (node, _p, _s, env) => runFrom(steps, 1, node, env),
      some: (node, _p, _s, env, pred) => {
        if (node.type === XNodeType.Element) {
          const arr = attr ? node.attrs : node.children;
          return someIn(only, arr, 0, arr.length, env, pred);
        }
        if (node.type === XNodeType.Document && !attr)
          return someIn(only, node.children, 0, node.children.length, env, pred);
        return false;
      },
      ctx: 0,
    };
  }
  return {
    t: "nodeset",
    f: (node, _p, _s, env) => runFrom(steps, n, node, env),
    some: (node, _p, _s, env, pred) => someFromNode(steps, node, env, pred),
    ctx: 0,
  };
}
