/**
 * nodes/shared/runtime-hooks.ts against Node-RED's own hooks engine (@node-red/util): a hook set
 * stays registered while any holder holds it, and is gone, and runs no more, once the last lets go.
 */
import assert from "node:assert/strict";
import { hooks as typedHooks } from "@node-red/util";
import type { NodeAPI } from "node-red";
import { holdHooks } from "../../nodes/shared/runtime-hooks";

/** Node-RED's hooks engine, with the parts its type declarations leave out. */
const hooks = typedHooks as unknown as {
  has(name: string): boolean;
  clear(): void;
  trigger(name: string, payload: unknown): Promise<unknown>;
};

describe("runtime hooks held by our nodes", () => {
  afterEach(() => hooks.clear());

  it("registered while held, removed with the last holder; a second release does nothing", async () => {
    const seen: string[] = [];
    // One parameter: the engine calls it synchronously (a hook of two takes a callback).
    const set = { "onSend.voeventTest": (_events: unknown) => void seen.push("sent") };
    const RED = { hooks } as unknown as NodeAPI;
    const a = holdHooks(RED, set);
    const b = holdHooks(RED, set);
    assert.ok(a !== null && b !== null);
    assert.equal(hooks.has("onSend.voeventTest"), true);
    a();
    a();
    assert.equal(hooks.has("onSend.voeventTest"), true, "still held by b");
    await hooks.trigger("onSend", []);
    assert.deepEqual(seen, ["sent"], "registered once, not twice");
    b();
    assert.equal(hooks.has("onSend.voeventTest"), false);
    await hooks.trigger("onSend", []);
    assert.deepEqual(seen, ["sent"], "runs no more");
  });

  it("adds again what the runtime cleared; without RED.hooks, null", () => {
    const set = { "preRoute.voeventTest": (_event: unknown) => {} };
    const RED = { hooks } as unknown as NodeAPI;
    const a = holdHooks(RED, set);
    hooks.clear();
    const b = holdHooks(RED, set);
    assert.equal(hooks.has("preRoute.voeventTest"), true);
    a?.();
    b?.();
    assert.equal(hooks.has("preRoute.voeventTest"), false);
    assert.equal(holdHooks({} as NodeAPI, set), null);
  });
});
