/**
 * A VOEvent packet → the archive's record (types.ts `ArchiveRecord`), as voeventdb ingests it
 * (timstaley/voeventdb `database/models.py`: `Voevent.from_etree`, `Coord.from_etree`,
 * `Cite.from_etree`, `_has_bad_coords`). The packet is parsed once, by the package's own parser
 * (`recordFromParsed` takes a parse already made, so an event in a flow is parsed once in all).
 *
 * Decisions:
 * - The bytes are kept exactly as received (voeventdb re-serialises; we never do).
 * - Not voeventdb's: the signature verdict the packet arrived with (msg.signature, issue 17) is
 *   kept as verdict, key ID and user ID when it is one of src/signature's verdicts, else nothing.
 * - stream: the IVORN before `#`, without `ivo://` (voeventdb: `ivorn.split('#')[0][6:]`), so
 *   `ivo://nasa.gsfc.gcn/SWIFT#…` is stream `nasa.gsfc.gcn/SWIFT`, as voeventdb's `stream` filter
 *   and `map/stream_count` expect.
 * - role, version: the root's attributes (role defaults to `observation`, VOEvent 2.0's default).
 * - author_ivorn: `Who/AuthorIVORN`; author_datetime: `Who/Date` read as ISO 8601, UTC when it has
 *   no zone (time.ts); null when absent or not a time (voeventdb would refuse the packet).
 * - Positions: one per `WhereWhen/ObsDataLocation` (its ObservationLocation's AstroCoords), as
 *   voeventdb's loop over `get_event_position(root, idx)`. None are kept when voeventdb keeps none:
 *   the stream `com.dc3/dc3.broker` (dummy positions), a GCN packet (`nasa.gsfc.gcn/…`) whose
 *   top-level Param `Coords_String` is `unavailable/inappropriate` (the (0,0) dummy), or when any
 *   position is in a system voeventdb does not load (only UTC-FK5-GEO, UTC-FK5-TOPO,
 *   UTC-ICRS-GEO, UTC-ICRS-TOPO, TDB-FK5-BARY, TDB-ICRS-BARY), is not in degrees, or has no
 *   numeric RA/Dec (voeventdb drops all of the packet's positions then). One deviation: a position
 *   without `Error2Radius` is kept with error null (voeventdb drops it on a conversion error).
 *   A declination outside ±90 or a non-finite RA is not a position: dropped likewise.
 * - Position time: `AstroCoords/Time/TimeInstant/ISOTime` as UTC; null when absent or unreadable.
 * - Cites: every `Citations/EventIVORN` with text, its `cite` type (followup, supersedes,
 *   retraction; an entry with another or no type is skipped: voeventdb's enum would refuse the
 *   packet) and the first `Citations/Description` for each (voeventdb's model).
 */
import { VOEventError } from "../errors";
import type { VerdictName } from "../signature/verify";
import {
  parseVOEvent,
  readVOEventHead,
  readWhoDateAuthor,
  topParamText,
  type VOEventHead,
} from "../voevent/parse";
import { xmlTrim } from "../voevent/values";
import { attr, childElement, childElements, textOf } from "../xml/parse";
import type { XDocument, XElement } from "../xml/types";
import { ARCHIVE_LIMITS } from "./limits";
import { parseIsoTime } from "./time";
import type { ArchiveCite, ArchiveCoord, ArchiveRecord, ArchiveSignature } from "./types";

/** The coordinate systems voeventdb loads without transformation (voeventparse's names). */
export const ACCEPTED_COORD_SYSTEMS: readonly string[] = [
  "UTC-FK5-GEO",
  "UTC-FK5-TOPO",
  "UTC-ICRS-GEO",
  "UTC-ICRS-TOPO",
  "TDB-FK5-BARY",
  "TDB-ICRS-BARY",
];

export const CITE_TYPES: readonly string[] = ["followup", "supersedes", "retraction"];

export interface RecordOptions {
  /** Largest packet accepted, bytes (the parser's default otherwise). */
  maxBytes?: number;
  /** msg.signature as the packet arrived with it (anything: checked by `archiveSignature`). */
  signature?: unknown;
}

