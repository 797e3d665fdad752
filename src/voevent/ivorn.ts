/**
 * IVORNs (IVOA identifiers of events): `ivo://authority/path#local`.
 *
 * The rules follow Comet's IVOID check (protocol-facts.md §6), widened where
 * real packets that can still be routed break it:
 *
 * - must start with `ivo://` (lower case, as every implementation writes it);
 * - authority: at least three characters, the first a letter or digit, the rest
 *   letters, digits and `_ - . ~ * ' ( )` (so the FRB templates'
 *   `ivo://[institute]/…` is refused);
 * - path (optional): `/segment/segment…`, each segment non-empty (no `//`, no
 *   trailing `/`), never `.` or `..`; segment characters are RFC 3986 pchars:
 *   letters, digits, `- . _ ~ ! $ & ' ( ) * + , ; = : @ %` (the `:` admits
 *   `ivo://psws.irap/VOEvent/Tao_Jupiter_2018-10-02T17_34_45::v1.0`);
 * - local part (optional, Comet requires it: see {@link hasLocalId}): everything
 *   after the first `#`, non-empty, of pchars plus `/` and `?` (so CHIME's
 *   `#2022-03-20-10:00:28.960760UTC+0000_…` passes);
 * - nowhere: white space, control characters, non-ASCII, a second `#`, or
 *   `[ ] { } < > " \ ^ ` |`;
 * - at most {@link MAX_IVORN_LENGTH} characters.
 */
import { randomBytes } from "node:crypto";
import { VOEventError } from "../errors";

export interface ParsedIvorn {
  /** The whole IVORN, as given. */
  ivorn: string;
  /** E.g. `nasa.gsfc.gcn`. */
  authority: string;
  /** The resource path with its leading `/` (e.g. `/SWIFT`), or '' when there is none (`ivo://testing#1`). */
  path: string;
  /** The part after `#`, or null when there is no `#`. */
  local: string | null;
  /** The IVORN without `#local`: the stream identifier. */
  stream: string;
}

export const IVO_SCHEME = "ivo://";

/** Longest IVORN accepted, in characters. Real ones are under 200; MQTT topics stop at 65,535 bytes. */
export const MAX_IVORN_LENGTH = 2048;

// Character classes, by char code (ASCII only; everything above 126 is refused).
const AUTHORITY = new Uint8Array(128);
const PCHAR = new Uint8Array(128);
for (let c = 48; c <= 57; c++) AUTHORITY[c] = PCHAR[c] = 1;
for (let c = 65; c <= 90; c++) AUTHORITY[c] = PCHAR[c] = 1;
for (let c = 97; c <= 122; c++) AUTHORITY[c] = PCHAR[c] = 1;
for (const ch of "_-.~*'()") AUTHORITY[ch.charCodeAt(0)] = 1;
for (const ch of "-._~!$&'()*+,;=:@%") PCHAR[ch.charCodeAt(0)] = 1;

function describeChar(c: number): string {
  const hex = `U+${c.toString(16).toUpperCase().padStart(4, "0")}`;
  if (c < 32 || c === 127) return `control character ${hex}`;
  if (c === 32) return "a space";
  if (c > 127) return `non-ASCII character ${String.fromCharCode(c)} (${hex}); percent-encode it`;
  return `character ${JSON.stringify(String.fromCharCode(c))}`;
}

function bad(ivorn: string, why: string): never {
  const shown = ivorn.length > 120 ? `${JSON.stringify(ivorn.slice(0, 120))}…` : JSON.stringify(ivorn);
  throw new VOEventError("BAD_IVORN", `${shown} is not a valid IVORN: ${why}`);
}

/** Parses and checks an IVORN; throws VOEventError("BAD_IVORN") saying why it is refused. */
export function parseIvorn(s: string): ParsedIvorn {
  if (typeof s !== "string") bad(String(s), "it is not a string");
  if (s.length === 0) bad(s, "it is empty");
  if (s.length > MAX_IVORN_LENGTH)
    bad(s, `it is ${s.length} characters long (the limit is ${MAX_IVORN_LENGTH})`);
  if (!s.startsWith(IVO_SCHEME)) {
    const lower = s.slice(0, 6).toLowerCase();
    bad(
      s,
      lower === IVO_SCHEME
        ? "the scheme must be written 'ivo://' in lower case"
        : "it does not start with 'ivo://'",
    );
  }
  const len = s.length;
  // Authority.
  let i = IVO_SCHEME.length;
  const aStart = i;
  while (i < len) {
    const c = s.charCodeAt(i);
    if (c === 47 /* / */ || c === 35 /* # */) break;
    if (c >= 128 || AUTHORITY[c] === 0) {
      bad(s, `the authority contains ${describeChar(c)} (allowed: letters, digits and _ - . ~ * ' ( ))`);
    }
    i++;
  }
  const authority = s.slice(aStart, i);
  if (authority.length === 0) bad(s, "the authority (the part after 'ivo://') is empty");
  const first = authority.charCodeAt(0);
  const alnum = (first >= 48 && first <= 57) || (first >= 65 && first <= 90) || (first >= 97 && first <= 122);
  if (!alnum) bad(s, `the authority ${JSON.stringify(authority)} must start with a letter or a digit`);
  if (authority.length < 3) {
    bad(s, `the authority ${JSON.stringify(authority)} is too short (at least 3 characters)`);
  }
  // Path.
  const pStart = i;
  let segStart = i + 1;
  while (i < len) {
    const c = s.charCodeAt(i);
    if (c === 35 /* # */) break;
    if (c === 47 /* / */) {
      if (i > pStart) checkSegment(s, segStart, i);
      segStart = i + 1;
    } else if (c >= 128 || PCHAR[c] === 0) {
      bad(s, `the path contains ${describeChar(c)}`);
    }
    i++;
  }
  const path = s.slice(pStart, i);
  if (path.length > 0) {
    if (segStart === i) bad(s, path === "/" ? "the path is a lone '/'" : "the path ends with '/'");
    checkSegment(s, segStart, i);
  }
  const stream = s.slice(0, i);
  if (i === len) return { ivorn: s, authority, path, local: null, stream };
  // Local part, after '#'.
  const lStart = i + 1;
  if (lStart === len) bad(s, "nothing follows the '#' (the local id is empty)");
  for (let j = lStart; j < len; j++) {
    const c = s.charCodeAt(j);
    if (c === 35) bad(s, "it contains a second '#'");
    if (c !== 47 && c !== 63 && (c >= 128 || PCHAR[c] === 0)) {
      bad(s, `the local id (after '#') contains ${describeChar(c)}`);
    }
  }
  return { ivorn: s, authority, path, local: s.slice(lStart), stream };
}

