/**
 * What keeping signature verdicts costs the archive (issue 17): corpus packets with new IVORNs
 * inserted into the embedded store in batches of 1,000, without a verdict and with one
 * (`signed`, key ID, user ID), in alternated rounds. Prints packets/s per round and the median.
 *
 * Run: npx tsx bench/archive-signature.ts [--count N] [--rounds R]   (default 20000, 3)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { recordFromPacket } from "../src/archive/ingest";
import { openArchive } from "../src/archive/open";
import type { ArchiveRecord, ArchiveSignature } from "../src/archive/types";
import { isMarkedNotWellFormed, readIndex, readPacket } from "../test/helpers/corpus";

const { values } = parseArgs({
  options: { count: { type: "string", default: "20000" }, rounds: { type: "string", default: "3" } },
});
const COUNT = Number(values.count);
const ROUNDS = Number(values.rounds);
const BATCH = 1000;

const templates: ArchiveRecord[] = [];
for (const row of readIndex()) {
  if (isMarkedNotWellFormed(row) || !row.ivorn.startsWith("ivo://")) continue;
  try {
    templates.push(recordFromPacket(readPacket(row.file), new Date()));
  } catch {
    // not a packet the archive takes
  }
}
const SIGNED: ArchiveSignature = {
  verdict: "signed",
  keyId: "8C3F2A71D0E4B95A",
  userId: "GCN test key <gcn@example.org>",
};

async function round(signature: ArchiveSignature | null, r: number): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), "voevent-bench-signature-"));
  const store = await openArchive({ store: "embedded", file: path.join(dir, "archive.sqlite") });
  try {
    const records = Array.from({ length: COUNT }, (_, i) => {
      const t = templates[i % templates.length];
      return { ...t, ivorn: `${t.ivorn}-${r}-${i}`, signature };
    });
    const t0 = performance.now();
    for (let i = 0; i < records.length; i += BATCH) await store.insertBatch(records.slice(i, i + BATCH));
    return (COUNT / (performance.now() - t0)) * 1000;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const rates: Record<"without" | "with", number[]> = { without: [], with: [] };
  for (let r = 0; r < ROUNDS; r++) {
    rates.without.push(await round(null, r));
    rates.with.push(await round(SIGNED, r));
  }
  console.log(`embedded store, ${COUNT} packets per round, batches of ${BATCH}:`);
  for (const [name, list] of Object.entries(rates)) {
    const sorted = [...list].sort((a, b) => a - b);
    console.log(
      `  ${name} a verdict: ${list.map((x) => Math.round(x)).join(", ")} packets/s (median ${Math.round(sorted[Math.floor(sorted.length / 2)])})`,
    );
  }
}

void main();
