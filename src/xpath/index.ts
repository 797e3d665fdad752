/**
 * XPath 1.0 over the project's light XML tree (src/xml/types.ts), for VOEvent filters.
 *
 *   const rule = compileXPath('//Param[@name="Sun_Distance" and @value > 40]');
 *   rule.test(parseXml(packet));   // true / false
 *
 * - Expressions are compiled once into closures; every syntax, type or name problem
 *   (unknown function, unbound prefix, variable reference, `count(1)`) is a
 *   VOEventError("BAD_XPATH") thrown by compileXPath, with the column.
 * - Evaluation starts at the document node (position 1, size 1), as XPath does for a
 *   document. (Comet evaluates filters at the root element instead: absolute filters,
 *   `/…` and `//…`, agree; a relative one like `Who/Author` matches there, not here.)
 * - Evaluation throws only VOEventError("XPATH_BUDGET"), on a tree that honours
 *   src/xml/types.ts: each evaluation has a budget of work (budget.ts; default
 *   XPATH_DEFAULT_BUDGET units, about a node visit each, a few milliseconds in all), so
 *   that no expression on any document holds the event loop for longer; the error names
 *   the expression and the budget. `stepsUsed` tells what the last evaluation used. Its
 *   recursion is bounded by the expression (a syntax tree at most MAX_DEPTH deep), never
 *   by the document, and its time is linear in the document for the usual forms (steps
 *   over many context nodes are merged, string-values of nested elements are slices).
 * - Names: an unprefixed name test matches nodes in no namespace (XPath 1.0); the
 *   prefix `voe` stands for the namespace of the document's root element (VOEvent 1.1,
 *   2.0, or none), unless options.namespaces binds it; `xml` is always bound.
 * - The namespace axis yields a namespace node per namespace in scope, `xml` included
 *   (namespaces.ts makes them from XElement.nsDecls). id() is always empty (no DTD, so no
 *   ID attributes).
 * - The evaluator keeps an index of each document it sees (a non-enumerable symbol
 *   property on the XDocument, see docindex.ts): trees must not be changed after they
 *   have been evaluated.
 */
import { VOEventError } from "../errors";
import type { XDocument, XNode } from "../xml/types";
import { EXCEEDED, XPATH_DEFAULT_BUDGET } from "./budget";
import { compileExpr, makeScope } from "./compile";
import { asBoolean, type Compiled, type Fn } from "./compiled";
import type { Env } from "./env";
import { quoteXPath } from "./errors";
import { isNCName } from "./lexer";
import { parseXPath } from "./parser";
import type { XNodeSet, XPathValue } from "./values";

export { XPATH_DEFAULT_BUDGET } from "./budget";
export { quoteXPath } from "./errors";
export { MAX_DEPTH, MAX_NESTING } from "./parser";
export type { XNodeSet, XPathValue } from "./values";
export { numberToString, stringToNumber, stringValue } from "./values";

export interface CompiledXPath {
  readonly source: string;
  /**
   * Full XPath 1.0 result. `voe` prefix bound to the namespace of doc.root (the packet's
   * own VOEvent namespace, v1.1 or v2.0, or '' for an un-namespaced root), plus any
   * namespaces given at compile time. A node set is a fresh array in document order.
   */
  evaluate(doc: XDocument, options?: EvaluateOptions): XPathValue;
  /** XPath boolean() of the result: non-empty node set, true, non-zero non-NaN number, non-empty string. */
  test(doc: XDocument, options?: EvaluateOptions): boolean;
  /** Units of work (about node visits) the last evaluate() or test() used, or had used when it stopped. */
  readonly stepsUsed: number;
  /** The budget of each evaluation unless EvaluateOptions.budget says otherwise. */
  readonly budget: number;
}

export interface EvaluateOptions {
  /**
   * Units of work this evaluation may use (Infinity: no limit); default the compiled
   * expression's budget. More throws VOEventError("XPATH_BUDGET").
   */
  budget?: number;
}

export interface CompileXPathOptions {
  /** Prefix → namespace URI. A `voe` entry here overrides the root's namespace. */
  namespaces?: Record<string, string>;
  /**
   * The context node: the document node (default, as the `xpath` library and XSLT), or the
   * root element, as Comet evaluates subscribers' filters (lxml on the parsed root), so that a
   * relative filter such as `Who/Author[contactName="KSK"]` or `@role="test"` means what it
   * means there. Absolute expressions give the same result either way.
   */
  context?: "document" | "root";
  /**
   * Units of work (about node visits) each evaluation may use; default XPATH_DEFAULT_BUDGET;
   * Infinity for no limit. An evaluation that needs more throws VOEventError("XPATH_BUDGET").
   */
  budget?: number;
}

