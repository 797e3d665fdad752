/**
 * Reading subscribers' acks without building a tree. A broadcaster gets one ack per subscriber
 * per event, most of what subscribers send, so this is on the hot path of every delivery.
 *
 * Decisions:
 * - Only the usual shapes are read here (an optional XML declaration, a `Transport` root in a
 *   known namespace with role="ack" and plain attribute values, an `<Origin>` without markup or
 *   references in it, the matching end tag last); anything else is left to the full parser
 *   (null), which then decides. "" is an ack without Origin.
 * - A subscriber sends its acks in one shape: `AckReader` keeps the bytes of the head (the
 *   declaration and root start tag) of the last ack it read in full, and when the next ack starts
 *   with the very same bytes it skips reading them again. Only the head is skipped: the end tag
 *   and the Origin are read from every ack, on the bytes (no string of the whole message).
 */
import { TRANSPORT_NAMESPACES } from "./transport";

const KNOWN_NAMESPACES = new Set(TRANSPORT_NAMESPACES.filter((ns) => ns !== ""));
const ORIGIN_OPEN = Buffer.from("<Origin>");
const ORIGIN_CLOSE = Buffer.from("</Origin>");
const ORIGIN_NAME = Buffer.from("<Origin");
/** Longer messages are not acks as subscribers send them: the full parser takes them. */
const MAX_QUICK_BYTES = 4096;

/** ASCII name characters (letters, digits, _ - . :); anything else ends a name. */
function isNameChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 58) || c === 95 || c === 45 || c === 46
  );
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

function skipSpace(t: string, i: number): number {
  while (isSpace(t.charCodeAt(i))) i++;
  return i;
}

/** What the head of an ack told: where it ends (the byte after the root start tag's ">") and the root's end tag. */
interface AckHead {
  end: number;
  endTag: Buffer;
}

/** Reads the head (declaration, root start tag) of an ack; null when it is not one of the usual shapes. */
function readHead(payload: Buffer): AckHead | null {
  const t = payload.toString("latin1"); // one char per byte: offsets are byte offsets
  let i = 0;
  if (t.startsWith("<?xml")) {
    const end = t.indexOf("?>", 5);
    if (end < 0) return null;
    i = end + 2;
  }
  i = skipSpace(t, i);
  if (t.charCodeAt(i) !== 60) return null; // <
  const nameStart = ++i;
  while (isNameChar(t.charCodeAt(i))) i++;
  const qname = t.slice(nameStart, i);
  const colon = qname.indexOf(":");
  if (qname.slice(colon + 1) !== "Transport") return null;
  const prefix = colon < 0 ? "" : qname.slice(0, colon);
  const nsAttr = prefix === "" ? "xmlns" : `xmlns:${prefix}`;
  let role: string | null = null;
  let ns: string | null = null;
  for (;;) {
    const before = i;
    i = skipSpace(t, i);
    if (t.charCodeAt(i) === 62) break; // >
    if (i === before) return null; // attributes are separated by white space
    const nameAt = i;
    while (isNameChar(t.charCodeAt(i))) i++;
    if (i === nameAt) return null;
    const name = t.slice(nameAt, i);
    i = skipSpace(t, i);
    if (t.charCodeAt(i) !== 61) return null; // =
    i = skipSpace(t, i + 1);
    const quote = t.charCodeAt(i);
    if (quote !== 34 && quote !== 39) return null;
    const end = t.indexOf(quote === 34 ? '"' : "'", i + 1);
    if (end < 0) return null;
    const value = t.slice(i + 1, end);
    if (value.includes("<") || value.includes("&")) return null;
    if (name === "role") role = value.trim();
    else if (name === nsAttr) ns = value;
    i = end + 1;
  }
  if (role !== "ack") return null;
  if (ns === null ? prefix !== "" : !KNOWN_NAMESPACES.has(ns)) return null;
  return { end: i + 1, endTag: Buffer.from(`</${qname}>`, "latin1") };
}

/**
 * The rest of an ack after its head: the end tag last, then its Origin; null if unusual. With
 * `decode` false the Origin is checked as always but not made into a string: "" for any usual ack.
 */
function readTail(payload: Buffer, head: AckHead, decode: boolean): string | null {
  let last = payload.length;
  while (last > head.end && isSpace(payload[last - 1]!)) last--;
  const tagAt = last - head.endTag.length;
  if (tagAt < head.end || payload.compare(head.endTag, 0, head.endTag.length, tagAt, last) !== 0) return null;
  const open = payload.indexOf(ORIGIN_OPEN, head.end);
  if (open < 0 || open >= tagAt) {
    const named = payload.indexOf(ORIGIN_NAME, head.end);
    return named >= 0 && named < last ? null : "";
  }
  const from = open + ORIGIN_OPEN.length;
  const shut = payload.indexOf(ORIGIN_CLOSE, from);
  if (shut < 0 || shut >= last) return null;
  for (let k = from; k < shut; k++) {
    const c = payload[k];
    if (c === 60 || c === 38) return null; // markup or a reference: the full parser
  }
  return decode ? payload.toString("utf8", from, shut).trim() : "";
}

/** The Origin of an ack in one of the usual shapes; null for anything else (see Decisions). */
export function quickAckOrigin(payload: Buffer): string | null {
  if (payload.length > MAX_QUICK_BYTES) return null;
  const head = readHead(payload);
  return head === null ? null : readTail(payload, head, true);
}

/** quickAckOrigin for one subscriber's acks, reading a head it has already read only once. */
export class AckReader {
  private headBytes: Buffer | null = null;
  private head: AckHead | null = null;

  /**
   * The Origin of an ack in one of the usual shapes, null for anything else. With `decode` false
   * (nobody wants the Origin), "" for every usual ack: the same verdicts, no string made.
   */
  read(payload: Buffer, decode = true): string | null {
    if (payload.length > MAX_QUICK_BYTES) return null;
    const known = this.headBytes;
    if (
      known !== null &&
      this.head !== null &&
      payload.length > known.length &&
      payload.compare(known, 0, known.length, 0, known.length) === 0
    ) {
      return readTail(payload, this.head, decode);
    }
    const head = readHead(payload);
    if (head === null) return null;
    const origin = readTail(payload, head, decode);
    if (origin !== null) {
      this.head = head;
      this.headBytes = Buffer.from(payload.subarray(0, head.end));
    }
    return origin;
  }
}
