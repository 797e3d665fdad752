/** fifo: first in, first out, and what leaves is let go of. */
import { strict as assert } from "node:assert";
import { Fifo } from "../src/fifo";
import { stillAlive } from "./helpers/gc";

describe("fifo", () => {
  it("hands items out in the order they came, across compactions", () => {
    const q = new Fifo<number>();
    let next = 0;
    const out: number[] = [];
    // Push 3, take 2, so the head moves past the compaction threshold many times.
    for (let round = 0; round < 5000; round++) {
      for (let k = 0; k < 3; k++) q.push(next++);
      for (let k = 0; k < 2; k++) out.push(q.shift() ?? -1);
    }
    assert.equal(q.length, 5000);
    assert.equal(q.at(0), 10_000);
    assert.equal(q.at(4999), 14_999);
    assert.equal(q.at(5000), undefined);
    assert.deepEqual(q.slice(0, 3), [10_000, 10_001, 10_002]);
    q.drop(4998);
    assert.deepEqual(q.slice(0, 10), [14_998, 14_999]);
    assert.deepEqual(
      out,
      Array.from({ length: 10_000 }, (_, i) => i),
    );
  });

  it("truncate keeps the oldest; an emptied queue answers undefined", () => {
    const q = new Fifo<string>();
    for (const s of ["a", "b", "c", "d"]) q.push(s);
    q.shift();
    q.truncate(2);
    assert.deepEqual(q.slice(0, 9), ["b", "c"]);
    assert.equal(q.shift(), "b");
    assert.equal(q.shift(), "c");
    assert.equal(q.shift(), undefined);
    assert.equal(q.length, 0);
    q.push("e");
    assert.equal(q.at(0), "e");
  });

  it("keeps nothing that was shifted or dropped", async () => {
    const q = new Fifo<object>();
    const refs: Array<WeakRef<object>> = [];
    for (let i = 0; i < 100; i++) {
      const item = { i, bytes: Buffer.alloc(1000) };
      refs.push(new WeakRef(item));
      q.push(item);
    }
    for (let i = 0; i < 10; i++) q.shift();
    q.drop(80);
    assert.equal(q.length, 10);
    assert.equal(await stillAlive(refs), 10);
  });
});
