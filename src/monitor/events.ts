/**
 * What the monitor keeps of each event, and the store that keeps the last N of them.
 *
 * Decisions:
 * - An event is kept as a small summary (times, stream, role, importance, position with
 *   its projected point and error-circle outline, the Params the user picked, a short
 *   description) plus its XML for "show the raw packet". The XML kept per event is cut
 *   at `maxXmlBytes` (default 64 KiB; the cut is marked), so memory is bounded by
 *   max × (summary + maxXmlBytes) whatever the packets.
 * - Every string comes from a hostile packet: it is stored as is and the page shows it
 *   with textContent only. Nothing here escapes or interprets it.
 * - Strings shown in the table are cut at `maxTextChars` (default 500).
 * - A packet with a Packet_Type gets its GCN notice type by name ("FERMI_GBM_FLT_POS (111)",
 *   src/voevent/gcn-types.ts), whichever Params the user picked.
 * - dump() gives what a restart needs (each event's XML, arrival, peer and signature verdict;
 *   events whose XML was cut are left out, as they cannot be parsed again). restore() reads it
 *   back as a context store returns it (JSON), trusting nothing: a saved verdict goes through the
 *   same checks and cuts as msg.signature, a saved packet that no longer parses is dropped.
 */
import { EventEmitter } from "node:events";
import { gcnTypeLabel, packetTypeOf } from "../voevent/gcn-types";
import type { ParamValue, VOEvent } from "../voevent/model";
import { parseVOEvent } from "../voevent/parse";
import { circlePath, toPixel } from "./projection";
import { Ring } from "./ring";

export interface MonitorEvent {
  seq: number;
  /** When the monitor got it (ISO 8601). */
  receivedAt: string;
  /** WhereWhen time as written, or null. */
  time: string | null;
  ivorn: string;
  stream: string;
  role: string;
  importance: number | null;
  /** The GCN notice type of its Packet_Type, e.g. "FERMI_GBM_FLT_POS (111)", or null. */
  gcnType: string | null;
  position: { ra: number; dec: number; error: number | null; system: string | null } | null;
  /** Map pixel of the position and the SVG path of its error circle ("" without one). */
  map: { x: number; y: number; circle: string } | null;
  /** The picked Params: name → value (null when the packet has none of that name). */
  params: Record<string, ParamValue>;
  description: string | null;
  /** Where it came from (msg.vtp.peer), or null. */
  peer: string | null;
  /** msg.signature's verdict, key ID and user ID, when a receiver or subscriber checked it; else null. */
  signature: { verdict: string; keyId: string | null; userId: string | null } | null;
  /** The XML was longer than maxXmlBytes and was cut. */
  xmlCut: boolean;
}

export interface MonitorStoreOptions {
  /** Events kept. Default 500. */
  max?: number;
  /** Param names picked for the table. */
  params?: readonly string[];
  /** XML kept per event, bytes (UTF-16 code units). Default 65536. */
  maxXmlBytes?: number;
  /** Longest string shown per table cell. Default 500. */
  maxTextChars?: number;
}

export const MONITOR_DEFAULTS = { max: 500, maxXmlBytes: 65536, maxTextChars: 500, maxMax: 100_000 } as const;

