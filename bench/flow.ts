/**
 * The broker example in a real Node-RED: voevent-receiver → voevent-dedupe → voevent-broadcaster
 * deployed in a Node-RED runtime (the e2e harness's: the packed package installed in a temporary
 * user directory, in its own process), driven from outside by bench/vtp.ts's children: an author
 * (one connection per event as comet-sendvo, or one persistent connection) and N subscribers
 * (raw sockets that ack, in a child process). Then, unless --no-engine, the same run of
 * bench/vtp.ts (the engine alone, VTPReceiver → VTPBroadcaster in one plain Node process) so
 * that Node-RED's own cost shows beside it.
 *
 *   npx tsx bench/flow.ts                                 (N = 1, 50; oneshot and persistent)
 *   npx tsx bench/flow.ts --subscribers 50 --events 5000 --mode persistent
 *   npx tsx bench/flow.ts --subscribers 1000 --events 1000
 *
 * Options:
 *   --subscribers N    subscribers; several runs with a comma list (default 1,50)
 *   --events M         measured events per run (default 5000), after min(500, M/10) warm-up
 *   --mode oneshot|persistent|rated|all   (default all); rated: persistent at --rate, or by
 *                      default at min(500, 12000/N) events/s, so that latency is transit, not queueing
 *   --concurrency C    oneshot: senders at once (default 1, comet-sendvo's way)
 *   --window K         persistent: events sent ahead of their ack (default 64)
 *   --rate R           the author sends at most R events/s (default 0: as fast as acks come back)
 *   --example FILE     deploy this flow file (its receiver's and broadcaster's ports rewritten)
 *                      instead of the built-in receiver → dedupe → broadcaster flow
 *   --no-engine        skip the engine-only comparison
 *   --archive          the issue-15 bound: alternated rounds without and with a voevent-archive
 *                      node (embedded store, a new file in the user directory each round) wired
 *                      beside the broadcaster; prints both rates, the ratio of the medians and
 *                      what the archive stored (no engine run)
 *   --archive-wiring beside|after   --archive: the archive fed by what feeds the broadcaster
 *                      (beside, the default: two wires, so Node-RED clones the msg for one) or
 *                      by the broadcaster's output (after: one wire, no clone)
 *   --archive-noop     --archive: a switched-off debug node in the archive's place, same wire:
 *                      Node-RED's own cost of one more node (delivery, clone for a second wire)
 *   --warmup W         events sent before the measured ones in each run (default min(500, M/10));
 *                      a new archive's SQLite (WebAssembly, in a new worker each deploy) is still
 *                      being compiled to optimised code for its first few thousand events
 *   --max-backlog N    the receiver's maxBacklog (events handed to the flow and not finished,
 *                      above which authors are paused; default the node's, 100)
 *   --rounds R         --archive: rounds of each (default 3)
 *   --profile DIR      run Node-RED with --cpu-prof, its profile written to DIR when it stops
 *   --probe FILE       load FILE in the Node-RED process (node --require): e.g. bench/backlog-probe.cjs,
 *                      which logs where messages wait (immediates, timers, socket buffers, heap)
 *   --node-args="A B"  more options for Node-RED's node binary (e.g. "--perf-basic-prof" for perf)
 *   --trace-gc         run Node-RED with --trace-gc and print, per run, its collections over the
 *                      measured events: scavenges and mark-compacts, their count and pause time
 *
 * Latency is author send → subscriber receive (the author writes its send time into each
 * event). The receiver acks once the event is handed to the flow, so a persistent author is
 * held back by the receiver only, not by the flow: when the flow is the slower part, messages
 * queue inside Node-RED and the latency is queueing (use --rate to measure below saturation).
 * RSS is the Node-RED process's (from /proc), before the measured events, its peak while they go
 * through (sampled every 50 ms) and after they are all delivered; CPU is the Node-RED process's user+system time over the measured events.
 *
 * Figures from `--subscribers 1,50 --events 5000` on the 2-vCPU development VM (Node 20,
 * Node-RED 4.1.15; Node-RED, the author and the subscribers share the two vCPUs; end to end =
 * until the last delivery), Node-RED flow vs the engine alone (bench/vtp.ts, same run):
 *                                        Node-RED                            engine alone
 *   one-shot, 1 subscriber             1,118 events/s p50 1.6 ms p99 7.6 ms   1,358/s p50 0.8 p99 6.0
 *   persistent, 1 subscriber           2,137 events/s (saturated: queueing)   3,893/s
 *   persistent, 1 subscriber, 500/s      500 events/s p50 0.7 ms p99 5.5 ms     500/s p50 0.5 p99 6.0
 *   one-shot, 50 subscribers          28,910 deliveries/s p50 2.7 p99 28 ms  28,081/s p50 2.8 p99 73
 *   persistent, 50 subscribers        31,634 deliveries/s (saturated)        47,816/s
 *   persistent, 50 subs, 12,000/s     12,000 deliveries/s p50 1.8 p99 34 ms  12,001/s p50 1.1 p99 3.7
 * `--subscribers 1000 --events 1000` (two subscriber processes):
 *   one-shot, 1,000 subscribers       48,887 deliveries/s p50 49 ms p99 78 ms 38,993/s p50 36 p99 124
 *   persistent, 1,000 subscribers    114,692 deliveries/s (saturated)        76,503/s
 *   persistent, 1,000 subs, 12,000/s  11,951 deliveries/s p50 13 ms p99 40 ms 12,000/s p50 14 p99 178
 * (at 1,000 subscribers the broadcaster's fan-out, the same code in both, is nearly all the work;
 * the differences there are noise from the shared machine).
 * Node-RED process CPU 380–640 µs/event with 1 subscriber (engine 180–420), RSS 121 MB idle,
 * 135–250 MB over the runs (not forced to collect garbage; it also fell between runs).
 * Comet on the same machine: ~570 events/s one-shot with 1 subscriber, p50 1.5 ms, p99 4.6 ms;
 * 12,000 deliveries/s with 50 subscribers.
 *
 * With an archive beside the broadcaster (issue 15's bound: within 10% of the speed without one),
 * `--archive --subscribers 1 --events 5000`, 2026-12-06 ~23:55 UTC, load average 1–4 from other
 * work, rounds alternated, every event stored (5,500 of 5,500 each round):
 *   rated, 500 events/s:        500, 500 without; 500, 498 with: ratio 1.00 (the bound holds)
 *   rated, 1,000 events/s:      1,000 without (p50 3.1 ms); 995, 884 with: ratio 0.995, but
 *                               p50 533 ms, p99 1,022 ms: queueing, near the flow's ceiling
 *   persistent (saturated):     1,474–1,695 without; 863–1,090 with: ratio 0.66 (an earlier
 *                               run: 1,965–2,578 vs 1,179–1,740, ratio 0.71–0.72)
 * Saturated, the bound does not hold on this machine. The Node-RED process's CPU per event goes
 * from 480–556 µs to 778–808 µs (`--profile`): the archive's SQLite worker thread (~110 µs of
 * page writes, log and b-tree work per event), Node-RED's deep clone of the message for the
 * second wire (lodash cloneDeep of msg.voevent), the node's record and the copy of each batch to
 * the worker, and the garbage they make. With the author, the subscriber and Node-RED on the
 * same two cores, a saturated flow is bound by CPU, so that CPU comes off its rate one for one;
 * below saturation the archive costs nothing visible.
 *
 * 2026-12-07, after the write path's rework (bench/archive.ts's header) and the node's record
 * made from the receiver's tree without building the model (a `--profile` had shown
 * `peek` → `readVOEvent` at ~150 µs per event, more than the record): `--archive --events 4000
 * --rounds 2`, 01:42–01:46 UTC, load average 1.8–2.7 (without; with: events/s, CPU µs/event):
 *   persistent, 1 subscriber, beside:   2,376, 2,858 (455–535); 2,138, 1,618 (660–855): 0.748
 *   persistent, 50 subscribers, beside: 1,849, 1,885 (525–535); 1,218, 1,112 (923–1,063): 0.646
 *   oneshot, 1 subscriber, beside:        975, 1,113 (748–905);   862, 904 (1,075–1,173): 0.812
 *   oneshot, 50 subscribers, beside:      489, 464 (1,805–1,915); 468, 401 (2,043–2,438): 0.956
 *   persistent, 1, --archive-wiring after:  1,741, 2,215 (553–748); 1,337, 1,522 (898–1,063): 0.687
 *   persistent, 50, --archive-wiring after: 1,374, 1,272 (775–788); 1,141, 935 (993–1,260): 0.831
 *   persistent, 1, --archive-noop:        2,108, 2,229 (558–618); 1,962, 1,909 (653): 0.880
 *   rated 500/s, 1 subscriber, beside:      500, 500 (783–978);     500, 500 (1,175–1,298): 1.000
 * Single rounds in the same hour: persistent 1 beside 0.57–0.92, after 0.61–0.64, noop
 * 0.87–0.99. By thread (persistent, 1 subscriber, a round each): main +150–250 µs/event, the
 * busiest other thread +40–75 (the SQLite worker), the rest +100–170 (V8's GC helpers). The
 * profile (`--profile`): the main thread's added time is mostly garbage collection (19–26% of its
 * busy time in both kinds of round) and Node-RED's delivery to one more node; the node's own
 * handler (record, enqueue) ~40 µs; packing and posting a batch ~3 µs per event; lodash's clone
 * of the message for the second wire ~2% of the main thread. The worker spends most of its busy
 * time in fsync (wall time, not CPU) and the rest in SQLite. batchDelayMs 50 against 500 ms
 * could not be told apart here (single rounds: +380–395 against +95–455 µs/event).
 * A profile of the round with the archive alone (`--mode rated --profile`, then
 * `profile-summary --from recordFromParsed`, 500 events/s, 02:00 UTC; +320 µs/event in that
 * round: main +200, the SQLite worker +40, GC helpers +145): of the main thread's busy time,
 * Node-RED's cloneMessage (lodash cloneDeep of the msg for the dedupe's second wire) 10%
 * (~75 µs per event), the archive node's handler 3.8% (~30 µs: peekDoc, the record, enqueue),
 * posting batches 1.6%, packing them 0.5%, garbage collection 16.9% (all of the process's, with
 * and without the archive's share). So wiring the archive after the broadcaster (on its output:
 * one wire, no clone) saves Node-RED's clone; in the saturated rounds above the saving is within
 * the runs' spread.
 * By thread, the threads the deploy started (the archive's SQLite worker) apart, single rounds
 * 02:02–02:05 UTC (with minus without, µs per event): rated 500/s beside: main +108, worker 80,
 * GC helpers +52; after: +47, 115, +90. Persistent (saturated) beside: +140, 38, +152; after:
 * +180, 43, +210. Saturated, the flow queues (p50 0.1 → 0.5–1 s) and GC grows with what waits.
 * Tried in the same minutes, no better: a Buffer copy of msg.payload per event instead of the
 * string (main +250–300, GC +163–270), batchDelayMs 50 (main +150–218, GC +127–170).
 *
 * 2026-12-07 09:47–11:06 UTC, after the archive's record stopped reading the head again and GCN's
 * Params without need, the copy for its wire stopped using property descriptors, and its writer
 * stopped writing a transaction per few records (README "Keeping an archive" has the table):
 * one subscriber, beside, one-shot 0.82 → 0.91 (5 and 7 rounds; main thread +107 → +33 µs/event,
 * SQLite worker 67–183 → 27–40), persistent 0.70 / 0.97 → 0.92 / 0.96 (main +42 → +18).
 * The saturated 50-subscriber rounds drop subscribers (the summary now says NOT A MEASURE).
 *
 * Where the backlog waits (issue 16, the receiver's maxBacklog), 2026-12-07 02:52–03:19 UTC, load
 * average 6–12 from other work, `--probe bench/backlog-probe.cjs` (samples every 100 ms inside the
 * Node-RED process; VOEVENT_PROBE_GC=1 also collects garbage each second to see the live heap):
 * - The built-in flow (receiver → dedupe → broadcaster), `--mode persistent --window 64
 *   --subscribers 1 --events 5000`: Node-RED's delivery queue between nodes (immediates) held at
 *   most 50–345 messages, the broadcaster's socket to the subscriber 0.25–2.1 MB written and not
 *   yet taken by the kernel, the live heap 40–134 MB. Every node of that flow finishes a message
 *   as soon as it gets it, so the receiver's backlog stays under its bound (1000) and the bound
 *   does not engage: the latency (p50 0.1–1 s) is the subscriber's side (the broadcaster's queue
 *   to it, bounded by its maxQueueBytes, the kernel's buffers, the subscriber child sharing the
 *   CPU), which the receiver's bound does not cover. Alternated rounds (main, then this branch;
 *   events/s, p50, p99, CPU µs/event, peak RSS): main 804/s 369 ms 1,858 ms 546 402 MB; 885/s
 *   233 1,122 552 400 MB; branch 650/s 1,013 ms 1,575 ms 590 487 MB; 705/s 648 1,783 562 461 MB
 *   (load average 9–11: within the runs' spread).
 * - A flow that waits on a slow service (`--example bench/slow-service-flow.json`: the broker
 *   example with a function node that holds each message 0.5 s before sending it on,
 *   `--events 2000`): on main the function node's timers (one per message held) reached
 *   708–994, immediates 661–1,034, the broadcaster's queue 3.2–4.2 MB, peak RSS 336–358 MB, and
 *   in 2 runs of 3 the burst the slow stage let go overflowed the subscriber's queue
 *   (maxQueueBytes 4 MiB): the subscriber was dropped, 824 and 834 of 2,000 events delivered.
 *   With maxBacklog (default 1000; one author: half, 500) the timers stayed at 464–505 (the
 *   node logged "author 127.0.0.1 paused: it has 500 events unfinished by the flow"), peak RSS
 *   306–314 MB, all 2,000 events delivered in each of 3 runs, p50 0.76–1.1 s, p99 1.1–1.9 s
 *   (the 0.5 s of the slow node plus the wait of the paused author).
 * 2026-12-07 03:00–03:35 UTC: where the rest went. A profile of a saturated round (persistent,
 * 1 subscriber, `--profile`, `profile-summary --from recordFromParsed`) showed the archive node
 * parsing every packet again: `peekDoc` → `parseVOEvent` 14% of the main thread's busy time, and
 * garbage collection 42%. The parse cache keeps 256 packets; a saturated flow holds thousands of
 * messages between its nodes, so by the archive's turn the receiver's tree was gone, and each
 * new parse allocated ~92 kB (a 6 kB packet's tree). Measured allocations per event (heap growth
 * with a 512 MB young generation, this packet): the tree 92 kB, Node-RED's copy for a second wire
 * with the model it reads 31 kB (the model 7.3 kB; lodash's copy and its stacks the rest), the
 * archive's record 4–5 kB, packing 0.4 kB. The cost is in scavenges (`--trace-gc`): 4,000
 * events take 35–41 scavenges without an archive, each 15–55 ms on this loaded machine (what a
 * scavenge copies is what survives it: the cache's and the queued messages' trees), and every
 * collection more is paid in full; mark-compacts were 1–5 per run (16–290 ms), the writer's
 * pending records no large share of them. Now a receiver's (or subscriber's) message carries its
 * tree (src/contract.ts `treeOf`: a function under a symbol, which Node-RED's copy shares), so
 * the archive never parses again. Base (main before) and new alternated, 2 rounds each, 4,000
 * events, load average 5–12 (other engineers' benches: rates swing ±40% between rounds, so read
 * the scavenges and CPU beside the ratios). Ratio of medians; CPU µs/event without → with;
 * scavenges with minus without, per round:
 *   persistent, 1, beside    base 0.350; 470, 450 → 1,068, 1,085; +31, +50
 *                            new  0.504; 635, 398 → 1,030, 630;   +19, +14
 *     a second pass, 03:29:  base 0.414; 513, 420 → 1,125, 975;   +47, +31
 *                            new  0.457; 518, 555 → 855, 730;     +15, +17
 *   persistent, 50, beside   base 0.606; 673, 523 → 1,385, 983;   +56, +39
 *                            new  0.488; 565, 523 → 988, 815;     +22, +21
 *   oneshot, 1, beside       base 0.819; 853, 670 → 1,200, 1,073; +26, +18 (no backlog: no parse
 *                            new  0.368; 768, 685 → 1,465, 1,278; +27, +25  again in either)
 *     a second pass, 03:27:  base 0.650; 1,048, 765 → 1,480, 1,163; +28, +27
 *                            new  0.700; 800, 793 → 1,540, 1,213;  +30, +26
 *   oneshot, 50, beside      base 1.065; 1,680, 2,090 → 3,088, 2,740
 *                            new  0.852; 1,823, 2,075 → 3,085, 2,800
 *   rated 500/s, 1, beside   base 0.831 (416, 352 events/s with); 715, 540 → 1,090, 885; +35, +42
 *                            new  1.000 (499, 500);               655, 573 → 950, 1,090; +19, +24
 *   persistent, 1, after     base 0.473; 493, 413 → 1,010, 788;   +44, +37
 *                            new  0.702; 500, 425 → 655, 563;     +7, +5
 *   persistent, 50, after    base 0.693; 803, 675 → 1,363, 1,153; +53, +46
 *                            new  1.045; 785, 800 → 1,073, 798;   +11, +10
 *   persistent, 1, noop      base 0.653; 550, 420 → 715, 528;     +13, +12
 *                            new  1.122; 570, 433 → 570, 508;     +12, +11
 * So beside the broadcaster the archive now adds about what the do-nothing node adds (Node-RED's
 * copy and the model it reads: ~12 scavenges per 4,000 events) and ~7–10 scavenges of its own;
 * after the broadcaster (one wire, no copy, no model) only its own (+5 to +11), and its CPU
 * (persistent, 1 subscriber, by thread) main +35/+50 µs/event, the SQLite worker 40, GC helpers
 * +45/+75. The do-nothing node's copy alone is ~12% at saturation, so beside the broadcaster the
 * 10% bound cannot hold at saturation whatever the archive does; after it, it is within reach.
 * More passes, 03:38–03:46 UTC, load average 2.4–5.4 (ratio; CPU without → with; scavenges):
 *   rated 240/s, 50, beside  base 1.000; 1,963, 1,525 → 2,130, 1,925; +26, +27
 *                            new  1.000; 1,573, 1,758 → 1,805, 1,963; +18, +27
 *   rated 500/s, 1, after    base 1.000; 730, 610 → 850, 825;     +14, +11
 *                            new  1.000; 648, 603 → 893, 873;     +10, +12
 *   persistent, 1, beside    base 0.804; 500, 348 → 910, 693;     +46, +29
 *                            new  0.641; 458, 465 → 773, 705;     +16, +17
 *   persistent, 1, after     base 0.451; 483, 345 → 895, 830;     +35, +34
 *                            new  0.783; 465, 443 → 620, 668;     +6, +7
 * Scavenge counts compare within a mode only (V8 sizes the young generation by what survives:
 * with a backlog it grows, and a scavenge comes after more allocation). One-shot rounds cost the
 * archive +240–490 µs/event of main thread on this loaded machine in both builds; a profile of
 * one (3,000 events, 03:35): Node-RED's copy for the second wire 10.7% of the main thread's busy
 * time (the model it reads 4.9%), the archive node's handler 4.7% (its record 3.7%), posting
 * batches 1.5%, GC 13.3% (all of the process's); socket writes (writeBuffer) 37%.
 * 2026-12-07 05:20–06:20 UTC, quiet (load average 0.6–1.8), `perf record` of the Node-RED
 * process (`--node-args=--perf-basic-prof`): in a round with the archive, with a 500-event
 * warm-up, V8's helper threads spent most of their time compiling (the SQLite WebAssembly of the
 * worker a new deploy starts, and JavaScript) so rounds now warm up longer (`--warmup 6000`);
 * after that, at the default maxBacklog of 1000, scavenging and concurrent marking: the queued
 * messages' trees were promoted. With maxBacklog 100 (now the default) and the receiver's message
 * no longer kept alive by its accessor (README, issue 16's fourth pass), persistent, 1 subscriber
 * without an archive runs at 4,600–6,600 events/s (165–250 µs/event). Node-RED's copy for the
 * archive's wire read the model (a quarter of the main thread); it no longer does
 * (nodes/shared/lazy-copy.ts). Ratios after all of it (3 rounds, 4,000 events, 6,000 warm-up):
 * beside, 1 subscriber 0.73, 50 subscribers 0.47; after, 0.71 and 1.02; rated 1.00 and 1.00
 * (README, "Keeping an archive").
 */
