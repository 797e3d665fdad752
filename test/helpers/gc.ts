/**
 * A full garbage collection on demand, for tests that check what a component lets go of
 * (`--expose-gc` switched on at run time, so mocha needs no flag).
 */
import v8 from "node:v8";
import vm from "node:vm";

let collector: ((options?: { type: "major" | "minor" }) => void) | undefined;

/** A full collection, or with { type: "minor" } a collection of the young generation only. */
export function gc(options?: { type: "major" | "minor" }): void {
  if (collector === undefined) {
    v8.setFlagsFromString("--expose-gc");
    collector = vm.runInNewContext("gc") as (options?: { type: "major" | "minor" }) => void;
  }
  collector(options);
}

/** How many of the objects behind `refs` are still alive after the current turn and a full collection. */
export async function stillAlive(refs: ReadonlyArray<WeakRef<object>>): Promise<number> {
  await new Promise((r) => setImmediate(r));
  gc();
  return refs.filter((r) => r.deref() !== undefined).length;
}
