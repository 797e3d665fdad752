/**
 * IP whitelists as CIDR lists, as Comet's --receive-whitelist and
 * --broadcast-whitelist take them: "127.0.0.0/8, ::1, 192.168.1.0/24".
 *
 * Families: every address and every rule is reduced to its real family
 * first, so an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, what a dual-stack
 * socket reports for an IPv4 peer) is matched against IPv4 rules, and a rule
 * written inside `::ffff:0:0/96` becomes the IPv4 rule it stands for. IPv4
 * peers are matched only by IPv4 rules and IPv6 peers only by IPv6 rules:
 * `0.0.0.0/0, ::/0` allows everything, `::/0` alone allows every IPv6 peer.
 */

/** One parsed whitelist entry. */
export interface Cidr {
  readonly family: 4 | 6;
  /** Prefix length: 0–32 for IPv4, 0–128 for IPv6. */
  readonly prefix: number;
  /** Network address as unsigned 32-bit words (1 for IPv4, 4 for IPv6), host bits cleared. */
  readonly words: readonly number[];
  /** Canonical text, e.g. "10.0.0.0/8", "2001:db8::/32". */
  readonly text: string;
}

type Parsed<T> = T | string; // a string is the reason the text was refused

const SEPARATORS = /[\s,]+/;

/**
 * Parses a whitelist: entries separated by commas, spaces or newlines (an
 * array's elements may themselves hold several). A bare address means /32 or
 * /128. An entry with host bits set below the prefix is refused, with the
 * network address it may have meant ("10.0.0.1/0": host bits set; did you
 * mean 0.0.0.0/0?): silently clearing them turned a slip such as
 * `10.0.0.1/0` or `::ffff:10.0.0.0/96` into "everyone". Throws an Error
 * naming the first bad entry and what is wrong.
 */
export function parseCidrList(spec: string | readonly string[]): Cidr[] {
  const texts = typeof spec === "string" ? [spec] : spec;
  const out: Cidr[] = [];
  for (const text of texts) {
    if (typeof text !== "string") throw new TypeError("whitelist entries must be strings");
    for (const entry of text.split(SEPARATORS)) {
      if (entry === "") continue;
      const cidr = parseCidr(entry);
      if (typeof cidr === "string") throw new Error(`"${entry}": ${cidr}`);
      out.push(cidr);
    }
  }
  return out;
}

/** True when `entry` is one valid whitelist entry (CIDR or bare address). */
export function isValidCidr(entry: string): boolean {
  return typeof entry === "string" && typeof parseCidr(entry.trim()) !== "string";
}

/** A parsed whitelist, ready to check peers against on every connection. */
export class Whitelist {
  readonly cidrs: readonly Cidr[];
  // Flattened, precomputed nets and masks (as signed 32-bit ints, compared with `&`).
  private readonly v4Nets: Int32Array;
  private readonly v4Masks: Int32Array;
  private readonly v6Nets: Int32Array;
  private readonly v6Masks: Int32Array;

  constructor(spec: string | readonly string[]) {
    this.cidrs = parseCidrList(spec);
    const v4 = this.cidrs.filter((c) => c.family === 4);
    const v6 = this.cidrs.filter((c) => c.family === 6);
    this.v4Nets = new Int32Array(v4.length);
    this.v4Masks = new Int32Array(v4.length);
    v4.forEach((c, i) => {
      this.v4Masks[i] = maskWord(c.prefix);
      this.v4Nets[i] = c.words[0]! | 0;
    });
    this.v6Nets = new Int32Array(v6.length * 4);
    this.v6Masks = new Int32Array(v6.length * 4);
    v6.forEach((c, i) => {
      for (let w = 0; w < 4; w++) {
        this.v6Masks[i * 4 + w] = maskWord(c.prefix - 32 * w);
        this.v6Nets[i * 4 + w] = c.words[w]! | 0;
      }
    });
  }

