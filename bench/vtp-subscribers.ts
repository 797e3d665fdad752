/**
 * Child process of bench/vtp.ts: N subscribers of the broker under test.
 *
 *   --port P --count N --client real|raw --events M --warmup W
 *
 * `real`: N VTPSubscriber instances (full parse of every event, as a user's
 * flow gets them). `raw`: N bare sockets that frame-decode, answer
 * authenticate/iamalive and ack each event with the same Transport messages,
 * without parsing the XML: cheap enough that 1,000 of them fit in one process,
 * so the broker, not the clients, is what gets measured.
 *
 * Each event's latency is (receive time − the send time the author wrote into
 * it). Reports to the parent when every subscriber has its M measured events,
 * or when asked.
 */
import net from "node:net";
import { encodeFrame, FrameDecoder } from "../src/vtp/framing";
import { VTPSubscriber } from "../src/vtp/subscriber";
import { buildAck, buildAuthenticate, buildIamalive } from "../src/vtp/transport";
import {
  benchStamp,
  Histogram,
  intArg,
  now,
  type ParentMessage,
  parseArgs,
  type SubMessage,
} from "./vtp-common";

const args = parseArgs(process.argv.slice(2));
const port = intArg(args, "port", 0);
const count = intArg(args, "count", 1);
const events = intArg(args, "events", 1000);
const warmup = intArg(args, "warmup", 0);
const client = args.get("client") ?? "raw";
const LOCAL = "ivo://bench.subscriber/vtp";

const hist = new Histogram();
const received = new Uint32Array(count);
let complete = 0;
let lastReceive = 0;
let reported = false;
const closers: (() => void)[] = [];

function send(msg: SubMessage): void {
  process.send?.(msg);
}

function report(): void {
  send({
    type: "report",
    complete: complete === count,
    received: received.reduce((a, b) => a + b, 0),
    hist: hist.toSparse(),
    max: hist.max,
    lastReceive,
    rss: process.memoryUsage().rss,
  });
}

/** One event arrived at subscriber `i`, with these bytes. */
function onEvent(i: number, bytes: Buffer): void {
  const t = now();
  const stamp = benchStamp(bytes);
  if (stamp === null || stamp.seq < warmup) return;
  hist.add(t - stamp.sent);
  lastReceive = t;
  if (++received[i]! === events) {
    complete++;
    if (complete === count && !reported) {
      reported = true;
      report();
    }
  }
}

const ROLE_IAMALIVE = Buffer.from('role="iamalive"');
const ROLE_AUTH = Buffer.from('role="authenticate"');
const IVORN = Buffer.from('ivorn="');

function originOf(frame: Buffer): string {
  const a = frame.indexOf("<Origin>");
  const b = frame.indexOf("</Origin>");
  return a < 0 || b < 0 ? "" : frame.toString("utf8", a + 8, b);
}

function rawSubscriber(i: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.setNoDelay(true);
    // Acks written in one loop turn go out in one system call.
    let corked = false;
    const write = (frame: Buffer): void => {
      if (!corked) {
        corked = true;
        socket.cork();
        setImmediate(() => {
          corked = false;
          socket.uncork();
        });
      }
      socket.write(frame);
    };
    const decoder = new FrameDecoder({
      maxBytes: 1 << 24,
      onFrame: (frame) => {
        // Transport messages from the broker are small: look for their role only there.
        if (frame.length < 2000) {
          if (frame.indexOf(ROLE_IAMALIVE) >= 0) {
            write(encodeFrame(buildIamalive(originOf(frame), LOCAL)));
            return;
          }
          if (frame.indexOf(ROLE_AUTH) >= 0) {
            write(encodeFrame(buildAuthenticate(originOf(frame), LOCAL)));
            return;
          }
        }
        const a = frame.indexOf(IVORN);
        const ivorn =
          a < 0 ? "" : frame.toString("utf8", a + IVORN.length, frame.indexOf(34, a + IVORN.length));
        write(encodeFrame(buildAck(ivorn, LOCAL)));
        onEvent(i, frame);
      },
      onError: (err) => {
        console.error(`raw subscriber ${i}: ${err.message}`);
        socket.destroy();
      },
    });
    socket.on("data", (chunk: Buffer) => decoder.push(chunk));
    socket.on("error", (err) => reject(err));
    socket.on("close", () => {
      if (!reported) console.error(`raw subscriber ${i} disconnected after ${received[i]} events`);
    });
    socket.once("connect", () => resolve());
    closers.push(() => socket.destroy());
  });
}

function realSubscriber(i: number): Promise<void> {
  return new Promise((resolve) => {
    const sub = new VTPSubscriber({ host: "127.0.0.1", port, localIvo: LOCAL, backoff: { initialMs: 100 } });
    sub.on("event", (e) => onEvent(i, e.bytes));
    sub.on("disconnect", (d) => {
      if (!reported) console.error(`subscriber ${i} disconnected: ${d.reason}`);
    });
    sub.once("connect", () => resolve());
    sub.start();
    closers.push(() => void sub.close());
  });
}

async function main(): Promise<void> {
  // Connect in batches: the broker's accept backlog is finite.
  for (let i = 0; i < count; i += 50) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(count, i + 50); j++) {
      batch.push(client === "real" ? realSubscriber(j) : rawSubscriber(j));
    }
    await Promise.all(batch);
  }
  send({ type: "connected", count });
}

process.on("message", (msg: ParentMessage) => {
  if (msg.type === "report") report();
  if (msg.type === "stop") {
    for (const c of closers) c();
    setTimeout(() => process.exit(0), 200).unref();
  }
});
process.on("disconnect", () => process.exit(0));

main().catch((err: unknown) => {
  console.error(`subscribers failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