function cut(text: string | null, max: number): string | null {
  if (text === null) return null;
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function findParam(v: VOEvent, name: string): ParamValue {
  if (Object.hasOwn(v.params, name)) return v.params[name];
  for (const g of Object.values(v.groups)) if (Object.hasOwn(g, name)) return g[name];
  return null;
}

function gcnTypeOf(v: VOEvent): string | null {
  const type = packetTypeOf(v);
  return type === null ? null : gcnTypeLabel(type);
}

/** msg.signature as the page shows it: verdict, key ID, user ID (cut), or null when absent or not one. */
function signatureSummary(value: unknown): MonitorEvent["signature"] {
  if (value === null || typeof value !== "object") return null;
  const v = value as { verdict?: unknown; keyId?: unknown; userId?: unknown };
  if (typeof v.verdict !== "string") return null;
  return {
    verdict: cut(v.verdict, 32) ?? "",
    keyId: typeof v.keyId === "string" ? cut(v.keyId, 64) : null,
    userId: typeof v.userId === "string" ? cut(v.userId, 200) : null,
  };
}

function finite(n: unknown): n is number {
  return typeof n === "number" && Number.isFinite(n);
}

/** One event as dump() saves it (and restore() reads it back). */
export interface SavedEvent {
  xml: string;
  receivedAt: string;
  peer: string | null;
  /** The verdict shown (MonitorEvent.signature); null when none was checked. */
  signature: MonitorEvent["signature"];
}

interface Kept {
  event: MonitorEvent;
  xml: string;
}

/** The last N events; emits 'event' (MonitorEvent) for each one added. */
export class MonitorStore extends EventEmitter {
  readonly max: number;
  readonly params: readonly string[];
  private readonly maxXml: number;
  private readonly maxText: number;
  private readonly ring: Ring<Kept>;

  constructor(options: MonitorStoreOptions = {}) {
    super();
    this.max = options.max ?? MONITOR_DEFAULTS.max;
    this.params = [...(options.params ?? [])];
    this.maxXml = options.maxXmlBytes ?? MONITOR_DEFAULTS.maxXmlBytes;
    this.maxText = options.maxTextChars ?? MONITOR_DEFAULTS.maxTextChars;
    this.ring = new Ring<Kept>(this.max);
  }

  get size(): number {
    return this.ring.size;
  }

  /** Adds an event; returns its summary. */
  add(
    voevent: VOEvent,
    xml: string,
    info: { peer?: string | null; receivedAt?: Date; signature?: unknown } = {},
  ): MonitorEvent {
    const t = this.maxText;
    const pos = voevent.position;
    const position =
      pos && finite(pos.ra) && finite(pos.dec)
        ? {
            ra: pos.ra,
            dec: pos.dec,
            error: finite(pos.error) ? pos.error : null,
            system: cut(pos.system, t),
          }
        : null;
    let map: MonitorEvent["map"] = null;
    if (position && position.dec >= -90 && position.dec <= 90) {
      const p = toPixel(position.ra, position.dec);
      map = {
        x: Math.round(p.x * 100) / 100,
        y: Math.round(p.y * 100) / 100,
        circle: position.error ? circlePath(position.ra, position.dec, position.error) : "",
      };
    }
    const params: Record<string, ParamValue> = {};
    for (const name of this.params) {
      const value = findParam(voevent, name);
      params[name] = typeof value === "string" ? cut(value, t) : value;
    }
    const xmlCut = xml.length > this.maxXml;
    const event: MonitorEvent = {
      seq: 0,
      receivedAt: (info.receivedAt ?? new Date()).toISOString(),
      time: cut(voevent.time, 64),
      ivorn: cut(voevent.ivorn, t) ?? "",
      stream: cut(voevent.stream, t) ?? "",
      role: cut(voevent.role, 32) ?? "",
      importance: finite(voevent.why?.importance) ? voevent.why.importance : null,
      gcnType: gcnTypeOf(voevent),
      position,
      map,
      params,
      description: cut(voevent.description, t),
      peer: cut(info.peer ?? null, 200),
      signature: signatureSummary(info.signature),
      xmlCut,
    };
    // Copies, not slices, so the kept strings do not pin a large packet in memory.
    const kept: Kept = { event, xml: xmlCut ? Buffer.from(xml.slice(0, this.maxXml)).toString() : xml };
    event.seq = this.ring.push(kept);
    this.emit("event", event);
    return event;
  }

  /** Summaries kept, newest first (only those after `afterSeq`). */
  list(afterSeq = 0): MonitorEvent[] {
    return this.ring
      .entries(afterSeq)
      .map((e) => e.item.event)
      .reverse();
  }

  /** The XML kept for an event, or undefined when it is no longer kept. */
  xml(seq: number): { xml: string; cut: boolean } | undefined {
    const kept = this.ring.get(seq);
    return kept ? { xml: kept.xml, cut: kept.event.xmlCut } : undefined;
  }

  /** What a restart needs to rebuild the store, oldest first: each kept event's XML, arrival, peer and verdict. */
  dump(): SavedEvent[] {
    return this.ring
      .entries()
      .filter((e) => !e.item.event.xmlCut)
      .map((e) => ({
        xml: e.item.xml,
        receivedAt: e.item.event.receivedAt,
        peer: e.item.event.peer,
        signature: e.item.event.signature,
      }));
  }

  /**
   * Adds the events of a dump() (as a context store gives it back: anything), oldest first, the
   * last `max` of them; returns how many were added. Entries that are not a saved event, or whose
   * packet no longer parses, are skipped.
   */
  restore(saved: unknown): number {
    if (!Array.isArray(saved)) return 0;
    let added = 0;
    for (const item of saved.slice(-this.max)) {
      const e = item as { xml?: unknown; receivedAt?: unknown; peer?: unknown; signature?: unknown } | null;
      if (typeof e?.xml !== "string") continue;
      try {
        const parsed = parseVOEvent(e.xml);
        const at = typeof e.receivedAt === "string" ? new Date(e.receivedAt) : new Date();
        this.add(parsed.voevent, e.xml, {
          peer: typeof e.peer === "string" ? e.peer : null,
          receivedAt: Number.isNaN(at.getTime()) ? new Date() : at,
          signature: e.signature,
        });
        added++;
      } catch {
        // a saved packet that no longer parses is dropped
      }
    }
    return added;
  }

  clear(): void {
    this.ring.clear();
  }
}
