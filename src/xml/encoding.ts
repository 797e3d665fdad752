/**
 * Bytes → text for the XML parser, strictly (XML 1.0 §4.3.3 and Appendix F).
 *
 * Decisions:
 * - Supported: UTF-8 (with or without its byte-order mark), UTF-16 little- and big-endian (with
 *   a byte-order mark, as XML 1.0 requires), ISO-8859-1 and US-ASCII (by their declaration).
 *   Any other declared encoding is refused by name (ENCODING): we never guess.
 * - UTF-8 is validated strictly: overlong forms, encoded surrogates, code points above
 *   U+10FFFF, stray continuation bytes and truncated sequences are refused with the byte
 *   offset of the first bad byte. Nothing is replaced by U+FFFD.
 * - A declaration that contradicts the bytes is refused: `encoding="UTF-16"` over bytes without
 *   a UTF-16 byte-order mark, `encoding="ISO-8859-1"` after a UTF-8 byte-order mark, a UTF-16
 *   byte-order mark with `encoding="UTF-8"`, bytes ≥ 0x80 under `US-ASCII`.
 * - A string given to the parser has no bytes: its declaration's encoding name must still be a
 *   supported one, but is not checked against anything.
 * - The decoded text keeps a leading U+FEFF (the parser skips it).
 */
import * as nodeBuffer from "node:buffer";
import { VOEventError } from "../errors";

/** The encodings we decode, by canonical name. */
export type XmlEncoding = "UTF-8" | "UTF-16LE" | "UTF-16BE" | "ISO-8859-1" | "US-ASCII";

/** Declared names we accept (upper-cased) and the family each belongs to. */
const DECLARED: ReadonlyMap<string, "UTF-8" | "UTF-16" | "ISO-8859-1" | "US-ASCII"> = new Map([
  ["UTF-8", "UTF-8"],
  ["UTF8", "UTF-8"],
  ["UTF-16", "UTF-16"],
  ["UTF16", "UTF-16"],
  ["UTF-16LE", "UTF-16"],
  ["UTF-16BE", "UTF-16"],
  ["ISO-8859-1", "ISO-8859-1"],
  ["ISO_8859-1", "ISO-8859-1"],
  ["LATIN1", "ISO-8859-1"],
  ["US-ASCII", "US-ASCII"],
  ["ASCII", "US-ASCII"],
]);

/** The family of a declared encoding name; throws ENCODING for one we do not support. */
export function declaredEncoding(name: string): "UTF-8" | "UTF-16" | "ISO-8859-1" | "US-ASCII" {
  const family = DECLARED.get(name.toUpperCase());
  if (family === undefined) {
    throw new VOEventError(
      "ENCODING",
      `encoding ${JSON.stringify(name)} is not supported (only UTF-8, UTF-16, ISO-8859-1 and US-ASCII)`,
    );
  }
  return family;
}

const utf8Fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** buffer.isUtf8 (Node ≥ 18.14, fast); a fatal TextDecoder on older Node 18. */
const isUtf8: (b: Uint8Array) => boolean =
  typeof nodeBuffer.isUtf8 === "function"
    ? nodeBuffer.isUtf8
    : (b) => {
        try {
          utf8Fatal.decode(b);
          return true;
        } catch {
          return false;
        }
      };

const utf16le = new TextDecoder("utf-16le", { fatal: true, ignoreBOM: true });
let utf16be: TextDecoder | null = null;

