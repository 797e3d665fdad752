/**
 * The patterns of stream and IVORN rules: globs matched against the whole
 * string, case-sensitively. `*` stands for any run of characters (`/` and `#`
 * included), `?` for exactly one; every other character stands for itself, so
 * the dots, slashes and `#` of an IVORN need no escaping:
 *
 *   ivo://gwnet/*                  every gravitational-wave stream
 *   ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_*   Swift BAT positions (an ivorn rule)
 *   ivo://nasa.gsfc.gcn/*          every GCN stream
 */
export function globToRegExp(pattern: string): RegExp {
  let source = "";
  for (const ch of pattern) {
    if (ch === "*") source += "[\\s\\S]*";
    else if (ch === "?") source += "[\\s\\S]";
    else source += ch.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
  }
  return new RegExp(`^${source}$`, "u");
}

/** A matcher for one glob pattern (see globToRegExp). */
export function globMatcher(pattern: string): (value: string) => boolean {
  if (!/[*?]/.test(pattern)) return (value) => value === pattern;
  const re = globToRegExp(pattern);
  return (value) => re.test(value);
}
