/**
 * The VTP frame a message's payload came in, carried with the message so that a relay forwards
 * the bytes as received (no second encoding, no copy: VTP 2.0's byte-exact relay) and the archive
 * stores them (issue 15: "the raw bytes exactly as received").
 *
 * Decisions:
 * - Carried as the payload's tree is (./message-carry.ts): Node-RED's copy for a second wire
 *   finds the frame too (before, the frame was kept in a WeakMap keyed by the message: a copy had none,
 *   and the archive beside the broadcaster stored the decoded text as UTF-8, which contradicts
 *   the declaration of an ISO-8859-1 or UTF-16 packet).
 * - Kept with the payload it belongs to: a node that changes msg.payload (a function node, say)
 *   makes the frame stale, so `frameOf` answers only while msg.payload is still that string.
 * - Not a cache keyed by the text: two byte sequences can decode to one text (UTF-16 read by its
 *   byte-order mark, big- or little-endian), and each must leave as it came.
 */

import { CARRIED_FRAME, CARRIED_TREE, carried, carry } from "./message-carry";

interface Kept {
  payload: string;
  frame: Buffer;
}

/** The key of the frame a message carries. */
const FRAME = CARRIED_FRAME;

/** Remembers that `msg`, whose payload is `payload`, came in `frame` (4-byte length, then the bytes). */
export function keepFrame(msg: object, payload: string, frame: Buffer): void {
  const kept: Kept = { payload, frame };
  carry(msg, FRAME, kept);
}

/**
 * The frame `msg`'s payload came in (a copy of the message too), while msg.payload is still what
 * came; else null. Kept on its own (keepFrame), or with the event a receiver's message carries as
 * its tree (lazyEventMessage: its `xml` and `frame`), one carried value less per event.
 */
export function frameOf(msg: { payload?: unknown }): Buffer | null {
  const kept = carried(msg, FRAME) as Partial<Kept> | null | undefined;
  if (kept !== null && kept !== undefined && typeof kept === "object")
    return kept.payload === msg.payload && Buffer.isBuffer(kept.frame) ? kept.frame : null;
  const ev = carried(msg, CARRIED_TREE) as { xml?: unknown; frame?: unknown } | null | undefined;
  return ev !== null &&
    ev !== undefined &&
    typeof ev === "object" &&
    ev.xml === msg.payload &&
    Buffer.isBuffer(ev.frame)
    ? ev.frame
    : null;
}

/** The packet's bytes as received (the frame without its 4-byte length), while msg.payload is unchanged; else null. */
export function bytesOf(msg: { payload?: unknown }): Buffer | null {
  const frame = frameOf(msg);
  return frame === null ? null : frame.subarray(4);
}
