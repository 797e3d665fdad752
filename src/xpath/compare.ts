/**
 * Comparisons, with XPath 1.0's rules (§3.4): a node set compares true when some member
 * does; against a boolean it is converted to a boolean; = and != between scalars compare
 * as booleans, else numbers, else strings; < <= > >= always compare numbers. A node set
 * compared with a constant is a scan that stops at the first match, with the test
 * closure built at compile time.
 */
import type { XNode } from "../xml/types";
import type { CompareOp } from "./ast";
import { charge } from "./budget";
import {
  ANY_NODE,
  asBoolean,
  asNumber,
  asString,
  boolean,
  type CBoolean,
  type CNodeSet,
  type Compiled,
  constantOf,
  constBoolean,
  constToBoolean,
  constToNumber,
  constToString,
  type Fn,
  type NodePred,
} from "./compiled";
import type { Env } from "./env";
import { numberValueIn, stringValueIn } from "./strvalue";
import { stringToNumber } from "./values";

type Scalar = Exclude<Compiled, CNodeSet>;
type NumCmp = (a: number, b: number) => boolean;

const NUM: Record<CompareOp, NumCmp> = {
  "=": (a, b) => a === b,
  "!=": (a, b) => a !== b,
  "<": (a, b) => a < b,
  "<=": (a, b) => a <= b,
  ">": (a, b) => a > b,
  ">=": (a, b) => a >= b,
};

/** The operator with its operands swapped: a < b is b > a. */
const FLIP: Record<CompareOp, CompareOp> = {
  "=": "=",
  "!=": "!=",
  "<": ">",
  "<=": ">=",
  ">": "<",
  ">=": "<=",
};

const isEquality = (op: CompareOp): boolean => op === "=" || op === "!=";

export function compileCompare(op: CompareOp, a: Compiled, b: Compiled): CBoolean {
  const ctx = a.ctx | b.ctx;
  if (a.t === "nodeset") {
    return b.t === "nodeset" ? boolean(nodeSetsCompare(op, a, b), ctx) : nodeSetScalar(op, a, b, ctx);
  }
  if (b.t === "nodeset") return nodeSetScalar(FLIP[op], b, a, ctx);
  return scalars(op, a, b, ctx);
}

function scalars(op: CompareOp, a: Compiled, b: Compiled, ctx: number): CBoolean {
  const ka = constantOf(a);
  const kb = constantOf(b);
  if (isEquality(op)) {
    const neq = op === "!=";
    if (a.t === "boolean" || b.t === "boolean") {
      if (ka !== undefined && kb !== undefined)
        return constBoolean((constToBoolean(ka) === constToBoolean(kb)) !== neq);
      const fa = asBoolean(a);
      const fb = asBoolean(b);
      return boolean((n, p, s, e) => (fa(n, p, s, e) === fb(n, p, s, e)) !== neq, ctx);
    }
    if (a.t === "number" || b.t === "number") {
      if (ka !== undefined && kb !== undefined) {
        return constBoolean(NUM[op](constToNumber(ka), constToNumber(kb)));
      }
      const fa = asNumber(a);
      const fb = asNumber(b);
      return boolean(
        neq
          ? (n, p, s, e) => fa(n, p, s, e) !== fb(n, p, s, e)
          : (n, p, s, e) => fa(n, p, s, e) === fb(n, p, s, e),
        ctx,
      );
    }
    if (ka !== undefined && kb !== undefined)
      return constBoolean((constToString(ka) === constToString(kb)) !== neq);
    const fa = asString(a);
    const fb = asString(b);
    return boolean((n, p, s, e) => (fa(n, p, s, e) === fb(n, p, s, e)) !== neq, ctx);
  }
  const cmp = NUM[op];
  if (ka !== undefined && kb !== undefined) return constBoolean(cmp(constToNumber(ka), constToNumber(kb)));
  const fa = asNumber(a);
  const fb = asNumber(b);
  return boolean((n, p, s, e) => cmp(fa(n, p, s, e), fb(n, p, s, e)), ctx);
}

