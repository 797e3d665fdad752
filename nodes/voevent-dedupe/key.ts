/**
 * The dedupe key of a message, for voevent-dedupe. Plain TypeScript.
 *
 *   bytes     SHA-1 (hex) of msg.payload's bytes, as VTP 2.0 §8 and Comet do:
 *             any difference in the packet makes another key
 *   ivorn     the event's IVORN (msg.voevent.ivorn, else parsed from the payload):
 *             a re-sent or re-serialised copy of one event is a duplicate
 *   property  any msg property; strings up to MAX_PLAIN_KEY characters are the
 *             key as they are, anything longer or not a string is hashed
 */
import { eventOf, rawPayloadOf } from "../../src/contract";
import { sha1Key } from "../../src/dedupe/keys";

export type KeyMode = "bytes" | "ivorn" | "property";

/** Longest string kept as the key itself; longer ones are hashed to keep the store small. */
export const MAX_PLAIN_KEY = 512;

/** The key for `value`, the property's value in property mode; throws TypeError when there is none. */
export function propertyKey(value: unknown, property: string): string {
  if (value === undefined || value === null) {
    throw new TypeError(`msg.${property} is ${value === null ? "null" : "missing"}: it is the dedupe key`);
  }
  if (typeof value === "string") return value.length <= MAX_PLAIN_KEY ? value : `sha1:${sha1Key(value)}`;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  if (Buffer.isBuffer(value)) return `sha1:${sha1Key(value)}`;
  return `sha1:${sha1Key(JSON.stringify(value) ?? String(value))}`;
}

/** The key of a message in bytes or ivorn mode; throws VOEventError when the payload will not do. */
export function eventKey(msg: { payload?: unknown; voevent?: unknown }, mode: "bytes" | "ivorn"): string {
  return mode === "bytes" ? sha1Key(rawPayloadOf(msg)) : eventOf(msg).voevent.ivorn;
}
