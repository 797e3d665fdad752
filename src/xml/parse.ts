/**
 * A small, strict, fast XML 1.0 parser for VOEvent and Transport messages.
 *
 * - The size limit is checked before anything is parsed.
 * - No DTD processing: a DOCTYPE is refused (so no entity can be declared, no
 *   billion laughs, nothing fetched); only XML's five predefined entities and
 *   character references are decoded.
 * - Well-formedness is checked (tags match, attributes are unique and quoted,
 *   one root element, no text outside it, prefixes bound), with the line and
 *   column of the first problem in the message.
 * - No recursion: the depth of a document cannot overflow the stack.
 */
import { VOEventError } from "../errors";
import {
  type XAttribute,
  type XChild,
  type XComment,
  type XDocument,
  type XElement,
  type XNamespaceDecl,
  XNodeType,
  type XProcessingInstruction,
  type XText,
} from "./types";

export interface ParseXmlOptions {
  /** Largest input accepted, in bytes (UTF-8). Default 1 MiB. */
  maxBytes?: number;
}

export const DEFAULT_MAX_BYTES = 1024 * 1024;

const XML_NS = "http://www.w3.org/XML/1998/namespace";

const PREDEFINED: Record<string, string> = { lt: "<", gt: ">", amp: "&", apos: "'", quot: '"' };

/** Parses `input` (a string, or a Buffer of UTF-8) into an XDocument. Throws VOEventError. */
export function parseXml(input: string | Buffer, options: ParseXmlOptions = {}): XDocument {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  let text: string;
  if (typeof input === "string") {
    // A string's UTF-8 length is at least its length and at most three times it.
    if (input.length > maxBytes || (input.length * 3 > maxBytes && Buffer.byteLength(input) > maxBytes)) {
      throw new VOEventError(
        "TOO_LARGE",
        `XML of ${Buffer.byteLength(input)} bytes exceeds the limit of ${maxBytes} bytes`,
      );
    }
    text = input;
  } else {
    if (input.length > maxBytes) {
      throw new VOEventError(
        "TOO_LARGE",
        `XML of ${input.length} bytes exceeds the limit of ${maxBytes} bytes`,
      );
    }
    text = input.toString("utf8");
  }
  return new Parser(text).parse();
}

function isNameStart(c: number): boolean {
  return (
    (c >= 97 && c <= 122) || // a-z
    (c >= 65 && c <= 90) || // A-Z
    c === 95 || // _
    c === 58 || // :
    (c >= 0xc0 && c !== 0xd7 && c !== 0xf7 && c < 0xfffe && !(c >= 0x2000 && c <= 0x200b))
  );
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 0xb7;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13;
}

