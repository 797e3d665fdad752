/**
 * VTP end-to-end bench: author → VTPReceiver → VTPBroadcaster → N subscribers,
 * all over loopback. This process is the broker; the author and the
 * subscribers run in child processes.
 *
 *   npx tsx bench/vtp.ts --subscribers 1 --events 10000 --mode oneshot
 *   npx tsx bench/vtp.ts --subscribers 50 --events 20000 --mode persistent
 *   npx tsx bench/vtp.ts --all                 (the whole matrix below)
 *
 * Options:
 *   --subscribers N     subscribers (default 1)
 *   --events M          measured events (default 10000), after --warmup W (default min(1000, M/10))
 *   --mode oneshot|persistent
 *                       oneshot: one connection per event, as comet-sendvo;
 *                       persistent: all events on one author connection
 *   --concurrency C     oneshot: senders working at once (default 1, comet-sendvo's way)
 *   --window K          persistent: events sent ahead of their ack (default 64)
 *   --rate R            the author sends at most R events/s (default 0: as fast as it can);
 *                       latency is only meaningful below saturation
 *   --client real|raw   real VTPSubscriber instances (full parse of each event) or
 *                       raw sockets that ack without parsing (default: real for N = 1, else raw)
 *   --children K        subscriber processes (default 1; 2 from 500 subscribers)
 *   --max-outstanding U flow control: the broker holds an author's ack while some subscriber
 *                       has more than U events unacked (default 4000/N, within 10..200; 0 = off),
 *                       so that the author cannot run ahead of the subscribers without bound
 *
 * Prints events/s (author's view: acks received; end to end: last delivery),
 * deliveries/s, latency percentiles (author send → subscriber receive, from a
 * timestamp the author writes into each event), broker CPU per event, and the
 * broker's RSS before and after the measured events (sampled every 10 %).
 *
 * Figures from `--all --events 10000` on the 2-vCPU development VM (Node 20; broker,
 * author and subscribers share the two vCPUs), against Comet on the same machine
 * (~570 events/s one-shot with 1 subscriber, p50 1.5 ms / p99 4.6 ms; 12,000
 * deliveries/s with 50 subscribers at p50 15 ms):
 *   one-shot, 1 subscriber, sequential      1,957 events/s   p50 0.48 ms  p99 2.4 ms
 *   one-shot, 1 subscriber, 16 senders      2,430 events/s
 *   persistent, 1 subscriber (real)         3,973 events/s
 *   one-shot, 50 subscribers, 16 senders   57,219 deliveries/s
 *   persistent, 50 subscribers            112,748 deliveries/s  (broker 5.6 µs/delivery)
 *   persistent, 50 subscribers at 12,000 deliveries/s          p50 1.07 ms  p99 2.1 ms
 *   persistent, 1,000 subscribers         114,523 deliveries/s  (broker 5.4 µs/delivery)
 *   persistent, 1,000 subscribers at 12,000 deliveries/s       p50 10.6 ms  p99 24.5 ms
 *   one-shot, 1,000 subscribers            47,776 deliveries/s
 * Broker RSS over 100,000 events with 50 subscribers: 122 MB before, 116 MB after
 * (heap 8.9 → 9.7 MB): it does not grow with events. Figures drop by half or more
 * when other work shares the machine. Throughput runs hold the author back
 * (--max-outstanding), so their latencies are queueing, not transit: use --rate.
 */
import type { ChildProcess } from "node:child_process";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { VTPBroadcaster } from "../src/vtp/broadcaster";
import { VTPReceiver } from "../src/vtp/receiver";
import { child, mb, nextMessage, sleep } from "./procs";
import {
  type AuthorMessage,
  EventFactory,
  Histogram,
  intArg,
  type ParentMessage,
  parseArgs,
  type SubMessage,
} from "./vtp-common";

interface Config {
  subscribers: number;
  events: number;
  warmup: number;
  mode: "oneshot" | "persistent";
  concurrency: number;
  window: number;
  rate: number;
  client: "real" | "raw";
  children: number;
  maxOutstanding: number;
}

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

