/**
 * The thirteen axes. `axisSpan` describes the nodes an axis yields from a context node
 * as a slice `arr[lo..hi)` in axis (proximity) order, borrowing the tree's own arrays or
 * the document index wherever it can, so that most steps allocate nothing. The caller
 * still applies its node test.
 *
 * The namespace axis yields the namespace nodes ./namespaces.ts makes from the
 * declarations in scope (XElement.nsDecls).
 */
import { type XNode, XNodeType } from "../xml/types";
import type { Axis } from "./ast";
import { charge } from "./budget";
import { childIndexAt, flatIndexOf } from "./docindex";
import { type Env, indexFor } from "./env";
import { namespaceNodes } from "./namespaces";

/**
 * A slice of an array of nodes; filled by axisSpan, read by the caller at once. In axis
 * order it runs from arr[lo] up to arr[hi - 1], or down from arr[hi - 1] when `rev`.
 */
export interface Span {
  arr: readonly XNode[];
  lo: number;
  hi: number;
  rev: boolean;
}

const NONE: readonly XNode[] = [];

function set(span: Span, arr: readonly XNode[], lo: number, hi: number, rev = false): void {
  span.arr = arr;
  span.lo = lo;
  span.hi = hi;
  span.rev = rev;
}

/** Fills `span` with the nodes on `axis` from `node`. */
export function axisSpan(axis: Axis, node: XNode, env: Env, span: Span): void {
  switch (axis) {
    case "child":
      if (node.type === XNodeType.Element || node.type === XNodeType.Document) {
        set(span, node.children, 0, node.children.length);
      } else set(span, NONE, 0, 0);
      return;
    case "attribute":
      if (node.type === XNodeType.Element) set(span, node.attrs, 0, node.attrs.length);
      else set(span, NONE, 0, 0);
      return;
    case "self":
      set(span, [node], 0, 1);
      return;
    case "parent":
      if (node.type === XNodeType.Document) set(span, NONE, 0, 0);
      else set(span, [node.parent], 0, 1);
      return;
    case "descendant":
    case "descendant-or-self":
      descendants(node, env, axis === "descendant-or-self", span);
      return;
    case "ancestor":
    case "ancestor-or-self": {
      const out: XNode[] = axis === "ancestor-or-self" ? [node] : [];
      let p: XNode = node;
      while (p.type !== XNodeType.Document) {
        p = p.parent;
        out.push(p);
      }
      charge(env, 2 * out.length);
      set(span, out, 0, out.length);
      return;
    }
    case "following-sibling":
    case "preceding-sibling": {
      if (node.type === XNodeType.Attribute || node.type === XNodeType.Document) {
        set(span, NONE, 0, 0);
        return;
      }
      const sibs: readonly XNode[] = node.parent.children;
      const k = siblingIndex(env, node, sibs);
      if (axis === "following-sibling") set(span, sibs, k + 1, sibs.length);
      else set(span, sibs, 0, k, true);
      return;
    }
    case "following": {
      if (node.type === XNodeType.Document) {
        set(span, NONE, 0, 0);
        return;
      }
      const ix = indexFor(env);
      // After an attribute come its element's children: all but attributes follow it.
      const at = flatIndexOf(ix, node.type === XNodeType.Attribute ? node.parent : node);
      if (at < 0) set(span, NONE, 0, 0);
      else set(span, ix.flat, (node.type === XNodeType.Attribute ? at : ix.end[at]) + 1, ix.flat.length);
      return;
    }
    case "preceding": {
      const ix = indexFor(env);
      const i = flatIndexOf(ix, node.type === XNodeType.Attribute ? node.parent : node);
      charge(env, i);
      const out: XNode[] = [];
      const end = ix.end;
      const flat = ix.flat;
      // Before i in reverse document order, leaving out the ancestors (subtrees that contain i).
      for (let j = i - 1; j >= 0; j--) if (end[j] < i) out.push(flat[j]);
      charge(env, out.length);
      set(span, out, 0, out.length);
      return;
    }
    default: {
      // namespace: made on first use (./namespaces.ts).
      if (node.type !== XNodeType.Element) {
        set(span, NONE, 0, 0);
        return;
      }
      const nodes = namespaceNodes(node, env);
      set(span, nodes, 0, nodes.length);
    }
  }
}

/** Position of `node` among its siblings `sibs`: from the index for long lists, else a scan. */
function siblingIndex(env: Env, node: XNode, sibs: readonly XNode[]): number {
  if (sibs.length <= 16) return sibs.indexOf(node);
  const ix = indexFor(env);
  const i = flatIndexOf(ix, node);
  const k = i >= 0 ? childIndexAt(ix, i) : -1;
  return k >= 0 && sibs[k] === node ? k : sibs.indexOf(node);
}

/**
 * The nth node (1-based) on `axis` from `node` that passes `test`, or null; walks only as
 * far as it must (so `ancestor::x[1]` does not list every ancestor).
 */
export function nthOnAxis(
  axis: Axis,
  node: XNode,
  env: Env,
  test: (n: XNode, env: Env) => boolean,
  nth: number,
): XNode | null {
  let count = 0;
  let visits = 0;
  let found: XNode | null = null;
  if (axis === "ancestor" || axis === "ancestor-or-self") {
    let p: XNode | null =
      axis === "ancestor-or-self" ? node : node.type === XNodeType.Document ? null : node.parent;
    while (p !== null) {
      visits++;
      if (test(p, env) && ++count === nth) {
        found = p;
        break;
      }
      p = p.type === XNodeType.Document ? null : p.parent;
    }
    charge(env, visits);
    return found;
  }
  if (axis === "preceding") {
    const ix = indexFor(env);
    const i = flatIndexOf(ix, node.type === XNodeType.Attribute ? node.parent : node);
    const end = ix.end;
    let j = i - 1;
    for (; j >= 0; j--) {
      if (end[j] >= i) continue; // an ancestor
      if (test(ix.flat[j], env) && ++count === nth) {
        found = ix.flat[j];
        break;
      }
    }
    charge(env, i - j);
    return found;
  }
  const span: Span = { arr: NONE, lo: 0, hi: 0, rev: false };
  axisSpan(axis, node, env, span);
  const { arr, lo, hi } = span;
  if (span.rev) {
    let i = hi - 1;
    for (; i >= lo; i--) {
      if (test(arr[i], env) && ++count === nth) {
        found = arr[i];
        break;
      }
    }
    charge(env, hi - i);
  } else {
    let i = lo;
    for (; i < hi; i++) {
      if (test(arr[i], env) && ++count === nth) {
        found = arr[i];
        break;
      }
    }
    charge(env, i - lo + 1);
  }
  return found;
}

function descendants(node: XNode, env: Env, orSelf: boolean, span: Span): void {
  if (node.type !== XNodeType.Element && node.type !== XNodeType.Document) {
    if (orSelf) set(span, [node], 0, 1);
    else set(span, NONE, 0, 0);
    return;
  }
  const ix = indexFor(env);
  const i = node.type === XNodeType.Document ? 0 : flatIndexOf(ix, node);
  if (i < 0) set(span, NONE, 0, 0);
  else set(span, ix.flat, orSelf ? i : i + 1, ix.end[i] + 1);
}
