/**
 * Node-RED's copy of a receiver's message for a second wire, made without reading its model:
 * a `preRoute` hook (Node-RED ≥ 2.0) that, for a send Node-RED is about to copy, copies a lazy
 * message itself (src/contract.ts `copyLazyMessage`) and tells Node-RED not to copy it again, as
 * Node-RED's documentation of the hook describes (replace the message, set cloneMessage false).
 *
 * Decisions:
 * - Only a message whose msg.voevent is still the unread lazy accessor is copied here; any other
 *   message, and a lazy one whose model was read already, is left to Node-RED's own copy.
 * - The copy is Node-RED's own `cloneMessage` of everything else, so what a node gets on a
 *   second wire is the deep copy it always was; its msg.voevent is read when first used, from
 *   the shared tree (read-only), into a model of its own.
 * - The hook never throws and never returns false; if the copy fails, Node-RED copies as usual.
 * - Registered while at least one receiver node is open, removed with the last
 *   (./runtime-hooks.ts); a runtime without `RED.hooks` gets none, and Node-RED's copy reads the
 *   model as before.
 */
import type { NodeAPI, NodeMessage } from "node-red";
import { copyLazyMessage } from "../../src/contract";
import { type HookSet, holdHooks } from "./runtime-hooks";

interface SendEvent {
  msg?: unknown;
  cloneMessage?: boolean;
}

let clone: ((msg: object) => object) | null = null;

function preRoute(event: SendEvent): void {
  if (event.cloneMessage !== true || clone === null) return;
  const msg = event.msg;
  if (msg === null || typeof msg !== "object") return;
  try {
    const copy = copyLazyMessage(msg, clone);
    if (copy === null) return;
    event.msg = copy;
    event.cloneMessage = false;
  } catch {
    // Left as it was: Node-RED makes its own copy.
  }
}

const HOOKS: HookSet = { "preRoute.voeventLazyCopy": preRoute };

/** Registers the hook for one more receiver node; the returned function unregisters it (once). */
export function openLazyCopy(RED: NodeAPI): () => void {
  clone = (msg: object) => RED.util.cloneMessage(msg as NodeMessage) as object;
  return holdHooks(RED, HOOKS) ?? (() => {});
}
