/**
 * What the archive's tests expect of stored packets, computed by the test from the packets
 * themselves with the package's VOEvent parser (msg.voevent), not with the archive's ingest:
 * voeventdb's stream (the IVORN before `#`, without `ivo://`), Who/Date as UTC, the position
 * (none for GCN's dummy "unavailable/inappropriate" one), the references by cite type.
 */
import { parseVOEvent } from "../../src/voevent/parse";

export interface Expected {
  /** 1-based, in the order stored. */
  id: number;
  ivorn: string;
  stream: string;
  role: string;
  authored: Date | null;
  position: { ra: number; dec: number } | null;
  refs: string[];
  xml: Buffer;
}

/** voeventdb's stream: the IVORN before `#`, without `ivo://`. */
export function streamOf(ivorn: string): string {
  const head = ivorn.split("#")[0];
  return head.startsWith("ivo://") ? head.slice(6) : head;
}

/** Who/Date as voeventdb reads it (a time without a zone is UTC); null when it is no time. */
export function authoredOf(date: string | null): Date | null {
  if (date === null) return null;
  const text = /(Z|[+-]\d\d:?\d\d)$/.test(date.trim()) ? date.trim() : `${date.trim()}Z`;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** The expectation for one packet, or null when it is no VOEvent. */
export function expectationOf(xml: Buffer, id: number): Expected | null {
  let v: ReturnType<typeof parseVOEvent>["voevent"];
  try {
    v = parseVOEvent(xml).voevent;
  } catch {
    return null;
  }
  const stream = streamOf(v.ivorn);
  const dummy = stream.startsWith("nasa.gsfc.gcn/") && v.params.Coords_String === "unavailable/inappropriate";
  return {
    id,
    ivorn: v.ivorn,
    stream,
    role: v.role,
    authored: authoredOf(v.date),
    position: v.position === null || dummy ? null : { ra: v.position.ra, dec: v.position.dec },
    refs: v.citations
      .filter((c) => c.cite === "followup" || c.cite === "supersedes" || c.cite === "retraction")
      .map((c) => c.ivorn),
    xml,
  };
}

export function separationDeg(ra1: number, dec1: number, ra2: number, dec2: number): number {
  const r = Math.PI / 180;
  const c =
    Math.sin(dec1 * r) * Math.sin(dec2 * r) +
    Math.cos(dec1 * r) * Math.cos(dec2 * r) * Math.cos((ra1 - ra2) * r);
  return Math.acos(Math.min(1, Math.max(-1, c))) / r;
}

export function countBy<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of items) out[key(t)] = (out[key(t)] ?? 0) + 1;
  return out;
}

/** map/stream_role_count's expected nesting. */
export function streamRoleCount(items: Expected[]): Record<string, Record<string, number>> {
  const nested: Record<string, Record<string, number>> = {};
  for (const e of items) {
    nested[e.stream] ??= {};
    nested[e.stream][e.role] = (nested[e.stream][e.role] ?? 0) + 1;
  }
  return nested;
}

/** map/authored_month_count's expected keys: `YYYY-MM`, "null" without a Who/Date. */
export function authoredMonthCount(items: Expected[]): Record<string, number> {
  return countBy(items, (e) => (e.authored === null ? "null" : e.authored.toISOString().slice(0, 7)));
}

/** Sorted as the database sorts text (code points of UTF-8 = UTF-16 order for these IVORNs). */
export function byIvorn(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
