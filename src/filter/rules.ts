/**
 * Filter rules: what the voevent-filter node routes by, usable without Node-RED.
 *
 * A rule is plain data (as saved in a flow); compileRule checks it once and
 * returns a predicate over a parsed packet. Rule types:
 *
 *   xpath   an XPath 1.0 expression, true as Comet's --filter is (a non-empty
 *           node set, true, a non-zero number, a non-empty string); the prefix
 *           `voe` is bound to the packet's own VOEvent namespace (1.1, 2.0, none)
 *   role    the packet's role is (or is not) the given one
 *   stream  the stream (IVORN before `#`) matches a glob (see ./glob.ts)
 *   ivorn   the whole IVORN matches a glob
 *   param   a Param, top-level or in any Group, compares with a value:
 *           eq neq lt lte gt gte contains; numerically when both sides read as
 *           numbers, otherwise as strings (lt…gte then never match)
 *   cone    the position lies within `radius` degrees of (ra, dec) on the sky;
 *           with `error`, the event's error circle only has to touch the cone;
 *           an event without a position never matches
 *   gcn     the packet's Packet_Type is one of the given GCN notice types, by
 *           number or GCN's name (see ./gcn.ts and src/voevent/gcn-types.ts)
 *   signed  the event carries a good OpenPGP signature (msg.signature from a
 *           receiver or subscriber whose `signatures` is check or require,
 *           verdict "signed"), by any key of the keyring or, with `key`, by
 *           the key of this ID (8 or 16 hex digits) or fingerprint (40); an
 *           event without msg.signature never matches
 */
import { VOEventError } from "../errors";
import type { ParamValue, VOEvent, VOEventRole } from "../voevent/model";
import { VOEVENT_ROLES } from "../voevent/model";
import { angularDistance, coneProblem } from "../voevent/sky";
import type { XDocument } from "../xml/types";
import { compileXPath, isBudgetError } from "../xpath";
import { compileGcnRule, type GcnRule } from "./gcn";
import { globMatcher } from "./glob";

export type ParamOp = "eq" | "neq" | "lt" | "lte" | "gt" | "gte" | "contains";
export const PARAM_OPS: readonly ParamOp[] = ["eq", "neq", "lt", "lte", "gt", "gte", "contains"];

export type RoleOp = "is" | "not";

/** Numbers typed into an editor arrive as strings: both are accepted. */
type NumberLike = number | string;

export interface XPathRule {
  t: "xpath";
  xpath: string;
}
export interface RoleRule {
  t: "role";
  /** "is" by default. */
  op?: RoleOp;
  role: string;
}
export interface StreamRule {
  t: "stream";
  pattern: string;
}
export interface IvornRule {
  t: "ivorn";
  pattern: string;
}
export interface ParamRule {
  t: "param";
  name: string;
  op: ParamOp;
  value: NumberLike;
}
export interface ConeRule {
  t: "cone";
  ra: NumberLike;
  dec: NumberLike;
  radius: NumberLike;
  /** Match when the event's error circle overlaps the cone. */
  error?: boolean;
}

export type { GcnRule } from "./gcn";

export interface SignedRule {
  t: "signed";
  /** A key ID (8 or 16 hex digits) or fingerprint (40); blank = any key of the keyring. */
  key?: string;
}

export type FilterRule =
  | XPathRule
  | RoleRule
  | StreamRule
  | IvornRule
  | ParamRule
  | ConeRule
  | GcnRule
  | SignedRule;
export type FilterRuleType = FilterRule["t"];
export const RULE_TYPES: readonly FilterRuleType[] = [
  "xpath",
  "role",
  "stream",
  "ivorn",
  "param",
  "cone",
  "gcn",
  "signed",
];

/**
 * What a rule looks at: the model, and (for XPath only) the document. A parse
 * result from src/voevent/parse.ts or the payload cache is one; a lazy getter
 * for `doc` spares the parse when no XPath rule runs.
 */
export interface FilterSubject {
  readonly voevent: VOEvent;
  readonly doc: XDocument;
  /** msg.signature, when a receiver or subscriber checked the signature. */
  readonly signature?: SignatureSummary | null;
}

