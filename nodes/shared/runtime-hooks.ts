/**
 * Node-RED's message hooks (RED.hooks, Node-RED ≥ 2.0), registered for as long as at least one
 * node needs them: each `holdHooks` with the same hooks adds them if they are missing, and the
 * release of the last holder removes them. Hooks run for every message of the runtime, so none
 * stays registered once no node of ours needs it.
 *
 * Decisions:
 * - Hook names carry a label (`preDeliver.voeventFlowCompletion`), so that removing ours leaves
 *   everyone else's in place.
 * - has() before add(): the runtime may have cleared its hooks (a test helper's unload) since the
 *   last add.
 * - A runtime without RED.hooks (node-red-node-test-helper gives none) gets null: the caller goes
 *   without.
 */
import type { NodeAPI } from "node-red";

interface Hooks {
  add(name: string, hook: (event: never) => void): void;
  remove(name: string): void;
  has(name: string): boolean;
}

/** Labelled hook names and their functions, one set per purpose. */
export type HookSet = Readonly<Record<string, (event: never) => void>>;

const holders = new Map<HookSet, number>();

/** Registers `set` for one more holder; the returned function releases it (once). Null without RED.hooks. */
export function holdHooks(RED: NodeAPI, set: HookSet): (() => void) | null {
  const hooks = (RED as { hooks?: unknown }).hooks as Hooks | undefined;
  if (hooks === undefined) return null;
  holders.set(set, (holders.get(set) ?? 0) + 1);
  for (const [name, hook] of Object.entries(set)) if (!hooks.has(name)) hooks.add(name, hook);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (holders.get(set) ?? 1) - 1;
    if (left > 0) {
      holders.set(set, left);
      return;
    }
    holders.delete(set);
    for (const name of Object.keys(set)) hooks.remove(name);
  };
}
