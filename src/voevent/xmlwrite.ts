/**
 * Escaping for XML we write. Characters XML 1.0 cannot carry at all (most C0
 * controls, lone surrogates, U+FFFE/U+FFFF) are refused with a RangeError rather
 * than dropped silently.
 */

function badChar(s: string, i: number, where: string): never {
  const c = s.charCodeAt(i);
  throw new RangeError(
    `${where} contains U+${c.toString(16).toUpperCase().padStart(4, "0")} at index ${i}, which XML 1.0 cannot carry`,
  );
}

function escapeXml(s: string, where: string, attribute: boolean): string {
  let out = "";
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string | null = null;
    if (c < 0x3f) {
      if (c === 38) rep = "&amp;";
      else if (c === 60) rep = "&lt;";
      else if (c === 62) rep = "&gt;";
      else if (c === 13) rep = "&#13;";
      else if (attribute && c === 34) rep = "&quot;";
      else if (attribute && c === 10) rep = "&#10;";
      else if (attribute && c === 9) rep = "&#9;";
      else if (c < 32 && c !== 9 && c !== 10) badChar(s, i, where);
    } else if (c >= 0xd800) {
      if (c <= 0xdbff) {
        const next = s.charCodeAt(i + 1);
        if (!(next >= 0xdc00 && next <= 0xdfff)) badChar(s, i, where);
        i++;
      } else if (c <= 0xdfff || c === 0xfffe || c === 0xffff) {
        badChar(s, i, where);
      }
    }
    if (rep !== null) {
      out += s.slice(run, i) + rep;
      run = i + 1;
    }
  }
  return run === 0 ? s : out + s.slice(run);
}

/** Escapes character data: `& < >`, and CR as a reference so it survives parsing. */
export function escapeText(s: string, where = "text"): string {
  return escapeXml(s, where, false);
}

/** Escapes an attribute value for double quotes; tab, LF and CR as references (attribute normalisation would turn them into spaces). */
export function escapeAttr(s: string, where = "attribute"): string {
  return escapeXml(s, where, true);
}
