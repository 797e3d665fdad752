/**
 * String functions measured in characters (code points), as XPath counts them, not in
 * UTF-16 units; strings without surrogate pairs (nearly all) take the plain path.
 */

const SURROGATE = /[\uD800-\uDFFF]/;

function hasSurrogates(s: string): boolean {
  return SURROGATE.test(s);
}

export function stringLength(s: string): number {
  if (!hasSurrogates(s)) return s.length;
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** XPath substring(s, start[, length]) with its rounding and NaN / Infinity rules. */
export function substring(s: string, start: number, length: number | undefined): string {
  const first = Math.round(start);
  const end = length === undefined ? Number.POSITIVE_INFINITY : first + Math.round(length);
  // Characters at positions p (1-based) with first <= p < end are kept; NaN keeps none.
  if (!(first < end)) return "";
  const surrogates = hasSurrogates(s);
  const chars = surrogates ? Array.from(s) : null;
  const len = chars === null ? s.length : chars.length;
  const from = Math.max(first, 1);
  const to = Math.min(end, len + 1);
  if (!(from < to)) return "";
  return chars === null ? s.slice(from - 1, to - 1) : chars.slice(from - 1, to - 1).join("");
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** XPath normalize-space: strip and collapse runs of #x20 #x9 #xD #xA (and nothing else). */
export function normalizeSpace(s: string): string {
  let out = "";
  let i = 0;
  const n = s.length;
  let pendingSpace = false;
  let runStart = -1;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (isSpace(c)) {
      if (runStart >= 0) {
        out += s.slice(runStart, i);
        runStart = -1;
        pendingSpace = true;
      }
    } else if (runStart < 0) {
      if (pendingSpace) out += " ";
      pendingSpace = false;
      runStart = i;
    }
    i++;
  }
  if (runStart >= 0) out = runStart === 0 && out.length === 0 ? s : out + s.slice(runStart);
  return out;
}

/** XPath translate(s, from, to). */
export function translate(s: string, from: string, to: string): string {
  const fromChars = Array.from(from);
  const toChars = Array.from(to);
  const map = new Map<string, string>();
  for (let i = 0; i < fromChars.length; i++) {
    if (!map.has(fromChars[i])) map.set(fromChars[i], i < toChars.length ? toChars[i] : "");
  }
  let out = "";
  for (const ch of s) {
    const r = map.get(ch);
    out += r === undefined ? ch : r;
  }
  return out;
}