import { type ChildProcess, execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  type FlowNode,
  freePort,
  REPO_ROOT,
  type Runtime,
  startRuntime,
  waitForPort,
} from "../test/e2e/harness";
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

/** rated: persistent at a rate below saturation (--rate, or 12,000 deliveries/s as Comet's figure, at most 500 events/s). */
type Mode = "oneshot" | "persistent" | "rated";

interface Config {
  subscribers: number;
  events: number;
  warmup: number;
  mode: "oneshot" | "persistent";
  concurrency: number;
  window: number;
  rate: number;
  /** Wire a voevent-archive (embedded store, this file in the user directory) beside the broadcaster. */
  archiveFile?: string;
  /** Where: beside the broadcaster (default) or after it. */
  archiveWiring?: ArchiveWiring;
  /** A switched-off debug node in the archive's place (Node-RED's cost of one more node). */
  archiveNoop?: boolean;
  /** Node-RED runs with --trace-gc: print its collections over the measured events. */
  traceGc?: boolean;
}

interface Figures {
  eventsPerSec: number;
  deliveriesPerSec: number;
  p50: number;
  p99: number;
  complete: boolean;
  received: number;
  expected: number;
  /** With an archive: packets it held at the end (its API's count), and what it dropped. */
  archived?: number;
  /** The Node-RED process's CPU time (user + system, all threads) per measured event, µs. */
  cpuPerEvent: number;
}

