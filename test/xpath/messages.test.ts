/**
 * Issue 18 point 8 (the XPath half): a message about an expression quotes a readable prefix
 * of it and its length, not the whole expression (a 99 kB filter made a 99 kB message), in
 * every place that echoes it: compile errors, the budget error, a broadcaster's reports on
 * its subscribers' filters (which the node logs and the registry repeats).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { filterLimits } from "../../src/filter/limits";
import { RuleRegistry } from "../../src/filter/registry";
import { SubscriberFilters } from "../../src/vtp/subscriber-filters";
import { parseXml } from "../../src/xml/parse";
import { compileXPath, quoteXPath } from "../../src/xpath";
import { HOSTILE_FILTER } from "../adversarial/hostile-xpath";
import { packetPath } from "../helpers/corpus";

/** Longest a message about one expression may be, whatever the expression's length. */
const SHORT = 400;

/** A 99,012-character expression that does not compile: `//Who[` and never closed. */
const UNCLOSED = `//Who[${"@a = 'x' or ".repeat(8250)}@b = 1`;
/** An expression of some 9,000 characters that compiles and runs out of budget. */
const LONG_HOSTILE = `${HOSTILE_FILTER}${" or false()".repeat(800)}`;

function messageOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  assert.fail("did not throw");
}

describe("xpath: messages quote a prefix of a long expression and its length (issue 18 point 8)", () => {
  const doc = parseXml(readFileSync(packetPath("gwcelery__swift_grb_gcn.xml"), "utf8"));

  it("quoteXPath: short expressions whole, long ones as a prefix with their length", () => {
    assert.equal(quoteXPath('//Param[@name="x"]'), `'//Param[@name="x"]'`);
    assert.equal(UNCLOSED.length, 99_012);
    const q = quoteXPath(UNCLOSED);
    assert.ok(q.startsWith("'//Who[@a = 'x' or "), q);
    assert.ok(q.endsWith("…' (99,012 characters)"), q);
    assert.ok(q.length < 120, q);
  });

  it("a syntax error names the column and quotes a prefix, not 99 kB", () => {
    const message = messageOf(() => compileXPath(UNCLOSED));
    assert.ok(message.length < SHORT, `${message.length} characters`);
    assert.match(message, /\(99,012 characters\)/);
    assert.match(message, /column/);
  });

  it("the budget error quotes a prefix", () => {
    const x = compileXPath(LONG_HOSTILE);
    const message = messageOf(() => x.test(doc));
    assert.ok(message.length < SHORT, `${message.length} characters: ${message.slice(0, 200)}`);
    assert.match(message, new RegExp(`\\(${LONG_HOSTILE.length.toLocaleString("en-US")} characters\\)`));
  });

  it("a broadcaster's reports on a subscriber's filters quote a prefix", () => {
    const limits = filterLimits({ maxFilterLength: 200_000, maxBudgetOverruns: 1 });
    const setup = SubscriberFilters.setup([UNCLOSED, LONG_HOSTILE], limits);
    assert.ok(setup.ok);
    if (!setup.ok) return;
    assert.equal(setup.errors.length, 1);
    assert.ok(setup.errors[0].message.length < SHORT, `${setup.errors[0].message.length} characters`);
    const verdict = setup.filters.evaluate(doc);
    assert.equal(verdict.match, false);
    assert.ok(verdict.report !== undefined && verdict.report.message.length < SHORT, verdict.report?.message);
    assert.ok(verdict.drop !== undefined && verdict.drop.length < SHORT, verdict.drop);
    assert.match(verdict.drop ?? "", /maxBudgetOverruns 1/);
  });

  it("a filter registry's problems and reports quote a prefix", () => {
    const reports: string[] = [];
    const registry = new RuleRegistry({ onReport: (m) => reports.push(m), maxFilterLength: 200_000 });
    const result = registry.update([
      { name: "broken", xpath: UNCLOSED },
      { name: "costly", xpath: LONG_HOSTILE },
    ]);
    for (const p of result.problems) assert.ok(p.message.length < SHORT, `${p.message.length} characters`);
    assert.equal(result.problems.length, 1);
    result.rules.find((r) => r.name === "costly")?.test({ doc } as never);
    assert.equal(reports.length, 1);
    assert.ok(reports[0].length < SHORT, `${reports[0].length} characters`);
  });
});
