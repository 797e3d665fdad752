/**
 * A batch of records packed for the embedded store's worker thread: columns instead of one object
 * per record, so that posting it to the worker copies little and the worker allocates little.
 *
 * Decisions:
 * - Every packet's bytes go into one ArrayBuffer (with their offsets) that is *transferred* to the
 *   worker, not structured-cloned: one copy of the XML on the main thread (into the buffer, a
 *   string encoded straight into it), none in the post. A record's Buffer is never transferred
 *   itself (it may share its memory with Node's buffer pool or with msg.payload).
 * - Numbers (times in ms since 1970, counts, positions) are Float64Arrays, also transferred; a
 *   null time or error radius is NaN (positions and error radii are finite by ingest.ts's rules,
 *   so NaN means only null).
 * - Text columns (IVORN, stream, role, version, author IVORN, signature text; a cite's IVORN, type
 *   and description; a position's system) are plain arrays of strings (or null): cloning strings
 *   is cheap and the worker binds them as they come.
 * - The signature verdict is turned into its stored text here (sql.ts `signatureText`).
 */
import { signatureText } from "./sql";
import type { ArchiveRecord } from "./types";

/** Fields per record in `PackedBatch.nums`. */
export const PACKED_NUMS = 4;
/** Fields per position in `PackedBatch.coordNums`. */
export const PACKED_COORD_NUMS = 4;
/** Text fields per record in `PackedBatch.text`. */
export const PACKED_TEXT = 6;
/** Text fields per cite in `PackedBatch.citeText`. */
export const PACKED_CITE_TEXT = 3;

export interface PackedBatch {
  count: number;
  /** All the packets' bytes, one after the other. */
  xml: ArrayBuffer;
  /** count + 1 offsets into `xml`: packet i is [xmlOffsets[i], xmlOffsets[i + 1]). */
  xmlOffsets: Float64Array;
  /** Per record: author time (ms, NaN when none), received time (ms), positions, cites. */
  nums: Float64Array;
  /** Per record: ivorn, stream, role, version, author IVORN, signature text. */
  text: Array<string | null>;
  /** Per position, in record order: ra, dec, error (NaN when none), time (ms, NaN when none). */
  coordNums: Float64Array;
  /** Per position: its coordinate system. */
  coordSystems: Array<string | null>;
  /** Per cite, in record order: ref IVORN, cite type, description. */
  citeText: Array<string | null>;
}

/** Bytes of a record's packet (a string counts as its UTF-8). */
export function xmlByteLength(xml: Buffer | string): number {
  return typeof xml === "string" ? Buffer.byteLength(xml, "utf8") : xml.byteLength;
}

/** A record's packet as bytes (a string as UTF-8). */
export function xmlBytes(xml: Buffer | string): Buffer {
  return typeof xml === "string" ? Buffer.from(xml, "utf8") : xml;
}

function ms(d: Date | null): number {
  return d === null ? Number.NaN : d.getTime();
}

/** The batch as columns, and the buffers to transfer with it. */
export function packBatch(records: readonly ArchiveRecord[]): {
  batch: PackedBatch;
  transfer: ArrayBuffer[];
} {
  const n = records.length;
  let bytes = 0;
  let coords = 0;
  let cites = 0;
  for (const r of records) {
    bytes += xmlByteLength(r.xml);
    coords += r.coords.length;
    cites += r.cites.length;
  }
  const xml = new ArrayBuffer(bytes);
  const xmlView = Buffer.from(xml);
  const xmlOffsets = new Float64Array(n + 1);
  const nums = new Float64Array(n * PACKED_NUMS);
  const text: Array<string | null> = new Array(n * PACKED_TEXT);
  const coordNums = new Float64Array(coords * PACKED_COORD_NUMS);
  const coordSystems: Array<string | null> = new Array(coords);
  const citeText: Array<string | null> = new Array(cites * PACKED_CITE_TEXT);
  let at = 0;
  let c = 0;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const r = records[i];
    xmlOffsets[i] = at;
    // A string is encoded straight into the buffer (no Buffer of its own).
    if (typeof r.xml === "string") at += xmlView.write(r.xml, at, "utf8");
    else {
      xmlView.set(r.xml, at);
      at += r.xml.byteLength;
    }
    nums[i * PACKED_NUMS] = ms(r.authorDatetime);
    nums[i * PACKED_NUMS + 1] = r.receivedAt.getTime();
    nums[i * PACKED_NUMS + 2] = r.coords.length;
    nums[i * PACKED_NUMS + 3] = r.cites.length;
    const t = i * PACKED_TEXT;
    text[t] = r.ivorn;
    text[t + 1] = r.stream;
    text[t + 2] = r.role;
    text[t + 3] = r.version;
    text[t + 4] = r.authorIvorn;
    text[t + 5] = signatureText(r.signature);
    for (const p of r.coords) {
      coordNums[c * PACKED_COORD_NUMS] = p.ra;
      coordNums[c * PACKED_COORD_NUMS + 1] = p.dec;
      coordNums[c * PACKED_COORD_NUMS + 2] = p.error ?? Number.NaN;
      coordNums[c * PACKED_COORD_NUMS + 3] = ms(p.time);
      coordSystems[c] = p.system;
      c++;
    }
    for (const e of r.cites) {
      citeText[k * PACKED_CITE_TEXT] = e.refIvorn;
      citeText[k * PACKED_CITE_TEXT + 1] = e.citeType;
      citeText[k * PACKED_CITE_TEXT + 2] = e.description;
      k++;
    }
  }
  xmlOffsets[n] = at;
  return {
    batch: { count: n, xml, xmlOffsets, nums, text, coordNums, coordSystems, citeText },
    transfer: [xml, xmlOffsets.buffer, nums.buffer, coordNums.buffer],
  };
}
