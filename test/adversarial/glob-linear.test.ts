/**
 * Issue 8, row 9: stream and IVORN rules are globs; each `*` used to become a
 * backtracking `[\s\S]*`, so a long IVORN that does not match `ivo://*\/*\/*GRB*` cost the
 * IVORN's length to the power of the stars (~2 s for one 2 kB IVORN here, minutes with a
 * star more). Matching is now linear in the IVORN for a given pattern: the whole batch below
 * (ten IVORNs of about the longest length an IVORN may have, MAX_IVORN_LENGTH) takes
 * milliseconds; the margin is generous. The semantics are those of the regular expression
 * (checked against it on random patterns and values).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { globMatcher, globToRegExp } from "../../src/filter";
import { MAX_IVORN_LENGTH } from "../../src/voevent/ivorn";
import { FUZZ_SEED, fuzzRuns } from "../fuzz/config";

describe("adversarial: glob patterns of stream and IVORN rules (issue 8 row 9)", function () {
  this.timeout(120_000);

  it("a long IVORN against patterns with several stars costs time linear in its length", () => {
    // Three stars: enough for seconds per IVORN with a backtracking matcher (more would be hours).
    const patterns = ["ivo://*/*/*GRB*", "ivo://*?/*?/*#GRB"];
    const ivorns: string[] = [];
    for (let k = 0; k < 5; k++) {
      const body = "a/".repeat((MAX_IVORN_LENGTH - 8) >> 1).slice(0, MAX_IVORN_LENGTH - 8 - k);
      ivorns.push(`ivo://${body}`);
    }
    const t0 = performance.now();
    let hits = 0;
    for (const p of patterns) {
      const match = globMatcher(p);
      for (const iv of ivorns) if (match(iv)) hits++;
    }
    const ms = performance.now() - t0;
    assert.equal(hits, 0);
    assert.ok(ms < 500, `${patterns.length * ivorns.length} matches took ${ms.toFixed(0)} ms`);
  });

  it("matches exactly what the regular expression matches (random patterns and values)", () => {
    const chars = fc.constantFrom("a", "b", "/", "#", ".", "😀", "*", "?", "(", "\\");
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 8 }), fc.array(chars, { maxLength: 12 }), (p, v) => {
        const pattern = p.join("");
        const value = v.join("");
        assert.equal(globMatcher(pattern)(value), globToRegExp(pattern).test(value), `${pattern} / ${value}`);
      }),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(3000) },
    );
  });
});
