/**
 * Where a signature lives in a packet's bytes, by the rules of Comet's appendix
 * "OpenPGP Signatures, Comet and VOEvents" (docs/appendix/VOEvent-OpenPGP.rst in
 * jdswinbank/Comet): the signed bytes run from the first `<` of the root
 * element to the last `>` of its end tag; the detached, ASCII-armoured
 * signature follows the root element inside an XML comment, with every `-----`
 * of the armour written as `=====`.
 *
 * This file only finds byte ranges; it decodes nothing. It scans the bytes once,
 * forward, in linear time, never throwing: a packet it cannot make sense of is
 * reported as a value (`Envelope.problem`).
 *
 * Decisions:
 * - Bytes, not text: the signature covers bytes, so the scan works on the
 *   packet's bytes. It understands ASCII-compatible encodings (UTF-8, the
 *   ISO-8859 family…), which is what VOEvents are sent in; a UTF-16 packet is
 *   reported as having no root element, so it reads as unsigned.
 * - The root element is found by a small tokenizer (comments, CDATA sections,
 *   processing instructions, quoted attribute values, empty-element tags), so a
 *   `</voe:VOEvent>` inside a comment or a CDATA section does not end it.
 *   Well-formedness is the parser's job; for input that is not well-formed the
 *   scan still ends, and says what it could not find.
 * - Only comments after the root element can carry the signature (a comment
 *   inside the root is signed text, one before it is ignored, as the appendix
 *   places the signature after the element). A trailing comment carries a
 *   signature when its text, trimmed, begins with `=====BEGIN PGP SIGNATURE`
 *   (or with `-----BEGIN PGP SIGNATURE`, which no comment can carry whole but
 *   which is recognised so that it is refused as malformed, not ignored).
 * - Bounds: at most `maxSignatures` signature comments (default 1: the
 *   appendix appends one signature; two would be ambiguous) and at most
 *   `maxArmourBytes` (default 16 KiB; a real signature is under 1 KiB) per
 *   comment. Past either, the scan stops and says so; nothing is decoded.
 */

/** Limits of the scan. */
export interface EnvelopeLimits {
  /** Signature comments after the root element; more are refused. Default 1. */
  maxSignatures: number;
  /** Bytes of one signature comment's text; more are refused before decoding. Default 16384. */
  maxArmourBytes: number;
}

export const ENVELOPE_DEFAULTS: EnvelopeLimits = { maxSignatures: 1, maxArmourBytes: 16 * 1024 };

/** What the scan found. */
export interface Envelope {
  /** The signed bytes: [start, end) from the root's `<` to its end tag's `>`; null when there is no root element. */
  covered: { start: number; end: number } | null;
  /** The armour of each signature comment, with `=====` turned back into `-----`. */
  armours: string[];
  /** Why the signature part cannot be used (too many, too large, not closed); null when it can. */
  problem: string | null;
}

const LT = 0x3c;
const GT = 0x3e;
const BANG = 0x21;
const QUESTION = 0x3f;
const SLASH = 0x2f;
const DQUOTE = 0x22;
const SQUOTE = 0x27;

const COMMENT_OPEN = Buffer.from("<!--");
const COMMENT_CLOSE = Buffer.from("-->");
const CDATA_OPEN = Buffer.from("<![CDATA[");
const CDATA_CLOSE = Buffer.from("]]>");
const PI_CLOSE = Buffer.from("?>");

const SIG_MARKERS = ["=====BEGIN PGP SIGNATURE", "-----BEGIN PGP SIGNATURE"];

function isSpace(b: number | undefined): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

function startsWith(bytes: Uint8Array, at: number, what: Uint8Array): boolean {
  if (at + what.length > bytes.length) return false;
  for (let i = 0; i < what.length; i++) if (bytes[at + i] !== what[i]) return false;
  return true;
}

/** Index just past `close` at or after `from`, or -1. */
function after(buf: Buffer, from: number, close: Buffer): number {
  const i = buf.indexOf(close, from);
  return i < 0 ? -1 : i + close.length;
}

/** Index just past the tag that opens at `at` (a `<` of a start or end tag), quotes respected; -1 when not closed. */
function tagEnd(buf: Buffer, at: number): number {
  let quote = 0;
  for (let i = at + 1; i < buf.length; i++) {
    const b = buf[i];
    if (quote !== 0) {
      if (b === quote) quote = 0;
    } else if (b === DQUOTE || b === SQUOTE) quote = b;
    else if (b === GT) return i + 1;
  }
  return -1;
}

/**
 * Index just past a `<!DOCTYPE …>` at `at` (an internal subset in brackets is
 * skipped), or -1. The parser refuses DTDs; this only keeps the scan going.
 */
