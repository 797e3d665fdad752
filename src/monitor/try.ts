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
 */
import fs from "node:fs";
import path from "node:path";
import { compileRule, type FilterRule } from "../filter";
import { parseVOEvent } from "../voevent/parse";
import { compileXPath, stringValue, type XPathValue } from "../xpath";

export const TRY_LIMITS = { maxRules: 100, maxValueChars: 200, maxNodes: 5 } as const;

export interface RuleVerdict {
  /** 0-based rule index. */
  rule: number;
  t: string;
  matches: boolean | null;
  /** For XPath rules: the expression's value, as text. */
  value?: string;
  /** For XPath rules: boolean, number, string or node-set. */
  valueType?: string;
  error?: string;
}

export interface TryResult {
  ok: boolean;
  error?: string;
  event?: { ivorn: string; role: string; stream: string };
  results: RuleVerdict[];
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
      return verdict;
    } catch (err) {
      return { rule: i, t, matches: null, error: err instanceof Error ? err.message : String(err) };
    }
  });
  const v = parsed.voevent;
  return { ok: true, event: { ivorn: v.ivorn, role: v.role, stream: v.stream }, results };
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
