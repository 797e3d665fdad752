/**
 * A small, strict, fast XML 1.0 (fifth edition) + Namespaces 1.0 parser for VOEvent and
 * Transport messages.
 *
 * Decisions:
 * - The size limit is checked before anything is decoded or parsed; the other limits
 *   (limits.ts: depth, attributes per element, name length, elements) as the parser meets them. Each is
 *   refused with a VOEventError whose code and message name the limit.
 * - Bytes are decoded strictly by their byte-order mark and declaration (encoding.ts): UTF-8,
 *   UTF-16 with a byte-order mark, ISO-8859-1, US-ASCII; anything else is refused by name.
 * - No DTD processing: a DOCTYPE is refused (so no entity can be declared, no billion laughs,
 *   nothing fetched); only XML's five predefined entities and character references are
 *   decoded. Entity names are matched exactly (`&constructor;` is refused, not looked up).
 * - Well-formedness as libxml2 checks it: every character an XML Char (so no U+FFFE, U+FFFF,
 *   lone surrogates or C0 controls, in comments, PIs and CDATA too); names by the fifth
 *   edition's NameStartChar/NameChar; the XML declaration only at the very start, with a
 *   version 1.x, a supported encoding and standalone yes|no, nothing else; tags match,
 *   attributes unique (also by expanded name), quoted and free of '<'; one root element, no text
 *   outside it; '--' never inside a comment; ']]>' never in text; line ends normalised in text,
 *   attributes, CDATA, comments and PIs.
 * - Namespaces 1.0: qualified names have at most one colon and neither part empty; PI targets
 *   have none; prefixes are bound; `xml` may only be bound to its own namespace, `xmlns` and
 *   the two reserved namespace names never; a prefix is never bound to "".
 * - Linear: bindings in one map with an undo list per open element (memory linear in the
 *   document, lookups O(1)), duplicate attributes found by a set, each character looked at a
 *   bounded number of times. No recursion: depth cannot overflow the stack.
 * - Fast paths for what real packets are made of (issue 16), each taking only input that the
 *   careful code would take unchanged and leaving anything else to it, so that every refusal,
 *   with its line and column, comes from one place: indentation between tags (a line feed and
 *   spaces is one of 64 shared strings), other plain text (PLAIN_TEXT), attribute values with
 *   nothing to decode or normalise, and an end tag that is exactly the open element's name and
 *   '>'. Attributes are made as they are read (only prefixed ones are resolved after the tag's
 *   declarations), a name's colons are noted as it is read, open elements are a plain stack.
 *   test/xml/answers.test.ts holds the parser to the answers (trees, error codes and messages)
 *   the code before these gave on ~95,000 inputs, the 4PiSky month's 31,211 packets among them.
 *   Cost (bench/parse, CPU time, 2026-12-07, medians of three rounds run in turns with the code
 *   before): 25.2 µs per 4.4 kB corpus packet (40.5 before), 23.7 µs per 4.1 kB packet of the
 *   4PiSky month (29.8 before).
 */
import { VOEventError, type VOEventErrorCode } from "../errors";
import { declaredEncoding, decodeXml, UTF8_DECLARATION, UTF8_DECLARATION_SQ } from "./encoding";
import { XML_LIMITS, type XmlLimits } from "./limits";
import { isNCNameChar, isNCNameStart } from "./names";
import {
  type XAttribute,
  type XChild,
  type XComment,
  type XDocument,
  type XElement,
  XNodeType,
  type XProcessingInstruction,
  type XText,
} from "./types";

export type ParseXmlOptions = Partial<XmlLimits>;

export { XML_LIMITS } from "./limits";
export const DEFAULT_MAX_BYTES = XML_LIMITS.maxBytes;

const XML_NS = "http://www.w3.org/XML/1998/namespace";
const XMLNS_NS = "http://www.w3.org/2000/xmlns/";

/**
 * Parses `input` (a string, or the document's bytes) into an XDocument. Throws VOEventError:
 * TOO_LARGE, ENCODING, NOT_XML, MALFORMED, DTD_FORBIDDEN, ENTITY, TOO_DEEP,
 * TOO_MANY_ATTRIBUTES, NAME_TOO_LONG, TOO_MANY_ELEMENTS.
 */
export function parseXml(input: string | Uint8Array, options: ParseXmlOptions = {}): XDocument {
  const maxBytes = options.maxBytes ?? XML_LIMITS.maxBytes;
  let text: string;
  if (typeof input === "string") {
    // A string's UTF-8 length is at least its length and at most three times it.
    if (input.length > maxBytes || (input.length * 3 > maxBytes && Buffer.byteLength(input) > maxBytes)) {
      throw new VOEventError(
        "TOO_LARGE",
        `XML of ${Buffer.byteLength(input)} bytes exceeds the limit of ${maxBytes} bytes (maxBytes)`,
      );
    }
    text = input;
  } else {
    if (input.length > maxBytes) {
      throw new VOEventError(
        "TOO_LARGE",
        `XML of ${input.length} bytes exceeds the limit of ${maxBytes} bytes (maxBytes)`,
      );
    }
    if (input.length === 0) throw new VOEventError("NOT_XML", "input is empty, not XML");
    text = decodeXml(input);
  }
  return new Parser(
    text,
    options.maxDepth ?? XML_LIMITS.maxDepth,
    options.maxAttributes ?? XML_LIMITS.maxAttributes,
    options.maxNameLength ?? XML_LIMITS.maxNameLength,
    options.maxElements ?? XML_LIMITS.maxElements,
  ).parse();
}