/** True for a character XML 1.0 allows in a document. */
function isXmlChar(c: number): boolean {
  if (c < 32) return c === 9 || c === 10 || c === 13;
  return c <= 0xd7ff || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

interface OpenElement {
  el: XElement;
  /** Namespace bindings in scope, inherited from the parent (copy-on-write). */
  ns: Map<string, string>;
}

class Parser {
  private pos = 0;
  private order = 1;
  private readonly s: string;

  constructor(text: string) {
    this.s = text;
  }

  private fail(
    code: "MALFORMED" | "NOT_XML" | "DTD_FORBIDDEN" | "ENTITY",
    what: string,
    at = this.pos,
  ): never {
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

  parse(): XDocument {
    const s = this.s;
    const len = s.length;
    if (len === 0) throw new VOEventError("NOT_XML", "input is empty, not XML");
    let p = 0;
    if (s.charCodeAt(0) === 0xfeff) p = 1; // byte-order mark
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
      const end = s.indexOf("?>", p);
      if (end < 0) this.fail("MALFORMED", "unterminated XML declaration");
      this.pos = end + 2;
    }
    const stack: OpenElement[] = [];
    let rootSeen = false;
    const docScope = new Map<string, string>([["xml", XML_NS]]);
    let scope = docScope;
    while (this.pos < len) {
      const lt = s.indexOf("<", this.pos);
      const textEnd = lt < 0 ? len : lt;
      if (textEnd > this.pos) {
        if (stack.length > 0) {
          this.addText(stack[stack.length - 1].el, this.pos, textEnd);
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
      const next = s.charCodeAt(lt + 1);
      const parent: XElement | XDocument = stack.length > 0 ? stack[stack.length - 1].el : doc;
      if (next === 47 /* / */) {
        // End tag.
        const nameStart = lt + 2;
        let q = nameStart;
        while (q < len && isNameChar(s.charCodeAt(q))) q++;
        const name = s.slice(nameStart, q);
        while (q < len && isSpace(s.charCodeAt(q))) q++;
        if (s.charCodeAt(q) !== 62) this.fail("MALFORMED", `expected '>' to close end tag </${name}`, q);
        const open = stack.pop();
        if (!open) this.fail("MALFORMED", `end tag </${name}> with no open element`, lt);
        if (open.el.name !== name) {
          this.fail("MALFORMED", `end tag </${name}> does not match start tag <${open.el.name}>`, lt);
        }
        scope = stack.length > 0 ? stack[stack.length - 1].ns : docScope;
        this.pos = q + 1;
      } else if (next === 33 /* ! */) {
        if (s.startsWith("<!--", lt)) {
          const end = s.indexOf("--", lt + 4);
          if (end < 0) this.fail("MALFORMED", "unterminated comment", lt);
          if (s.charCodeAt(end + 2) !== 62) this.fail("MALFORMED", "'--' inside a comment", end);
          const c: XComment = {
            type: XNodeType.Comment,
            value: s.slice(lt + 4, end),
            parent,
            order: this.order++,
          };
          (parent.children as XChild[]).push(c);
          this.pos = end + 3;
        } else if (s.startsWith("<![CDATA[", lt)) {
          if (stack.length === 0) this.fail("MALFORMED", "CDATA section outside the root element", lt);
          const end = s.indexOf("]]>", lt + 9);
          if (end < 0) this.fail("MALFORMED", "unterminated CDATA section", lt);
          this.appendText(stack[stack.length - 1].el, normaliseNewlines(s.slice(lt + 9, end)));
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
        let q = lt + 2;
        while (q < end && isNameChar(s.charCodeAt(q))) q++;
        const target = s.slice(lt + 2, q);
        if (target.length === 0) this.fail("MALFORMED", "processing instruction without a target", lt);
        if (target.toLowerCase() === "xml") {
          this.fail("MALFORMED", "XML declaration not at the start of the document", lt);
        }
        while (q < end && isSpace(s.charCodeAt(q))) q++;
        const pi: XProcessingInstruction = {
          type: XNodeType.ProcessingInstruction,
          target,
          value: s.slice(q, end),
          parent,
          order: this.order++,
        };
        (parent.children as XChild[]).push(pi);
        this.pos = end + 2;
      } else {
        // Start tag.
        if (stack.length === 0 && rootSeen) this.fail("MALFORMED", "a second root element", lt);
        const open = this.startTag(lt, parent, scope);
        if (stack.length === 0) {
          rootSeen = true;
          doc.root = open.el;
        }
        (parent.children as XChild[]).push(open.el);
        if (!this.selfClosed) {
          stack.push(open);
          scope = open.ns;
        }
      }
    }
    if (stack.length > 0) {
      this.fail("MALFORMED", `truncated: element <${stack[stack.length - 1].el.name}> is not closed`, len);
    }
    if (!rootSeen) this.fail("MALFORMED", "no root element", len);
    return doc;
  }

  private selfClosed = false;

  private startTag(lt: number, parent: XElement | XDocument, scope: Map<string, string>): OpenElement {
    const s = this.s;
    const len = s.length;
    let q = lt + 1;
    if (!isNameStart(s.charCodeAt(q))) this.fail("MALFORMED", "expected an element name after '<'", q);
    while (q < len && isNameChar(s.charCodeAt(q))) q++;
    const name = s.slice(lt + 1, q);
    const el: XElement = {
      type: XNodeType.Element,
      name,
      local: name,
      prefix: "",
      ns: "",
      attrs: [],
      nsDecls: [],
      children: [],
      parent,
      order: this.order++,
    };
    let rawAttrs: { name: string; value: string; at: number }[] | null = null;
    let ns = scope;
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
      if (!isNameStart(c))
        this.fail("MALFORMED", `unexpected character ${JSON.stringify(s[q])} in <${name}`, q);
      const an = q;
      while (q < len && isNameChar(s.charCodeAt(q))) q++;
      const attrName = s.slice(an, q);
      while (q < len && isSpace(s.charCodeAt(q))) q++;
      if (s.charCodeAt(q) !== 61 /* = */) this.fail("MALFORMED", `attribute ${attrName} has no value`, q);
      q++;
      while (q < len && isSpace(s.charCodeAt(q))) q++;
      const quote = s.charCodeAt(q);
      if (quote !== 34 && quote !== 39)
        this.fail("MALFORMED", `attribute ${attrName} value is not quoted`, q);
      const vEnd = s.indexOf(quote === 34 ? '"' : "'", q + 1);
      if (vEnd < 0) this.fail("MALFORMED", `unterminated value of attribute ${attrName}`, q);
      const lt2 = s.indexOf("<", q + 1);
      if (lt2 >= 0 && lt2 < vEnd) this.fail("MALFORMED", `'<' in the value of attribute ${attrName}`, lt2);
      const value = this.attrValue(q + 1, vEnd);
      q = vEnd + 1;
      if (attrName === "xmlns" || attrName.startsWith("xmlns:")) {
        const prefix = attrName.length === 5 ? "" : attrName.slice(6);
        if (prefix === "xmlns") this.fail("MALFORMED", "the prefix xmlns cannot be declared", an);
        if (prefix !== "" && value === "")
          this.fail("MALFORMED", `prefix ${prefix} bound to an empty name`, an);
        if (ns === scope) ns = new Map(scope);
        ns.set(prefix, value);
        el.nsDecls.push({ prefix, uri: value } as XNamespaceDecl);
      } else {
        if (rawAttrs === null) rawAttrs = [];
        for (const a of rawAttrs) {
          if (a.name === attrName) this.fail("MALFORMED", `duplicate attribute ${attrName} in <${name}>`, an);
        }
        rawAttrs.push({ name: attrName, value, at: an });
      }
    }
    this.pos = q;
    // Resolve the element's namespace.
    const colon = name.indexOf(":");
    if (colon >= 0) {
      el.prefix = name.slice(0, colon);
      el.local = name.slice(colon + 1);
      const uri = ns.get(el.prefix);
      if (uri === undefined) this.fail("MALFORMED", `namespace prefix ${el.prefix} is not bound`, lt);
      el.ns = uri;
    } else {
      el.ns = ns.get("") ?? "";
    }
    if (rawAttrs !== null) {
      for (const a of rawAttrs) {
        const ac = a.name.indexOf(":");
        let prefix = "";
        let local = a.name;
        let ans = "";
        if (ac >= 0) {
          prefix = a.name.slice(0, ac);
          local = a.name.slice(ac + 1);
          const uri = ns.get(prefix);
          if (uri === undefined) this.fail("MALFORMED", `namespace prefix ${prefix} is not bound`, a.at);
          ans = uri;
        }
        const attr: XAttribute = {
          type: XNodeType.Attribute,
          name: a.name,
          local,
          prefix,
          ns: ans,
          value: a.value,
          parent: el,
          order: this.order++,
        };
        el.attrs.push(attr);
      }
    }
    return { el, ns };
  }

  /** Decodes an attribute value: references, then literal white space → space (XML 1.0 §3.3.3). */
  private attrValue(start: number, end: number): string {
    const s = this.s;
    let plain = true;
    for (let i = start; i < end; i++) {
      const c = s.charCodeAt(i);
      if (c === 38 || c === 9 || c === 10 || c === 13) {
        plain = false;
        break;
      }
      if (c < 32) this.fail("MALFORMED", `invalid character 0x${c.toString(16)} in an attribute value`, i);
    }
    if (plain) return s.slice(start, end);
    let out = "";
    let i = start;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c === 38) {
        const r = this.reference(i, end);
        out += r.text;
        i = r.next;
      } else if (c === 13) {
        out += " ";
        i += s.charCodeAt(i + 1) === 10 ? 2 : 1;
      } else if (c === 9 || c === 10) {
        out += " ";
        i++;
      } else {
        if (c < 32) this.fail("MALFORMED", `invalid character 0x${c.toString(16)} in an attribute value`, i);
        out += s[i];
        i++;
      }
    }
    return out;
  }

  private reference(amp: number, limit: number): { text: string; next: number } {
    const s = this.s;
    const semi = s.indexOf(";", amp + 1);
    if (semi < 0 || semi >= limit || semi - amp > 12)
      this.fail("MALFORMED", "'&' that starts no reference", amp);
    const body = s.slice(amp + 1, semi);
    if (body.charCodeAt(0) === 35 /* # */) {
      const hex = body.charCodeAt(1) === 120; /* x */
      const digits = body.slice(hex ? 2 : 1);
      if (!(hex ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/).test(digits)) {
        this.fail("MALFORMED", `bad character reference &${body};`, amp);
      }
      const code = Number.parseInt(digits, hex ? 16 : 10);
      if (!isXmlChar(code)) {
        this.fail("MALFORMED", `character reference &${body}; is not an XML character`, amp);
      }
      return { text: String.fromCodePoint(code), next: semi + 1 };
    }
    const pre = PREDEFINED[body];
    if (pre === undefined) {
      this.fail(
        "ENTITY",
        `entity reference &${body}; refused: only XML's predefined entities are expanded, no DTD is read`,
        amp,
      );
    }
    return { text: pre, next: semi + 1 };
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
      if (c < 32 && c !== 9 && c !== 10) this.fail("MALFORMED", `invalid character 0x${c.toString(16)}`, i);
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
        out += s.slice(run, i);
        const r = this.reference(i, end);
        out += r.text;
        i = r.next;
        run = i;
      } else if (c === 13) {
        out += `${s.slice(run, i)}\n`;
        i += s.charCodeAt(i + 1) === 10 ? 2 : 1;
        run = i;
      } else if (c === 62 && s.charCodeAt(i - 1) === 93 && s.charCodeAt(i - 2) === 93) {
        this.fail("MALFORMED", "']]>' in text", i - 2);
      } else {
        if (c < 32 && c !== 9 && c !== 10) this.fail("MALFORMED", `invalid character 0x${c.toString(16)}`, i);
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
