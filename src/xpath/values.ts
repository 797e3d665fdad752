/** XPath 1.0 values and the conversions between them (XPath 1.0 §4.2–4.4, §5). */
import { type XChild, type XElement, type XNode, XNodeType } from "../xml/types";

/** A node set: nodes in document order, without duplicates. */
export type XNodeSet = readonly XNode[];
export type XPathValue = boolean | number | string | XNodeSet;

export const XML_NS = "http://www.w3.org/XML/1998/namespace";

/** The string-value of an element: all its descendant text, in document order (no recursion). */
export function elementText(el: XElement): string {
  const kids = el.children;
  if (kids.length === 1) {
    const k = kids[0];
    if (k.type === XNodeType.Text) return k.value;
  }
  if (kids.length === 0) return "";
  let out = "";
  const stack: XChild[] = [];
  for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]);
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.type === XNodeType.Text) out += n.value;
    else if (n.type === XNodeType.Element) {
      const c = n.children;
      for (let i = c.length - 1; i >= 0; i--) stack.push(c[i]);
    }
  }
  return out;
}

/** XPath string-value of any node. */
export function stringValue(n: XNode): string {
  switch (n.type) {
    case XNodeType.Element:
      return elementText(n);
    case XNodeType.Document:
      return elementText(n.root);
    default:
      return n.value;
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/**
 * number(string), and every implicit conversion of a string (or a node's string-value) to a
 * number: optional white space (space, tab, CR, LF), an optional minus, digits with an optional
 * decimal point (at least one digit: `5`, `5.`, `.5`), an optional exponent (`e` or `E`, an
 * optional `+` or `-`, one or more digits), optional white space; anything else is NaN.
 *
 * The exponent is a deliberate departure from XPath 1.0 (which has none), for compatibility with
 * libxml2 and so with Comet's lxml filters: `9.1e-14 < 0.000001` is true there and here. Still
 * NaN, as in libxml2: a leading `+`, `Infinity`, `NaN`, hexadecimal, and an exponent without digits
 * (`1e`, which libxml2 alone reads as 1).
 */
export function stringToNumber(s: string): number {
  let a = 0;
  let b = s.length;
  while (a < b && isSpace(s.charCodeAt(a))) a++;
  while (b > a && isSpace(s.charCodeAt(b - 1))) b--;
  if (a === b) return Number.NaN;
  let i = a;
  if (s.charCodeAt(i) === 0x2d) i++;
  let digits = 0;
  while (i < b) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    i++;
    digits++;
  }
  if (i < b && s.charCodeAt(i) === 0x2e) {
    i++;
    while (i < b) {
      const c = s.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      i++;
      digits++;
    }
  }
  if (digits === 0) return Number.NaN;
  if (i < b && (s.charCodeAt(i) | 0x20) === 0x65 /* e, E */) {
    i++;
    const sign = s.charCodeAt(i);
    if (i < b && (sign === 0x2b || sign === 0x2d)) i++;
    const expStart = i;
    while (i < b) {
      const c = s.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      i++;
    }
    if (i === expStart) return Number.NaN;
  }
  if (i !== b) return Number.NaN;
  // JavaScript's Number() reads exactly these forms (and rounds correctly, which libxml2's
  // digit-by-digit loop does not always do).
  return a === 0 && b === s.length ? +s : +s.slice(a, b);
}

/**
 * XPath string(number): NaN, Infinity, -Infinity; 0 for both zeros; integers without a
 * decimal point; otherwise the shortest decimal that round-trips, never in exponent form.
 */
export function numberToString(n: number): string {
  if (n === 0) return "0";
  if (Number.isNaN(n)) return "NaN";
  if (n === Number.POSITIVE_INFINITY) return "Infinity";
  if (n === Number.NEGATIVE_INFINITY) return "-Infinity";
  const s = String(n);
  const e = s.indexOf("e");
  if (e < 0) return s;
  // Expand d.ddde±x into plain decimal notation.
  const neg = s.charCodeAt(0) === 0x2d;
  const mantissa = s.slice(neg ? 1 : 0, e);
  const exp = Number(s.slice(e + 1));
  const dot = mantissa.indexOf(".");
  const digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  const point = (dot < 0 ? mantissa.length : dot) + exp; // digits before the decimal point
  let out: string;
  if (point <= 0) out = `0.${"0".repeat(-point)}${digits}`;
  else if (point >= digits.length) out = digits + "0".repeat(point - digits.length);
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return neg ? `-${out}` : out;
}

/**
 * Sorts a node list into document order and removes duplicates, in place when it can.
 * Already-ordered lists (the usual case) cost one pass.
 */
export function inDocumentOrder(nodes: XNode[]): XNode[] {
  const n = nodes.length;
  if (n < 2) return nodes;
  let ascending = true;
  let descending = true;
  for (let i = 1; i < n; i++) {
    const d = nodes[i].order - nodes[i - 1].order;
    if (d <= 0) ascending = false;
    if (d >= 0) descending = false;
    if (!ascending && !descending) break;
  }
  if (ascending) return nodes;
  if (descending) return nodes.reverse();
  nodes.sort(byOrder);
  let w = 1;
  for (let r = 1; r < n; r++) {
    if (nodes[r] !== nodes[w - 1]) nodes[w++] = nodes[r];
  }
  nodes.length = w;
  return nodes;
}

function byOrder(a: XNode, b: XNode): number {
  return a.order - b.order;
}
