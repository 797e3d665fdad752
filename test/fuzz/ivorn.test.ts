/**
 * Property-based fuzzing of IVORN parsing (issue 8): IVORN-shaped strings built from the
 * characters each part allows and from some it does not, and raw strings. Every input is
 * parsed or refused with VOEventError BAD_IVORN; nothing else is thrown, isIvorn agrees and
 * never throws, a parsed IVORN's parts put back together give the input, and no case takes
 * long.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { VOEventError } from "../../src/errors";
import { isIvorn, MAX_IVORN_LENGTH, parseIvorn } from "../../src/voevent/ivorn";
import { FUZZ_SEED, fuzzRuns, fuzzTimeout } from "./config";

const RUNS = fuzzRuns(5000);
/** Generous: a pause of the garbage collector on a loaded machine must not fail it; a hang would. */
const CASE_MS = 1000;

const CHARS = fc.constantFrom(
  ..."abcXYZ019_-.~*'()!$&+,;=:@%/#? \t\u00e9\u0000\ud83d\ude00<>\"[]{}|\\^`".split(""),
  "\ud800",
);
const part = (max: number) => fc.array(CHARS, { maxLength: max }).map((cs) => cs.join(""));
const IVORNISH = fc
  .tuple(
    fc.constantFrom("ivo://", "ivo://", "ivo://", "IVO://", "ivo:/", "http://", ""),
    fc.oneof(part(12), fc.constantFrom("nasa.gsfc.gcn", "gwnet", "a", "voevent.example")),
    fc.array(fc.oneof(part(8), fc.constantFrom("SWIFT", "LVK", ".", "..", "")), { maxLength: 4 }),
    fc.option(part(16), { nil: null }),
    fc.nat(3),
  )
  .map(([scheme, authority, path, local, pad]) => {
    const base = `${scheme}${authority}${path.map((p) => `/${p}`).join("")}${local === null ? "" : `#${local}`}`;
    return pad === 0 ? base + "x".repeat(MAX_IVORN_LENGTH) : base;
  });
/** Built from allowed characters only: mostly valid, to reach the parser's accepting paths. */
const word = (first: string, rest: string, max: number) =>
  fc
    .tuple(
      fc.constantFrom(...first.split("")),
      fc.array(fc.constantFrom(...rest.split("")), { maxLength: max }),
    )
    .map(([a, b]) => a + b.join(""));
const VALID = fc
  .tuple(
    word("abcz09", "abcz09.-_~", 10),
    fc.array(word("abcXZ09_", "abcXZ09_-.~*'()", 8), { maxLength: 3 }),
    fc.option(word("abc09", "abc09_-.:/?", 12), { nil: null }),
  )
  .map(
    ([authority, path, local]) =>
      `ivo://${authority}${path.map((p) => `/${p}`).join("")}${local === null ? "" : `#${local}`}`,
  );
const INPUT = fc.oneof(
  { weight: 3, arbitrary: VALID },
  { weight: 4, arbitrary: IVORNISH },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
);

describe("fuzz: IVORN parsing", function () {
  this.timeout(fuzzTimeout(RUNS, 10));

  it(`parses or refuses with BAD_IVORN, quickly (${RUNS} cases, seed ${FUZZ_SEED})`, () => {
    let parsed = 0;
    fc.assert(
      fc.property(INPUT, (s) => {
        const t0 = performance.now();
        let ok = false;
        try {
          const p = parseIvorn(s);
          ok = true;
          parsed++;
          assert.equal(p.ivorn, s);
          assert.equal(p.local === null ? p.stream : `${p.stream}#${p.local}`, s);
          assert.equal(p.stream, `ivo://${p.authority}${p.path}`);
        } catch (err) {
          if (ok) throw err;
          assert.ok(
            err instanceof VOEventError && err.code === "BAD_IVORN",
            `${JSON.stringify(s)}: ${String(err)}`,
          );
        }
        assert.equal(isIvorn(s), ok);
        const ms = performance.now() - t0;
        assert.ok(ms < CASE_MS, `${JSON.stringify(s.slice(0, 80))} took ${ms.toFixed(0)} ms`);
      }),
      { seed: FUZZ_SEED, numRuns: RUNS },
    );
    assert.ok(
      parsed > RUNS / 20,
      `only ${parsed} of ${RUNS} parsed: the generator should reach both outcomes`,
    );
  });
});
