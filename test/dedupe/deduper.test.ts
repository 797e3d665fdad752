/**
 * dedupe/deduper with memory alone: answers in order, and lets go of each check once answered
 * (a broker's dedupe sees every event; what it keeps after answering is memory per event).
 */
import { strict as assert } from "node:assert";
import { Deduper } from "../../src/dedupe/deduper";
import { stillAlive } from "../helpers/gc";

describe("dedupe/deduper", () => {
  it("answers first, then duplicate, in the order of the checks", () => {
    const d = new Deduper({ ttlMs: 60_000, capacity: 100, primary: null });
    const got: string[] = [];
    for (const key of ["a", "b", "a", "c", "b"])
      d.check(key, (err, verdict) =>
        got.push(`${key}:${err === null && verdict?.first === true ? "first" : "dup"}`),
      );
    assert.deepEqual(got, ["a:first", "b:first", "a:dup", "c:first", "b:dup"]);
    assert.equal(d.pending, 0);
    d.close();
  });

  it("keeps nothing of an answered check: the message its callback holds can be collected", async () => {
    const d = new Deduper({ ttlMs: 60_000, capacity: 10_000, primary: null });
    const refs: Array<WeakRef<object>> = [];
    let delivered = 0;
    const check = (i: number) => {
      // What the dedupe node's callback holds: the message, with its packet.
      const msg = { payload: Buffer.alloc(2000, i % 256) };
      refs.push(new WeakRef(msg));
      d.check(`key-${i}`, (err) => {
        if (err === null && msg.payload.length === 2000) delivered++;
      });
    };
    for (let i = 0; i < 500; i++) check(i);
    assert.equal(delivered, 500);
    assert.equal(await stillAlive(refs), 0, "messages kept after their checks were answered");
    d.close();
  });
});