/** What the `signed` rule reads of msg.signature (src/signature's SignatureVerdict). */
export interface SignatureSummary {
  verdict: string;
  keyId: string | null;
  fingerprint?: string;
}

export type RulePredicate = (subject: FilterSubject) => boolean;

/** How xpath rules are evaluated (./limits.ts has the defaults). */
export interface RuleOptions {
  /** Units of work each evaluation of an xpath rule may use (default XPATH_DEFAULT_BUDGET). */
  xpathBudget?: number;
  /**
   * Called each time an xpath rule exceeds its budget (it then counts as not matching);
   * `first` is true the first time for that rule, so that it can be reported once.
   */
  onBudgetExceeded?: (info: { expression: string; message: string; first: boolean }) => void;
}

/** A rule that cannot be compiled: says which rule and why. */
export class RuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RuleError";
  }
}

/**
 * Compiles one rule. Throws VOEventError("BAD_XPATH") for an XPath that does
 * not compile, RuleError for any other unusable setting.
 */
export function compileRule(rule: FilterRule, options?: RuleOptions): RulePredicate {
  if (rule === null || typeof rule !== "object") throw new RuleError("a rule must be an object");
  switch (rule.t) {
    case "xpath":
      return compileXPathRule(rule.xpath, options);
    case "role":
      return compileRoleRule(rule);
    case "stream": {
      const match = globMatcher(requireText(rule.pattern, "the stream pattern").trim());
      return (s) => match(s.voevent.stream);
    }
    case "ivorn": {
      const match = globMatcher(requireText(rule.pattern, "the IVORN pattern").trim());
      return (s) => match(s.voevent.ivorn);
    }
    case "param":
      return compileParamRule(rule);
    case "cone":
      return compileConeRule(rule);
    case "gcn":
      try {
        return compileGcnRule(rule);
      } catch (err) {
        throw new RuleError((err as Error).message);
      }
    case "signed":
      return compileSignedRule(rule);
    default:
      throw new RuleError(`unknown rule type '${String((rule as { t?: unknown }).t)}'`);
  }
}

/** A rule numbered for messages: "rule 2 (param): …". */
export function compileRules(rules: readonly FilterRule[], options?: RuleOptions): RulePredicate[] {
  if (!Array.isArray(rules)) throw new RuleError("the rules must be a list");
  return rules.map((rule, i) => {
    try {
      return compileRule(rule, options);
    } catch (err) {
      const what = rule && typeof rule === "object" && typeof rule.t === "string" ? ` (${rule.t})` : "";
      const message = `rule ${i + 1}${what}: ${err instanceof Error ? err.message : String(err)}`;
      throw err instanceof VOEventError ? new VOEventError(err.code, message) : new RuleError(message);
    }
  });
}

/**
 * Indices of the rules that match, in order; with `checkall` false, at most
 * the first. A predicate that throws propagates (the node reports it).
 */
export function matchingRules(
  predicates: readonly RulePredicate[],
  subject: FilterSubject,
  checkall: boolean,
) {
  const hits: number[] = [];
  for (let i = 0; i < predicates.length; i++) {
    if (predicates[i](subject)) {
      hits.push(i);
      if (!checkall) break;
    }
  }
  return hits;
}

/** Checks an XPath expression compiles (with `voe` bound); throws VOEventError("BAD_XPATH") if not. */
export function checkXPath(expr: string): void {
  compileXPathRule(expr);
}

function compileXPathRule(expr: unknown, options?: RuleOptions): RulePredicate {
  if (typeof expr !== "string" || expr.trim() === "") {
    throw new VOEventError("BAD_XPATH", "the XPath expression is empty");
  }
  // Unbound, `voe` stands for the namespace of the packet's root (1.1, 2.0 or none).
  const compiled = compileXPath(
    expr,
    options?.xpathBudget === undefined ? {} : { budget: options.xpathBudget },
  );
  const onExceeded = options?.onBudgetExceeded;
  let exceeded = false;
  return (s) => {
    try {
      return compiled.test(s.doc);
    } catch (err) {
      // Over budget: no match (one expensive rule must not hold up every message).
      if (!isBudgetError(err)) throw err;
      const first = !exceeded;
      exceeded = true;
      onExceeded?.({ expression: expr, message: err.message, first });
      return false;
    }
  };
}

