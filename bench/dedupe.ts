/**
 * Throughput of the dedupe stores, the VTP frame decoder and the whitelist.
 * Run: npx tsx bench/dedupe.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { DEFAULT_MAX_WRITE_BACK, Deduper, type WriteBackInfo } from "../src/dedupe/deduper";
import { FileStore } from "../src/dedupe/file";
import { sha1Key } from "../src/dedupe/keys";
import { MemoryStore } from "../src/dedupe/memory";
import { createRedisClient, RedisStore } from "../src/dedupe/redis";
import type { SeenStore } from "../src/dedupe/store";
import { encodeFrame, FrameDecoder } from "../src/vtp/framing";
import { Whitelist } from "../src/vtp/whitelist";
import { RedisServer } from "../test/helpers/redis-server";

const THIRTY_DAYS = 30 * 24 * 3600 * 1000;

function rate(n: number, ms: number): string {
  return `${Math.round((n * 1000) / ms).toLocaleString("en-US")}/s`;
}

function row(label: string, n: number, ms: number, unit: string): void {
  console.log(
    `${label.padEnd(56)} ${rate(n, ms).padStart(14)} ${unit}  (${n.toLocaleString("en-US")} in ${ms.toFixed(0)} ms)`,
  );
}

function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

function keys(n: number, prefix: string): string[] {
  return Array.from({ length: n }, (_, i) => sha1Key(`${prefix}${i}`));
}

function benchStore(label: string, make: () => SeenStore, n: number): void {
  const unique = keys(n, label);
  const store = make();
  // All new keys, with capacity eviction once past capacity.
  let ms = time(() => {
    for (const k of unique) store.checkAndAdd(k);
  });
  row(`${label}: checkAndAdd, new keys`, n, ms, "calls");
  // All duplicates of recent keys (no write).
  const recent = unique.slice(-Math.min(n, 50_000));
  ms = time(() => {
    for (let r = 0; r < 4; r++) for (const k of recent) store.checkAndAdd(k);
  });
  row(`${label}: checkAndAdd, duplicates`, recent.length * 4, ms, "calls");
  store.close();
}

function benchDecoder(label: string, frameBytes: number, frames: number, chunkBytes: number): void {
  const payload = `<voe:VOEvent>${"x".repeat(frameBytes - 27)}</voe:VOEvent>`;
  const wire = Buffer.concat(Array.from({ length: frames }, () => encodeFrame(payload)));
  const chunks: Buffer[] = [];
  for (let o = 0; o < wire.length; o += chunkBytes) chunks.push(wire.subarray(o, o + chunkBytes));
  let got = 0;
  const decoder = new FrameDecoder({
    maxBytes: 99_999,
    onFrame: () => {
      got++;
    },
    onError: (e) => {
      throw e;
    },
  });
  const ms = time(() => {
    for (const c of chunks) decoder.push(c);
  });
  if (got !== frames) throw new Error(`decoded ${got} of ${frames}`);
  const mb = wire.length / 1e6 / (ms / 1000);
  row(`${label}`, frames, ms, `frames (${mb.toFixed(0)} MB/s)`);
}

function main(): void {
  console.log(`node ${process.version}, ${process.platform}/${process.arch}\n`);

  benchStore(
    "MemoryStore (capacity 100k)",
    () => new MemoryStore({ ttlMs: THIRTY_DAYS, capacity: 100_000 }),
    1_000_000,
  );

  const dir = mkdtempSync(join(tmpdir(), "voevent-bench-"));
  try {
    const path = join(dir, "seen.log");
    benchStore(
      "FileStore (capacity 100k)",
      () => new FileStore({ path, ttlMs: THIRTY_DAYS, capacity: 100_000 }),
      300_000,
    );
    let store: FileStore | undefined;
    const ms = time(() => {
      store = new FileStore({ path, ttlMs: THIRTY_DAYS, capacity: 100_000 });
    });
    row("FileStore: reopen a log of 100k live keys", store!.size, ms, "keys");
    const ms2 = time(() => store!.compact());
    row("FileStore: compact() 100k live keys (with fsync)", store!.size, ms2, "keys");
    store!.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const packet = `<voe:VOEvent>${"x".repeat(3000)}</voe:VOEvent>`;
  let ms = time(() => {
    for (let i = 0; i < 100_000; i++) sha1Key(packet);
  });
  row("sha1Key of a 3 kB packet", 100_000, ms, "keys");

  console.log("");
  benchDecoder("FrameDecoder: 3 kB frames, one per chunk", 3000, 200_000, 3004);
  benchDecoder("FrameDecoder: 3 kB frames in 64 kB chunks", 3000, 200_000, 65_536);
  benchDecoder("FrameDecoder: 3 kB frames in 1460-byte chunks (split)", 3000, 200_000, 1460);
  benchDecoder("FrameDecoder: 300 B frames in 64 kB chunks", 300, 1_000_000, 65_536);
  benchDecoder("FrameDecoder: 50 kB frames in 16 kB chunks", 50_000, 20_000, 16_384);

  console.log("");
  const w = new Whitelist("127.0.0.0/8, ::1, 10.0.0.0/8, 192.168.0.0/16, 2001:db8::/32");
  const addresses = ["192.168.3.4", "::ffff:10.1.2.3", "2001:db8::1", "8.8.8.8", "fe80::1%eth0"];
  let allowed = 0;
  ms = time(() => {
    for (let i = 0; i < 200_000; i++) for (const a of addresses) if (w.allows(a)) allowed++;
  });
  if (allowed !== 600_000) throw new Error(`allowed ${allowed}`);
  row("Whitelist.allows (v4, mapped, v6 mix)", 1_000_000, ms, "checks");
}

/**
 * The dedupe node's path (Deduper: ordered answers) over memory and over a
 * local redis-server: `n` checks of new keys (a quarter repeated), at most
 * `window` in flight; latency from check() to the ordered answer.
 */
