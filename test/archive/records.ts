/**
 * Real corpus packets as archive records, and as many more as a test needs: each corpus packet
 * again under a new IVORN (`<ivorn>_v<n>`), its bytes otherwise untouched.
 */
import { recordFromPacket } from "../../src/archive/ingest";
import type { ArchiveRecord } from "../../src/archive/types";
import { isMarkedNotWellFormed, readIndex, readPacket } from "../helpers/corpus";

let packets: Array<{ ivorn: string; text: string }> | null = null;

function corpusPackets(): Array<{ ivorn: string; text: string }> {
  if (packets !== null) return packets;
  packets = [];
  for (const row of readIndex()) {
    if (isMarkedNotWellFormed(row) || !row.ivorn.startsWith("ivo://")) continue;
    const text = readPacket(row.file).toString("utf8");
    const rec = recordFromPacket(Buffer.from(text), new Date());
    if (text.includes(`${rec.ivorn}"`)) packets.push({ ivorn: rec.ivorn, text });
  }
  return packets;
}

/** n records made from the corpus packets in turn, IVORNs `<ivorn>_v<start + i>`. */
export function variantRecords(n: number, receivedAt = new Date(), start = 0): ArchiveRecord[] {
  const list = corpusPackets();
  const out: ArchiveRecord[] = [];
  for (let i = 0; i < n; i++) {
    const p = list[(start + i) % list.length];
    const ivorn = `${p.ivorn}_v${start + i}`;
    out.push(recordFromPacket(Buffer.from(p.text.replace(`${p.ivorn}"`, `${ivorn}"`)), receivedAt));
  }
  return out;
}