  /**
   * Whether a peer may connect. Takes what `socket.remoteAddress` gives:
   * "127.0.0.1", "::1", "::ffff:127.0.0.1", "fe80::1%eth0" (the zone id is
   * ignored). Anything unparsable, or undefined (a socket already closed), is
   * refused. Never throws.
   */
  allows(address: string | undefined | null): boolean {
    if (typeof address !== "string") return false;
    const zone = address.indexOf("%");
    if (zone >= 0) address = address.slice(0, zone);
    if (address.indexOf(":") < 0) {
      const v4 = parseIPv4(address);
      return typeof v4 === "number" && this.allowsV4(v4);
    }
    const v6 = parseIPv6(address);
    if (typeof v6 === "string") return false;
    if (isMapped(v6)) return this.allowsV4(v6[3]!);
    const nets = this.v6Nets;
    const masks = this.v6Masks;
    const a0 = v6[0]! | 0;
    const a1 = v6[1]! | 0;
    const a2 = v6[2]! | 0;
    const a3 = v6[3]! | 0;
    for (let i = 0; i < nets.length; i += 4) {
      if (
        (a0 & masks[i]!) === nets[i] &&
        (a1 & masks[i + 1]!) === nets[i + 1] &&
        (a2 & masks[i + 2]!) === nets[i + 2] &&
        (a3 & masks[i + 3]!) === nets[i + 3]
      ) {
        return true;
      }
    }
    return false;
  }

  /** The entries in canonical form, comma-separated ("" for an empty list). */
  toString(): string {
    return this.cidrs.map((c) => c.text).join(", ");
  }

  private allowsV4(address: number): boolean {
    const a = address | 0;
    const nets = this.v4Nets;
    const masks = this.v4Masks;
    for (let i = 0; i < nets.length; i++) {
      if ((a & masks[i]!) === nets[i]) return true;
    }
    return false;
  }
}

/** Mask for one 32-bit word when `bits` of the prefix fall in it (clamped to 0–32). */
function maskWord(bits: number): number {
  if (bits <= 0) return 0;
  if (bits >= 32) return -1;
  return (-1 << (32 - bits)) | 0;
}

function parseCidr(entry: string): Parsed<Cidr> {
  if (entry === "") return "empty entry";
  if (entry.includes("%")) return "zone ids (%…) are not allowed in a whitelist";
  const slash = entry.indexOf("/");
  const addressText = slash < 0 ? entry : entry.slice(0, slash);
  const isV6 = addressText.includes(":");
  const maxPrefix = isV6 ? 128 : 32;
  let prefix = maxPrefix;
  if (slash >= 0) {
    const prefixText = entry.slice(slash + 1);
    if (prefixText === "") return 'prefix length missing after "/"';
    if (!/^\d+$/.test(prefixText)) return `prefix length "${prefixText}" is not a whole number`;
    prefix = Number(prefixText);
    if (prefix > maxPrefix) return `prefix length must be 0–${maxPrefix}`;
  }
  if (addressText === "") return "address missing before the prefix length";

  if (!isV6) {
    if (!/^[\d.]+$/.test(addressText)) return "not an IPv4 or IPv6 address (host names are not accepted)";
    const v4 = parseIPv4(addressText);
    if (typeof v4 === "string") return v4;
    return makeCidr(4, [v4], prefix);
  }
  const v6 = parseIPv6(addressText);
  if (typeof v6 === "string") return v6;
  if (prefix >= 96 && isMapped(v6)) {
    const v4 = v6[3]!;
    const net = (v4 & maskWord(prefix - 96)) >>> 0;
    if (net !== v4) return `host bits set; did you mean ::ffff:${formatIPv4(net)}/${prefix}?`;
    return makeCidr(4, [v4], prefix - 96);
  }
  return makeCidr(6, v6, prefix);
}

function makeCidr(family: 4 | 6, words: number[], prefix: number): Parsed<Cidr> {
  const net = words.map((w, i) => (w & maskWord(prefix - 32 * i)) >>> 0);
  const address = family === 4 ? formatIPv4(net[0]!) : formatIPv6(net);
  if (net.some((w, i) => w !== words[i])) return `host bits set; did you mean ${address}/${prefix}?`;
  return { family, prefix, words: net, text: `${address}/${prefix}` };
}

