/**
 * Property-based fuzzing of XPath compile + evaluate (issue 8): expressions built from the
 * grammar's pieces (valid or not) and raw strings, evaluated on real corpus packets and on
 * a document as deep as the parser allows. Every input either compiles or is refused with
 * VOEventError BAD_XPATH; every evaluation either returns or is stopped with XPATH_BUDGET;
 * nothing else is thrown, and no case takes long (the budget's few milliseconds, with a
 * generous margin).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { VOEventError } from "../../src/errors";
import { parseXml } from "../../src/xml/parse";
import type { XDocument } from "../../src/xml/types";
import { compileXPath } from "../../src/xpath";
import { wellFormedPackets } from "../xpath/helpers";
import { FUZZ_SEED, fuzzRuns, fuzzTimeout } from "./config";

const RUNS = fuzzRuns(3000);
/** Per case, compile and evaluate together; the budget allows a few ms. */
const CASE_MS = 2000;

const NAMES = fc.constantFrom(
  "*",
  "Param",
  "voe:VOEvent",
  "Who",
  "Author",
  "Group",
  "x",
  "@name",
  "@value",
  "@*",
  "node()",
  "text()",
  "comment()",
  "processing-instruction()",
  "..",
  ".",
);
const AXES = fc.constantFrom(
  "",
  "",
  "child::",
  "descendant::",
  "descendant-or-self::",
  "ancestor::",
  "ancestor-or-self::",
  "following::",
  "preceding::",
  "following-sibling::",
  "preceding-sibling::",
  "parent::",
  "self::",
  "attribute::",
  "namespace::",
);
const FUNCTIONS = fc.constantFrom(
  "count",
  "sum",
  "string",
  "concat",
  "contains",
  "starts-with",
  "substring",
  "substring-before",
  "substring-after",
  "string-length",
  "normalize-space",
  "translate",
  "not",
  "boolean",
  "number",
  "floor",
  "round",
  "position",
  "last",
  "name",
  "local-name",
  "namespace-uri",
  "lang",
  "id",
  "true",
  "nope",
);
const OPS = fc.constantFrom(" and ", " or ", "=", "!=", "<", ">=", "+", "-", "*", " div ", " mod ", "|", " ");

const { expr } = fc.letrec<{
  expr: string;
  path: string;
  step: string;
  literal: string;
  call: string;
  binary: string;
}>((tie) => ({
  expr: fc.oneof(
    { depthSize: "small", maxDepth: 5 },
    tie("path"),
    tie("literal"),
    tie("call"),
    tie("binary"),
  ),
  path: fc
    .tuple(fc.constantFrom("", "/", "//"), fc.array(tie("step"), { minLength: 1, maxLength: 4 }))
    .map(([start, steps]) => start + steps.join(fc.sample(fc.constantFrom("/", "//"), 1)[0])),
  step: fc
    .tuple(AXES, NAMES, fc.option(tie("expr"), { nil: null, freq: 2 }))
    .map(([a, n, p]) => `${a}${n}${p === null ? "" : `[${p}]`}`),
  literal: fc.oneof(
    fc.integer({ min: -3, max: 100 }).map(String),
    fc.constantFrom("1.5", ".5", "-0", "'Packet_Type'", "'test'", "''", "'a b'"),
    fc.string({ maxLength: 6 }).map((s) => `"${s.replace(/"/g, "")}"`),
  ),
  call: fc
    .tuple(FUNCTIONS, fc.array(tie("expr"), { maxLength: 3 }))
    .map(([f, args]) => `${f}(${args.join(", ")})`),
  binary: fc.tuple(tie("expr"), OPS, tie("expr")).map(([a, o, b]) => `${a}${o}${b}`),
}));

/** Valid-ish expressions, mangled ones, and raw strings. */
const INPUT = fc.oneof(
  { weight: 6, arbitrary: expr },
  {
    weight: 1,
    arbitrary: fc
      .tuple(expr, fc.nat(40), fc.string({ maxLength: 3 }))
      .map(([e, at, s]) => e.slice(0, at) + s + e.slice(at)),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 20 }) },
);

function deepDocument(): XDocument {
  let xml = "";
  for (let i = 0; i < 250; i++) xml += `<x n="${i}" xml:lang="en">t${i}<Param name="p" value="${i}"/>`;
  for (let i = 0; i < 250; i++) xml += "</x>";
  return parseXml(`<r>${xml}</r>`);
}

describe("fuzz: XPath compile + evaluate", function () {
  this.timeout(fuzzTimeout(RUNS, 40));
  let docs: XDocument[];
  before(() => {
    docs = wellFormedPackets()
      .slice(0, 12)
      .map((p) => p.doc);
    docs.push(deepDocument());
  });

  it(`compiles or refuses with BAD_XPATH, evaluates or stops with XPATH_BUDGET, quickly (${RUNS} cases, seed ${FUZZ_SEED})`, () => {
    let compiled = 0;
    let stopped = 0;
    fc.assert(
      fc.property(INPUT, fc.nat(), fc.boolean(), (source, which, atRoot) => {
        const doc = docs[which % docs.length];
        const t0 = performance.now();
        let x: ReturnType<typeof compileXPath>;
        try {
          x = compileXPath(source, { context: atRoot ? "root" : "document" });
        } catch (err) {
          assert.ok(
            err instanceof VOEventError && err.code === "BAD_XPATH",
            `${JSON.stringify(source)}: ${String(err)}`,
          );
          return;
        }
        compiled++;
        try {
          x.evaluate(doc);
          x.test(doc);
        } catch (err) {
          assert.ok(
            err instanceof VOEventError && err.code === "XPATH_BUDGET",
            `${JSON.stringify(source)}: ${String(err)}`,
          );
          stopped++;
        }
        const ms = performance.now() - t0;
        assert.ok(ms < CASE_MS, `${JSON.stringify(source)} took ${ms.toFixed(0)} ms`);
      }),
      { seed: FUZZ_SEED, numRuns: RUNS },
    );
    // The generator must reach evaluation, not only the parser's refusals.
    assert.ok(compiled > RUNS / 4, `only ${compiled} of ${RUNS} compiled`);
    if (stopped > 0) assert.ok(stopped < compiled);
  });
});
