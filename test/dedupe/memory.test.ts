import { strict as assert } from "node:assert";
import { MemoryStore } from "../../src/dedupe/memory";
import type { SeenStore } from "../../src/dedupe/store";

describe("dedupe/memory", () => {
  let clock = 0;
  const now = () => clock;
  beforeEach(() => {
    clock = 1_000_000;
  });

  it("says true the first time a key is seen and false after", () => {
    const s: SeenStore = new MemoryStore({ ttlMs: 60_000, capacity: 10 });
    assert.equal(s.checkAndAdd("a"), true);
    assert.equal(s.checkAndAdd("a"), false);
    assert.equal(s.checkAndAdd("b"), true);
    assert.equal(s.size, 2);
  });

  it("has() tells without recording", () => {
    const s = new MemoryStore({ ttlMs: 1000, capacity: 10, now });
    assert.equal(s.has("a"), false);
    assert.equal(s.size, 0);
    s.checkAndAdd("a");
    assert.equal(s.has("a"), true);
  });

  it("forgets a key ttlMs after it was recorded, with the injected clock", () => {
    const s = new MemoryStore({ ttlMs: 1000, capacity: 10, now });
    assert.equal(s.checkAndAdd("a"), true);
    clock += 999;
    assert.equal(s.has("a"), true);
    assert.equal(s.checkAndAdd("a"), false);
    clock += 1;
    assert.equal(s.has("a"), false, "seen while now - t < ttlMs");
    assert.equal(s.checkAndAdd("a"), true, "recorded again");
    clock += 999;
    assert.equal(s.checkAndAdd("a"), false);
  });

  it("does not refresh a key on a duplicate", () => {
    const s = new MemoryStore({ ttlMs: 1000, capacity: 10, now });
    s.checkAndAdd("a");
    clock += 600;
    assert.equal(s.checkAndAdd("a"), false);
    clock += 600;
    assert.equal(s.checkAndAdd("a"), true, "expired 1000 ms after the first sighting");
  });

  it("takes `now` per call instead of the clock", () => {
    const s = new MemoryStore({ ttlMs: 100, capacity: 10, now: () => assert.fail("clock used") });
    assert.equal(s.checkAndAdd("a", 0), true);
    assert.equal(s.checkAndAdd("a", 99), false);
    assert.equal(s.has("a", 100), false);
    assert.equal(s.checkAndAdd("a", 100), true);
  });

  it("evicts the oldest entries over capacity", () => {
    const s = new MemoryStore({ ttlMs: 60_000, capacity: 3, now });
    for (const k of ["a", "b", "c"]) s.checkAndAdd(k);
    assert.equal(s.checkAndAdd("a"), false, "a duplicate does not move a to the end");
    s.checkAndAdd("d");
    assert.equal(s.size, 3);
    assert.equal(s.has("a"), false, "a, the oldest, went first");
    assert.deepEqual(
      ["b", "c", "d"].map((k) => s.has(k)),
      [true, true, true],
    );
    s.checkAndAdd("e");
    assert.equal(s.has("b"), false);
  });

  it("moves a key recorded again after expiry to the newest end", () => {
    const s = new MemoryStore({ ttlMs: 100, capacity: 2, now });
    s.checkAndAdd("a");
    clock += 50;
    s.checkAndAdd("b");
    clock += 60; // a expired, b alive
    assert.equal(s.checkAndAdd("a"), true);
    s.checkAndAdd("c"); // over capacity: b is now the oldest
    assert.equal(s.has("b"), false);
    assert.equal(s.has("a"), true);
    assert.equal(s.has("c"), true);
  });

  it("prunes expired entries, so size counts live ones", () => {
    const s = new MemoryStore({ ttlMs: 100, capacity: 1000, now });
    for (let i = 0; i < 10; i++) s.checkAndAdd(`old${i}`);
    clock += 50;
    for (let i = 0; i < 5; i++) s.checkAndAdd(`new${i}`);
    assert.equal(s.size, 15);
    clock += 60;
    assert.equal(s.size, 5);
    clock += 100;
    assert.equal(s.size, 0);
  });

  it("never expires with ttlMs = Infinity", () => {
    const s = new MemoryStore({ ttlMs: Number.POSITIVE_INFINITY, capacity: 2, now });
    s.checkAndAdd("a");
    clock += 1e12;
    assert.equal(s.checkAndAdd("a"), false);
  });

  it("treats a clock that goes backwards as no time passed", () => {
    const s = new MemoryStore({ ttlMs: 100, capacity: 10, now });
    s.checkAndAdd("a");
    clock -= 10_000;
    assert.equal(s.checkAndAdd("a"), false);
  });

  it("clear() forgets everything", () => {
    const s = new MemoryStore({ ttlMs: 1000, capacity: 10, now });
    s.checkAndAdd("a");
    s.clear();
    assert.equal(s.size, 0);
    assert.equal(s.checkAndAdd("a"), true);
  });

  it("close() frees the entries and refuses further use", () => {
    const s = new MemoryStore({ ttlMs: 1000, capacity: 10, now });
    s.checkAndAdd("a");
    s.close();
    s.close();
    assert.equal(s.size, 0);
    assert.throws(() => s.checkAndAdd("a"), /closed/);
    assert.throws(() => s.has("a"), /closed/);
  });

  it("validates options, keys and times", () => {
    assert.throws(() => new MemoryStore({ ttlMs: 0, capacity: 1 }), /ttlMs/);
    assert.throws(() => new MemoryStore({ ttlMs: Number.NaN, capacity: 1 }), /ttlMs/);
    assert.throws(() => new MemoryStore({ ttlMs: 1, capacity: 0 }), /capacity/);
    assert.throws(() => new MemoryStore({ ttlMs: 1, capacity: 1.5 }), /capacity/);
    assert.throws(() => new MemoryStore({ ttlMs: 1, capacity: Number.POSITIVE_INFINITY }), /capacity/);
    const s = new MemoryStore({ ttlMs: 1000, capacity: 10 });
    assert.throws(() => s.checkAndAdd(undefined as unknown as string), TypeError);
    assert.throws(() => s.checkAndAdd("a", Number.NaN), TypeError);
    const bad = new MemoryStore({ ttlMs: 1000, capacity: 10, now: () => Number.NaN });
    assert.throws(() => bad.checkAndAdd("a"), /finite/);
  });

  it("treats any string as a key, the empty one included", () => {
    const s = new MemoryStore({ ttlMs: 1000, capacity: 10, now });
    for (const k of ["", " ", "ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_1", "a\nb", "☄"]) {
      assert.equal(s.checkAndAdd(k), true, JSON.stringify(k));
      assert.equal(s.checkAndAdd(k), false, JSON.stringify(k));
    }
  });

  it("handles many keys quickly and stays within capacity", () => {
    const s = new MemoryStore({ ttlMs: 10_000, capacity: 50_000, now });
    let unique = 0;
    for (let i = 0; i < 300_000; i++) {
      clock++;
      if (s.checkAndAdd(`k${i % 200_000}`)) unique++;
    }
    // keys 0..199999 first time; the second pass of 0..99999 finds them expired (10 s) or evicted.
    assert.equal(unique, 300_000);
    assert.ok(s.size <= 50_000);
    assert.equal(s.checkAndAdd("k99999"), false, "the newest is still seen");
  });

  it("evicts at a large capacity in O(1): 500k new keys into 100k (a mocha timeout guards it)", () => {
    const s = new MemoryStore({ ttlMs: 1e12, capacity: 100_000, now });
    for (let i = 0; i < 500_000; i++) s.checkAndAdd(`key-${i}`);
    assert.equal(s.size, 100_000);
    assert.equal(s.has("key-399999"), false);
    assert.equal(s.has("key-400000"), true);
  });
});