/** Node-RED's --trace-gc lines: collections of each kind, their count and main-thread pause, ms. */
function gcSummary(log: string): string {
  const kinds = new Map<string, { n: number; ms: number }>();
  for (const m of log.matchAll(
    /ms: (Scavenge|Minor Mark-Compact|Mark-Compact|Mark-sweep)\b[^,\n]*, ([\d.]+) \/ [\d.]+ ms/g,
  )) {
    const k = kinds.get(m[1]) ?? { n: 0, ms: 0 };
    k.n++;
    k.ms += Number(m[2]);
    kinds.set(m[1], k);
  }
  if (kinds.size === 0) return "no collections logged";
  return [...kinds].map(([kind, k]) => `${kind} ${k.n} (${k.ms.toFixed(0)} ms)`).join(", ");
}

const LOCAL_IVO = "ivo://bench.broker/node-red";

/** Resident set size of a process, bytes (Linux /proc). */
function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/** User + system CPU time of a process, ms (Linux /proc, clock ticks of 10 ms). */
function cpuOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After "pid (comm) ", field 3 (state) is index 0: utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** CPU time (user + system) of each thread of a process, ms, by thread id (Linux /proc). */
function threadCpuOf(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(tid, (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      // the thread ended
    }
  }
  return out;
}