/** The verdicts of src/signature (msg.signature.verdict). */
export const SIGNATURE_VERDICTS: readonly VerdictName[] = [
  "signed",
  "bad",
  "unknown-key",
  "unsigned",
  "malformed",
];

function cutText(v: unknown, max: number): string | null {
  if (typeof v !== "string" || v === "") return null;
  return v.length > max ? `${v.slice(0, max)}…` : v;
}

/**
 * What the archive keeps of msg.signature: its verdict, key ID and user ID (each cut at
 * `maxSignatureText`); null when it is absent or not a verdict of src/signature (anything may
 * set msg.signature upstream: nothing else of it is trusted or kept).
 */
export function archiveSignature(
  value: unknown,
  maxText: number = ARCHIVE_LIMITS.maxSignatureText,
): ArchiveSignature | null {
  if (value === null || typeof value !== "object") return null;
  const v = value as { verdict?: unknown; keyId?: unknown; userId?: unknown };
  if (typeof v.verdict !== "string" || !(SIGNATURE_VERDICTS as readonly string[]).includes(v.verdict))
    return null;
  return { verdict: v.verdict, keyId: cutText(v.keyId, maxText), userId: cutText(v.userId, maxText) };
}

/**
 * The record for one packet. Throws VOEventError (the parser's codes: NOT_XML, MALFORMED,
 * WRONG_ROOT, NO_IVORN, BAD_IVORN, BAD_ROLE, TOO_LARGE, …) when it is not a VOEvent.
 */
export function recordFromPacket(
  xml: Buffer | string,
  receivedAt: Date,
  options: RecordOptions = {},
): ArchiveRecord {
  const bytes = typeof xml === "string" ? Buffer.from(xml, "utf8") : xml;
  const parsed = parseVOEvent(bytes, options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes });
  return recordFromParsed(parsed, bytes, receivedAt, options);
}

/**
 * The record for a packet already parsed (the archive node takes the tree the flow made, from
 * src/contract.ts `treeOf` or src/voevent/cache.ts `peekDoc`): `parsed.doc` must be the tree of
 * `bytes`, `parsed.xml` (when given) its text, `parsed.head` (when given) what readVOEventHead read
 * from that tree (a receiver's event: its root was checked before the ack, so it is not read again).
 * Only the tree is read, never made into a model. Throws VOEventError (WRONG_ROOT, NO_IVORN,
 * BAD_IVORN, BAD_ROLE) when the tree is not a VOEvent.
 *
 * Reading a tree made long before (a saturated flow queues hundreds of messages between the
 * receiver and the archive) costs a cache miss per node touched, so the record touches few: the
 * head is taken as given, and the GCN dummy-position check walks the top-level Params (~40 in a
 * GCN notice) only when the text can hold the dummy's value at all (`mayHoldText`).
 */
export function recordFromParsed(
  parsed: { doc: XDocument; xml?: string; head?: VOEventHead },
  bytes: Buffer | string,
  receivedAt: Date,
  options: Pick<RecordOptions, "signature"> = {},
): ArchiveRecord {
  const head = parsed.head ?? readVOEventHead(parsed.doc);
  const who = readWhoDateAuthor(parsed.doc);
  const root = parsed.doc.root;
  const stream = streamOfIvorn(head.ivorn);
  return {
    ivorn: head.ivorn,
    stream,
    role: head.role,
    version: head.version,
    authorIvorn: who.authorIvorn,
    authorDatetime: who.date === null ? null : parseIsoTime(who.date),
    receivedAt,
    xml: bytes,
    coords: hasDummyCoords(stream, parsed.doc, parsed.xml) ? [] : readCoords(root),
    cites: readCites(root),
    signature: archiveSignature(options.signature),
  };
}

/**
 * False when the decoded text of `xml` cannot contain `value`: it is nowhere in the markup, and
 * the markup has no character reference (`&#…;`, which could spell it; the five predefined
 * entities make only `&<>"'`, none of which `value` may hold). True when it may (or `xml` is not
 * known): read the tree.
 */