// ASCII name characters: 1 = NameChar, 2 = NameStartChar too.
const ASCII_NAME = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58) ASCII_NAME[c] = 2;
  else if ((c >= 48 && c <= 57) || c === 45 || c === 46) ASCII_NAME[c] = 1;
}

/** Length in UTF-16 units (0, 1 or 2) of the name character at s[i]; `first`: a NameStartChar. */
function nameCharWidth(s: string, i: number, first: boolean): number {
  const c = s.charCodeAt(i);
  if (c < 128) return ASCII_NAME[c] > (first ? 1 : 0) ? 1 : 0;
  if (c >= 0xd800 && c <= 0xdbff) {
    const d = s.charCodeAt(i + 1);
    if (!(d >= 0xdc00 && d <= 0xdfff)) return 0;
    const cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
    return (first ? isNCNameStart(cp) : isNCNameChar(cp)) ? 2 : 0;
  }
  if (Number.isNaN(c)) return 0;
  return (first ? isNCNameStart(c) : isNCNameChar(c)) ? 1 : 0;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13;
}

/**
 * What no URI reference contains (RFC 3986: white space, non-ASCII, `<>"{}|\^` and backquote, a
 * '%' without two hex digits, a second '#'): libxml2 refuses such a namespace name, so do we.
 */