/**
 * CPU between two readings, ms: the main thread, the threads started since `started` was read
 * (before the flow's deploy: the archive's SQLite worker, when the flow has one), and the rest
 * (V8's GC helpers, libuv's pool).
 */
function threadSplit(
  pid: number,
  started: Set<string>,
  a: Map<string, number>,
  b: Map<string, number>,
): { main: number; fresh: number; rest: number } {
  let main = 0;
  let fresh = 0;
  let rest = 0;
  for (const [tid, ms] of b) {
    const d = ms - (a.get(tid) ?? 0);
    if (tid === String(pid)) main += d;
    else if (!started.has(tid)) fresh += d;
    else rest += d;
  }
  return { main, fresh, rest };
}

/** The broker example: receiver → dedupe → broadcaster, on the given ports. */
function brokerFlow(receiverPort: number, broadcasterPort: number, exampleFile?: string): FlowNode[] {
  if (exampleFile !== undefined) {
    const nodes = JSON.parse(fs.readFileSync(path.resolve(exampleFile), "utf8")) as FlowNode[];
    return nodes.map((n) => {
      if (n.type === "voevent-receiver") return { ...n, host: "127.0.0.1", port: receiverPort };
      if (n.type === "voevent-broadcaster") return { ...n, host: "127.0.0.1", port: broadcasterPort };
      return n;
    });
  }
  const z = "bench-tab";
  return [
    { id: z, type: "tab", label: "bench: broker" },
    { id: "bench-identity", type: "voevent-identity", name: "bench", localIvo: LOCAL_IVO },
    {
      id: "bench-receiver",
      type: "voevent-receiver",
      z,
      name: "authors",
      host: "127.0.0.1",
      port: receiverPort,
      identity: "bench-identity",
      whitelist: "127.0.0.0/8, ::1",
      validate: "well-formed",
      requireLocalId: true,
      maxBytes: 1048576,
      tls: "",
      ...(MAX_BACKLOG === undefined ? {} : { maxBacklog: MAX_BACKLOG }),
      wires: [["bench-dedupe"]],
    },
    {
      id: "bench-dedupe",
      type: "voevent-dedupe",
      z,
      name: "",
      key: "bytes",
      keyProperty: "topic",
      ttl: 30,
      ttlUnits: "days",
      capacity: 100000,
      store: "memory",
      path: "",
      wires: [["bench-broadcaster"], []],
    },
    {
      id: "bench-broadcaster",
      type: "voevent-broadcaster",
      z,
      name: "subscribers",
      host: "127.0.0.1",
      port: broadcasterPort,
      identity: "bench-identity",
      whitelist: "127.0.0.0/8, ::1",
      iamaliveInterval: 60,
      testInterval: 0,
      maxQueue: 4194304,
      maxConnections: 4096, // every subscriber of the bench comes from 127.0.0.1
      maxPerAddress: 4096,
      tls: "",
      monitor: false,
      outputs: 1,
      wires: [[]],
    },
  ];
}