function doctypeEnd(buf: Buffer, at: number): number {
  let depth = 0;
  let quote = 0;
  for (let i = at + 2; i < buf.length; i++) {
    const b = buf[i];
    if (quote !== 0) {
      if (b === quote) quote = 0;
    } else if (b === DQUOTE || b === SQUOTE) quote = b;
    else if (b === 0x5b) depth++;
    else if (b === 0x5d) depth--;
    else if (b === GT && depth <= 0) return i + 1;
  }
  return -1;
}

/** [start, end) of the root element, or null with the reason. */
export function rootSpan(buf: Buffer): { start: number; end: number } | string {
  let i = 0;
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) i = 3;
  // The prolog: whitespace, the XML declaration, comments, PIs, a DOCTYPE.
  let start = -1;
  while (i < buf.length) {
    const b = buf[i];
    if (isSpace(b)) {
      i++;
      continue;
    }
    if (b !== LT) return "text before the root element";
    if (startsWith(buf, i, COMMENT_OPEN)) i = after(buf, i + 4, COMMENT_CLOSE);
    else if (buf[i + 1] === QUESTION) i = after(buf, i + 2, PI_CLOSE);
    else if (buf[i + 1] === BANG) i = doctypeEnd(buf, i);
    else {
      start = i;
      break;
    }
    if (i < 0) return "an unclosed comment, declaration or processing instruction before the root element";
  }
  if (start < 0) return "no root element";
  // The element: depth counted over start and end tags; markup that cannot hold tags is skipped whole.
  let depth = 0;
  i = start;
  while (i < buf.length) {
    const lt = buf.indexOf(LT, i);
    if (lt < 0) break;
    let next: number;
    if (buf[lt + 1] === BANG) {
      if (startsWith(buf, lt, COMMENT_OPEN)) next = after(buf, lt + 4, COMMENT_CLOSE);
      else if (startsWith(buf, lt, CDATA_OPEN)) next = after(buf, lt + 9, CDATA_CLOSE);
      else next = tagEnd(buf, lt);
    } else if (buf[lt + 1] === QUESTION) {
      next = after(buf, lt + 2, PI_CLOSE);
    } else {
      next = tagEnd(buf, lt);
      if (next > 0) {
        if (buf[lt + 1] === SLASH) depth--;
        else if (buf[next - 2] !== SLASH) depth++;
        if (depth <= 0) return { start, end: next };
      }
    }
    if (next < 0) break;
    i = next;
  }
  return "the root element is not closed";
}

/** Finds the signed bytes and the signature comments after them. Never throws. */
export function readEnvelope(bytes: Uint8Array, limits: Partial<EnvelopeLimits> = {}): Envelope {
  const maxSignatures = limits.maxSignatures ?? ENVELOPE_DEFAULTS.maxSignatures;
  const maxArmourBytes = limits.maxArmourBytes ?? ENVELOPE_DEFAULTS.maxArmourBytes;
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const span = rootSpan(buf);
  if (typeof span === "string") return { covered: null, armours: [], problem: null };
  const armours: string[] = [];
  let i = span.end;
  let found = 0;
  while (i < buf.length) {
    const lt = buf.indexOf(LT, i);
    if (lt < 0) break;
    if (!startsWith(buf, lt, COMMENT_OPEN)) {
      // A PI or stray markup after the root: skipped (the parser decides whether it is allowed).
      const next = buf[lt + 1] === QUESTION ? after(buf, lt + 2, PI_CLOSE) : lt + 1;
      if (next < 0) break;
      i = next;
      continue;
    }
    const textStart = lt + 4;
    const close = buf.indexOf(COMMENT_CLOSE, textStart);
    let t = textStart;
    while (t < buf.length && isSpace(buf[t])) t++;
    const head = buf.toString("latin1", t, Math.min(buf.length, t + SIG_MARKERS[0].length));
    const isSignature = SIG_MARKERS.includes(head);
    if (isSignature) {
      found++;
      if (found > maxSignatures)
        return {
          covered: span,
          armours: [],
          problem: `more than ${maxSignatures} signature comment${maxSignatures === 1 ? "" : "s"} after the root element (maxSignatures)`,
        };
      const textEnd = close < 0 ? buf.length : close;
      if (textEnd - textStart > maxArmourBytes)
        return {
          covered: span,
          armours: [],
          problem: `a signature comment of more than ${maxArmourBytes} bytes (maxArmourBytes)`,
        };
      if (close < 0) return { covered: span, armours: [], problem: "the signature comment is not closed" };
      armours.push(buf.toString("latin1", textStart, textEnd).replaceAll("=====", "-----"));
    }
    if (close < 0) break;
    i = close + COMMENT_CLOSE.length;
  }
  return { covered: span, armours, problem: null };
}

/** `=====` for every `-----` of an armour, so that it can sit in an XML comment. */
export function commentText(armour: string): string {
  const text = armour.replaceAll("-----", "=====");
  if (text.includes("--") || text.endsWith("-"))
    throw new Error("the armoured signature holds '--', which an XML comment cannot");
  return text;
}