/** A test on one node of the set against the scalar value `k` of the other operand. */
function memberTest(op: CompareOp, type: "number" | "string", k: number | string): NodePred {
  if (type === "string" && isEquality(op)) {
    const s = k as string;
    return op === "=" ? (n, env) => stringValueIn(n, env) === s : (n, env) => stringValueIn(n, env) !== s;
  }
  const x = type === "number" ? (k as number) : stringToNumber(k as string);
  switch (op) {
    case "=":
      return (n, env) => numberValueIn(n, env) === x;
    case "!=":
      return (n, env) => numberValueIn(n, env) !== x;
    case "<":
      return (n, env) => numberValueIn(n, env) < x;
    case "<=":
      return (n, env) => numberValueIn(n, env) <= x;
    case ">":
      return (n, env) => numberValueIn(n, env) > x;
    default:
      return (n, env) => numberValueIn(n, env) >= x;
  }
}

/** node-set `op` scalar. */
function nodeSetScalar(op: CompareOp, set: CNodeSet, other: Scalar, ctx: number): CBoolean {
  const some = set.some;
  if (other.t === "boolean") {
    // The node set becomes a boolean; then the scalar rules apply (numbers for < etc.).
    const fb = other.f;
    const cmp = NUM[op];
    return boolean((n, p, s, e) => {
      const x = some(n, p, s, e, ANY_NODE) ? 1 : 0;
      return cmp(x, fb(n, p, s, e) ? 1 : 0);
    }, ctx);
  }
  const type = other.t;
  const k = other.k;
  if (k !== undefined) {
    const test = memberTest(op, type, k);
    return boolean((n, p, s, e) => some(n, p, s, e, test), ctx);
  }
  if (type === "number") {
    const f = other.f;
    return boolean((n, p, s, e) => some(n, p, s, e, memberTest(op, type, f(n, p, s, e))), ctx);
  }
  const f = other.f;
  return boolean((n, p, s, e) => some(n, p, s, e, memberTest(op, type, f(n, p, s, e))), ctx);
}

/** node-set `op` node-set: true when some pair of members compares true. */
function nodeSetsCompare(op: CompareOp, a: CNodeSet, b: CNodeSet): Fn<boolean> {
  const fa = a.f;
  const fb = b.f;
  if (op === "=") {
    return (n, p, s, e) => {
      const right = fb(n, p, s, e);
      if (right.length === 0) return false;
      // A Set per evaluation, and a hash of each member.
      charge(e, 32 + 4 * right.length);
      const values = new Set<string>();
      for (let i = 0; i < right.length; i++) values.add(stringValueIn(right[i], e));
      return a.some(n, p, s, e, (m, env) => values.has(stringValueIn(m, env)));
    };
  }
  if (op === "!=") {
    // True unless a set is empty or every member of both has one and the same string-value.
    return (n, p, s, e) => {
      const left = fa(n, p, s, e);
      if (left.length === 0) return false;
      const right = fb(n, p, s, e);
      if (right.length === 0) return false;
      charge(e, left.length + right.length);
      const first = stringValueIn(left[0], e);
      for (let i = 1; i < left.length; i++) if (stringValueIn(left[i], e) !== first) return true;
      for (let i = 0; i < right.length; i++) if (stringValueIn(right[i], e) !== first) return true;
      return false;
    };
  }
  // Relational: some a op some b ⇔ compare the extreme values (NaNs never compare true).
  const lessSide = op === "<" || op === "<=";
  const cmp = NUM[op];
  return (n, p, s, e) => {
    const left = fa(n, p, s, e);
    if (left.length === 0) return false;
    const right = fb(n, p, s, e);
    if (right.length === 0) return false;
    // For < and <=: min(left) against max(right); for > and >=: max(left) against min(right).
    const x = extreme(left, !lessSide, e);
    const y = extreme(right, lessSide, e);
    return cmp(x, y);
  };
}

/** Largest (max) or smallest number among the members' values, ignoring NaN; NaN if none. */
function extreme(nodes: readonly XNode[], max: boolean, env: Env): number {
  charge(env, nodes.length);
  let best = Number.NaN;
  for (let i = 0; i < nodes.length; i++) {
    const v = numberValueIn(nodes[i], env);
    if (Number.isNaN(v)) continue;
    if (Number.isNaN(best) || (max ? v > best : v < best)) best = v;
  }
  return best;
}
