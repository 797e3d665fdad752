/**
 * "Try a filter before deploying": evaluates a filter node's rules on one packet and says,
 * for each rule, whether it matches and, for an XPath rule, the value of its expression.
 * Used by the voevent-filter node's admin endpoint (nodes/voevent-filter/try-endpoint.ts).
 *
 * Decisions:
 * - The verdict comes from the same compiled predicate the node routes with
 *   (src/filter compileRule), so the panel cannot disagree with the deployed node; the
 *   XPath value is a second, separate evaluation for display only.
 * - A rule that does not compile gets its error, the others are still tried. A packet
 *   that does not parse is one error for all.
 * - Limits: at most `maxRules` rules (100), values shown cut at 200 characters, node sets
 *   shown as their count and the string-values (white space collapsed) of the first 5 nodes.
 * - Every rule says why: `setting` is the rule as read (role is test; within 10° of …;
 *   FERMI_GBM_FLT_POS (111)) and `value` what the packet has for it (its role; its position
 *   and distance from the cone's centre; the Param's values; its GCN notice type by name).
 */
import fs from "node:fs";
import path from "node:path";
import { asNumber, compileRule, type FilterRule, gcnRuleTypes, paramValues } from "../filter";
import { readEntry } from "../filter/registry";
import { gcnTypeLabel, packetTypeOf } from "../voevent/gcn-types";
import type { VOEvent } from "../voevent/model";
import { parseVOEvent } from "../voevent/parse";
import { angularDistance } from "../voevent/sky";
import { compileXPath, stringValue, type XPathValue } from "../xpath";

export const TRY_LIMITS = { maxRules: 100, maxValueChars: 200, maxNodes: 5 } as const;

export interface RuleVerdict {
  /** 0-based rule index. */
  rule: number;
  t: string;
  matches: boolean | null;
  /** What the packet has for the rule: an XPath rule's value, the role, the position and its
   * distance from the cone's centre, the Param's values, the GCN notice type. */
  value?: string;
  /** The rule's settings as read, e.g. "role is test", "within 10° of RA 83.63, Dec 22.01". */
  setting?: string;
  /** For XPath rules: boolean, number, string or node-set. */
  valueType?: string;
  error?: string;
}

export interface TryResult {
  ok: boolean;
  error?: string;
  /** The packet tried: its IVORN, role, stream, and GCN notice type by name (or null). */
  event?: { ivorn: string; role: string; stream: string; gcnType: string | null };
  results: RuleVerdict[];
  /** For a registry (tryRegistry): the entries that could not be read, by position. */
  problems?: string[];
}

function cutText(s: string): string {
  return s.length > TRY_LIMITS.maxValueChars ? `${s.slice(0, TRY_LIMITS.maxValueChars)}…` : s;
}

/** An XPath value as people read it. */
export function describeValue(value: XPathValue): { value: string; valueType: string } {
  if (typeof value === "boolean") return { value: String(value), valueType: "boolean" };
  if (typeof value === "number") return { value: String(value), valueType: "number" };
  if (typeof value === "string") return { value: cutText(JSON.stringify(value)), valueType: "string" };
  // Node sets are shown with white space collapsed (an element's string-value is mostly indentation).
  const shown = value
    .slice(0, TRY_LIMITS.maxNodes)
    .map((n) => JSON.stringify(cutText(stringValue(n).replace(/\s+/g, " ").trim())));
  const more = value.length > TRY_LIMITS.maxNodes ? `, … (${value.length - TRY_LIMITS.maxNodes} more)` : "";
  return {
    value: `${value.length} node${value.length === 1 ? "" : "s"}${shown.length > 0 ? `: ${shown.join(", ")}${more}` : ""}`,
    valueType: "node-set",
  };
}

/** Tries `rules` on the packet `xml`. */
export function tryRules(rules: unknown, xml: unknown): TryResult {
  if (!Array.isArray(rules)) return { ok: false, error: "rules must be a list", results: [] };
  if (rules.length > TRY_LIMITS.maxRules)
    return { ok: false, error: `at most ${TRY_LIMITS.maxRules} rules (maxRules)`, results: [] };
  if (typeof xml !== "string" || xml.trim() === "")
    return { ok: false, error: "give a packet (VOEvent XML)", results: [] };
  let parsed: ReturnType<typeof parseVOEvent>;
  try {
    parsed = parseVOEvent(xml);
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err), results: [] };
  }
  const subject = { voevent: parsed.voevent, doc: parsed.doc };
  const results = rules.map((rule: unknown, i): RuleVerdict => {
    const t = rule !== null && typeof rule === "object" ? String((rule as { t?: unknown }).t) : "?";
    try {
      const predicate = compileRule(rule as FilterRule);
      const verdict: RuleVerdict = { rule: i, t, matches: predicate(subject) };
      if (t === "xpath")
        Object.assign(
          verdict,
          describeValue(compileXPath(String((rule as { xpath: string }).xpath)).evaluate(parsed.doc)),
        );
      else Object.assign(verdict, explainRule(rule as FilterRule, parsed.voevent));
      return verdict;
    } catch (err) {
      return { rule: i, t, matches: null, error: err instanceof Error ? err.message : String(err) };
    }
  });
  const v = parsed.voevent;
  const type = packetTypeOf(v);
  return {
    ok: true,
    event: {
      ivorn: v.ivorn,
      role: v.role,
      stream: v.stream,
      gcnType: type === null ? null : gcnTypeLabel(type),
    },
    results,
  };
}