const NOT_URI = /[^\u0021-\u007e]|[<>"{}|\\^`]|%(?![0-9A-Fa-f]{2})|#.*#/;

/** True for a character XML 1.0 allows in a document. */
function isXmlChar(c: number): boolean {
  if (c < 32) return c === 9 || c === 10 || c === 13;
  return c <= 0xd7ff || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

/** The XML declaration, in full (XML 1.0 [23]–[32], [80]–[81]). */
const XML_DECL =
  /^<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(?:"1\.[0-9]+"|'1\.[0-9]+')(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(?:"([A-Za-z][A-Za-z0-9._-]*)"|'([A-Za-z][A-Za-z0-9._-]*)'))?(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(?:"(?:yes|no)"|'(?:yes|no)'))?[ \t\r\n]*\?>$/;

/**
 * Fast paths. Each takes only input that the careful code would take without a change (plain
 * text, plain attribute values, an end tag that is exactly its start tag's name) and leaves
 * everything else to it, so refusals and their positions come from one place.
 * PLAIN_TEXT (sticky, run with test(): nothing allocated): a run of character data with nothing
 * to decode or check further: tab, LF, and U+0020 to U+FFFD but '&', '<', '>' (for ']]>') and
 * the surrogates; so no CR (line ends), no other control, no U+FFFE/U+FFFF.
 */
const PLAIN_TEXT = /[\t\n -%'-;=?-\ud7ff\ue000-\ufffd]*/y;
/**
 * PLAIN_DQ, PLAIN_SQ: the rest of an attribute value with nothing to decode or normalise, and
 * its quote: U+0020 to U+FFFD but the quote, '&', '<' and the surrogates (so no tab, line end
 * or other control, no U+FFFE/U+FFFF).
 */
const PLAIN_DQ = /[ !#-%'-;=-\ud7ff\ue000-\ufffd]*"/y;
const PLAIN_SQ = /[ -%(-;=-\ud7ff\ue000-\ufffd]*'/y;

/** "\n" followed by 0 to 63 spaces: the usual text between two tags, shared. */
const INDENTS: readonly string[] = Array.from({ length: 64 }, (_, i) => `\n${" ".repeat(i)}`);

/** Bindings an element replaced, to restore when it closes: [prefix, previous URI]…, or null. */
type Undo = (string | undefined)[] | null;

type FailCode = Extract<
  VOEventErrorCode,
  | "MALFORMED"
  | "NOT_XML"
  | "DTD_FORBIDDEN"
  | "ENTITY"
  | "TOO_DEEP"
  | "TOO_MANY_ATTRIBUTES"
  | "NAME_TOO_LONG"
  | "TOO_MANY_ELEMENTS"
>;

class Parser {
  private pos = 0;
  private order = 1;
  private readonly s: string;
  /** The namespace bindings in scope: prefix ('' for the default) → URI. */
  private readonly ns = new Map<string, string>().set("xml", XML_NS);
  private selfClosed = false;
  /** The bindings the last start tag replaced (see Undo). */
  private undo: Undo = null;
  /** Elements started so far (maxElements). */
  private elements = 0;
  /** What nameEnd found: the index of the name's first colon (-1: none), and a second one. */
  private colonAt = -1;
  private colon2 = false;
  /** The default namespace in scope: this.ns.get("") ?? "", kept beside the map. */
  private defaultNs = "";
  /** Where the last reference() ended. */
  private refNext = 0;
  /** startTag's list of prefixed attributes, reused from tag to tag. */
  private readonly prefixed: number[] = [];

  constructor(
    text: string,
    private readonly maxDepth: number,
    private readonly maxAttributes: number,
    private readonly maxNameLength: number,
    private readonly maxElements: number,
  ) {
    this.s = text;
  }

  private fail(code: FailCode, what: string, at = this.pos): never {
    let line = 1;
    let col = 1;
    const end = Math.min(at, this.s.length);
    for (let i = 0; i < end; i++) {
      if (this.s.charCodeAt(i) === 10) {
        line++;
        col = 1;
      } else col++;
    }
    const prefix = code === "MALFORMED" ? "XML is not well-formed: " : "";
    throw new VOEventError(code, `${prefix}${what} (line ${line}, column ${col})`);
  }

  /**
   * End of the Name starting at `start` (=== start when there is none); checks maxNameLength.
   * Notes the name's first colon in colonAt (-1: none) and whether it has another (colon2).
   */
  private nameEnd(start: number): number {
    const s = this.s;
    const len = s.length;
    let q = start;
    let colonAt = -1;
    let colon2 = false;
    const c0 = s.charCodeAt(q);
    if (c0 < 128) {
      if (ASCII_NAME[c0] !== 2) return start;
      if (c0 === 58) colonAt = q;
      q++;
    } else {
      const w = nameCharWidth(s, q, true);
      if (w === 0) return start;
      q += w;
    }
    while (q < len) {
      const c = s.charCodeAt(q);
      if (c < 128) {
        if (ASCII_NAME[c] === 0) break;
        if (c === 58) {
          if (colonAt < 0) colonAt = q;
          else colon2 = true;
        }
        q++;
      } else {
        const k = nameCharWidth(s, q, false);
        if (k === 0) break;
        q += k;
      }
    }
    if (q - start > this.maxNameLength) this.nameTooLong(start, q);
    this.colonAt = colonAt;
    this.colon2 = colon2;
    return q;
  }

  /** Out of nameEnd, so that it stays small enough to be inlined. */
  private nameTooLong(start: number, end: number): never {
    return this.fail(
      "NAME_TOO_LONG",
      `a name of ${end - start} characters exceeds the limit of ${this.maxNameLength} (maxNameLength)`,
      start,
    );
  }

  /**
   * Namespaces 1.0: a QName is NCName or NCName ':' NCName. `name` is s[at, at + name.length),
   * just read by nameEnd; returns the colon's index in it, or -1.
   */
  private checkQName(name: string, at: number, what: string): number {
    const colonAt = this.colonAt;
    if (colonAt < 0) return -1;
    const colon = colonAt - at;
    if (colon === 0 || colon === name.length - 1 || this.colon2) {
      this.fail("MALFORMED", `${what} name ${name} is not a qualified name (Namespaces 1.0)`, at);
    }
    if (nameCharWidth(this.s, colonAt + 1, true) === 0) {
      this.fail("MALFORMED", `${what} name ${name}: the local part does not start a name`, at);
    }
    return colon;
  }

  private badChar(i: number): never {
    const c = this.s.charCodeAt(i);
    return this.fail(
      "MALFORMED",
      `character U+${c.toString(16).toUpperCase().padStart(4, "0")} is not allowed in XML`,
      i,
    );
  }

  /**
   * s[i] is ≥ U+D800: refuses a lone surrogate, U+FFFE and U+FFFF; returns the index of the last
   * code unit of the character (i + 1 for a surrogate pair).
   */
  private wide(i: number): number {
    const s = this.s;
    const c = s.charCodeAt(i);
    if (c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) return i + 1;
      this.badChar(i);
    }
    if (c <= 0xdfff || c >= 0xfffe) this.badChar(i);
    return i;
  }

  /** Refuses the first character in s[from, to) that XML does not allow (comments, PIs, CDATA). */
  private checkRange(from: number, to: number): void {
    const s = this.s;
    for (let i = from; i < to; i++) {
      const c = s.charCodeAt(i);
      if (c < 32) {
        if (c !== 9 && c !== 10 && c !== 13) this.badChar(i);
      } else if (c >= 0xd800) i = this.wide(i);
    }
  }

  private declaration(p: number): void {
    const s = this.s;
    // The two declarations most packets have: known good, no regular expression.
    if (s.startsWith(UTF8_DECLARATION, p) || s.startsWith(UTF8_DECLARATION_SQ, p)) {
      this.pos = p + UTF8_DECLARATION.length;
      return;
    }
    const end = s.indexOf("?>", p);
    if (end < 0) this.fail("MALFORMED", "unterminated XML declaration", p);
    const decl = s.slice(p, end + 2);
    const m = XML_DECL.exec(decl);
    if (m === null) {
      const shown = JSON.stringify(decl.length > 100 ? `${decl.slice(0, 100)}…` : decl);
      const why = !/^<\?xml[ \t\r\n]+version[ \t\r\n]*=/.test(decl)
        ? "it must start with version"
        : !/^<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*["']1\.[0-9]+["']/.test(decl)
          ? "the version must be 1.x"
          : "only version, encoding and standalone (yes or no), in that order, are allowed";
      this.fail("MALFORMED", `bad XML declaration ${shown}: ${why}`, p);
    }
    const encoding = m[1] ?? m[2];
    if (encoding !== undefined) declaredEncoding(encoding);
    this.pos = end + 2;
  }

  parse(): XDocument {
    const s = this.s;
    const len = s.length;
    if (len === 0) throw new VOEventError("NOT_XML", "input is empty, not XML");
    let p = 0;
    if (s.charCodeAt(0) === 0xfeff) p = 1; // byte-order mark
    const docStart = p;
    while (p < len && isSpace(s.charCodeAt(p))) p++;
    if (p >= len) throw new VOEventError("NOT_XML", "input is only white space, not XML");
    if (s.charCodeAt(p) !== 60 /* < */) {
      const c = s.charCodeAt(p);
      const binary = c < 32 || c === 0xfffd;
      throw new VOEventError(
        "NOT_XML",
        binary
          ? `input is not XML: binary data (byte 0x${c.toString(16).padStart(2, "0")}) at offset ${p}`
          : `input is not XML: text before the first '<' (${JSON.stringify(s.slice(p, p + 30))})`,
      );
    }
    this.pos = p;
    const doc: XDocument = {
      type: XNodeType.Document,
      children: [],
      root: undefined as unknown as XElement,
      order: 0,
    };
    if (s.startsWith("<?xml", p) && isSpace(s.charCodeAt(p + 5))) {
      if (p !== docStart) this.fail("MALFORMED", "white space before the XML declaration", docStart);
      this.declaration(p);
    }
    /** The open elements, and beside each the bindings it replaced. */
    const stack: XElement[] = [];
    const undos: Undo[] = [];
    let rootSeen = false;
    /** Whether the last construct read was a CDATA section. */
    let afterCdata = false;
    while (this.pos < len) {
      let lt: number;
      const top = stack.length > 0 ? stack[stack.length - 1] : null;
      // Most text between tags is indentation (spaces, tabs, LFs), read here; the rest by regex.
      // A line feed and spaces alone (indent) is one of the INDENTS strings, not a new one.
      let plainEnd = this.pos;
      let indent = s.charCodeAt(plainEnd) === 10;
      if (indent) plainEnd++;
      for (;;) {
        const c = s.charCodeAt(plainEnd);
        if (c === 32) plainEnd++;
        else if (c === 10 || c === 9) {
          indent = false;
          plainEnd++;
        } else break;
      }
      if (s.charCodeAt(plainEnd) !== 60) {
        indent = false;
        PLAIN_TEXT.lastIndex = plainEnd;
        PLAIN_TEXT.test(s);
        plainEnd = PLAIN_TEXT.lastIndex;
      }
      if (top !== null && plainEnd < len && s.charCodeAt(plainEnd) === 60) {
        // Fast path: plain text up to the next tag (or none). Only after a CDATA section can
        // the last child be text to merge with.
        if (plainEnd > this.pos) {
          const n = plainEnd - this.pos;
          const value = indent && n <= INDENTS.length ? INDENTS[n - 1] : s.slice(this.pos, plainEnd);
          if (afterCdata) this.appendText(top, value);
          else top.children.push({ type: XNodeType.Text, value, parent: top, order: this.order++ });
        }
        lt = plainEnd;
        this.pos = lt;
      } else {
        lt = s.indexOf("<", plainEnd);
        const textEnd = lt < 0 ? len : lt;
        if (textEnd > this.pos) {
          if (top !== null) {
            this.addText(top, this.pos, textEnd);
          } else {
            for (let i = this.pos; i < textEnd; i++) {
              if (!isSpace(s.charCodeAt(i))) {
                this.fail(
                  "MALFORMED",
                  rootSeen ? "text after the root element" : "text before the root element",
                  i,
                );
              }
            }
          }
          this.pos = textEnd;
        }
        if (lt < 0) break;
      }
      afterCdata = false;
      const next = s.charCodeAt(lt + 1);
      const parent: XElement | XDocument = top ?? doc;
      if (next === 47 /* / */) {
        // End tag. Fast path: the open element's name, then '>'.
        if (top !== null) {
          const open = top.name;
          if (s.charCodeAt(lt + 2 + open.length) === 62 && s.startsWith(open, lt + 2)) {
            stack.pop();
            const undo = undos.pop();
            if (undo != null) this.restore(undo);
            this.pos = lt + 3 + open.length;
            continue;
          }
        }
        const nameStart = lt + 2;
        let q = this.nameEnd(nameStart);
        const name = s.slice(nameStart, q);
        while (q < len && isSpace(s.charCodeAt(q))) q++;
        if (s.charCodeAt(q) !== 62) this.fail("MALFORMED", `expected '>' to close end tag </${name}`, q);
        const open = stack.pop();
        const undo = undos.pop();
        if (!open) this.fail("MALFORMED", `end tag </${name}> with no open element`, lt);
        if (open.name !== name) {
          this.fail("MALFORMED", `end tag </${name}> does not match start tag <${open.name}>`, lt);
        }
        if (undo != null) this.restore(undo);
        this.pos = q + 1;
      } else if (next === 33 /* ! */) {
        if (s.startsWith("<!--", lt)) {
          const end = s.indexOf("--", lt + 4);
          if (end < 0) this.fail("MALFORMED", "unterminated comment", lt);
          if (s.charCodeAt(end + 2) !== 62) this.fail("MALFORMED", "'--' inside a comment", end);
          this.checkRange(lt + 4, end);
          const c: XComment = {
            type: XNodeType.Comment,
            value: normaliseNewlines(s.slice(lt + 4, end)),
            parent,
            order: this.order++,
          };
          (parent.children as XChild[]).push(c);
          this.pos = end + 3;
        } else if (s.startsWith("<![CDATA[", lt)) {
          if (stack.length === 0) this.fail("MALFORMED", "CDATA section outside the root element", lt);
          const end = s.indexOf("]]>", lt + 9);
          if (end < 0) this.fail("MALFORMED", "unterminated CDATA section", lt);
          this.checkRange(lt + 9, end);
          this.appendText(stack[stack.length - 1], normaliseNewlines(s.slice(lt + 9, end)));
          afterCdata = true;
          this.pos = end + 3;
        } else if (s.startsWith("<!DOCTYPE", lt)) {
          this.fail(
            "DTD_FORBIDDEN",
            "DOCTYPE declarations are refused: no DTD processing or entity expansion is done",
            lt,
          );
        } else if (
          s.startsWith("<!ENTITY", lt) ||
          s.startsWith("<!ELEMENT", lt) ||
          s.startsWith("<!ATTLIST", lt)
        ) {
          this.fail("DTD_FORBIDDEN", "DTD declarations are refused", lt);
        } else {
          this.fail("MALFORMED", "unexpected '<!'", lt);
        }
      } else if (next === 63 /* ? */) {
        const end = s.indexOf("?>", lt + 2);
        if (end < 0) this.fail("MALFORMED", "unterminated processing instruction", lt);
        this.checkRange(lt + 2, end);
        let q = this.nameEnd(lt + 2);
        const target = s.slice(lt + 2, q);
        if (target.length === 0) this.fail("MALFORMED", "processing instruction without a target", lt);
        if (target.toLowerCase() === "xml") {
          this.fail("MALFORMED", "XML declaration not at the start of the document", lt);
        }
        if (target.indexOf(":") >= 0) {
          this.fail("MALFORMED", `processing instruction target ${target} has a colon (Namespaces 1.0)`, lt);
        }
        if (q < end) {
          if (!isSpace(s.charCodeAt(q))) {
            this.fail(
              "MALFORMED",
              `expected white space after the processing instruction target ${target}`,
              q,
            );
          }
          while (q < end && isSpace(s.charCodeAt(q))) q++;
        }
        const pi: XProcessingInstruction = {
          type: XNodeType.ProcessingInstruction,
          target,
          value: normaliseNewlines(s.slice(q, end)),
          parent,
          order: this.order++,
        };
        (parent.children as XChild[]).push(pi);
        this.pos = end + 2;
      } else {
        // Start tag.
        if (stack.length === 0 && rootSeen) this.fail("MALFORMED", "a second root element", lt);
        if (stack.length >= this.maxDepth) {
          this.fail("TOO_DEEP", `elements nested deeper than the limit of ${this.maxDepth} (maxDepth)`, lt);
        }
        if (++this.elements > this.maxElements) {
          this.fail(
            "TOO_MANY_ELEMENTS",
            `more elements than the limit of ${this.maxElements} (maxElements)`,
            lt,
          );
        }
        const el = this.startTag(lt, parent);
        if (stack.length === 0) {
          rootSeen = true;
          doc.root = el;
        }
        (parent.children as XChild[]).push(el);
        if (!this.selfClosed) {
          stack.push(el);
          undos.push(this.undo);
        } else if (this.undo !== null) this.restore(this.undo);
      }
    }
    if (stack.length > 0) {
      this.fail("MALFORMED", `truncated: element <${stack[stack.length - 1].name}> is not closed`, len);
    }
    if (!rootSeen) this.fail("MALFORMED", "no root element", len);
    return doc;
  }

  private restore(undo: (string | undefined)[]): void {
    for (let i = undo.length - 2; i >= 0; i -= 2) {
      const prefix = undo[i] as string;
      const prev = undo[i + 1];
      if (prev === undefined) this.ns.delete(prefix);
      else this.ns.set(prefix, prev);
      if (prefix === "") this.defaultNs = prev ?? "";
    }
  }

  /**
   * The start tag at `lt`: returns its element (attributes made as they are read, prefixed ones
   * resolved once the tag's own declarations are bound); sets selfClosed, undo and pos.
   */
  private startTag(lt: number, parent: XElement | XDocument): XElement {
    const s = this.s;
    const len = s.length;
    let q = this.nameEnd(lt + 1);
    if (q === lt + 1) this.fail("MALFORMED", "expected an element name after '<'", q);
    const name = s.slice(lt + 1, q);
    const colon = this.checkQName(name, lt + 1, "element");
    const attrs: XAttribute[] = [];
    const el: XElement = {
      type: XNodeType.Element,
      name,
      local: name,
      prefix: "",
      ns: "",
      attrs,
      nsDecls: [],
      children: [],
      parent,
      order: this.order++,
    };
    /** Prefixed attributes: index in attrs, colon, where the name starts; three numbers each. */
    const prefixed = this.prefixed;
    let np = 0;
    let nameSet: Set<string> | null = null;
    let count = 0;
    for (;;) {
      const before = q;
      while (q < len && isSpace(s.charCodeAt(q))) q++;
      if (q >= len) this.fail("MALFORMED", `truncated start tag <${name}`, q);
      const c = s.charCodeAt(q);
      if (c === 62 /* > */) {
        this.selfClosed = false;
        q++;
        break;
      }
      if (c === 47 /* / */) {
        if (s.charCodeAt(q + 1) !== 62) this.fail("MALFORMED", `expected '/>' in <${name}`, q);
        this.selfClosed = true;
        q += 2;
        break;
      }
      if (q === before) this.fail("MALFORMED", `expected white space before an attribute in <${name}`, q);
      const an = q;
      q = this.nameEnd(q);
      if (q === an) this.fail("MALFORMED", `unexpected character ${JSON.stringify(s[an])} in <${name}`, an);
      if (++count > this.maxAttributes) {
        this.fail(
          "TOO_MANY_ATTRIBUTES",
          `element <${name}> has more than the limit of ${this.maxAttributes} attributes (maxAttributes)`,
          an,
        );
      }
      const attrName = s.slice(an, q);
      const acolon = this.checkQName(attrName, an, "attribute");
      const isDecl = acolon < 0 ? attrName === "xmlns" : acolon === 5 && attrName.startsWith("xmlns");
      // Duplicates by name as written: a scan while few, a set beyond.
      let dup = false;
      if (nameSet === null && count > 8) {
        nameSet = new Set();
        for (const a of attrs) nameSet.add(a.name);
        for (const d of el.nsDecls) nameSet.add(d.prefix === "" ? "xmlns" : `xmlns:${d.prefix}`);
      }
      if (nameSet !== null) {
        dup = nameSet.has(attrName);
        nameSet.add(attrName);
      } else if (isDecl) {
        const prefix = acolon < 0 ? "" : attrName.slice(6);
        for (const d of el.nsDecls) if (d.prefix === prefix) dup = true;
      } else {
        for (let i = 0; i < attrs.length; i++) if (attrs[i].name === attrName) dup = true;
      }
      if (dup) this.fail("MALFORMED", `duplicate attribute ${attrName} in <${name}>`, an);
      // Usually name="value": no white space to skip.
      if (s.charCodeAt(q) !== 61 /* = */) {
        while (q < len && isSpace(s.charCodeAt(q))) q++;
        if (s.charCodeAt(q) !== 61) this.fail("MALFORMED", `attribute ${attrName} has no value`, q);
      }
      q++;
      let quote = s.charCodeAt(q);
      if (quote !== 34 && quote !== 39) {
        while (q < len && isSpace(s.charCodeAt(q))) q++;
        quote = s.charCodeAt(q);
      }
      if (quote !== 34 && quote !== 39)
        this.fail("MALFORMED", `attribute ${attrName} value is not quoted`, q);
      let value: string;
      // Fast path: a value with nothing to decode, normalise or check, then its quote.
      const plain = quote === 34 ? PLAIN_DQ : PLAIN_SQ;
      plain.lastIndex = q + 1;
      if (plain.test(s)) {
        const vEnd = plain.lastIndex - 1;
        value = s.slice(q + 1, vEnd);
        q = vEnd + 1;
      } else {
        const vEnd = s.indexOf(quote === 34 ? '"' : "'", q + 1);
        if (vEnd < 0) this.fail("MALFORMED", `unterminated value of attribute ${attrName}`, q);
        value = this.attrValue(q + 1, vEnd, attrName);
        q = vEnd + 1;
      }
      if (isDecl) {
        const prefix = acolon < 0 ? "" : attrName.slice(6);
        this.checkBinding(prefix, value, an);
        el.nsDecls.push({ prefix, uri: value });
      } else {
        if (acolon >= 0) {
          prefixed[np++] = attrs.length;
          prefixed[np++] = acolon;
          prefixed[np++] = an;
        }
        attrs.push({
          type: XNodeType.Attribute,
          name: attrName,
          local: attrName,
          prefix: "",
          ns: "",
          value,
          parent: el,
          order: this.order++,
        });
      }
    }
    this.pos = q;
    // Bind this element's declarations (they apply to its own name and attributes too).
    let undo: Undo = null;
    const decls = el.nsDecls;
    if (decls.length > 0) {
      undo = [];
      for (let i = 0; i < decls.length; i++) {
        const d = decls[i];
        undo.push(d.prefix, this.ns.get(d.prefix));
        this.ns.set(d.prefix, d.uri);
        if (d.prefix === "") this.defaultNs = d.uri;
      }
    }
    this.undo = undo;
    // Resolve the element's namespace.
    if (colon >= 0) {
      el.prefix = name.slice(0, colon);
      el.local = name.slice(colon + 1);
      if (el.prefix === "xmlns")
        this.fail("MALFORMED", `element <${name}> uses the reserved prefix xmlns`, lt);
      const uri = this.ns.get(el.prefix);
      if (uri === undefined) this.fail("MALFORMED", `namespace prefix ${el.prefix} is not bound`, lt);
      el.ns = uri;
    } else {
      el.ns = this.defaultNs;
    }
    // Resolve the prefixed attributes; two that name the same {namespace}local are refused.
    let expanded: Set<string> | null = null;
    for (let k = 0; k < np; k += 3) {
      const a = attrs[prefixed[k]];
      const acolon = prefixed[k + 1];
      const prefix = a.name.slice(0, acolon);
      const local = a.name.slice(acolon + 1);
      const uri = this.ns.get(prefix);
      if (uri === undefined)
        this.fail("MALFORMED", `namespace prefix ${prefix} is not bound`, prefixed[k + 2]);
      a.prefix = prefix;
      a.local = local;
      a.ns = uri;
      if (k > 0) {
        if (expanded === null) {
          expanded = new Set();
          for (let j = 0; j < k; j += 3) {
            const b = attrs[prefixed[j]];
            expanded.add(`${b.ns}\u0000${b.local}`);
          }
        }
        const key = `${uri}\u0000${local}`;
        if (expanded.has(key)) {
          this.fail(
            "MALFORMED",
            `attributes ${a.name} and another name the same attribute {${uri}}${local} in <${name}>`,
            prefixed[k + 2],
          );
        }
        expanded.add(key);
      }
    }
    return el;
  }

  /** Namespaces 1.0 §3: what a declaration may bind. */
  private checkBinding(prefix: string, uri: string, at: number): void {
    if (prefix === "xmlns") this.fail("MALFORMED", "the prefix xmlns cannot be declared", at);
    if (prefix === "xml") {
      if (uri !== XML_NS) this.fail("MALFORMED", `the prefix xml can only be bound to ${XML_NS}`, at);
      return;
    }
    if (uri === XML_NS) this.fail("MALFORMED", `only the prefix xml can be bound to ${XML_NS}`, at);
    if (uri === XMLNS_NS) this.fail("MALFORMED", `${XMLNS_NS} cannot be declared`, at);
    if (prefix !== "" && uri === "") this.fail("MALFORMED", `prefix ${prefix} bound to an empty name`, at);
    if (NOT_URI.test(uri)) {
      this.fail("MALFORMED", `namespace name ${JSON.stringify(uri)} is not a URI reference`, at);
    }
  }

  /** Decodes an attribute value: references, then literal white space → space (XML 1.0 §3.3.3). */
  private attrValue(start: number, end: number, attrName: string): string {
    const s = this.s;
    let plain = true;
    for (let i = start; i < end; i++) {
      const c = s.charCodeAt(i);
      if (c < 32) {
        if (c === 9 || c === 10 || c === 13) plain = false;
        else this.badChar(i);
      } else if (c === 38) {
        plain = false;
      } else if (c === 60) {
        this.fail("MALFORMED", `'<' in the value of attribute ${attrName}`, i);
      } else if (c >= 0xd800) i = this.wide(i);
    }
    if (plain) return s.slice(start, end);
    let out = "";
    let i = start;
    let run = start;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c === 38) {
        out += s.slice(run, i) + this.reference(i, end);
        i = this.refNext;
        run = i;
      } else if (c === 13) {
        out += `${s.slice(run, i)} `;
        i += s.charCodeAt(i + 1) === 10 ? 2 : 1;
        run = i;
      } else if (c === 9 || c === 10) {
        out += `${s.slice(run, i)} `;
        i++;
        run = i;
      } else {
        i++;
      }
    }
    return out + s.slice(run, end);
  }

  /** The text of the reference at `amp` (ending before `limit`); sets refNext past its ';'. */
  private reference(amp: number, limit: number): string {
    const s = this.s;
    if (s.charCodeAt(amp + 1) === 35 /* # */) {
      const hex = s.charCodeAt(amp + 2) === 120; /* x */
      let i = amp + (hex ? 3 : 2);
      const first = i;
      let code = 0;
      for (; i < limit; i++) {
        const c = s.charCodeAt(i);
        let d: number;
        if (c >= 48 && c <= 57) d = c - 48;
        else if (hex && c >= 97 && c <= 102) d = c - 87;
        else if (hex && c >= 65 && c <= 70) d = c - 55;
        else break;
        // Leading zeros cost nothing; anything past U+10FFFF stays past it.
        code = Math.min(code * (hex ? 16 : 10) + d, 0x110000);
      }
      if (i === first || i >= limit || s.charCodeAt(i) !== 59 /* ; */) {
        this.fail(
          "MALFORMED",
          `bad character reference ${JSON.stringify(s.slice(amp, Math.min(i + 1, amp + 20)))}`,
          amp,
        );
      }
      if (!isXmlChar(code)) {
        this.fail("MALFORMED", `character reference ${s.slice(amp, i + 1)} is not an XML character`, amp);
      }
      this.refNext = i + 1;
      return String.fromCodePoint(code);
    }
    const end = this.nameEnd(amp + 1);
    if (end === amp + 1 || end >= limit || s.charCodeAt(end) !== 59) {
      this.fail("MALFORMED", "'&' that starts no reference", amp);
    }
    this.refNext = end + 1;
    switch (s.slice(amp + 1, end)) {
      case "lt":
        return "<";
      case "gt":
        return ">";
      case "amp":
        return "&";
      case "apos":
        return "'";
      case "quot":
        return '"';
    }
    return this.fail(
      "ENTITY",
      `entity reference ${s.slice(amp, end + 1)} refused: only XML's predefined entities are expanded, no DTD is read`,
      amp,
    );
  }

  private addText(parent: XElement, start: number, end: number): void {
    const s = this.s;
    let plain = true;
    for (let i = start; i < end; i++) {
      const c = s.charCodeAt(i);
      if (c === 38 || c === 13 || c === 62) {
        plain = false;
        break;
      }
      if (c < 32) {
        if (c !== 9 && c !== 10) this.badChar(i);
      } else if (c >= 0xd800) i = this.wide(i);
    }
    if (plain) {
      this.appendText(parent, s.slice(start, end));
      return;
    }
    let out = "";
    let i = start;
    let run = start;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c === 38) {
        out += s.slice(run, i) + this.reference(i, end);
        i = this.refNext;
        run = i;
      } else if (c === 13) {
        out += `${s.slice(run, i)}\n`;
        i += s.charCodeAt(i + 1) === 10 ? 2 : 1;
        run = i;
      } else if (c === 62 && i - 2 >= start && s.charCodeAt(i - 1) === 93 && s.charCodeAt(i - 2) === 93) {
        this.fail("MALFORMED", "']]>' in text", i - 2);
      } else {
        if (c < 32) {
          if (c !== 9 && c !== 10) this.badChar(i);
        } else if (c >= 0xd800) i = this.wide(i);
        i++;
      }
    }
    out += s.slice(run, end);
    this.appendText(parent, out);
  }

  private appendText(parent: XElement, value: string): void {
    const last = parent.children[parent.children.length - 1];
    if (last !== undefined && last.type === XNodeType.Text) {
      last.value += value;
      return;
    }
    const t: XText = { type: XNodeType.Text, value, parent, order: this.order++ };
    parent.children.push(t);
  }
}

function normaliseNewlines(v: string): string {
  return v.indexOf("\r") < 0 ? v : v.replace(/\r\n?/g, "\n");
}

/** The string-value of an element: its descendant text, concatenated. */
export function textOf(el: XElement): string {
  const kids = el.children;
  if (kids.length === 1) {
    const k = kids[0];
    if (k.type === XNodeType.Text) return k.value;
  }
  let out = "";
  const stack: XChild[] = [];
  for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]);
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.type === XNodeType.Text) out += n.value;
    else if (n.type === XNodeType.Element) {
      for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]);
    }
  }
  return out;
}

/** The first child element with this local name (in no namespace or any namespace), or null. */
export function childElement(el: XElement, local: string): XElement | null {
  const kids = el.children;
  for (let i = 0; i < kids.length; i++) {
    const k = kids[i];
    if (k.type === XNodeType.Element && k.local === local) return k;
  }
  return null;
}

/** Every child element with this local name. */
export function childElements(el: XElement, local: string): XElement[] {
  const out: XElement[] = [];
  for (const k of el.children) if (k.type === XNodeType.Element && k.local === local) out.push(k);
  return out;
}

/** The value of the attribute with this local name and no namespace, or null. */
export function attr(el: XElement, local: string): string | null {
  const attrs = el.attrs;
  for (let i = 0; i < attrs.length; i++) {
    const a = attrs[i];
    if (a.local === local && a.ns === "") return a.value;
  }
  return null;
}