function checkSegment(s: string, start: number, end: number): void {
  if (end === start) bad(s, "the path contains an empty segment ('//')");
  if (s.charCodeAt(start) === 46 /* . */) {
    const n = end - start;
    if (n === 1 || (n === 2 && s.charCodeAt(start + 1) === 46)) {
      bad(s, `the path contains a '${s.slice(start, end)}' segment`);
    }
  }
}

/** True when `s` is an IVORN by the rules of {@link parseIvorn}. Never throws. */
export function isIvorn(s: unknown): boolean {
  if (typeof s !== "string") return false;
  try {
    parseIvorn(s);
    return true;
  } catch {
    return false;
  }
}

/**
 * True when `ivorn` is a valid IVORN with a local id after `#`, as Comet and the
 * VOEvent 2.0 text require of an event (pygcn's kill_socket.xml has none).
 */
export function hasLocalId(ivorn: string): boolean {
  try {
    return parseIvorn(ivorn).local !== null;
  } catch {
    return false;
  }
}

/** The stream identifier: the IVORN without `#local`. Throws BAD_IVORN. */
export function streamOf(ivorn: string): string {
  return parseIvorn(ivorn).stream;
}

/**
 * MQTT level text: the characters MQTT forbids in a topic name or reads as
 * wildcards (`+`, `#`, U+0000 and other control characters, lone surrogates)
 * become `_`; `/` never appears inside a level.
 */
function mqttLevel(level: string): string {
  let out = "";
  let run = 0;
  for (let i = 0; i < level.length; i++) {
    const c = level.charCodeAt(i);
    let bad = c === 43 || c === 35 || c === 47 || c < 32 || (c >= 127 && c <= 159);
    if (!bad && c >= 0xd800 && c <= 0xdfff) {
      // Keep a well-formed surrogate pair, replace a lone half.
      const next = level.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      bad = true;
    }
    if (bad) {
      out += `${level.slice(run, i)}_`;
      run = i + 1;
    }
  }
  return run === 0 ? level : out + level.slice(run);
}

/**
 * The stream as an MQTT topic: `voevent/<authority>/<path segments>`, e.g.
 * `ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_532871-729` → `voevent/nasa.gsfc.gcn/SWIFT`.
 * Accepts an IVORN (the local id is dropped) or a stream. Throws BAD_IVORN for a
 * string that is not an IVORN. The result has no `#`, no `+` (replaced by `_`),
 * no empty level, no control character and no leading or trailing `/`.
 */
export function topicFor(ivorn: string | ParsedIvorn): string {
  const p = typeof ivorn === "string" ? parseIvorn(ivorn) : ivorn;
  let topic = `voevent/${mqttLevel(p.authority)}`;
  if (p.path.length > 0) {
    for (const seg of p.path.slice(1).split("/")) {
      if (seg.length > 0) topic += `/${mqttLevel(seg)}`;
    }
  }
  return topic;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/**
 * A generator of local ids, unique and sortable: UTC time to the millisecond, a
 * counter within the millisecond, and 40 random bits, e.g.
 * `20250102T030405.678Z-0000-9f86d081c4`. The ids of one generator sort in the
 * order they were made (its clock never runs backwards: after a step back it keeps
 * the last time and counts on); ids of different generators and processes sort by time.
 */
export function createLocalIdGenerator(): (now?: number) => string {
  let lastMs = 0;
  let seq = 0;
  return (now: number = Date.now()): string => {
    if (now > lastMs) {
      lastMs = now;
      seq = 0;
    } else {
      seq++;
    }
    const d = new Date(lastMs);
    const stamp =
      `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1, 2)}${pad(d.getUTCDate(), 2)}T` +
      `${pad(d.getUTCHours(), 2)}${pad(d.getUTCMinutes(), 2)}${pad(d.getUTCSeconds(), 2)}.` +
      `${pad(d.getUTCMilliseconds(), 3)}Z`;
    return `${stamp}-${seq.toString(36).padStart(4, "0")}-${randomBytes(5).toString("hex")}`;
  };
}

const processIds = createLocalIdGenerator();

/** A new local id from the process-wide generator (see {@link createLocalIdGenerator}). */
export function newLocalId(): string {
  return processIds();
}

/** A new event IVORN under `stream` (which must be an IVORN without `#`). Throws BAD_IVORN. */
export function newIvorn(stream: string): string {
  const p = parseIvorn(stream);
  if (p.local !== null) {
    throw new VOEventError(
      "BAD_IVORN",
      `${JSON.stringify(stream)} is an event IVORN, not a stream: it has a '#'`,
    );
  }
  return `${p.stream}#${newLocalId()}`;
}