async function runOne(cfg: Config): Promise<void> {
  // Every peer of the bench comes from 127.0.0.1: lift the connection limits out of the way.
  const b = new VTPBroadcaster({
    port: 0,
    host: "127.0.0.1",
    localIvo: "ivo://bench.broker/vtp",
    maxConnections: 4096,
    maxConnectionsPerAddress: 4096,
  });
  const overflows: number[] = [];
  const drops: string[] = [];
  b.on("overflow", (e) => overflows.push(e.id));
  b.on("unsubscribe", (e) => drops.push(e.reason));
  let measuring = false;
  let measured = 0;
  const rss: number[] = [];
  const receiver = new VTPReceiver({
    port: 0,
    host: "127.0.0.1",
    localIvo: "ivo://bench.broker/vtp",
    maxConnections: 4096,
    maxConnectionsPerAddress: 4096,
    handler: async (ev) => {
      b.broadcast(ev.bytes, ev);
      if (measuring && ++measured % Math.max(1, Math.floor(cfg.events / 10)) === 0) {
        rss.push(process.memoryUsage().rss);
      }
      if (cfg.maxOutstanding > 0) {
        while (b.backlog.maxOutstanding > cfg.maxOutstanding && b.count > 0) await sleep(1);
      }
    },
  });
  const { port: bport } = await b.listen();
  const { port: rport } = await receiver.listen();

  const subProcs: ChildProcess[] = [];
  const per = Math.ceil(cfg.subscribers / cfg.children);
  for (let left = cfg.subscribers; left > 0; left -= per) {
    subProcs.push(
      child("vtp-subscribers.ts", [
        "--port",
        String(bport),
        "--count",
        String(Math.min(per, left)),
        "--client",
        cfg.client,
        "--events",
        String(cfg.events),
        "--warmup",
        String(cfg.warmup),
      ]),
    );
  }
  const reports = subProcs.map((p) =>
    nextMessage<SubMessage>(p, (m) => m.type === "report", 3_600_000, "a subscriber report"),
  );
  const start = Date.now();
  while (b.count < cfg.subscribers) {
    if (Date.now() - start > 60000)
      throw new Error(`only ${b.count} of ${cfg.subscribers} subscribers connected`);
    await sleep(10);
  }

  const author = child("vtp-author.ts", [
    "--port",
    String(rport),
    "--mode",
    cfg.mode,
    "--events",
    String(cfg.events),
    "--warmup",
    String(cfg.warmup),
    "--concurrency",
    String(cfg.concurrency),
    "--window",
    String(cfg.window),
    "--rate",
    String(cfg.rate),
  ]);
  await nextMessage<AuthorMessage>(author, (m) => m.type === "warmed", 600_000, "the warm-up");
  await sleep(200);
  gc();
  const rssBefore = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  const cpuBefore = process.cpuUsage();
  measuring = true;
  const done = nextMessage<AuthorMessage>(author, (m) => m.type === "done", 3_600_000, "the author");
  author.send({ type: "go" } satisfies ParentMessage);
  const result = await done;
  if (result.type !== "done") throw new Error("unexpected author message");
  const cpu = process.cpuUsage(cpuBefore);

  // Wait for every subscriber to have every event (or give up after a while).
  const deadline = sleep(Math.max(10000, cfg.events)).then(() => null);
  const settled = await Promise.race([Promise.all(reports), deadline]);
  let subReports: SubMessage[];
  if (settled === null) {
    for (const p of subProcs) p.send({ type: "report" } satisfies ParentMessage);
    subReports = await Promise.all(
      subProcs.map((p) => nextMessage<SubMessage>(p, (m) => m.type === "report", 10000, "a late report")),
    );
  } else {
    subReports = settled;
  }
  await sleep(100);
  gc();
  const rssAfter = process.memoryUsage().rss;
  const heapAfter = process.memoryUsage().heapUsed;

  const hist = new Histogram();
  let received = 0;
  let lastReceive = 0;
  let complete = true;
  const childRss: number[] = [];
  for (const r of subReports) {
    if (r.type !== "report") continue;
    hist.merge(r.hist, r.max);
    received += r.received;
    lastReceive = Math.max(lastReceive, r.lastReceive);
    complete &&= r.complete;
    childRss.push(r.rss);
  }
  const expected = cfg.events * cfg.subscribers;
  const authorSecs = (result.lastAck - result.firstSend) / 1000;
  const e2eSecs = (Math.max(lastReceive, result.lastAck) - result.firstSend) / 1000;
  const cpuMs = (cpu.user + cpu.system) / 1000;

  const head =
    `mode=${cfg.mode} subscribers=${cfg.subscribers} (${cfg.client}${cfg.children > 1 ? `, ${cfg.children} processes` : ""})` +
    ` events=${cfg.events}` +
    (cfg.mode === "oneshot" ? ` concurrency=${cfg.concurrency}` : ` window=${cfg.window}`) +
    (cfg.rate > 0 ? ` rate=${cfg.rate}/s` : " rate=max");
  console.log(head);
  console.log(
    `  author: ${result.acks} acks, ${result.naks} naks, ${result.failures} failures in ${authorSecs.toFixed(2)} s` +
      ` = ${(cfg.events / authorSecs).toFixed(0)} events/s`,
  );
  console.log(
    `  end to end: ${received}/${expected} deliveries${complete ? "" : " (INCOMPLETE)"} in ${e2eSecs.toFixed(2)} s` +
      ` = ${(cfg.events / e2eSecs).toFixed(0)} events/s, ${(received / e2eSecs).toFixed(0)} deliveries/s`,
  );
  console.log(
    `  latency author send → subscriber receive: p50 ${hist.quantile(0.5).toFixed(2)} ms,` +
      ` p90 ${hist.quantile(0.9).toFixed(2)} ms, p99 ${hist.quantile(0.99).toFixed(2)} ms, max ${hist.max.toFixed(1)} ms`,
  );
  console.log(
    `  broker: CPU ${cpuMs.toFixed(0)} ms = ${((cpuMs * 1000) / cfg.events).toFixed(0)} µs/event,` +
      ` ${((cpuMs * 1000) / Math.max(1, received)).toFixed(1)} µs/delivery;` +
      ` RSS ${mb(rssBefore)} → ${mb(rssAfter)} (heap ${mb(heapBefore)} → ${mb(heapAfter)});` +
      ` during: ${rss.map((r) => (r / 1048576).toFixed(0)).join(" ")} MB`,
  );
  console.log(
    `  subscriber processes RSS: ${childRss.map(mb).join(", ")}; broker dropped ${drops.length} (${overflows.length} overflows)`,
  );

  author.kill();
  for (const p of subProcs) p.send({ type: "stop" } satisfies ParentMessage);
  await sleep(300);
  for (const p of subProcs) if (p.exitCode === null) p.kill();
  await receiver.close();
  await b.close();
}

