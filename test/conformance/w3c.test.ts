/**
 * The W3C XML Conformance Test Suite against our parser (see w3c.ts for the selection and the
 * outcomes). Fails on any disagreement that is not refused by design; prints the table that the
 * README shows, and checks its counts so the README stays true.
 */
import assert from "node:assert/strict";
import { parseXml } from "../../src/xml/parse";
import { classify, type Outcome, type SuiteTest, selectedTests } from "./w3c";

/** The README's table: outcome → count. */
const EXPECTED: Record<string, number> = {
  "not-wf | pass | refused": 300,
  "not-wf | pass | refused (DTD)": 716,
  "invalid | pass | accepted": 73,
  "valid | by design | has a DTD (DOCTYPE refused)": 728,
  "invalid | by design | has a DTD (DOCTYPE refused)": 152,
  "invalid | by design | not namespace-well-formed (namespaces always on)": 2,
};

describe("conformance: W3C XML Conformance Test Suite (XML 1.0 5th ed., Namespaces 1.0)", function () {
  this.timeout(120_000);
  let results: { t: SuiteTest; o: Outcome }[];

  before(() => {
    results = selectedTests().map((t) => ({ t, o: classify(t, (bytes) => parseXml(bytes)) }));
  });

  it("selects the XML 1.0 / Namespaces 1.0 tests from the package", () => {
    assert.equal(results.length, 1971);
  });

  it("agrees with every test, except those refused by design", () => {
    const others = results
      .filter((r) => r.o.kind === "other")
      .map((r) => `${r.t.id} (${r.t.type}, ${r.t.sections}): ${r.o.reason} — ${r.t.description}`);
    assert.deepEqual(others, []);
  });

  it("the table in the README: pass / refused by design (by reason) / other", () => {
    const counts: Record<string, number> = {};
    for (const { t, o } of results) {
      const key = `${t.type} | ${o.kind} | ${o.reason}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    console.log(
      Object.entries(counts)
        .sort()
        .map(([k, v]) => `      ${String(v).padStart(4)}  ${k}`)
        .join("\n"),
    );
    assert.deepEqual(counts, EXPECTED);
  });
});
