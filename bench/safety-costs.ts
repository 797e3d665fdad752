/**
 * What each safety check of the broker costs per event, on real packets: the steps the receiver
 * and the broker example take for every frame that the do-nothing broker (bench/ceiling.ts)
 * skips, each timed alone in a loop (CPU µs per event, median of five runs: CPU time, not wall
 * time, so that other processes on a shared machine inflate it less). Issue 16 asks that none
 * of them go; this says what keeping them costs beside the do-nothing broker's whole CPU time per
 * event (bench/ceiling.ts prints it: about 200 µs one-shot on the development machine).
 *
 *   npx tsx bench/safety-costs.ts [--runs 5] [--n 5000]
 *
 * The packets are the shared corpus's well-formed VOEvents with a local id (or the test fixtures
 * when the corpus is absent), cycled.
 */
import type { NodeAPI, NodeMessage } from "node-red";
import { FlowCompletion } from "../nodes/shared/flow-completion";
import { sha1Key } from "../src/dedupe/keys";
import { checkLocalId, inputText, readVOEvent, readVOEventHead } from "../src/voevent/parse";
import { Backlog } from "../src/vtp/backlog";
import { ConnectionLimits } from "../src/vtp/connection-limits";
import { copyFrame } from "../src/vtp/framing";
import { AckReader, quickAckOrigin } from "../src/vtp/quick-ack";
import { buildAck } from "../src/vtp/transport";
import { Whitelist } from "../src/vtp/whitelist";
import { parseXml } from "../src/xml/parse";
import { corpusAvailable, isMarkedNotWellFormed, readIndex, readPacket } from "../test/helpers/corpus";
import { parseArgs } from "./vtp-common";

const MAX_BYTES = 1024 * 1024;

function packets(): Buffer[] {
  const out: Buffer[] = [];
  if (corpusAvailable()) {
    for (const row of readIndex()) {
      if (isMarkedNotWellFormed(row)) continue;
      const bytes = readPacket(row.file);
      try {
        checkLocalId(readVOEvent(parseXml(inputText(bytes, MAX_BYTES), { maxBytes: MAX_BYTES })));
        out.push(bytes);
      } catch {
        // not a VOEvent the receiver would take
      }
    }
  }
  if (out.length === 0) throw new Error("no corpus packets (see test/helpers/corpus.ts)");
  return out;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const runs = Number(args.get("runs") ?? 5);
  const n = Number(args.get("n") ?? 5000);
  const bytes = packets();
  const texts = bytes.map((b) => inputText(b, MAX_BYTES));
  const docs = texts.map((t) => parseXml(t, { maxBytes: MAX_BYTES }));
  const models = docs.map((d) => readVOEvent(d));
  const acks = models.map((m) => Buffer.from(buildAck(m.ivorn, "ivo://bench.test/subscriber")));
  const reader = new AckReader();
  const whitelist = new Whitelist("127.0.0.0/8, ::1");
  const limits = new ConnectionLimits({ maxConnections: 256, maxConnectionsPerAddress: 64 }, "bench");
  const mean = bytes.reduce((a, b) => a + b.length, 0) / bytes.length;
  let sink = 0;
  // The receiver's backlog: the engine's count, and the node's tracking of a message through
  // the runtime's hooks (Node-RED's own hooks module, triggered as its flows trigger it for a
  // message sent to one node that calls done: preDeliver, postReceive, onComplete).
  const backlog = new Backlog({ maxBacklog: 1000, backlogTimeoutMs: 60_000 }, () => {});
  const hooks = (require("@node-red/util") as { hooks: HookRunner }).hooks;
  let ids = 0;
  const red = { hooks, util: { generateId: () => `m${++ids}` } } as unknown as NodeAPI;
  const node = { _expectedDoneCount: 1 };
  const deliverOnce = (msg: NodeMessage): void => {
    hooks.trigger("preDeliver", { msg }, () => {});
    hooks.trigger("postReceive", { msg, destination: { id: "n", node } }, () => {});
    hooks.trigger("onComplete", { msg, node: { id: "n", node } }, () => {});
  };
  let completion: FlowCompletion | null = null;

  const steps: [string, (i: number) => void][] = [
    ["own copy of the frame (byte-exact relay)", (i) => (sink += copyFrame(bytes[i]).length)],
    ["strict decoding (encoding, UTF-8)", (i) => (sink += inputText(bytes[i], MAX_BYTES).length)],
    [
      "well-formedness (XML parse with limits)",
      (i) => (sink += parseXml(texts[i], { maxBytes: MAX_BYTES }).children.length),
    ],
    [
      "before the ack: the root (VOEvent, IVORN rules, role), local id",
      (i) => {
        const h = readVOEventHead(docs[i]);
        checkLocalId(h);
        sink += h.ivorn.length;
      },
    ],
    [
      "the whole model (now read only when msg.voevent is used)",
      (i) => {
        const v = readVOEvent(docs[i]);
        checkLocalId(v);
        sink += v.ivorn.length;
      },
    ],
    [
      "the ack (Transport message)",
      (i) => (sink += buildAck(models[i].ivorn, "ivo://bench.test/broker").length),
    ],
    ["dedupe key (SHA-1 of the bytes)", (i) => (sink += sha1Key(texts[i]).length)],
    [
      "deadlines: a frame and an idle timer set and cleared",
      () => {
        const a = setTimeout(() => {}, 20_000);
        const b = setTimeout(() => {}, 20_000);
        clearTimeout(a);
        clearTimeout(b);
      },
    ],
    [
      "per connection: whitelist and connection limits",
      () => {
        if (whitelist.allows("127.0.0.1") && limits.check("127.0.0.1") === null) sink++;
      },
    ],
    ["per delivery: a subscriber's ack read whole", (i) => (sink += (quickAckOrigin(acks[i]) ?? "").length)],
    [
      "per delivery: a subscriber's ack, its head known (AckReader)",
      (i) => (sink += (reader.read(acks[i]) ?? "").length),
    ],
    ["backlog: an event counted and finished (maxBacklog)", () => backlog.add("127.0.0.1")()],
    [
      "Node-RED's hooks of one delivery, none registered (what every message pays anyway)",
      () => deliverOnce({ _msgid: "x" }),
    ],
    [
      "the same with the receiver's hooks (a message of another node: one Map lookup each)",
      () => {
        completion ??= FlowCompletion.open(red);
        deliverOnce({ _msgid: "x" });
      },
    ],
    [
      "the receiver's message tracked through one node (id, 3 hooks, finish)",
      () => completion?.send({}, deliverOnce, () => sink++),
    ],
  ];

  console.log(`node ${process.version}; ${bytes.length} corpus packets, ${mean.toFixed(0)} bytes on average`);
  for (const [name, step] of steps) {
    const times: number[] = [];
    for (let r = 0; r < runs + 1; r++) {
      const t0 = process.cpuUsage();
      for (let k = 0; k < n; k++) step(k % bytes.length);
      const used = process.cpuUsage(t0);
      if (r > 0) times.push((used.user + used.system) / n); // the first run warms up
    }
    console.log(`${median(times).toFixed(2).padStart(8)} µs  ${name}`);
  }
  (completion as FlowCompletion | null)?.close();
  backlog.close();
  if (sink === -1) console.log(sink);
}

interface HookRunner {
  trigger(hook: string, payload: unknown, done: (err?: unknown) => void): void;
}

main();