class CompiledExpression implements CompiledXPath {
  stepsUsed = 0;

  constructor(
    readonly source: string,
    private readonly value: Fn<XPathValue>,
    private readonly bool: Fn<boolean>,
    private readonly voe: string | null,
    private readonly atRoot: boolean,
    readonly budget: number,
  ) {}

  evaluate(doc: XDocument, options?: EvaluateOptions): XPathValue {
    const env = this.env(doc, options);
    let value: XPathValue;
    try {
      value = this.value(this.atRoot && doc.root ? doc.root : doc, 1, 1, env);
    } catch (err) {
      throw this.failed(err, env);
    }
    this.stepsUsed = env.start - env.budget;
    return value;
  }

  test(doc: XDocument, options?: EvaluateOptions): boolean {
    const env = this.env(doc, options);
    let value: boolean;
    try {
      value = this.bool(this.atRoot && doc.root ? doc.root : doc, 1, 1, env);
    } catch (err) {
      throw this.failed(err, env);
    }
    this.stepsUsed = env.start - env.budget;
    return value;
  }

  private env(doc: XDocument, options: EvaluateOptions | undefined): Env & { start: number } {
    const budget = options?.budget === undefined ? this.budget : checkBudget(options.budget);
    return { doc, voeNs: this.voe ?? doc.root?.ns ?? "", index: null, budget, start: budget };
  }

  /** What an evaluation that threw throws: XPATH_BUDGET for the budget, else the error itself. */
  private failed(err: unknown, env: Env & { start: number }): unknown {
    this.stepsUsed = env.start - env.budget;
    if (err !== EXCEEDED) return err;
    return new VOEventError(
      "XPATH_BUDGET",
      `XPath ${quoteXPath(this.source)} needed more than its evaluation budget of ${env.start} steps (node visits) and was stopped`,
    );
  }
}

/** A budget option: a number above 0, or Infinity; else a RangeError. */
function checkBudget(budget: unknown): number {
  if (typeof budget !== "number" || Number.isNaN(budget) || budget <= 0) {
    throw new RangeError(
      `an XPath evaluation budget must be a number above 0 (or Infinity), not ${String(budget)}`,
    );
  }
  return budget;
}

/** True for the error an evaluation throws when it runs out of budget. */
export function isBudgetError(err: unknown): err is VOEventError {
  return err instanceof VOEventError && err.code === "XPATH_BUDGET";
}

function resultFn(c: Compiled): Fn<XPathValue> {
  if (c.t !== "nodeset") return c.f;
  const f = c.f;
  // Internal node sets may be shared with the document index: hand out a copy.
  return (n, p, s, e): XNodeSet => f(n, p, s, e).slice() as XNode[];
}

function checkNamespaces(source: string, namespaces: unknown): Record<string, string> | undefined {
  if (namespaces === undefined || namespaces === null) return undefined;
  if (typeof namespaces !== "object") {
    throw new VOEventError(
      "BAD_XPATH",
      `options.namespaces for ${quoteXPath(source)} must be an object of prefix → URI`,
    );
  }
  const out: Record<string, string> = {};
  for (const [prefix, uri] of Object.entries(namespaces)) {
    if (!isNCName(prefix))
      throw new VOEventError("BAD_XPATH", `namespace prefix '${prefix}' is not an NCName`);
    if (typeof uri !== "string")
      throw new VOEventError("BAD_XPATH", `namespace URI for prefix '${prefix}' is not a string`);
    out[prefix] = uri;
  }
  return out;
}

/**
 * Compiles an XPath 1.0 expression. Throws VOEventError("BAD_XPATH") when it cannot be
 * compiled, RangeError for a budget that is not a number above 0.
 */
export function compileXPath(expression: string, options?: CompileXPathOptions): CompiledXPath {
  if (typeof expression !== "string") {
    throw new VOEventError("BAD_XPATH", `an XPath expression must be a string, not ${typeof expression}`);
  }
  const namespaces = checkNamespaces(expression, options?.namespaces);
  const budget = options?.budget === undefined ? XPATH_DEFAULT_BUDGET : checkBudget(options.budget);
  const scope = makeScope(expression, namespaces);
  const compiled = compileExpr(parseXPath(expression), scope);
  const voe = scope.voeFromRoot ? null : scope.namespaces.get("voe")!;
  return new CompiledExpression(
    expression,
    resultFn(compiled),
    asBoolean(compiled),
    voe,
    options?.context === "root",
    budget,
  );
}