/** Decodes an XML document's bytes by its byte-order mark and declaration. Throws VOEventError. */
export function decodeXml(bytes: Uint8Array): string {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const b0 = buf[0];
  const b1 = buf[1];
  if (buf.length >= 2 && ((b0 === 0xff && b1 === 0xfe) || (b0 === 0xfe && b1 === 0xff))) {
    const le = b0 === 0xff;
    const text = decodeUtf16(buf, le);
    const name = declaredName(text, 1);
    if (name !== null && declaredEncoding(name) !== "UTF-16") {
      contradiction(`a UTF-16 ${le ? "little" : "big"}-endian byte-order mark`, name);
    }
    return text;
  }
  if (buf.length >= 4 && ((b0 === 0x3c && b1 === 0 && buf[2] === 0x3f) || (b0 === 0 && b1 === 0x3c))) {
    throw new VOEventError(
      "ENCODING",
      "the document looks like UTF-16 without a byte-order mark: UTF-16 must start with one",
    );
  }
  const bom = buf.length >= 3 && b0 === 0xef && b1 === 0xbb && buf[2] === 0xbf;
  let first = bom ? 3 : 0;
  while (
    first < buf.length &&
    (buf[first] === 0x20 || buf[first] === 0x0a || buf[first] === 0x0d || buf[first] === 0x09)
  ) {
    first++;
  }
  // Not markup at all (binary junk, prose): the parser says so (NOT_XML), whatever the bytes.
  if (first < buf.length && buf[first] !== 0x3c) return buf.toString("utf8");
  // The declaration is ASCII in every ASCII-compatible encoding: read it as Latin-1, unless it
  // is one of the two most packets (and every Transport message of ours) start with.
  const start = bom ? 3 : 0;
  const name = startsWithBytes(buf, start, UTF8_DECLARATION_BYTES, UTF8_DECLARATION_SQ_BYTES)
    ? "UTF-8"
    : declaredName(buf.toString("latin1", start, Math.min(buf.length, start + 512)), 0);
  const family = name === null ? "UTF-8" : declaredEncoding(name);
  if (family === "UTF-16") {
    contradiction(bom ? "a UTF-8 byte-order mark" : "bytes with no UTF-16 byte-order mark", name!);
  }
  if (bom && family !== "UTF-8") contradiction("a UTF-8 byte-order mark", name!);
  if (family === "UTF-8") {
    // Decoding replaces every ill-formed sequence by U+FFFD: with none in the text the bytes were
    // well-formed UTF-8 (one pass over them less); with one, the bytes are checked.
    const text = buf.toString("utf8");
    if (text.indexOf("\ufffd") < 0) return text;
    if (!isUtf8(buf)) {
      const at = firstInvalidUtf8(buf);
      const shown = Array.from(buf.subarray(at, at + 4), (x) => `0x${x.toString(16).padStart(2, "0")}`);
      throw new VOEventError(
        "ENCODING",
        `invalid UTF-8 at byte offset ${at} (bytes ${shown.join(" ")})${name === null ? "" : ` in a document declared ${name}`}`,
      );
    }
    return text;
  }
  if (family === "US-ASCII") {
    for (let i = 0; i < buf.length; i++) {
      if (buf[i] > 0x7f) {
        throw new VOEventError(
          "ENCODING",
          `byte 0x${buf[i].toString(16)} at byte offset ${i} is not US-ASCII, the declared encoding`,
        );
      }
    }
  }
  return buf.toString("latin1");
}

function contradiction(what: string, name: string): never {
  throw new VOEventError(
    "ENCODING",
    `the declaration says encoding ${JSON.stringify(name)} but the document has ${what}`,
  );
}

function decodeUtf16(buf: Buffer, le: boolean): string {
  if (buf.length % 2 !== 0) {
    throw new VOEventError("ENCODING", `UTF-16 document of an odd number of bytes (${buf.length})`);
  }
  try {
    if (le) return utf16le.decode(buf);
    if (utf16be === null) utf16be = new TextDecoder("utf-16be", { fatal: true, ignoreBOM: true });
    return utf16be.decode(buf);
  } catch {
    // A lone surrogate: find where.
    for (let i = 2; i + 1 < buf.length; i += 2) {
      const u = le ? buf[i] | (buf[i + 1] << 8) : (buf[i] << 8) | buf[i + 1];
      if (u >= 0xd800 && u <= 0xdbff) {
        const v =
          i + 3 < buf.length ? (le ? buf[i + 2] | (buf[i + 3] << 8) : (buf[i + 2] << 8) | buf[i + 3]) : 0;
        if (v >= 0xdc00 && v <= 0xdfff) {
          i += 2;
          continue;
        }
      }
      if (u >= 0xd800 && u <= 0xdfff) {
        throw new VOEventError("ENCODING", `invalid UTF-16 (a lone surrogate) at byte offset ${i}`);
      }
    }
    throw new VOEventError("ENCODING", "invalid UTF-16");
  }
}

