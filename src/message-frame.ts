/**
 * The VTP frame a message's payload came in, kept beside the message (not on it) so that a relay
 * forwards the bytes as received: no second encoding, no copy (VTP 2.0: byte-exact relay).
 *
 * Decisions:
 * - Keyed by the message object in a WeakMap: nothing is added to the msg (a debug node or a
 *   clone never sees it, and it goes when the msg does). Node-RED passes the same object along a
 *   single wire; a copy made for another wire has no frame, and its payload is framed again.
 * - Kept with the payload it belongs to: a node that changes msg.payload (a function node, say)
 *   makes the frame stale, so `frameOf` answers only while msg.payload is still that string.
 * - Not a cache keyed by the text: two byte sequences can decode to one text (UTF-16 read by its
 *   byte-order mark, big- or little-endian), and each must leave as it came.
 */

interface Kept {
  payload: string;
  frame: Buffer;
}

const frames = new WeakMap<object, Kept>();

/** Remembers that `msg`, whose payload is `payload`, came in `frame` (4-byte length, then the bytes). */
export function keepFrame(msg: object, payload: string, frame: Buffer): void {
  frames.set(msg, { payload, frame });
}

/** The frame `msg`'s payload came in, while msg.payload is still what came; else null. */
export function frameOf(msg: { payload?: unknown }): Buffer | null {
  const kept = frames.get(msg);
  return kept !== undefined && kept.payload === msg.payload ? kept.frame : null;
}
