/**
 * Turning VOEvent text into model values: numbers, trimmed strings, Param values.
 *
 * The Param rule (msg.voevent.params and groups):
 * - no value (no `value` attribute and no `<Value>` child), or an empty one → null;
 * - `dataType="int"` or `"float"`: a number when the text (white space around it
 *   allowed) is a decimal or scientific number that is finite, else the text as
 *   written (e.g. `NaN`, `INF`, a mislabelled `0x3`);
 * - no dataType: a number only when the text is a *plain* number, written the way
 *   a number prints: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?` with nothing
 *   around it. So `92.05`, `-9.3137`, `1.0e-10` become numbers, while ids with
 *   leading zeros (`00532871`), `+5`, `.5`, ` 5`, `0x1000000`, dates and words stay strings;
 * - `dataType="string"` (or any other dataType): the text as written, even when it
 *   looks like a number (GCN's SWIFT example labels every value "string");
 * - an integer (no `.` or exponent) too large to be exact in a double stays a string.
 */
import type { ParamValue } from "./model";

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isXmlSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13;
}

/** Trims XML white space (space, tab, CR, LF) only, unlike String.prototype.trim. */
export function xmlTrim(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isXmlSpace(s.charCodeAt(a))) a++;
  while (b > a && isXmlSpace(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/**
 * Scans a number in s[start, end). `plain`: the strict form above; otherwise an
 * optional sign, digits with an optional point (at least one digit), optional
 * exponent. Returns -1 when it is not a number, 1 for an integer form, 2 when it
 * has a point or an exponent.
 */
function scanNumber(s: string, start: number, end: number, plain: boolean): number {
  let i = start;
  let c = s.charCodeAt(i);
  if (c === 45 /* - */ || (!plain && c === 43) /* + */) i++;
  let digits = 0;
  const intStart = i;
  while (i < end && isDigit(s.charCodeAt(i))) i++;
  digits += i - intStart;
  if (plain) {
    if (digits === 0) return -1;
    if (digits > 1 && s.charCodeAt(intStart) === 48) return -1; // leading zero
  }
  let form = 1;
  if (i < end && s.charCodeAt(i) === 46 /* . */) {
    form = 2;
    i++;
    const fracStart = i;
    while (i < end && isDigit(s.charCodeAt(i))) i++;
    if (plain && i === fracStart) return -1;
    digits += i - fracStart;
  }
  if (digits === 0) return -1;
  if (i < end && (s.charCodeAt(i) | 32) === 101 /* e */) {
    form = 2;
    i++;
    c = s.charCodeAt(i);
    if (i < end && (c === 43 || c === 45)) i++;
    const expStart = i;
    while (i < end && isDigit(s.charCodeAt(i))) i++;
    if (i === expStart) return -1;
  }
  return i === end ? form : -1;
}

function convert(s: string, start: number, end: number, plain: boolean): number | null {
  if (end <= start) return null;
  const form = scanNumber(s, start, end, plain);
  if (form < 0) return null;
  const n = Number(start === 0 && end === s.length ? s : s.slice(start, end));
  if (!Number.isFinite(n)) return null;
  if (form === 1 && !Number.isSafeInteger(n)) return null;
  return n;
}

/** A decimal or scientific number (white space around allowed), or null. */
export function toNumber(s: string | null): number | null {
  if (s === null) return null;
  let a = 0;
  let b = s.length;
  while (a < b && isXmlSpace(s.charCodeAt(a))) a++;
  while (b > a && isXmlSpace(s.charCodeAt(b - 1))) b--;
  return convert(s, a, b, false);
}

/** A number written plainly (see the file comment), or null. */
export function toPlainNumber(s: string): number | null {
  return convert(s, 0, s.length, true);
}

/** The model value of a Param's text under its dataType, by the rule in the file comment. */
export function paramValue(raw: string | null, dataType: string | null): ParamValue {
  if (raw === null || raw.length === 0) return null;
  if (dataType === null) return toPlainNumber(raw) ?? raw;
  if (dataType === "float" || dataType === "int") return toNumber(raw) ?? raw;
  return raw;
}

/**
 * Sets an own, enumerable property, even one named `__proto__` (which plain
 * assignment would take as the prototype: a Param may be called anything).
 */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === "__proto__") {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

const hasOwn = Object.prototype.hasOwnProperty;

/** The own property `key` of `obj`, or undefined (never an inherited one such as `constructor`). */
export function getOwn<T>(obj: Record<string, T>, key: string): T | undefined {
  return hasOwn.call(obj, key) ? obj[key] : undefined;
}
