import { strict as assert } from "node:assert";
import { performance } from "node:perf_hooks";
import { type DeadlineEntry, DeadlineList } from "../../src/vtp/deadline-list";

/** An entry that notes when it expired, and asks to be put back per `again`. */
function entry(name: string, log: { name: string; at: number }[], again?: (now: number) => number | null) {
  const e: DeadlineEntry = {
    due: 0,
    prev: null,
    next: null,
    listed: false,
    expire(now: number) {
      log.push({ name, at: now });
      return again === undefined ? null : again(now);
    },
  };
  return e;
}

function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("vtp/deadline-list", () => {
  let list: DeadlineList;
  afterEach(() => list.close());

  it("expires each entry once its deadline has passed, earliest first, with one timer for all", async () => {
    list = new DeadlineList();
    const log: { name: string; at: number }[] = [];
    const before = timers();
    const t0 = list.now();
    // Added out of order: each is put in its place.
    const dues = [60, 20, 100, 40, 80];
    for (const d of dues) list.add(entry(`e${d}`, log), t0 + d);
    assert.equal(list.size, 5);
    assert.ok(timers() - before <= 1, "one timer, however many entries");
    await sleep(150);
    assert.deepEqual(
      log.map((l) => l.name),
      ["e20", "e40", "e60", "e80", "e100"],
    );
    for (const l of log) assert.ok(l.at - t0 >= Number(l.name.slice(1)) - 1, `${l.name} at ${l.at - t0} ms`);
    assert.equal(list.size, 0);
  });

  it("puts an entry back at the deadline its expire returns, and forgets one removed", async () => {
    list = new DeadlineList();
    const log: { name: string; at: number }[] = [];
    let rounds = 0;
    const t0 = list.now();
    const back = entry("back", log, (now) => (++rounds < 3 ? now + 20 : null));
    const gone = entry("gone", log);
    list.add(back, t0 + 20);
    list.add(gone, t0 + 30);
    list.remove(gone);
    list.remove(gone); // twice: nothing
    await sleep(120);
    assert.deepEqual(
      log.map((l) => l.name),
      ["back", "back", "back"],
    );
    assert.ok(log[2]!.at - t0 >= 59, `third look at ${log[2]!.at - t0} ms`);
  });

  it("an entry put back later than the next one does not delay the next one", async () => {
    list = new DeadlineList();
    const log: { name: string; at: number }[] = [];
    const t0 = list.now();
    let looks = 0;
    list.add(
      entry("early", log, (now) => (++looks < 2 ? now + 150 : null)),
      t0 + 20,
    );
    list.add(entry("next", log), t0 + 60);
    await sleep(250);
    const next = log.find((l) => l.name === "next");
    assert.ok(next !== undefined, "the next entry expired");
    assert.ok(next.at - t0 < 120, `the next entry, due at 60 ms, expired at ${Math.round(next.at - t0)} ms`);
    assert.deepEqual(
      log.map((l) => l.name),
      ["early", "next", "early"],
    );
  });

  it("keeps going past an expire that throws", async () => {
    list = new DeadlineList();
    const log: { name: string; at: number }[] = [];
    const t0 = list.now();
    const bad = entry("bad", log, () => {
      throw new Error("boom");
    });
    list.add(bad, t0 + 10);
    list.add(entry("good", log), t0 + 15);
    await sleep(60);
    assert.deepEqual(
      log.map((l) => l.name),
      ["bad", "good"],
    );
    assert.equal(list.size, 0);
  });

  it("close() forgets every entry and leaves no timer", async () => {
    list = new DeadlineList();
    const log: { name: string; at: number }[] = [];
    const before = timers();
    for (let i = 0; i < 10; i++) list.add(entry(`e${i}`, log), performance.now() + 20 + i);
    list.close();
    assert.equal(timers(), before, "no timer of the list is left");
    await sleep(60);
    assert.deepEqual(log, []);
    assert.equal(list.size, 0);
  });
});