/**
 * The encoding name of an XML declaration at `start` of `text`, or null when there is no
 * declaration or it names no encoding. Only locates the name; the parser checks the syntax.
 */
function declaredName(text: string, start: number): string | null {
  if (!text.startsWith("<?xml", start)) return null;
  const end = text.indexOf("?>", start);
  const decl = text.slice(start, end < 0 ? undefined : end);
  const m = /\sencoding\s*=\s*(["'])([^"']*)\1/.exec(decl);
  return m === null ? null : m[2];
}

/** The byte offset of the first byte that makes `buf` invalid UTF-8 (buf is known to be invalid). */
export function firstInvalidUtf8(buf: Uint8Array): number {
  const n = buf.length;
  let i = 0;
  while (i < n) {
    const c = buf[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else return i;
    let cp = c & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const d = buf[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return n;
}

/** The two declarations most packets (and every Transport message of ours) start with. */
export const UTF8_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';
export const UTF8_DECLARATION_SQ = "<?xml version='1.0' encoding='UTF-8'?>";
const UTF8_DECLARATION_BYTES = Buffer.from(UTF8_DECLARATION, "latin1");
const UTF8_DECLARATION_SQ_BYTES = Buffer.from(UTF8_DECLARATION_SQ, "latin1");

/** Whether `buf` holds `a` or `b` (same length) from `start`. */
function startsWithBytes(buf: Buffer, start: number, a: Buffer, b: Buffer): boolean {
  const end = start + a.length;
  if (buf.length < end) return false;
  return buf.compare(a, 0, a.length, start, end) === 0 || buf.compare(b, 0, b.length, start, end) === 0;
}

/**
 * The bytes to send for XML text that `decodeXml` produced, in the encoding its own
 * declaration names, or null when that is UTF-8 (the caller writes UTF-8). So a relayed
 * ISO-8859-1 or US-ASCII packet goes out byte for byte as it came in, and a UTF-16 one with its
 * byte-order mark in the declared order (`UTF-16BE` big-endian; `UTF-16` and `UTF-16LE`
 * little-endian: a big-endian packet declared only `UTF-16` goes out little-endian, the same
 * document in other bytes). Looks at the first 512 characters only.
 */
export function encodeXmlText(text: string): Buffer | null {
  const bom = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  if (!text.startsWith("<?xml", bom)) return null;
  // The common case, our own Transport messages and most packets: nothing to look up.
  if (text.startsWith(UTF8_DECLARATION) || text.startsWith(UTF8_DECLARATION_SQ)) return null;
  const end = text.indexOf("?>", bom);
  if (end < 0 || end > 512 || text.lastIndexOf("encoding", end) < 0) return null;
  const name = declaredName(text.slice(0, end + 2), bom);
  if (name === null) return null;
  const family = DECLARED.get(name.toUpperCase());
  if (family === "ISO-8859-1" || family === "US-ASCII") {
    for (let i = 0; i < text.length; i++) {
      if (text.charCodeAt(i) > 0xff) return null; // not decoded from these bytes: leave it UTF-8
    }
    return Buffer.from(text, "latin1");
  }
  if (family === "UTF-16" && bom === 1) {
    const le = Buffer.from(text, "utf16le");
    return name.toUpperCase() === "UTF-16BE" ? le.swap16() : le;
  }
  return null;
}
