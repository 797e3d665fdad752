/**
 * Issue 8, rows 2 and 11 (the XPath side): an expression that would take seconds — nested
 * count(following::…[count(preceding::…)]) on a real packet, ancestor:: within ancestor::
 * on a document as deep as the parser allows (256) — is stopped by the evaluation budget:
 * it throws XPATH_BUDGET after at most the budget's node visits, in milliseconds. Before the
 * budget, the first took ~2.7 s on the GCN packet and the second ~1–4 s (measured on this
 * machine), holding the event loop all that time.
 *
 * The bound measured is the work done (stepsUsed, about node visits); time is checked too,
 * with a margin two orders of magnitude above what the budget allows.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { RuleRegistry } from "../../src/filter";
import { parseXml } from "../../src/xml/parse";
import type { XDocument } from "../../src/xml/types";
import { compileXPath, XPATH_DEFAULT_BUDGET } from "../../src/xpath";
import { packetPath } from "../helpers/corpus";
import { HOSTILE_FILTER } from "./hostile-xpath";

/** Row 11: for every element, every ancestor's ancestors. */
const ANCESTRAL = "//*[ancestor::*[ancestor::x]]";
/** Far above the few milliseconds the budget allows; far below the seconds it takes without one. */
const GENEROUS_MS = 400;

function timed<T>(f: () => T): { ms: number; value: T | undefined; error: unknown } {
  const t0 = performance.now();
  try {
    const value = f();
    return { ms: performance.now() - t0, value, error: undefined };
  } catch (error) {
    return { ms: performance.now() - t0, value: undefined, error };
  }
}

function codeOf(err: unknown): string | undefined {
  return (err as { code?: string } | undefined)?.code;
}

/**
 * A document 250 elements deep (under the parser's depth limit of 256), 40 leaves at each level:
 * 10,251 elements, just over the parser's default maxElements, lifted here because the budget
 * must hold on any document whatever the parser's limits.
 */
function deepDocument(): XDocument {
  let xml = "";
  for (let i = 0; i < 250; i++) xml += `<e n="${i}">${"<l/>".repeat(40)}`;
  for (let i = 0; i < 250; i++) xml += "</e>";
  return parseXml(`<r>${xml}</r>`, { maxElements: 20_000 });
}

describe("adversarial: XPath evaluation budget (issue 8 rows 2 and 11)", function () {
  this.timeout(120_000);
  let packet: XDocument;
  before(() => {
    packet = parseXml(readFileSync(packetPath("gwcelery__swift_grb_gcn.xml"), "utf8"));
  });

  it("row 2: a nested count(following/preceding) filter on a real packet stops at the budget", () => {
    const filter = compileXPath(HOSTILE_FILTER, { context: "root" });
    const r = timed(() => filter.test(packet));
    assert.ok(r.ms < GENEROUS_MS, `took ${r.ms.toFixed(0)} ms`);
    assert.equal(codeOf(r.error), "XPATH_BUDGET", String(r.error));
    assert.match(String((r.error as Error).message), /count\(following::\*/, "the error names the filter");
    assert.ok(
      filter.stepsUsed > XPATH_DEFAULT_BUDGET && filter.stepsUsed < XPATH_DEFAULT_BUDGET * 1.01,
      `stopped after ${filter.stepsUsed} steps (budget ${XPATH_DEFAULT_BUDGET})`,
    );
  });

  it("row 11: ancestor:: within ancestor:: on a document 250 deep stops at the budget", () => {
    const doc = deepDocument();
    const filter = compileXPath(ANCESTRAL);
    const r = timed(() => filter.test(doc));
    assert.ok(r.ms < GENEROUS_MS, `took ${r.ms.toFixed(0)} ms`);
    assert.equal(codeOf(r.error), "XPATH_BUDGET", String(r.error));
    assert.ok(filter.stepsUsed < XPATH_DEFAULT_BUDGET * 1.01, `${filter.stepsUsed} steps`);
  });

  it("ordinary filters stay far below the budget on a real packet", () => {
    const rules = [
      '//Who/Author[contactName="KSK"]',
      '/*[@role="observation"]',
      '//Param[@name="Sun_Distance" and @value > 40]',
      "//WhereWhen//Position2D/Error2Radius < 1",
    ].map((r) => compileXPath(r));
    let most = 0;
    for (const rule of rules) {
      rule.test(packet);
      most = Math.max(most, rule.stepsUsed);
    }
    assert.ok(most < XPATH_DEFAULT_BUDGET / 100, `an ordinary filter used ${most} steps`);
  });

  it("row 2, filter node registry: the hostile entry counts as no match, is reported once, the honest one matches", () => {
    const reports: string[] = [];
    const registry = new RuleRegistry({ onReport: (m) => reports.push(m) });
    const { rules } = registry.update([
      { name: "mallory", xpath: HOSTILE_FILTER },
      { name: "alice", xpath: "//Param[@name='Packet_Type']" },
    ]);
    const subject = { doc: packet, voevent: { ivorn: "", role: "observation" } as never };
    for (let i = 0; i < 5; i++) {
      const r = timed(() => rules.filter((rule) => rule.test(subject)).map((rule) => rule.name));
      assert.ok(r.ms < GENEROUS_MS, `message ${i + 1} took ${r.ms.toFixed(0)} ms`);
      assert.equal(r.error, undefined);
      assert.deepEqual(r.value, ["alice"]);
    }
    assert.equal(
      reports.filter((m) => m.includes("mallory") && m.includes("budget")).length,
      2,
      reports.join("\n"),
    );
    assert.match(reports[0], /count\(following::\*/, "reported with the filter's text");
    assert.match(reports[1], /set aside/);
  });
});
