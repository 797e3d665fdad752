/**
 * The patterns of stream and IVORN rules: globs matched against the whole
 * string, case-sensitively. `*` stands for any run of characters (`/` and `#`
 * included), `?` for exactly one; every other character stands for itself, so
 * the dots, slashes and `#` of an IVORN need no escaping:
 *
 *   ivo://gwnet/*                  every gravitational-wave stream
 *   ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_*   Swift BAT positions (an ivorn rule)
 *   ivo://nasa.gsfc.gcn/*          every GCN stream
 *
 * Matching never backtracks: the pattern is cut at its stars into pieces; the
 * first piece must start the value, the last must end it, and each piece in
 * between is found at its leftmost place after the one before (a later place
 * could only leave less room for the rest). So a match costs at most the
 * value's length times the pattern's, whatever the two hold (a regular
 * expression with one `.*` per star could take the value's length to the
 * power of the stars). Characters are code points: `?` takes a whole
 * surrogate pair.
 */

/** A piece of a pattern between stars: code points, with WILD for `?`. */
type Piece = readonly number[];
const WILD = -1;

interface Glob {
  /** Pieces cut at the stars; a pattern with k stars has k + 1 of them (some may be empty). */
  readonly pieces: readonly Piece[];
  readonly stars: boolean;
}

function compile(pattern: string): Glob {
  const pieces: number[][] = [[]];
  for (const ch of pattern) {
    if (ch === "*") pieces.push([]);
    else pieces[pieces.length - 1].push(ch === "?" ? WILD : ch.codePointAt(0)!);
  }
  return { pieces, stars: pieces.length > 1 };
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** The value as code points (one per character, as `?` counts them). */
function codePoints(value: string): ArrayLike<number> {
  if (!SURROGATE.test(value)) {
    const out = new Uint16Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = value.charCodeAt(i);
    return out;
  }
  const out: number[] = [];
  for (const ch of value) out.push(ch.codePointAt(0)!);
  return out;
}

/** Whether `piece` matches value[at..at + piece.length). */
function matchesAt(piece: Piece, value: ArrayLike<number>, at: number): boolean {
  for (let k = 0; k < piece.length; k++) {
    const p = piece[k];
    if (p !== WILD && p !== value[at + k]) return false;
  }
  return true;
}

/** The leftmost place at or after `from` (and at most `last`) where `piece` matches; -1 if none. */
function find(piece: Piece, value: ArrayLike<number>, from: number, last: number): number {
  for (let at = from; at <= last; at++) if (matchesAt(piece, value, at)) return at;
  return -1;
}

function matches(glob: Glob, value: string): boolean {
  const v = codePoints(value);
  const n = v.length;
  const { pieces } = glob;
  const first = pieces[0];
  if (!glob.stars) return first.length === n && matchesAt(first, v, 0);
  const lastPiece = pieces[pieces.length - 1];
  // The first piece starts the value, the last one ends it, without overlapping.
  if (first.length + lastPiece.length > n) return false;
  if (!matchesAt(first, v, 0)) return false;
  const tail = n - lastPiece.length;
  if (!matchesAt(lastPiece, v, tail)) return false;
  let at = first.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i];
    const found = find(piece, v, at, tail - piece.length);
    if (found < 0) return false;
    at = found + piece.length;
  }
  return true;
}

/**
 * The same patterns as a regular expression, for callers that need one. It is
 * NOT used for matching (a backtracking engine can take a very long time on
 * a long value and a pattern with several stars): use globMatcher.
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

/** A matcher for one glob pattern (see the top of this file): linear in the value for a given pattern. */
export function globMatcher(pattern: string): (value: string) => boolean {
  if (!pattern.includes("*") && !pattern.includes("?")) return (value) => value === pattern;
  const glob = compile(pattern);
  return (value) => matches(glob, value);
}
