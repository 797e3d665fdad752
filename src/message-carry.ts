/**
 * What a message carries beside its properties, for this package's nodes only: the payload's tree
 * (src/contract.ts) and the VTP frame it came in (src/message-frame.ts).
 *
 * Decisions:
 * - Under a symbol, not enumerable: no debug sidebar, JSON, Object.keys or for…in sees it.
 * - The value is a function returning what is carried: Node-RED's copy of a message for a second
 *   wire shares a function rather than copying it, so the copy carries the same value (no copy of
 *   a tree or a frame).
 */

/** Lets `msg` (and every copy Node-RED makes of it) carry `value` under `key`. */
export function carry(msg: object, key: symbol, value: unknown): void {
  Object.defineProperty(msg, key, {
    value: () => value,
    enumerable: false,
    writable: true,
    configurable: true,
  });
}

/** What `msg` carries under `key`, or undefined. Check its shape: a message is the user's to change. */
export function carried(msg: object, key: symbol): unknown {
  const kept = (msg as Record<symbol, unknown>)[key];
  return typeof kept === "function" ? (kept as () => unknown)() : undefined;
}

/** The key of the tree a message's payload carries (src/contract.ts), or the event it came in. */
export const CARRIED_TREE = Symbol("voevent.tree");

/** The key of the VTP frame a message's payload came in, when carried on its own (src/message-frame.ts). */
export const CARRIED_FRAME = Symbol("voevent.frame");