function isMapped(words: readonly number[]): boolean {
  return words[0] === 0 && words[1] === 0 && words[2] === 0xffff;
}

/** Parses a dotted quad into an unsigned 32-bit number, or says what is wrong. */
function parseIPv4(text: string): Parsed<number> {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let octets = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e; // a final "." closes the last octet
    if (c === 0x2e) {
      if (digits === 0) return "an IPv4 address is 4 numbers separated by dots";
      if (octet > 255) return `${octet} is not an IPv4 address byte (0–255)`;
      if (digits > 1 && text.charCodeAt(i - digits) === 0x30) {
        return `leading zeros ("${text.slice(i - digits, i)}") are ambiguous (octal?) and not allowed`;
      }
      if (++octets > 4) return "an IPv4 address is 4 numbers separated by dots";
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (++digits > 3) return `${text.slice(i - 3).split(".")[0]} is not an IPv4 address byte (0–255)`;
      octet = octet * 10 + (c - 0x30);
    } else {
      return "not an IPv4 address";
    }
  }
  if (octets !== 4) return "an IPv4 address is 4 numbers separated by dots";
  return value;
}

/** Parses an IPv6 address (compressed "::" and embedded IPv4 included) into 4 unsigned words. */
function parseIPv6(text: string): Parsed<number[]> {
  if (text.includes(":::")) return "empty group (a single ':' at the start or end, or ':::')";
  const gap = text.indexOf("::");
  if (gap >= 0 && text.indexOf("::", gap + 1) >= 0) return 'an IPv6 address may contain "::" only once';
  const headText = gap < 0 ? text : text.slice(0, gap);
  const tailText = gap < 0 ? "" : text.slice(gap + 2);
  const head = headText === "" ? [] : headText.split(":");
  const tail = tailText === "" ? [] : tailText.split(":");
  const groups: number[] = [];
  const parts = gap < 0 ? head : [...head, ...tail];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part.includes(".")) {
      if (i !== parts.length - 1 || (gap >= 0 && i < head.length)) {
        return "an embedded IPv4 address must come last";
      }
      const v4 = parseIPv4(part);
      if (typeof v4 === "string") return `embedded IPv4 address: ${v4}`;
      groups.push(v4 >>> 16, v4 & 0xffff);
    } else {
      if (part === "") return "empty group (a single ':' at the start or end, or ':::')";
      if (part.length > 4) return `group "${part}" has more than 4 hex digits`;
      if (!/^[0-9a-fA-F]+$/.test(part)) return `group "${part}" is not hexadecimal`;
      groups.push(Number.parseInt(part, 16));
    }
  }
  if (gap < 0) {
    if (groups.length !== 8) return `an IPv6 address has 8 groups, this one ${groups.length}`;
  } else {
    if (groups.length > 7) return `too many groups for "::" (${groups.length} besides it; at most 7)`;
    const headGroups = groupCount(head);
    const zeros = new Array<number>(8 - groups.length).fill(0);
    groups.splice(headGroups, 0, ...zeros);
  }
  return [
    (groups[0]! * 0x10000 + groups[1]!) >>> 0,
    (groups[2]! * 0x10000 + groups[3]!) >>> 0,
    (groups[4]! * 0x10000 + groups[5]!) >>> 0,
    (groups[6]! * 0x10000 + groups[7]!) >>> 0,
  ];
}

function groupCount(parts: readonly string[]): number {
  let n = 0;
  for (const p of parts) n += p.includes(".") ? 2 : 1;
  return n;
}

function formatIPv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 0xff}.${(value >>> 8) & 0xff}.${value & 0xff}`;
}

/** RFC 5952 text: lower case, the longest run (2 or more) of zero groups as "::". */
function formatIPv6(words: readonly number[]): string {
  const groups: number[] = [];
  for (const w of words) groups.push(w >>> 16, w & 0xffff);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}