export function mayHoldText(xml: string | undefined, value: string): boolean {
  if (xml === undefined) return true;
  return xml.includes(value) || xml.includes("&#");
}

/** voeventdb's stream: the IVORN before `#`, `ivo://` removed. */
export function streamOfIvorn(ivorn: string): string {
  const hash = ivorn.indexOf("#");
  const head = hash < 0 ? ivorn : ivorn.slice(0, hash);
  return head.startsWith("ivo://") ? head.slice(6) : head;
}

/** GCN's mark of a dummy position: the top-level Param Coords_String's value. */
const GCN_DUMMY = "unavailable/inappropriate";

function hasDummyCoords(stream: string, doc: XDocument, xml: string | undefined): boolean {
  if (stream === "com.dc3/dc3.broker") return true;
  if (!stream.startsWith("nasa.gsfc.gcn/") && stream !== "nasa.gsfc.gcn") return false;
  if (!mayHoldText(xml, GCN_DUMMY)) return false;
  // The model's params.Coords_String: this text is no number, so the model keeps it as written.
  return topParamText(doc, "Coords_String") === GCN_DUMMY;
}

function text(el: XElement | null): string | null {
  if (el === null) return null;
  const t = xmlTrim(textOf(el));
  return t.length === 0 ? null : t;
}

function finite(s: string | null): number | null {
  if (s === null || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

function readCoords(root: XElement): ArchiveCoord[] {
  const ww = childElement(root, "WhereWhen");
  if (ww === null) return [];
  let locations = childElements(ww, "ObsDataLocation")
    .map((odl) => childElement(odl, "ObservationLocation"))
    .filter((o): o is XElement => o !== null);
  // Some VOEvent 1.1 packets put ObservationLocation straight under WhereWhen.
  if (locations.length === 0) locations = childElements(ww, "ObservationLocation");
  const out: ArchiveCoord[] = [];
  for (const obs of locations) {
    const ac = childElement(obs, "AstroCoords");
    if (ac === null) continue;
    const pos = childElement(ac, "Position2D");
    // voeventdb: a location without a position raises, and the packet keeps no positions.
    if (pos === null) return [];
    const sysEl = childElement(obs, "AstroCoordSystem");
    const system = (sysEl === null ? null : attr(sysEl, "id")) ?? attr(ac, "coord_system_id");
    if (system === null || !ACCEPTED_COORD_SYSTEMS.includes(system)) return [];
    const unit = attr(pos, "unit");
    if (unit !== "deg") return [];
    const value2 = childElement(pos, "Value2");
    const ra = finite(text(value2 === null ? null : childElement(value2, "C1")));
    const dec = finite(text(value2 === null ? null : childElement(value2, "C2")));
    if (ra === null || dec === null || dec < -90 || dec > 90) return [];
    const errText = text(childElement(pos, "Error2Radius"));
    const error = finite(errText);
    const timeEl = childElement(ac, "Time");
    const instant = timeEl === null ? null : childElement(timeEl, "TimeInstant");
    const iso = text(instant === null ? null : childElement(instant, "ISOTime"));
    out.push({ ra, dec, error, time: iso === null ? null : parseIsoTime(iso), system });
  }
  return out;
}

function readCites(root: XElement): ArchiveCite[] {
  const citations = childElement(root, "Citations");
  if (citations === null) return [];
  const description = text(childElement(citations, "Description"));
  const out: ArchiveCite[] = [];
  for (const e of childElements(citations, "EventIVORN")) {
    const ref = text(e);
    const type = attr(e, "cite");
    if (ref === null || type === null || !CITE_TYPES.includes(type)) continue;
    out.push({ refIvorn: ref, citeType: type, description });
  }
  return out;
}

/** True when `err` says the packet is not a VOEvent (what the import CLI reports as refused). */
export function isRefusedPacket(err: unknown): err is VOEventError {
  return err instanceof VOEventError;
}