const deg = (n: number): string => String(Math.round(n * 1e4) / 1e4);

/** A compiled (so valid) non-XPath rule's settings, and what the packet has for it. */
export function explainRule(rule: FilterRule, v: VOEvent): { setting: string; value: string } {
  switch (rule.t) {
    case "role":
      return { setting: `role ${rule.op === "not" ? "is not" : "is"} ${rule.role}`, value: `role ${v.role}` };
    case "stream":
      return {
        setting: `stream matches ${cutText(rule.pattern.trim())}`,
        value: `stream ${cutText(v.stream)}`,
      };
    case "ivorn":
      return { setting: `IVORN matches ${cutText(rule.pattern.trim())}`, value: `IVORN ${cutText(v.ivorn)}` };
    case "param": {
      const name = rule.name.trim();
      const values = paramValues(v, name);
      const ops = { eq: "=", neq: "!=", lt: "<", lte: "<=", gt: ">", gte: ">=", contains: "contains" };
      return {
        setting: cutText(`${name} ${ops[rule.op]} ${String(rule.value).trim()}`),
        value:
          values.length === 0
            ? `no Param named ${cutText(name)}`
            : cutText(`${name} = ${values.map((x) => (x === null ? "(no value)" : String(x))).join(", ")}`),
      };
    }
    case "cone": {
      const centre = { ra: asNumber(rule.ra) ?? Number.NaN, dec: asNumber(rule.dec) ?? Number.NaN };
      const setting = `within ${deg(asNumber(rule.radius) ?? Number.NaN)}° of RA ${deg(centre.ra)}, Dec ${deg(centre.dec)}${rule.error === true ? ", counting the event's error circle" : ""}`;
      const p = v.position;
      if (!p || !Number.isFinite(p.ra) || !Number.isFinite(p.dec)) return { setting, value: "no position" };
      const error = p.error !== null && p.error > 0 ? ` ± ${deg(p.error)}°` : "";
      return {
        setting,
        value: `RA ${deg(p.ra)}, Dec ${deg(p.dec)}${error}: ${deg(angularDistance(p, centre))}° from the centre`,
      };
    }
    case "gcn": {
      const type = packetTypeOf(v);
      return {
        setting: cutText(gcnRuleTypes(rule.types).map(gcnTypeLabel).join(", ")),
        value: type === null ? "no Packet_Type" : `Packet_Type ${gcnTypeLabel(type)}`,
      };
    }
    default:
      return { setting: rule.t, value: "" };
  }
}

/**
 * Tries a filter node's registry (the value of its context variable) on the packet `xml`: each
 * entry's rule, as the node reads it (src/filter/registry.ts readEntry), its verdict carrying the
 * entry's name; entries that cannot be read are listed as problems.
 */
export function tryRegistry(
  value: unknown,
  xml: unknown,
): TryResult & { results: (RuleVerdict & { name?: string })[] } {
  if (value === undefined || value === null)
    return { ok: false, error: "the registry is empty (its context variable is not set)", results: [] };
  if (!Array.isArray(value))
    return { ok: false, error: "the registry is not a list of { name, rule }", results: [] };
  const named: { name: string; rule: FilterRule }[] = [];
  const problems: string[] = [];
  for (const [i, entry] of value.slice(0, TRY_LIMITS.maxRules).entries()) {
    const read = readEntry(entry, i);
    if ("message" in read) problems.push(read.message);
    else named.push(read);
  }
  if (value.length > TRY_LIMITS.maxRules)
    problems.push(`only the first ${TRY_LIMITS.maxRules} of ${value.length} entries are tried (maxRules)`);
  const result = tryRules(
    named.map((n) => n.rule),
    xml,
  );
  return {
    ...result,
    results: result.results.map((v) => ({ ...v, name: named[v.rule]?.name })),
    problems,
  };
}

export interface Sample {
  id: string;
  title: string;
  file: string;
}

/** The sample packets shipped in samples/ (ids are the file names without .xml). */
export const SAMPLES: readonly Sample[] = [
  { id: "swift-bat-position", title: "Swift BAT GRB position", file: "swift-bat-position.xml" },
  { id: "fermi-gbm-position", title: "Fermi GBM final position", file: "fermi-gbm-position.xml" },
  { id: "lvk-alert", title: "LIGO/Virgo alert", file: "lvk-alert.xml" },
  { id: "lvk-retraction", title: "LIGO/Virgo retraction (test)", file: "lvk-retraction.xml" },
  { id: "test-alert", title: "Test alert", file: "test-alert.xml" },
];

/** The package's samples/ folder: found upwards from this file (src/ or dist/src/). */
export function samplesDir(from = __dirname): string {
  let dir = from;
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, "samples");
    if (fs.existsSync(path.join(candidate, "swift-bat-position.xml"))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`no samples/ folder above ${from}`);
}

export function readSample(id: string): string | undefined {
  const sample = SAMPLES.find((s) => s.id === id);
  return sample ? fs.readFileSync(path.join(samplesDir(), sample.file), "utf8") : undefined;
}

/**
 * `rules` tried on every sample packet (the registry example's "Try", through its own HTTP
 * endpoint: no admin API, so it works behind adminAuth and under any httpAdminRoot).
 */
export function trySamples(rules: unknown): Array<{ id: string; title: string; result: TryResult }> {
  return SAMPLES.map((s) => ({ id: s.id, title: s.title, result: tryRules(rules, readSample(s.id)) }));
}
