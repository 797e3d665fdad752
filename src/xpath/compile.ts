/** Turns the syntax tree into typed closures (compiled.ts), checking types and names. */

import type { XNode } from "../xml/types";
import type { Expr, Step } from "./ast";
import { charge, chargeSort } from "./budget";
import { compileCompare } from "./compare";
import {
  asBoolean,
  asNumber,
  boolean,
  type CNodeSet,
  type Compiled,
  constantOf,
  constBoolean,
  constNumber,
  constString,
  constToBoolean,
  constToNumber,
  type Fn,
  nodeSet,
  number,
  TYPE_NAMES,
} from "./compiled";
import { compileError } from "./errors";
import { FUNCTIONS } from "./functions";
import { nodeTestFn } from "./nodetest";
import { applyPredicates, compilePath, makeStep } from "./paths";
import { inDocumentOrder, XML_NS } from "./values";

export interface CompileScope {
  readonly source: string;
  /** Prefixes bound at compile time (including xml). */
  readonly namespaces: ReadonlyMap<string, string>;
  /** True when `voe` is not in `namespaces` and so means the root's namespace. */
  readonly voeFromRoot: boolean;
}

export function makeScope(source: string, namespaces: Record<string, string> | undefined): CompileScope {
  const map = new Map<string, string>();
  if (namespaces !== undefined) for (const [p, uri] of Object.entries(namespaces)) map.set(p, uri);
  map.set("xml", XML_NS);
  return { source, namespaces: map, voeFromRoot: !map.has("voe") };
}

/** The namespace a prefix stands for, or null for the per-document `voe`. */
function resolvePrefix(prefix: string, pos: number, scope: CompileScope): string | null {
  if (prefix === "") return "";
  const uri = scope.namespaces.get(prefix);
  if (uri !== undefined) return uri;
  if (prefix === "voe" && scope.voeFromRoot) return null;
  throw compileError(
    scope.source,
    pos,
    `namespace prefix '${prefix}' is not bound (only voe, xml and the prefixes given in options.namespaces are)`,
  );
}

export function compileExpr(e: Expr, scope: CompileScope): Compiled {
  switch (e.type) {
    case "literal":
      return constString(e.value);
    case "number":
      return constNumber(e.value);
    case "or":
    case "and":
      return compileLogic(e.type, e.operands, scope);
    case "compare":
      return compileCompare(e.op, compileExpr(e.left, scope), compileExpr(e.right, scope));
    case "arith":
      return compileArith(e.op, compileExpr(e.left, scope), compileExpr(e.right, scope));
    case "neg": {
      const a = compileExpr(e.operand, scope);
      const k = constantOf(a);
      if (k !== undefined) return constNumber(-constToNumber(k));
      const f = asNumber(a);
      return number((n, p, s, env) => -f(n, p, s, env), a.ctx);
    }
    case "union":
      return compileUnion(e.operands, scope);
    case "path":
      return compilePathExpr(e, scope);
    case "filter": {
      const primary = compileExpr(e.primary, scope);
      if (primary.t !== "nodeset") {
        throw compileError(
          scope.source,
          e.pos,
          `a predicate can only filter a node set, not a ${TYPE_NAMES[primary.t]}`,
        );
      }
      const preds = e.predicates.map((pe) => predicateFn(compileExpr(pe, scope)));
      const f = primary.f;
      const weight = 1 + sizeOfAll(e.predicates);
      return nodeSet((n, p, s, env) => applyPredicates(f(n, p, s, env), preds, env, weight), primary.ctx);
    }
    case "call": {
      const def = FUNCTIONS.get(e.name);
      if (def === undefined) throw compileError(scope.source, e.pos, `unknown function '${e.name}()'`);
      const count = e.args.length;
      if (count < def.min || count > def.max) {
        throw compileError(scope.source, e.pos, `${e.name}() ${arity(def.min, def.max)}, got ${count}`);
      }
      const args = e.args.map((a) => compileExpr(a, scope));
      return def.compile(args, (message) => {
        throw compileError(scope.source, e.pos, message);
      });
    }
  }
}

function arity(min: number, max: number): string {
  const plural = (k: number) => (k === 1 ? "argument" : "arguments");
  if (min === max) return min === 0 ? "takes no arguments" : `takes exactly ${min} ${plural(min)}`;
  if (max === Number.POSITIVE_INFINITY) return `takes at least ${min} ${plural(min)}`;
  return `takes ${min} to ${max} arguments`;
}

/** A predicate as a boolean of (node, position, size): a number n means position() = n. */
function predicateFn(c: Compiled): Fn<boolean> {
  if (c.t === "number") {
    const f = c.f;
    return (n, p, s, env) => f(n, p, s, env) === p;
  }
  return asBoolean(c);
}

function compileLogic(type: "or" | "and", operands: readonly Expr[], scope: CompileScope): Compiled {
  const isOr = type === "or";
  const fs: Fn<boolean>[] = [];
  let ctx = 0;
  for (const o of operands) {
    const c = compileExpr(o, scope);
    ctx |= c.ctx;
    const k = constantOf(c);
    if (k !== undefined) {
      // true or … is true; false and … is false; the other constants drop out.
      if (constToBoolean(k) === isOr) return constBoolean(isOr);
      continue;
    }
    fs.push(asBoolean(c));
  }
  if (fs.length === 0) return constBoolean(!isOr);
  if (fs.length === 1) return boolean(fs[0], ctx);
  if (fs.length === 2) {
    const [a, b] = fs;
    return boolean(
      isOr
        ? (n, p, s, env) => a(n, p, s, env) || b(n, p, s, env)
        : (n, p, s, env) => a(n, p, s, env) && b(n, p, s, env),
      ctx,
    );
  }
  return boolean(
    isOr
      ? (n, p, s, env) => {
          for (let i = 0; i < fs.length; i++) if (fs[i](n, p, s, env)) return true;
          return false;
        }
      : (n, p, s, env) => {
          for (let i = 0; i < fs.length; i++) if (!fs[i](n, p, s, env)) return false;
          return true;
        },
    ctx,
  );
}

