/**
 * A step from several context nodes at once. Without positional predicates only the
 * union of the results counts, and most axes then need fewer contexts to produce it:
 * this keeps `//x/preceding::y`, `//x//y` or `//x/following-sibling::y` linear rather
 * than quadratic in the size of the document.
 */
import { type XNode, XNodeType } from "../xml/types";
import type { Axis } from "./ast";
import { charge } from "./budget";
import type { NodePred } from "./compiled";
import { flatIndexOf } from "./docindex";
import { type Env, indexFor } from "./env";
import { type CStep, filterInto, someIn, stepFrom, stepSome } from "./steps";

/**
 * For a step without positional predicates from several context nodes (in document
 * order), the union of the results is what counts, and most axes let us visit fewer
 * contexts to get it: this keeps `//x/preceding::y` or `//x//y` linear rather than
 * quadratic on large documents. Ancestor axes are handled by `ancestorsOf`.
 */
function reduceContexts(st: CStep, cur: readonly XNode[], env: Env): readonly XNode[] {
  charge(env, cur.length);
  switch (st.axis) {
    case "descendant":
    case "descendant-or-self": {
      // A context inside the subtree of an earlier one adds nothing.
      const ix = indexFor(env);
      const out: XNode[] = [];
      let covered = -1;
      for (let i = 0; i < cur.length; i++) {
        const n = cur[i];
        const at = n.type === XNodeType.Attribute ? -1 : flatIndexOf(ix, n);
        if (at >= 0 && at <= covered) continue;
        out.push(n);
        if (at >= 0) covered = ix.end[at];
      }
      return out;
    }
    case "preceding":
      // Whatever precedes an earlier context (and is not its ancestor) precedes the last one.
      return [cur[cur.length - 1]];
    case "following": {
      // Following nodes are those after the end of the context's subtree: take the earliest end.
      const ix = indexFor(env);
      let best = cur[0];
      let bestStart = Number.POSITIVE_INFINITY;
      for (let i = 0; i < cur.length; i++) {
        const n = cur[i];
        const at = flatIndexOf(ix, n.type === XNodeType.Attribute ? n.parent : n);
        if (at < 0) continue;
        const start = n.type === XNodeType.Attribute ? at + 1 : ix.end[at] + 1;
        if (start < bestStart) {
          bestStart = start;
          best = n;
        }
      }
      return [best];
    }
    case "following-sibling":
    case "preceding-sibling": {
      // Per parent, the first context's following siblings (the last one's preceding) cover the rest.
      const seen = new Set<XNode>();
      const out: XNode[] = [];
      const forward = st.axis === "following-sibling";
      for (let k = 0; k < cur.length; k++) {
        const n = cur[forward ? k : cur.length - 1 - k];
        if (n.type === XNodeType.Attribute || n.type === XNodeType.Document || seen.has(n.parent)) continue;
        seen.add(n.parent);
        out.push(n);
      }
      return out;
    }
    default:
      return cur;
  }
}

const isAncestral = (axis: Axis): boolean =>
  axis === "ancestor" || axis === "ancestor-or-self" || axis === "parent";

/** The union of the ancestor / ancestor-or-self / parent axes of `cur`, each node once. */
function ancestorsOf(axis: Axis, cur: readonly XNode[], env: Env): XNode[] {
  const seen = new Set<XNode>();
  const out: XNode[] = [];
  for (let i = 0; i < cur.length; i++) {
    const n = cur[i];
    let p: XNode | null = axis === "ancestor-or-self" ? n : n.type === XNodeType.Document ? null : n.parent;
    while (p !== null && !seen.has(p)) {
      seen.add(p);
      out.push(p);
      if (axis === "parent") break;
      p = p.type === XNodeType.Document ? null : p.parent;
    }
  }
  charge(env, cur.length + out.length);
  return out;
}

/** Appends what step `st` selects from every node of `cur` (not in document order). */
export function stepAll(st: CStep, cur: readonly XNode[], env: Env, out: XNode[]): void {
  if (cur.length > 1 && !st.positional) {
    if (isAncestral(st.axis)) {
      const anc = ancestorsOf(st.axis, cur, env);
      filterInto(st, anc, 0, anc.length, env, out);
      return;
    }
    cur = reduceContexts(st, cur, env);
  }
  for (let i = 0; i < cur.length; i++) stepFrom(st, cur[i], env, out);
}

/** Whether step `st` selects, from some node of `cur`, a node satisfying `pred`. */
export function stepAllSome(st: CStep, cur: readonly XNode[], env: Env, pred: NodePred): boolean {
  if (cur.length > 1 && !st.positional) {
    if (isAncestral(st.axis)) {
      const anc = ancestorsOf(st.axis, cur, env);
      return someIn(st, anc, 0, anc.length, env, pred);
    }
    cur = reduceContexts(st, cur, env);
  }
  for (let i = 0; i < cur.length; i++) if (stepSome(st, cur[i], env, pred)) return true;
  return false;
}