const ARCHIVE_PATH = "/bench/archive";

/** --max-backlog: the receiver's maxBacklog (its default when not given). */
let MAX_BACKLOG: number | undefined;

/** Where the archive is wired: beside the broadcaster (fed by what feeds it) or after it (its output). */
type ArchiveWiring = "beside" | "after";

/**
 * The flow with a voevent-archive node (embedded store: `file` in the user directory) wired
 * beside every broadcaster (whatever feeds a broadcaster feeds the archive too: a second wire,
 * so Node-RED clones the msg for one of them) or after it (on the broadcaster's first output,
 * which sends each msg on once broadcast: one wire, no clone).
 */
function withArchive(nodes: FlowNode[], file: string, wiring: ArchiveWiring, noop = false): FlowNode[] {
  const broadcasters = new Set(nodes.filter((n) => n.type === "voevent-broadcaster").map((n) => n.id));
  const tab = nodes.find((n) => n.type === "voevent-broadcaster")?.z;
  const out = nodes.map((n) => {
    const wires = n.wires as string[][] | undefined;
    if (wires === undefined) return n;
    if (wiring === "after") {
      if (!broadcasters.has(n.id)) return n;
      return { ...n, wires: wires.map((port, i) => (i === 0 ? [...port, "bench-archive"] : port)) };
    }
    return {
      ...n,
      wires: wires.map((port) =>
        port.some((id) => broadcasters.has(id)) ? [...port, "bench-archive"] : port,
      ),
    };
  });
  if (noop) {
    // Node-RED's own cost of one more node on the same wire (its delivery, and the clone for a
    // second wire): a debug node that is switched off, in the archive's place.
    out.push({
      id: "bench-archive",
      type: "debug",
      z: tab,
      name: "no-op",
      active: false,
      tosidebar: true,
      console: false,
      tostatus: false,
      complete: "payload",
      targetType: "msg",
      wires: [],
    });
    return out;
  }
  out.push(
    {
      id: "bench-archive-db",
      type: "voevent-archive-db",
      name: "bench",
      store: "embedded",
      file,
      path: ARCHIVE_PATH,
      maxAge: 0,
      maxEvents: 0,
    },
    {
      id: "bench-archive",
      type: "voevent-archive",
      z: tab,
      name: "archive",
      db: "bench-archive-db",
      wires: [],
    },
  );
  return out;
}

