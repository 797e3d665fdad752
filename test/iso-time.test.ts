import assert from "node:assert/strict";
import { isoTime } from "../src/iso-time";
import { prng } from "./helpers/prng";

describe("isoTime: toISOString's text", () => {
  it("matches toISOString at every millisecond of a second and across second, day and year ends", () => {
    const starts = [
      Date.UTC(2026, 11, 7, 14, 3, 27),
      Date.UTC(2016, 11, 31, 23, 59, 59), // a leap-second day ends (UTC in JS has none)
      Date.UTC(2024, 1, 28, 23, 59, 59), // to the leap day
      Date.UTC(1999, 11, 31, 23, 59, 59),
      0,
      Date.UTC(9999, 11, 31, 23, 59, 58),
    ];
    for (const start of starts) {
      for (let ms = start; ms < start + 2000; ms++) {
        const d = new Date(ms);
        assert.equal(isoTime(d), d.toISOString());
      }
    }
  });

  it("matches toISOString for random times, going back and forth", () => {
    const rand = prng(20261207);
    for (let i = 0; i < 20000; i++) {
      const d = new Date(Math.floor(rand() * 253402300800000));
      assert.equal(isoTime(d), d.toISOString());
    }
  });

  it("leaves other years to toISOString, and throws its RangeError for an invalid date", () => {
    for (const ms of [-1, -62198755200000, 253402300800000, 8.64e15, -8.64e15]) {
      const d = new Date(ms);
      assert.equal(isoTime(d), d.toISOString());
    }
    assert.throws(() => isoTime(new Date(Number.NaN)), RangeError);
  });
});
