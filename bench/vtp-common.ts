/**
 * Shared by the VTP bench's processes (bench/vtp.ts and its children): the
 * clock, the event template, a latency histogram, argv parsing, IPC messages.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { testAlert } from "../src/voevent/alert";

/** Wall-clock ms with µs resolution, comparable between processes on one machine. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** argv `--name value` pairs (and bare `--flag` as "true"). */
export function parseArgs(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) continue;
    const eq = a.indexOf("=");
    if (eq > 0) {
      out.set(a.slice(2, eq), a.slice(eq + 1));
    } else if (i + 1 < argv.length && !argv[i + 1]!.startsWith("--")) {
      out.set(a.slice(2), argv[++i]!);
    } else {
      out.set(a.slice(2), "true");
    }
  }
  return out;
}

export function intArg(args: Map<string, string>, name: string, fallback: number): number {
  const v = args.get(name);
  if (v === undefined) return fallback;
  const n = Number(v.replace(/_/g, ""));
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, not ${v}`);
  return n;
}

const CORPUS_PACKET = resolve(__dirname, "../../shared/corpus/packets/voeventdb__BAT_GRB_Pos_655721-214.xml");

/**
 * Builds bench events: a real 6 kB Swift/BAT GCN notice from the corpus (or a
 * test alert padded to the same size), each with its own IVORN and two Params
 * carrying the send time and sequence number.
 */
export class EventFactory {
  private readonly head: string;
  private readonly middle: string;
  private readonly tail: string;
  private readonly stream: string;
  readonly source: string;

  constructor() {
    let xml: string;
    if (existsSync(CORPUS_PACKET)) {
      xml = readFileSync(CORPUS_PACKET, "utf8");
      this.source = "corpus voeventdb__BAT_GRB_Pos_655721-214.xml (6.3 kB)";
    } else {
      xml = testAlert({ description: "x".repeat(5000) });
      this.source = "built test alert padded to ~6 kB (corpus absent)";
    }
    const m = /ivorn="([^"#]*)#[^"]*"/.exec(xml);
    if (m === null) throw new Error("bench template has no ivorn with a local id");
    this.stream = m[1]!;
    const what = xml.indexOf("<What>");
    if (what < 0) throw new Error("bench template has no <What>");
    this.head = xml.slice(0, m.index + 'ivorn="'.length);
    this.middle = xml.slice(m.index + m[0].length - 1, what + "<What>".length);
    this.tail = xml.slice(what + "<What>".length);
  }

  make(seq: number): Buffer {
    return Buffer.from(
      `${this.head}${this.stream}#bench-${seq}${this.middle}\n    <Param name="bench_sent" value="${now().toFixed(3)}"/>` +
        `\n    <Param name="bench_seq" value="${seq}"/>${this.tail}`,
    );
  }
}

const SENT = Buffer.from('name="bench_sent" value="');
const SEQ = Buffer.from('name="bench_seq" value="');

/** The send time and sequence number of a bench event, read straight off its bytes. */
export function benchStamp(frame: Buffer): { sent: number; seq: number } | null {
  const a = frame.indexOf(SENT);
  const b = frame.indexOf(SEQ);
  if (a < 0 || b < 0) return null;
  const sent = Number(frame.toString("latin1", a + SENT.length, frame.indexOf(34, a + SENT.length)));
  const seq = Number(frame.toString("latin1", b + SEQ.length, frame.indexOf(34, b + SEQ.length)));
  return { sent, seq };
}

/**
 * Latency histogram: 10 µs buckets up to 100 ms, then 1 ms buckets up to 100 s.
 * Mergeable across processes (sent as sparse [bucket, count] pairs).
 */
export class Histogram {
  private readonly counts = new Uint32Array(10000 + 100000);
  total = 0;
  max = 0;

  add(ms: number): void {
    const v = Math.max(0, ms);
    const i = v < 100 ? Math.floor(v * 100) : Math.min(10000 + Math.floor(v - 100), this.counts.length - 1);
    this.counts[i]!++;
    this.total++;
    if (v > this.max) this.max = v;
  }

  toSparse(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i]! > 0) out.push([i, this.counts[i]!]);
    return out;
  }

  merge(sparse: readonly [number, number][], max: number): void {
    for (const [i, c] of sparse) {
      this.counts[i]! += c;
      this.total += c;
    }
    if (max > this.max) this.max = max;
  }

  /** The value (ms, bucket upper edge) below which `q` of the samples lie. */
  quantile(q: number): number {
    if (this.total === 0) return Number.NaN;
    const want = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= want) return i < 10000 ? (i + 1) / 100 : 100 + (i - 10000) + 1;
    }
    return this.max;
  }
}

/** Messages from the subscriber children to the broker process. */
export type SubMessage =
  | { type: "connected"; count: number }
  | {
      type: "report";
      complete: boolean;
      received: number;
      hist: [number, number][];
      max: number;
      lastReceive: number;
      rss: number;
    };

/** Messages from the author child to the broker process. */
export type AuthorMessage =
  | { type: "warmed" }
  | { type: "done"; firstSend: number; lastAck: number; acks: number; naks: number; failures: number };

/** Messages from the broker process to a child. */
export type ParentMessage = { type: "go" } | { type: "report" } | { type: "stop" };
