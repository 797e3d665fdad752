/**
 * Differential test: our engine against xpath + @xmldom/xmldom on every well-formed
 * corpus packet (and our fixtures), for the expressions of ./expressions.ts. Node sets are
 * compared as the sequence of (name, string-value); scalars by value (NaN equals NaN).
 *
 * Where the oracle is wrong, ./expressions.ts gives it an equivalent expression
 * (ORACLE_REWRITES, each with its reason), and ./oracle.ts brings xmldom's tree to the
 * XPath data model (no XML declaration PI, no text at document level, CDATA as text).
 * Left out entirely: the namespace axis (the oracle implements it only in part: no
 * parent, node() does not match; ./namespace-axis.test.ts compares it with lxml) and id() (the oracle matches any attribute named "id"; without a DTD
 * XPath 1.0 knows no ID attributes); both are unit-tested in axes/functions.test.ts.
 */
import assert from "node:assert/strict";
import { compileXPath, stringValue } from "../../src/xpath";
import { EXPRESSIONS, ORACLE_REWRITES } from "./expressions";
import { describeXPathCorpus, fixtureNames, fixtureText, parse, wellFormedPackets } from "./helpers";
import { type Normal, normaliseOurs, oracleEvaluate, oracleParse } from "./oracle";

const compiled = EXPRESSIONS.map((e) => compileXPath(e));

function same(a: Normal, b: Normal): boolean {
  if ("scalar" in a && "scalar" in b && typeof a.scalar === "number" && typeof b.scalar === "number") {
    return a.scalar === b.scalar || (Number.isNaN(a.scalar) && Number.isNaN(b.scalar));
  }
  return JSON.stringify(a) === JSON.stringify(b);
}

const show = (v: Normal): string => {
  const s = JSON.stringify(v, (_k, x) => (typeof x === "number" && !Number.isFinite(x) ? String(x) : x));
  return s.length > 300 ? `${s.slice(0, 300)}…` : s;
};

/** Compares every expression on one document; returns the mismatches, described. */
function compare(text: string): string[] {
  const doc = parse(text);
  const oracleDoc = oracleParse(text);
  const problems: string[] = [];
  EXPRESSIONS.forEach((expr, i) => {
    const ours = normaliseOurs(compiled[i].evaluate(doc), stringValue);
    const theirs = oracleEvaluate(oracleDoc, ORACLE_REWRITES.get(expr)?.oracle ?? expr);
    if (!same(ours, theirs)) problems.push(`${expr}\n    ours:   ${show(ours)}\n    oracle: ${show(theirs)}`);
  });
  return problems;
}

describe("xpath: differential test against xpath + @xmldom/xmldom", () => {
  it("has at least 60 distinct expressions, each rewrite for one of them", () => {
    assert.ok(EXPRESSIONS.length >= 60, `${EXPRESSIONS.length}`);
    assert.equal(new Set(EXPRESSIONS).size, EXPRESSIONS.length);
    for (const key of ORACLE_REWRITES.keys()) assert.ok(EXPRESSIONS.includes(key), key);
  });

  for (const name of fixtureNames()) {
    it(`agrees on fixture ${name}`, () => {
      const problems = compare(fixtureText(name));
      assert.equal(problems.length, 0, problems.join("\n"));
    });
  }
});

describeXPathCorpus("xpath: differential test on the corpus", () => {
  const packets = wellFormedPackets();
  it("parses most of the corpus (the malformed packets are skipped)", () => {
    assert.ok(packets.length >= 60, `${packets.length} well-formed packets`);
  });
  for (const p of packets) {
    it(`agrees on ${p.name}`, () => {
      const problems = compare(p.text);
      assert.equal(problems.length, 0, problems.join("\n"));
    });
  }
});