function compileRoleRule(rule: RoleRule): RulePredicate {
  const role = requireText(rule.role, "the role");
  if (!VOEVENT_ROLES.includes(role as VOEventRole)) {
    throw new RuleError(`'${role}' is not a VOEvent role (${VOEVENT_ROLES.join(", ")})`);
  }
  const op = rule.op ?? "is";
  if (op !== "is" && op !== "not") throw new RuleError(`unknown role comparison '${String(op)}' (is, not)`);
  return op === "is" ? (s) => s.voevent.role === role : (s) => s.voevent.role !== role;
}

function compileParamRule(rule: ParamRule): RulePredicate {
  const name = requireText(rule.name, "the Param name").trim();
  const op = rule.op;
  if (!PARAM_OPS.includes(op))
    throw new RuleError(`unknown comparison '${String(op)}' (${PARAM_OPS.join(", ")})`);
  if (rule.value === null || rule.value === undefined)
    throw new RuleError("the value to compare with is missing");
  const text = String(rule.value).trim();
  const number = asNumber(rule.value);
  if ((op === "lt" || op === "lte" || op === "gt" || op === "gte") && number === null) {
    throw new RuleError(`'${text}' is not a number, and ${op} compares numbers`);
  }
  const test = (value: ParamValue): boolean => {
    if (value === null) return false;
    const n = asNumber(value);
    const both = n !== null && number !== null;
    switch (op) {
      case "eq":
        return both ? n === number : String(value).trim() === text;
      case "neq":
        return both ? n !== number : String(value).trim() !== text;
      case "lt":
        return both && n < number;
      case "lte":
        return both && n <= number;
      case "gt":
        return both && n > number;
      case "gte":
        return both && n >= number;
      case "contains":
        return String(value).includes(text);
    }
  };
  return (s) => paramValues(s.voevent, name).some(test);
}

function compileConeRule(rule: ConeRule): RulePredicate {
  const cone = { ra: asNumber(rule.ra) ?? Number.NaN, dec: asNumber(rule.dec) ?? Number.NaN };
  const radius = asNumber(rule.radius) ?? Number.NaN;
  const problem = coneProblem({ ...cone, radius });
  if (problem !== null) throw new RuleError(problem);
  const withError = rule.error === true;
  return (s) => {
    const p = s.voevent.position;
    if (!p || !Number.isFinite(p.ra) || !Number.isFinite(p.dec)) return false;
    const slack = withError && p.error !== null && p.error > 0 ? p.error : 0;
    return angularDistance(p, cone) <= radius + slack;
  };
}

function compileSignedRule(rule: SignedRule): RulePredicate {
  const key = String(rule.key ?? "")
    .replace(/\s+/g, "")
    .replace(/^0x/i, "")
    .toUpperCase();
  if (key !== "" && !/^(?:[0-9A-F]{8}|[0-9A-F]{16}|[0-9A-F]{40})$/.test(key))
    throw new RuleError(`'${rule.key}' is not a key ID (8 or 16 hex digits) or a fingerprint (40)`);
  return (s) => {
    const sig = s.signature;
    if (sig === undefined || sig === null || sig.verdict !== "signed") return false;
    if (key === "") return true;
    const id = (sig.keyId ?? "").toUpperCase();
    const fp = (sig.fingerprint ?? "").toUpperCase();
    return key.length === 40 ? fp === key : id.endsWith(key) || fp.endsWith(key);
  };
}

/** Every value of the Params of this name: top-level first, then each Group's. */
export function paramValues(voevent: VOEvent, name: string): ParamValue[] {
  const values: ParamValue[] = [];
  if (voevent.params && Object.hasOwn(voevent.params, name)) values.push(voevent.params[name]);
  for (const group of Object.values(voevent.groups ?? {})) {
    if (Object.hasOwn(group, name)) values.push(group[name]);
  }
  return values;
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A finite number from a number or a decimal numeral (no hex, no "Infinity"); else null. */
export function asNumber(value: unknown): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value !== "string") return null;
  const text = value.trim();
  if (!DECIMAL.test(text)) return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

function requireText(value: unknown, what: string): string {
  if (typeof value !== "string" || value.trim() === "") throw new RuleError(`${what} is empty`);
  return value;
}
