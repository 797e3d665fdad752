/**
 * The archive's HTTP side over real HTTP (src/archive/api.ts): latency of voeventdb's endpoints,
 * the feeds (a full answer and a 304) and the search page's rows, on an embedded store filled
 * with N packets made from the corpus's 4PiSky month (new IVORNs, times and sky positions).
 * Run: npx tsx bench/archive-web.ts [N=20000] [requests per endpoint=200]
 */
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { ArchiveApi } from "../src/archive/api";
import { recordFromPacket } from "../src/archive/ingest";
import { openArchive } from "../src/archive/open";
import type { ArchiveRecord } from "../src/archive/types";
import { loadPageAssets } from "../src/monitor/page";
import { readTarballPackets } from "../test/helpers/tarball";

const N = Number(process.argv[2] ?? 20_000);
const REQUESTS = Number(process.argv[3] ?? 200);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "bench-archive-web-"));
  const store = await openArchive({ store: "embedded", file: path.join(dir, "archive.db") });
  try {
    const sources: ArchiveRecord[] = [];
    for (const p of await readTarballPackets(500)) {
      try {
        sources.push(recordFromPacket(p.xml, new Date()));
      } catch {
        // not a VOEvent: not a source
      }
    }
    let seed = 1;
    const rnd = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const t0 = Date.UTC(2016, 0, 1);
    for (let i = 0; i < N; i += 1000) {
      const batch: ArchiveRecord[] = [];
      for (let j = i; j < Math.min(N, i + 1000); j++) {
        const s = sources[j % sources.length];
        const when = new Date(t0 + j * 60_000);
        batch.push({
          ...s,
          ivorn: `${s.ivorn}_bench${j}`,
          authorDatetime: when,
          receivedAt: when,
          coords: s.coords.map((c) => ({
            ...c,
            ra: rnd() * 360,
            dec: Math.asin(2 * rnd() - 1) * (180 / Math.PI),
          })),
        });
      }
      await store.insertBatch(batch);
    }
    const api = new ArchiveApi({
      path: "/voevent/archive",
      store: async () => store,
      assets: loadPageAssets(path.join(__dirname, "../nodes/voevent-archive-db/page")),
      version: "bench",
    });
    const server = http.createServer((req, res) => {
      if (!api.handle(new URL(req.url ?? "/", "http://x").pathname, req, res)) {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const root = `http://127.0.0.1:${(server.address() as AddressInfo).port}/voevent/archive`;
    const sample = encodeURIComponent(`${sources[0].ivorn}_bench0`);
    const etag = (await fetch(`${root}/feed.rss`)).headers.get("etag") ?? "";
    const cases: Array<[string, string, Record<string, string>?]> = [
      ["count", "/apiv1/count"],
      ["count stream=nasa.gsfc.gcn/SWIFT", "/apiv1/count?stream=nasa.gsfc.gcn/SWIFT"],
      ["list/ivorn limit=100", "/apiv1/list/ivorn?limit=100"],
      ["list/ivorn cone 1°", `/apiv1/list/ivorn?cone=${encodeURIComponent("[180,0,1]")}`],
      ["map/stream_role_count", "/apiv1/map/stream_role_count"],
      ["packet/synopsis", `/apiv1/packet/synopsis/${sample}`],
      ["packet/xml", `/apiv1/packet/xml/${sample}`],
      ["feed.rss (50 items)", "/feed.rss"],
      ["feed.rss If-None-Match → 304", "/feed.rss", { "If-None-Match": etag }],
      ["search (page rows, 100)", "/search"],
    ];
    console.log(
      `archive HTTP API, embedded store with ${N.toLocaleString("en-US")} packets, ${REQUESTS} requests each`,
    );
    for (const [label, url, headers] of cases) {
      const times: number[] = [];
      let status = 0;
      for (let i = 0; i < REQUESTS; i++) {
        const start = performance.now();
        const res = await fetch(`${root}${url}`, { headers });
        await res.arrayBuffer();
        times.push(performance.now() - start);
        status = res.status;
      }
      times.sort((a, b) => a - b);
      console.log(
        `${label.padEnd(34)} HTTP ${status}  p50 ${pct(times, 50).toFixed(1).padStart(6)} ms  p99 ${pct(times, 99).toFixed(1).padStart(6)} ms`,
      );
    }
    server.close();
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
