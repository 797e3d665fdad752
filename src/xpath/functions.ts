/**
 * The XPath 1.0 core function library (§4). Arity and node-set arguments are checked at
 * compile time; arguments are converted as the spec says (string(), number(), boolean()).
 * id() always returns an empty node set: without a DTD no attribute is of type ID.
 */
import { type XNode, XNodeType } from "../xml/types";
import { charge, chargeText } from "./budget";
import {
  asBoolean,
  asNumber,
  asString,
  boolean,
  type CNodeSet,
  type Compiled,
  constantOf,
  constBoolean,
  constNumber,
  constString,
  constToBoolean,
  constToString,
  type Fn,
  nodeSet,
  number,
  string,
  TYPE_NAMES,
  USES_POSITION,
  USES_SIZE,
} from "./compiled";
import { flatIndexOf, langAt } from "./docindex";
import { type Env, indexFor } from "./env";
import { normalizeSpace, stringLength, substring, translate } from "./strings";
import { numberValueIn, stringValueIn } from "./strvalue";

/** Throws the compile error for a bad call; given by the compiler (it knows the source). */
export type CallError = (message: string) => never;

interface FunctionDef {
  min: number;
  max: number;
  compile(args: Compiled[], fail: CallError): Compiled;
}

const EMPTY: readonly XNode[] = [];

function ctxOf(args: readonly Compiled[]): number {
  let c = 0;
  for (const a of args) c |= a.ctx;
  return c;
}

function nodeSetArg(name: string, args: readonly Compiled[], i: number, fail: CallError): CNodeSet {
  const a = args[i];
  if (a.t !== "nodeset") fail(`${name}() needs a node set as argument ${i + 1}, not a ${TYPE_NAMES[a.t]}`);
  return a;
}

function localName(n: XNode): string {
  switch (n.type) {
    case XNodeType.Element:
    case XNodeType.Attribute:
      return n.local;
    case XNodeType.ProcessingInstruction:
      return n.target;
    default:
      return "";
  }
}

function qualifiedName(n: XNode): string {
  switch (n.type) {
    case XNodeType.Element:
    case XNodeType.Attribute:
      return n.name;
    case XNodeType.ProcessingInstruction:
      return n.target;
    default:
      return "";
  }
}

function namespaceUri(n: XNode): string {
  return n.type === XNodeType.Element || n.type === XNodeType.Attribute ? n.ns : "";
}

/** local-name(), name(), namespace-uri(): of the context node, or of the first node of the argument. */
function nodeNameFunction(name: string, get: (n: XNode) => string): FunctionDef {
  return {
    min: 0,
    max: 1,
    compile(args, fail) {
      if (args.length === 0) return string((n) => get(n), 0);
      const f = nodeSetArg(name, args, 0, fail).f;
      return string((n, p, s, e) => {
        const r = f(n, p, s, e);
        return r.length === 0 ? "" : get(r[0]);
      }, args[0].ctx);
    },
  };
}

/**
 * Budget units per character of the arguments: the built-in searches (indexOf, startsWith)
 * run at native speed; the others walk the string in a loop, translate() with a lookup per
 * character.
 */
type PerChar = (e: Env, chars: number) => void;
const NATIVE: PerChar = chargeText;
const LOOP: PerChar = (e, chars) => charge(e, 1 + chars);
const LOOKUP: PerChar = (e, chars) => charge(e, 1 + 4 * chars);

/** A function of strings, with an optional context-node default for a missing first argument. */
function stringFn<T extends string | number | boolean>(
  min: number,
  max: number,
  type: "string" | "number" | "boolean",
  impl: (...xs: string[]) => T,
  perChar: PerChar = NATIVE,
): FunctionDef {
  return {
    min,
    max,
    compile(args) {
      const fs: Fn<string>[] =
        args.length === 0 ? [(n, _p, _s, e) => stringValueIn(n, e)] : args.map((a) => asString(a));
      const ctx = ctxOf(args);
      // Each charged by the length of its arguments: every one of these reads them through.
      let f: Fn<T>;
      if (fs.length === 1) {
        const [a] = fs;
        f = (n, p, s, e) => {
          const x = a(n, p, s, e);
          perChar(e, x.length);
          return impl(x);
        };
      } else if (fs.length === 2) {
        const [a, b] = fs;
        f = (n, p, s, e) => {
          const x = a(n, p, s, e);
          const y = b(n, p, s, e);
          perChar(e, x.length + y.length);
          return impl(x, y);
        };
      } else {
        const [a, b, c] = fs;
        f = (n, p, s, e) => {
          const x = a(n, p, s, e);
          const y = b(n, p, s, e);
          const z = c(n, p, s, e);
          perChar(e, x.length + y.length + z.length);
          return impl(x, y, z);
        };
      }
      if (type === "string") return string(f as Fn<string>, ctx);
      if (type === "number") return number(f as Fn<number>, ctx);
      return boolean(f as Fn<boolean>, ctx);
    },
  };
}

function numberFn(impl: (x: number) => number): FunctionDef {
  return {
    min: 1,
    max: 1,
    compile(args) {
      const k = constantOf(args[0]);
      if (k !== undefined && typeof k === "number") return constNumber(impl(k));
      const f = asNumber(args[0]);
      return number((n, p, s, e) => impl(f(n, p, s, e)), args[0].ctx);
    },
  };
}

/** lang(s): the xml:lang in scope at the context node is s or a sub-language of s. */
function lang(node: XNode, wanted: string, env: Env): boolean {
  const ix = indexFor(env);
  const i = flatIndexOf(ix, node.type === XNodeType.Attribute ? node.parent : node);
  const inScope = i < 0 ? null : langAt(ix, i);
  if (inScope === null) return false;
  const v = inScope.toLowerCase();
  const w = wanted.toLowerCase();
  return v === w || (v.startsWith(w) && v.charCodeAt(w.length) === 0x2d);
}