/** The archive's count (its API) once its writer has nothing pending, or after a deadline. */
async function archivedCount(rt: Runtime, expected: number): Promise<number> {
  const deadline = Date.now() + 60_000;
  let n = -1;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(rt.httpUrl(`${ARCHIVE_PATH}/apiv1/count`));
      n = ((await res.json()) as { result: number }).result;
      if (n >= expected) return n;
    } catch {
      // not up yet
    }
    await sleep(250);
  }
  return n;
}

async function runOne(rt: Runtime, cfg: Config, exampleFile: string | undefined): Promise<Figures> {
  const [rport, bport] = [await freePort(), await freePort()];
  const since = rt.logs().length;
  const pid0 = rt.process.pid;
  // Threads before this deploy: any started by it (the archive's worker) are counted apart.
  const threadsBeforeDeploy = new Set(pid0 === undefined ? [] : fs.readdirSync(`/proc/${pid0}/task`));
  const flow = brokerFlow(rport, bport, exampleFile);
  await rt.deploy(
    cfg.archiveFile === undefined
      ? flow
      : withArchive(flow, cfg.archiveFile, cfg.archiveWiring ?? "beside", cfg.archiveNoop === true),
  );
  await Promise.all([waitForPort(rport, 20_000), waitForPort(bport, 20_000)]);
  const pid = rt.process.pid;
  if (pid === undefined) throw new Error("Node-RED has no pid");

  const children = cfg.subscribers >= 500 ? 2 : 1;
  const per = Math.ceil(cfg.subscribers / children);
  const subProcs: ChildProcess[] = [];
  for (let left = cfg.subscribers; left > 0; left -= per) {
    const count = Math.min(per, left);
    const argv = ["--port", String(bport), "--count", String(count), "--client", "raw"];
    argv.push("--events", String(cfg.events), "--warmup", String(cfg.warmup));
    subProcs.push(child("vtp-subscribers.ts", argv));
  }
  const reports = subProcs.map((p) =>
    nextMessage<SubMessage>(p, (m) => m.type === "report", 3_600_000, "a subscriber report"),
  );
  await Promise.all(
    subProcs.map((p) => nextMessage<SubMessage>(p, (m) => m.type === "connected", 120_000, "subscribers")),
  );
  await sleep(500); // the broadcaster's authenticate exchange with each

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
  await sleep(500);
  const rssBefore = rssOf(pid);
  const cpuBefore = cpuOf(pid);
  const threadsBefore = threadCpuOf(pid);
  const gcFrom = rt.logs().length;
  const done = nextMessage<AuthorMessage>(author, (m) => m.type === "done", 3_600_000, "the author");
  // The highest RSS seen while the events go through (sampled every 50 ms).
  let rssPeak = rssBefore;
  const rssSampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, rssOf(pid));
  }, 50);
  author.send({ type: "go" } satisfies ParentMessage);
  const result = await done;
  if (result.type !== "done") throw new Error("unexpected author message");

  const deadline = sleep(Math.max(15_000, cfg.events * 2)).then(() => null);
  const settled = await Promise.race([Promise.all(reports), deadline]);
  const cpuMs = cpuOf(pid) - cpuBefore;
  const threads = threadSplit(pid, threadsBeforeDeploy, threadsBefore, threadCpuOf(pid));
  const gcLog = rt.logs().slice(gcFrom);
  let subReports: SubMessage[];
  if (settled === null) {
    for (const p of subProcs) p.send({ type: "report" } satisfies ParentMessage);
    subReports = await Promise.all(
      subProcs.map((p) => nextMessage<SubMessage>(p, (m) => m.type === "report", 10_000, "a late report")),
    );
  } else {
    subReports = settled;
  }
  clearInterval(rssSampler);
  await sleep(500);
  const rssAfter = rssOf(pid);

  const hist = new Histogram();
  let received = 0;
  let lastReceive = 0;
  let complete = true;
  for (const r of subReports) {
    if (r.type !== "report") continue;
    hist.merge(r.hist, r.max);
    received += r.received;
    lastReceive = Math.max(lastReceive, r.lastReceive);
    complete &&= r.complete;
  }
  const expected = cfg.events * cfg.subscribers;
  const authorSecs = (result.lastAck - result.firstSend) / 1000;
  const e2eSecs = (Math.max(lastReceive, result.lastAck) - result.firstSend) / 1000;
  const figures: Figures = {
    ...(cfg.archiveFile === undefined || cfg.archiveNoop === true
      ? {}
      : { archived: await archivedCount(rt, cfg.events + cfg.warmup) }),
    eventsPerSec: cfg.events / e2eSecs,
    deliveriesPerSec: received / e2eSecs,
    p50: hist.quantile(0.5),
    p99: hist.quantile(0.99),
    complete,
    received,
    expected,
    cpuPerEvent: (cpuMs * 1000) / cfg.events,
  };

  console.log(
    `Node-RED${cfg.archiveFile === undefined ? "" : " with an archive"}: mode=${cfg.mode} subscribers=${cfg.subscribers} events=${cfg.events}` +
      (cfg.mode === "oneshot" ? ` concurrency=${cfg.concurrency}` : ` window=${cfg.window}`) +
      (cfg.rate > 0 ? ` rate=${cfg.rate}/s` : " rate=max"),
  );
  console.log(
    `  author: ${result.acks} acks, ${result.naks} naks, ${result.failures} failures in ${authorSecs.toFixed(2)} s` +
      ` = ${(cfg.events / authorSecs).toFixed(0)} events/s`,
  );
  console.log(
    `  end to end: ${received}/${expected} deliveries${complete ? "" : " (INCOMPLETE)"} in ${e2eSecs.toFixed(2)} s` +
      ` = ${figures.eventsPerSec.toFixed(0)} events/s, ${figures.deliveriesPerSec.toFixed(0)} deliveries/s`,
  );
  console.log(
    `  latency author send → subscriber receive: p50 ${figures.p50.toFixed(2)} ms,` +
      ` p90 ${hist.quantile(0.9).toFixed(2)} ms, p99 ${figures.p99.toFixed(2)} ms, max ${hist.max.toFixed(1)} ms`,
  );
  console.log(
    `  Node-RED process: CPU ${cpuMs.toFixed(0)} ms = ${((cpuMs * 1000) / cfg.events).toFixed(0)} µs/event;` +
      ` RSS ${mb(rssBefore)} → ${mb(rssAfter)}, peak ${mb(rssPeak)}`,
  );
  const perEvent = (ms: number) => ((ms * 1000) / cfg.events).toFixed(0);
  console.log(
    `  by thread: main ${perEvent(threads.main)} µs/event, threads started by this deploy (the ` +
      `archive's SQLite worker) ${perEvent(threads.fresh)}, the rest (GC helpers, libuv) ${perEvent(threads.rest)}`,
  );
  if (cfg.traceGc === true) console.log(`  garbage collection (--trace-gc): ${gcSummary(gcLog)}`);
  if (figures.archived !== undefined)
    console.log(`  archive: ${figures.archived} packets stored (${cfg.events + cfg.warmup} sent)`);
  const warnings = rt
    .logs()
    .slice(since)
    .split("\n")
    .filter((l) => /\[(warn|error)\]/.test(l));
  if (warnings.length > 0) console.log(`  runtime warnings: ${warnings.length}, first: ${warnings[0]}`);

  author.kill();
  for (const p of subProcs) p.send({ type: "stop" } satisfies ParentMessage);
  await sleep(300);
  for (const p of subProcs) if (p.exitCode === null) p.kill();
  await rt.deploy([]); // close the servers before the next run
  return figures;
}