function configFrom(args: Map<string, string>, over: Partial<Config> = {}): Config {
  const subscribers = over.subscribers ?? intArg(args, "subscribers", 1);
  const events = over.events ?? intArg(args, "events", 10000);
  const mode = over.mode ?? (args.get("mode") === "persistent" ? "persistent" : "oneshot");
  const client =
    over.client ?? ((args.get("client") ?? (subscribers === 1 ? "real" : "raw")) as "real" | "raw");
  if (client !== "real" && client !== "raw") throw new Error("--client must be real or raw");
  return {
    subscribers,
    events,
    warmup: over.warmup ?? intArg(args, "warmup", Math.min(1000, Math.floor(events / 10))),
    mode,
    concurrency: over.concurrency ?? intArg(args, "concurrency", 1),
    window: over.window ?? intArg(args, "window", 64),
    rate: over.rate ?? intArg(args, "rate", 0),
    client,
    children: over.children ?? intArg(args, "children", subscribers >= 500 ? 2 : 1),
    maxOutstanding:
      over.maxOutstanding ??
      intArg(args, "max-outstanding", Math.max(10, Math.min(200, Math.floor(4000 / subscribers)))),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  console.log(`node ${process.version}; event: ${new EventFactory().source}`);
  if (args.has("all")) {
    const events = intArg(args, "events", 10000);
    const big = Math.max(100, Math.floor(events / 10));
    const matrix: Partial<Config>[] = [
      { subscribers: 1, mode: "oneshot", concurrency: 1 },
      { subscribers: 1, mode: "oneshot", concurrency: 16 },
      { subscribers: 1, mode: "persistent" },
      { subscribers: 50, mode: "oneshot", concurrency: 16 },
      { subscribers: 50, mode: "persistent" },
      { subscribers: 50, mode: "persistent", rate: 240 },
      { subscribers: 1000, mode: "oneshot", concurrency: 16, events: big },
      { subscribers: 1000, mode: "persistent", events: big },
      { subscribers: 1000, mode: "persistent", rate: 12, events: big },
    ];
    for (const m of matrix) await runOne(configFrom(args, { events, ...m }));
  } else {
    await runOne(configFrom(args));
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
