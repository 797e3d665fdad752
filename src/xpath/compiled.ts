/**
 * The compiled form of an expression: a closure per syntax node, typed by XPath's static
 * type (every XPath 1.0 expression has one, as there are no variables), so conversions
 * are chosen once at compile time rather than on every evaluation.
 */
import type { XNode } from "../xml/types";
import { charge } from "./budget";
import type { Env } from "./env";
import { stringValueIn } from "./strvalue";
import { numberToString, stringToNumber } from "./values";

/** Evaluates in a context: node, proximity position, context size. */
export type Fn<T> = (node: XNode, pos: number, size: number, env: Env) => T;
export type NodePred = (n: XNode, env: Env) => boolean;
/** True when some node of the set satisfies `pred` (in any order; may stop early). */
export type SomeFn = (node: XNode, pos: number, size: number, env: Env, pred: NodePred) => boolean;

/** `ctx` flags: the expression reads the context position / size of its own context. */
export const USES_POSITION = 1;
export const USES_SIZE = 2;

export interface CBoolean {
  t: "boolean";
  f: Fn<boolean>;
  /** The value, when known at compile time. */
  k: boolean | undefined;
  ctx: number;
}
export interface CNumber {
  t: "number";
  f: Fn<number>;
  k: number | undefined;
  ctx: number;
}
export interface CString {
  t: "string";
  f: Fn<string>;
  k: string | undefined;
  ctx: number;
}
export interface CNodeSet {
  t: "nodeset";
  /** The node set in document order. The array may be shared: never modify it. */
  f: Fn<readonly XNode[]>;
  some: SomeFn;
  ctx: number;
}
export type Compiled = CBoolean | CNumber | CString | CNodeSet;

export const TYPE_NAMES: Record<Compiled["t"], string> = {
  boolean: "boolean",
  number: "number",
  string: "string",
  nodeset: "node set",
};

export const ANY_NODE: NodePred = () => true;

export function constBoolean(k: boolean): CBoolean {
  return { t: "boolean", f: () => k, k, ctx: 0 };
}
export function constNumber(k: number): CNumber {
  return { t: "number", f: () => k, k, ctx: 0 };
}
export function constString(k: string): CString {
  return { t: "string", f: () => k, k, ctx: 0 };
}
export function boolean(f: Fn<boolean>, ctx: number): CBoolean {
  return { t: "boolean", f, k: undefined, ctx };
}
export function number(f: Fn<number>, ctx: number): CNumber {
  return { t: "number", f, k: undefined, ctx };
}
export function string(f: Fn<string>, ctx: number): CString {
  return { t: "string", f, k: undefined, ctx };
}

/** A node set whose `some` is a scan of `f`'s result. */
export function nodeSet(f: Fn<readonly XNode[]>, ctx: number): CNodeSet {
  return {
    t: "nodeset",
    f,
    some: (node, pos, size, env, pred) => {
      const r = f(node, pos, size, env);
      charge(env, r.length);
      for (let i = 0; i < r.length; i++) if (pred(r[i], env)) return true;
      return false;
    },
    ctx,
  };
}

/** The constant value of `c` if it has one. */
export function constantOf(c: Compiled): boolean | number | string | undefined {
  return c.t === "nodeset" ? undefined : c.k;
}

export function asBoolean(c: Compiled): Fn<boolean> {
  switch (c.t) {
    case "boolean":
      return c.f;
    case "number": {
      const f = c.f;
      return (n, p, s, e) => {
        const v = f(n, p, s, e);
        return v !== 0 && !Number.isNaN(v);
      };
    }
    case "string": {
      const f = c.f;
      return (n, p, s, e) => f(n, p, s, e).length > 0;
    }
    default: {
      const some = c.some;
      return (n, p, s, e) => some(n, p, s, e, ANY_NODE);
    }
  }
}

export function asNumber(c: Compiled): Fn<number> {
  switch (c.t) {
    case "number":
      return c.f;
    case "boolean": {
      const f = c.f;
      return (n, p, s, e) => (f(n, p, s, e) ? 1 : 0);
    }
    case "string": {
      const f = c.f;
      return (n, p, s, e) => stringToNumber(f(n, p, s, e));
    }
    default: {
      const f = c.f;
      return (n, p, s, e) => {
        const r = f(n, p, s, e);
        return r.length === 0 ? Number.NaN : stringToNumber(stringValueIn(r[0], e));
      };
    }
  }
}

export function asString(c: Compiled): Fn<string> {
  switch (c.t) {
    case "string":
      return c.f;
    case "boolean": {
      const f = c.f;
      return (n, p, s, e) => (f(n, p, s, e) ? "true" : "false");
    }
    case "number": {
      const f = c.f;
      return (n, p, s, e) => numberToString(f(n, p, s, e));
    }
    default: {
      const f = c.f;
      return (n, p, s, e) => {
        const r = f(n, p, s, e);
        return r.length === 0 ? "" : stringValueIn(r[0], e);
      };
    }
  }
}

/** Compile-time conversions of constants, as XPath's boolean() / number() / string(). */
export function constToBoolean(k: boolean | number | string): boolean {
  return typeof k === "boolean" ? k : typeof k === "number" ? k !== 0 && !Number.isNaN(k) : k.length > 0;
}
export function constToNumber(k: boolean | number | string): number {
  return typeof k === "boolean" ? (k ? 1 : 0) : typeof k === "number" ? k : stringToNumber(k);
}
export function constToString(k: boolean | number | string): string {
  return typeof k === "boolean" ? (k ? "true" : "false") : typeof k === "number" ? numberToString(k) : k;
}
