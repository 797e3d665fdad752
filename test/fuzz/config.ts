/**
 * Settings shared by the property-based fuzz tests (fast-check).
 *
 * `npm test` runs each property with a fixed seed and a few thousand cases, so a failure is
 * reproducible; `npm run fuzz` sets FUZZ_RUNS (and optionally FUZZ_SEED) for a longer run.
 */
const envRuns = Number.parseInt(process.env.FUZZ_RUNS ?? "", 10);
const envSeed = Number.parseInt(process.env.FUZZ_SEED ?? "", 10);

/** The seed every property uses unless FUZZ_SEED says otherwise. */
export const FUZZ_SEED = Number.isFinite(envSeed) ? envSeed : 20261205;

/** Cases per property: `defaultRuns` in `npm test`, FUZZ_RUNS in `npm run fuzz`. */
export function fuzzRuns(defaultRuns = 2000): number {
  return Number.isFinite(envRuns) && envRuns > 0 ? envRuns : defaultRuns;
}

/** Mocha timeout for a fuzz test: generous, scaled with the number of runs. */
export function fuzzTimeout(defaultRuns = 2000, msPerRun = 20): number {
  return Math.max(60_000, fuzzRuns(defaultRuns) * msPerRun);
}