async function benchDeduper(label: string, make: () => Deduper, n: number, window: number): Promise<void> {
  const d = make();
  const ks = keys(n, label);
  const latencies = new Float64Array(n);
  let issued = 0;
  let answered = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (issued < n && issued - answered < window) {
        const i = issued++;
        const start = performance.now();
        d.check(ks[i % 4 === 3 ? i - 1 : i] as string, (err) => {
          if (err) throw err;
          latencies[i] = performance.now() - start;
          answered++;
          if (answered === n) resolve();
          else if (answered % Math.max(1, window >> 1) === 0 || window === 1) setImmediate(pump);
        });
      }
    };
    pump();
  });
  const ms = performance.now() - t0;
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  const pct = (p: number) => (sorted[Math.min(n - 1, Math.floor(n * p))] ?? 0).toFixed(3);
  console.log(
    `${`${label}, ${window} in flight`.padEnd(56)} ${rate(n, ms).padStart(14)} checks  p50 ${pct(0.5)} ms  p99 ${pct(0.99)} ms`,
  );
  d.close();
}

async function benchRedis(): Promise<void> {
  console.log("");
  const memory = () => new Deduper({ primary: null, ttlMs: THIRTY_DAYS, capacity: 100_000 });
  await benchDeduper("Deduper on memory", memory, 200_000, 1);
  await benchDeduper("Deduper on memory", memory, 200_000, 256);
  let server: RedisServer;
  try {
    server = await RedisServer.start();
  } catch (err) {
    console.log(`Redis: skipped (${(err as Error).message.split("\n")[0]})`);
    return;
  }
  const client = createRedisClient({ host: server.host, port: server.port });
  try {
    await new Promise<void>((resolve) => client.once("ready", () => resolve()));
    const redis = () =>
      new Deduper({
        primary: new RedisStore({ client, ttlMs: THIRTY_DAYS, prefix: `bench:${Date.now()}:` }),
        ttlMs: THIRTY_DAYS,
        capacity: 100_000,
        mirror: true,
      });
    await benchDeduper("Deduper on Redis (local redis-server)", redis, 10_000, 1);
    await benchDeduper("Deduper on Redis (local redis-server)", redis, 100_000, 16);
    await benchDeduper("Deduper on Redis (local redis-server)", redis, 100_000, 256);
  } finally {
    client.disconnect();
    await server.close();
  }
}

/**
 * After an outage: DEFAULT_MAX_WRITE_BACK keys passed on memory alone while a
 * local redis-server was stopped; from its restart, how long until every key
 * is written back, and the event loop's longest delay meanwhile (the
 * write-back runs in the background: checks must not wait for it).
 */
async function benchWriteBack(): Promise<void> {
  let server: RedisServer;
  try {
    server = await RedisServer.start();
  } catch (err) {
    console.log(`Redis write-back: skipped (${(err as Error).message.split("\n")[0]})`);
    return;
  }
  const client = createRedisClient({ host: server.host, port: server.port, retryMinMs: 10, retryMaxMs: 50 });
  client.on("error", () => {});
  const n = DEFAULT_MAX_WRITE_BACK;
  let report: WriteBackInfo | undefined;
  try {
    await new Promise<void>((resolve) => client.once("ready", () => resolve()));
    const d = new Deduper({
      primary: new RedisStore({ client, ttlMs: THIRTY_DAYS, prefix: "bench:wb:" }),
      ttlMs: THIRTY_DAYS,
      capacity: 100_000,
      mirror: true,
      onWrittenBack: (info) => {
        report = info;
      },
    });
    await server.stop();
    while (client.status === "ready") await new Promise((r) => setTimeout(r, 5));
    for (const key of keys(n, "wb")) await new Promise<void>((resolve) => d.check(key, () => resolve()));
    const delay = monitorEventLoopDelay({ resolution: 1 });
    await server.start();
    await new Promise<void>((resolve) => client.once("ready", () => resolve()));
    const t0 = performance.now();
    delay.enable();
    while (report === undefined) await new Promise((r) => setTimeout(r, 1));
    const ms = performance.now() - t0;
    delay.disable();
    row("Redis write-back after an outage (local redis-server)", report.written, ms, "keys");
    console.log(
      `${"  event loop delay during it".padEnd(56)} max ${(delay.max / 1e6).toFixed(1)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms  (written ${report.written}, left ${report.left})`,
    );
    d.close();
  } finally {
    client.disconnect();
    await server.close();
  }
}

main();
benchRedis()
  .then(() => benchWriteBack())
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