export const FUNCTIONS: ReadonlyMap<string, FunctionDef> = new Map<string, FunctionDef>([
  // Node-set functions.
  ["last", { min: 0, max: 0, compile: () => number((_n, _p, s) => s, USES_SIZE) }],
  ["position", { min: 0, max: 0, compile: () => number((_n, p) => p, USES_POSITION) }],
  [
    "count",
    {
      min: 1,
      max: 1,
      compile(args, fail) {
        const f = nodeSetArg("count", args, 0, fail).f;
        return number((n, p, s, e) => f(n, p, s, e).length, args[0].ctx);
      },
    },
  ],
  ["id", { min: 1, max: 1, compile: (args) => nodeSet(() => EMPTY, args[0].ctx) }],
  ["local-name", nodeNameFunction("local-name", localName)],
  ["namespace-uri", nodeNameFunction("namespace-uri", namespaceUri)],
  ["name", nodeNameFunction("name", qualifiedName)],
  // String functions.
  [
    "string",
    {
      min: 0,
      max: 1,
      compile(args) {
        if (args.length === 0) return string((n, _p, _s, e) => stringValueIn(n, e), 0);
        const a = args[0];
        if (a.t === "string") return a;
        const k = constantOf(a);
        if (k !== undefined) return constString(constToString(k));
        return string(asString(a), a.ctx);
      },
    },
  ],
  [
    "concat",
    {
      min: 2,
      max: Number.POSITIVE_INFINITY,
      compile(args) {
        const fs = args.map((a) => asString(a));
        return string((n, p, s, e) => {
          charge(e, 4 * fs.length); // a string built and, usually, flattened by its reader
          let out = "";
          for (let i = 0; i < fs.length; i++) {
            const piece = fs[i](n, p, s, e);
            // Charged before it is appended: the budget runs out long before a string could
            // reach V8's length limit.
            chargeText(e, piece.length);
            out += piece;
          }
          return out;
        }, ctxOf(args));
      },
    },
  ],
  ["starts-with", stringFn(2, 2, "boolean", (a, b) => a.startsWith(b))],
  ["contains", stringFn(2, 2, "boolean", (a, b) => a.includes(b))],
  [
    "substring-before",
    stringFn(2, 2, "string", (a, b) => {
      const i = a.indexOf(b);
      return i < 0 ? "" : a.slice(0, i);
    }),
  ],
  [
    "substring-after",
    stringFn(2, 2, "string", (a, b) => {
      const i = a.indexOf(b);
      return i < 0 ? "" : a.slice(i + b.length);
    }),
  ],
  [
    "substring",
    {
      min: 2,
      max: 3,
      compile(args) {
        const str = asString(args[0]);
        const start = asNumber(args[1]);
        const len = args.length === 3 ? asNumber(args[2]) : null;
        const text: Fn<string> = (n, p, s, e) => {
          const x = str(n, p, s, e);
          LOOP(e, x.length);
          return x;
        };
        return string(
          len === null
            ? (n, p, s, e) => substring(text(n, p, s, e), start(n, p, s, e), undefined)
            : (n, p, s, e) => substring(text(n, p, s, e), start(n, p, s, e), len(n, p, s, e)),
          ctxOf(args),
        );
      },
    },
  ],
  ["string-length", stringFn(0, 1, "number", stringLength, LOOP)],
  ["normalize-space", stringFn(0, 1, "string", normalizeSpace, LOOP)],
  ["translate", stringFn(3, 3, "string", translate, LOOKUP)],
  // Boolean functions.
  [
    "boolean",
    {
      min: 1,
      max: 1,
      compile(args) {
        const k = constantOf(args[0]);
        if (k !== undefined) return constBoolean(constToBoolean(k));
        return boolean(asBoolean(args[0]), args[0].ctx);
      },
    },
  ],
  [
    "not",
    {
      min: 1,
      max: 1,
      compile(args) {
        const k = constantOf(args[0]);
        if (k !== undefined) return constBoolean(!constToBoolean(k));
        const f = asBoolean(args[0]);
        return boolean((n, p, s, e) => !f(n, p, s, e), args[0].ctx);
      },
    },
  ],
  ["true", { min: 0, max: 0, compile: () => constBoolean(true) }],
  ["false", { min: 0, max: 0, compile: () => constBoolean(false) }],
  [
    "lang",
    {
      min: 1,
      max: 1,
      compile(args) {
        const f = asString(args[0]);
        return boolean((n, p, s, e) => lang(n, f(n, p, s, e), e), args[0].ctx);
      },
    },
  ],
  // Number functions.
  [
    "number",
    {
      min: 0,
      max: 1,
      compile(args) {
        if (args.length === 0) return number((n, _p, _s, e) => numberValueIn(n, e), 0);
        const a = args[0];
        if (a.t === "number") return a;
        return number(asNumber(a), a.ctx);
      },
    },
  ],
  [
    "sum",
    {
      min: 1,
      max: 1,
      compile(args, fail) {
        const f = nodeSetArg("sum", args, 0, fail).f;
        return number((n, p, s, e) => {
          const r = f(n, p, s, e);
          charge(e, r.length);
          let total = 0;
          for (let i = 0; i < r.length; i++) total += numberValueIn(r[i], e);
          return total;
        }, args[0].ctx);
      },
    },
  ],
  ["floor", numberFn(Math.floor)],
  ["ceiling", numberFn(Math.ceil)],
  ["round", numberFn(Math.round)],
]);