/** The same run of bench/vtp.ts (the engine without Node-RED); its figures, parsed from its output. */
function runEngine(cfg: Config): Promise<Figures | null> {
  const argv = [
    "tsx",
    path.join(__dirname, "vtp.ts"),
    "--subscribers",
    String(cfg.subscribers),
    "--events",
    String(cfg.events),
    "--warmup",
    String(cfg.warmup),
    "--mode",
    cfg.mode,
    "--client",
    "raw",
    "--concurrency",
    String(cfg.concurrency),
    "--window",
    String(cfg.window),
    "--rate",
    String(cfg.rate),
    // The Node-RED receiver acks on hand-over to the flow; no flow control there either.
    "--max-outstanding",
    "0",
  ];
  return new Promise((resolve) => {
    execFile("npx", argv, { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const text = `${stdout}${stderr}`;
      const e2e =
        /end to end: (\d+)\/(\d+) deliveries( \(INCOMPLETE\))? in [\d.]+ s = (\d+) events\/s, (\d+) deliveries\/s/.exec(
          text,
        );
      const lat = /p50 ([\d.]+) ms, p90 [\d.]+ ms, p99 ([\d.]+) ms/.exec(text);
      if (err || !e2e || !lat) {
        console.log(`  engine run failed: ${err ? err.message.split("\n")[0] : "no figures"}\n${text}`);
        resolve(null);
        return;
      }
      for (const line of stdout.trim().split("\n").slice(1)) console.log(`  engine ${line.trim()}`);
      resolve({
        received: Number(e2e[1]),
        expected: Number(e2e[2]),
        complete: e2e[3] === undefined,
        eventsPerSec: Number(e2e[4]),
        deliveriesPerSec: Number(e2e[5]),
        p50: Number(lat[1]),
        p99: Number(lat[2]),
        cpuPerEvent: Number.NaN,
      });
    });
  });
}