function compileArith(op: string, a: Compiled, b: Compiled): Compiled {
  const ka = constantOf(a);
  const kb = constantOf(b);
  const calc = ARITH[op];
  if (ka !== undefined && kb !== undefined) return constNumber(calc(constToNumber(ka), constToNumber(kb)));
  const fa = asNumber(a);
  const fb = asNumber(b);
  const ctx = a.ctx | b.ctx;
  switch (op) {
    case "+":
      return number((n, p, s, env) => fa(n, p, s, env) + fb(n, p, s, env), ctx);
    case "-":
      return number((n, p, s, env) => fa(n, p, s, env) - fb(n, p, s, env), ctx);
    case "*":
      return number((n, p, s, env) => fa(n, p, s, env) * fb(n, p, s, env), ctx);
    case "div":
      return number((n, p, s, env) => fa(n, p, s, env) / fb(n, p, s, env), ctx);
    default:
      return number((n, p, s, env) => fa(n, p, s, env) % fb(n, p, s, env), ctx);
  }
}

/** XPath's mod is the remainder of truncating division, with the sign of the dividend: JS %. */
const ARITH: Record<string, (x: number, y: number) => number> = {
  "+": (x, y) => x + y,
  "-": (x, y) => x - y,
  "*": (x, y) => x * y,
  div: (x, y) => x / y,
  mod: (x, y) => x % y,
};

/** Units a union charges per operand, and per node an operand yields (budget.ts, "unions"). */
const UNION_OPERAND = 8;
const UNION_NODE = 3;

function compileUnion(operands: readonly Expr[], scope: CompileScope): CNodeSet {
  const parts: CNodeSet[] = operands.map((o) => {
    const c = compileExpr(o, scope);
    if (c.t !== "nodeset") {
      throw compileError(
        scope.source,
        o.pos,
        `the operands of '|' must be node sets, not a ${TYPE_NAMES[c.t]}`,
      );
    }
    return c;
  });
  let ctx = 0;
  for (const p of parts) ctx |= p.ctx;
  const fs = parts.map((p) => p.f);
  return {
    t: "nodeset",
    f: (n, p, s, env) => {
      const all: XNode[] = [];
      for (let i = 0; i < fs.length; i++) {
        const r = fs[i](n, p, s, env);
        // Each operand: its call, then a copy of its nodes into the merge and their share of
        // the order check and duplicate removal below (budget.ts, "unions").
        charge(env, UNION_OPERAND + UNION_NODE * r.length);
        for (let j = 0; j < r.length; j++) all.push(r[j]);
      }
      chargeSort(env, all.length);
      return inDocumentOrder(all);
    },
    some: (n, p, s, env, pred) => {
      for (let i = 0; i < parts.length; i++) if (parts[i].some(n, p, s, env, pred)) return true;
      return false;
    },
    ctx,
  };
}

function compilePathExpr(e: Extract<Expr, { type: "path" }>, scope: CompileScope): CNodeSet {
  let start: CNodeSet | null = null;
  if (e.start !== null) {
    const c = compileExpr(e.start, scope);
    if (c.t !== "nodeset") {
      throw compileError(
        scope.source,
        e.start.pos,
        `a location step can only follow a node set, not a ${TYPE_NAMES[c.t]}`,
      );
    }
    start = c;
  }
  const steps = e.steps.map((st) => compileStep(st, scope));
  return compilePath(e.absolute, start, steps);
}

function compileStep(st: Step, scope: CompileScope) {
  const ns = st.test.kind === "name" ? resolvePrefix(st.test.prefix, st.pos, scope) : "";
  const testFn = nodeTestFn(st.axis, st.test, ns);
  const preds = st.predicates.map((p) => compileExpr(p, scope));
  return makeStep(st.axis, st.test, testFn, preds, sizeOfAll(st.predicates));
}

/**
 * The number of syntax nodes in `exprs`: how many closures one evaluation of them may run,
 * which a step charges per node it looks at (budget.ts). Iterative: trees can be deep.
 */
export function sizeOfAll(exprs: readonly Expr[]): number {
  let size = 0;
  const stack: Expr[] = exprs.slice();
  while (stack.length > 0) {
    const e = stack.pop()!;
    size++;
    switch (e.type) {
      case "or":
      case "and":
      case "union":
        for (const o of e.operands) stack.push(o);
        break;
      case "compare":
      case "arith":
        stack.push(e.left, e.right);
        break;
      case "neg":
        stack.push(e.operand);
        break;
      case "path":
        if (e.start !== null) stack.push(e.start);
        for (const st of e.steps) for (const p of st.predicates) stack.push(p);
        break;
      case "filter":
        stack.push(e.primary);
        for (const p of e.predicates) stack.push(p);
        break;
      case "call":
        for (const a of e.args) stack.push(a);
        break;
      default:
        break;
    }
  }
  return size;
}