function summary(label: string, f: Figures | null): string {
  if (f === null) return `${label.padEnd(10)} —`;
  return (
    `${label.padEnd(10)} ${f.eventsPerSec.toFixed(0).padStart(7)} events/s ${f.deliveriesPerSec.toFixed(0).padStart(8)} deliveries/s` +
    `   p50 ${f.p50.toFixed(2).padStart(7)} ms   p99 ${f.p99.toFixed(2).padStart(7)} ms` +
    (f.complete ? "" : `   INCOMPLETE ${f.received}/${f.expected}`)
  );
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const counts = (args.get("subscribers") ?? "1,50")
    .split(",")
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
  if (counts.length === 0) throw new Error("--subscribers must be positive integers");
  const events = intArg(args, "events", 5000);
  const modeArg = args.get("mode") ?? "all";
  if (!["oneshot", "persistent", "rated", "all"].includes(modeArg))
    throw new Error("--mode must be oneshot, persistent, rated or all");
  const modes: Mode[] = modeArg === "all" ? ["oneshot", "persistent", "rated"] : [modeArg as Mode];
  const exampleFile = args.get("example");
  const archive = args.has("archive");
  if (args.has("max-backlog")) MAX_BACKLOG = intArg(args, "max-backlog", 1000);
  const engine = !args.has("no-engine") && !archive;
  const rounds = intArg(args, "rounds", 3);
  const wiring = (args.get("archive-wiring") ?? "beside") as ArchiveWiring;
  if (wiring !== "beside" && wiring !== "after") throw new Error("--archive-wiring must be beside or after");
  let archives = 0;

  console.log(`node ${process.version}; event: ${new EventFactory().source}`);
  console.log("starting Node-RED with the packed package (npm pack + install on first use) …");
  const profileDir = args.get("profile");
  if (profileDir !== undefined) fs.mkdirSync(profileDir, { recursive: true });
  const probe = args.get("probe");
  const traceGc = args.has("trace-gc");
  const nodeArgs = [
    ...(profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${path.resolve(profileDir)}`]),
    ...(probe === undefined ? [] : ["--require", path.resolve(probe)]),
    ...(traceGc ? ["--trace-gc"] : []),
    ...String(args.get("node-args") ?? "")
      .split(" ")
      .filter((a) => a !== ""),
  ];
  const rt = await startRuntime(nodeArgs.length === 0 ? {} : { nodeArgs });
  const nodeRedVersion = (await rt.settings()).version ?? "?";
  console.log(
    `Node-RED ${nodeRedVersion}, pid ${rt.process.pid}, RSS at start ${mb(rssOf(rt.process.pid ?? 0))}`,
  );
  const rows: string[] = [];
  try {
    for (const subscribers of counts) {
      for (const mode of modes) {
        const cfg: Config = {
          subscribers,
          events,
          warmup: intArg(args, "warmup", Math.min(500, Math.floor(events / 10))),
          mode: mode === "rated" ? "persistent" : mode,
          traceGc,
          concurrency: intArg(args, "concurrency", 1),
          window: intArg(args, "window", 64),
          rate:
            mode === "rated"
              ? intArg(args, "rate", Math.max(1, Math.min(500, Math.floor(12000 / subscribers))))
              : mode === "persistent"
                ? 0
                : intArg(args, "rate", 0),
        };
        const title = `${cfg.mode}, ${subscribers} subscriber${subscribers === 1 ? "" : "s"}, ${events} events${cfg.rate > 0 ? ` at ${cfg.rate}/s` : ""}`;
        if (archive) {
          // Alternated rounds without and with an archive beside the broadcaster, same minutes.
          const without: Figures[] = [];
          const withA: Figures[] = [];
          for (let round = 0; round < rounds; round++) {
            without.push(await runOne(rt, cfg, exampleFile));
            archives++;
            withA.push(
              await runOne(
                rt,
                {
                  ...cfg,
                  archiveFile: `bench-archive-${archives}`,
                  archiveWiring: wiring,
                  archiveNoop: args.has("archive-noop"),
                },
                exampleFile,
              ),
            );
          }
          const med = (xs: Figures[], f: (x: Figures) => number) =>
            xs.map(f).sort((a, b) => a - b)[Math.floor(xs.length / 2)];
          const line = (xs: Figures[]) =>
            `${xs.map((x) => x.eventsPerSec.toFixed(0)).join(", ")} events/s (median ${med(xs, (x) => x.eventsPerSec).toFixed(0)}; ` +
            `p50 ${med(xs, (x) => x.p50).toFixed(2)} ms, p99 ${med(xs, (x) => x.p99).toFixed(2)} ms; ` +
            `CPU ${xs.map((x) => x.cpuPerEvent.toFixed(0)).join(", ")} µs/event)`;
          rows.push(
            `${title}; archive ${wiring} the broadcaster; load average ${os
              .loadavg()
              .map((x) => x.toFixed(2))
              .join(" ")}`,
            `  without an archive ${line(without)}`,
            `  with an archive    ${line(withA)}; stored ${withA.map((x) => x.archived ?? "?").join(", ")} of ${cfg.events + cfg.warmup} each`,
            `  ratio with/without (medians) ${(med(withA, (x) => x.eventsPerSec) / med(without, (x) => x.eventsPerSec)).toFixed(3)}`,
          );
          // A subscriber the broadcaster dropped (not reading, its queue full: the bound of
          // "Running a public broker safely") ends its round early: its rate is not the flow's.
          const dropped = [...without, ...withA].filter((x) => !x.complete).length;
          if (dropped > 0)
            rows.push(
              `  NOT A MEASURE: ${dropped} of ${without.length + withA.length} rounds lost deliveries (a subscriber dropped as too slow; see the runtime warnings): lower the load (--rate) or the subscribers`,
            );
          console.log("");
          continue;
        }
        const nr = await runOne(rt, cfg, exampleFile);
        const eng = engine ? await runEngine(cfg) : null;
        rows.push(title, `  ${summary("Node-RED", nr)}`);
        if (engine) rows.push(`  ${summary("engine", eng)}`);
        console.log("");
      }
    }
  } finally {
    if (profileDir !== undefined) {
      // --cpu-prof writes the profile as the process exits; Node-RED exits on SIGTERM.
      const exited = new Promise((r) => rt.process.once("exit", r));
      rt.process.kill("SIGTERM");
      await exited;
    }
    await rt.stop();
  }
  console.log("summary (end to end: last delivery; latency: author send → subscriber receive)");
  for (const row of rows) console.log(row);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
