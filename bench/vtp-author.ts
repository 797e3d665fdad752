/**
 * Child process of bench/vtp.ts: the author, publishing to the broker's receiver.
 *
 *   --port P --mode oneshot|persistent --events M --warmup W
 *   --concurrency C   (oneshot: C senders, each one connection per event, as comet-sendvo)
 *   --window K        (persistent: one connection, up to K events awaiting their ack)
 *   --rate R          at most R events/s (0 = as fast as acks come back), to measure latency below saturation
 *
 * Sends W warm-up events, says "warmed", waits for "go", then sends M events
 * and reports when the last ack is in.
 */
import { FramedConnection } from "../src/vtp/connection";
import { sendEvent } from "../src/vtp/sender";
import { openSocket } from "../src/vtp/tls";
import { type AuthorMessage, EventFactory, intArg, now, type ParentMessage, parseArgs } from "./vtp-common";

const args = parseArgs(process.argv.slice(2));
const port = intArg(args, "port", 8098);
const mode = args.get("mode") ?? "oneshot";
const events = intArg(args, "events", 1000);
const warmup = intArg(args, "warmup", 0);
const concurrency = Math.max(1, intArg(args, "concurrency", 1));
const window = Math.max(1, intArg(args, "window", 32));
const rate = intArg(args, "rate", 0);

const factory = new EventFactory();
const tally = { acks: 0, naks: 0, failures: 0 };

function send(msg: AuthorMessage): void {
  process.send?.(msg);
}

/** With --rate: when event `seq` of a run that started at `t0` with event `from` is due. */
function due(t0: number, from: number, seq: number): number {
  return rate > 0 ? t0 + ((seq - from) * 1000) / rate : 0;
}

function sleepUntil(t: number): Promise<void> {
  const ms = t - now();
  return ms > 0.5 ? new Promise((r) => setTimeout(r, Math.floor(ms))) : Promise.resolve();
}

/** Sends events [from, to) with one connection each, `concurrency` at a time. */
async function oneshot(from: number, to: number): Promise<void> {
  let next = from;
  const t0 = now();
  const worker = async (): Promise<void> => {
    while (next < to) {
      const seq = next++;
      await sleepUntil(due(t0, from, seq));
      try {
        const r = await sendEvent({
          host: "127.0.0.1",
          port,
          payload: factory.make(seq),
          retries: 0,
          timeoutMs: 60000,
        });
        if (r.reply === "ack") tally.acks++;
        else tally.naks++;
      } catch (err) {
        tally.failures++;
        if (tally.failures <= 5)
          console.error(`send ${seq}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

let conn: FramedConnection | null = null;

/** Sends events [from, to) on one connection, keeping up to `window` unacknowledged. */
async function persistent(from: number, to: number): Promise<void> {
  if (conn === null) conn = new FramedConnection(await openSocket({ host: "127.0.0.1", port }));
  const c = conn;
  await new Promise<void>((resolve, reject) => {
    let next = from;
    let answered = from;
    const t0 = now();
    let timer: NodeJS.Timeout | null = null;
    const pump = (): void => {
      while (next < to && next - answered < window) {
        const wait = due(t0, from, next) - now();
        if (wait > 0.5) {
          if (timer === null) {
            timer = setTimeout(() => {
              timer = null;
              pump();
            }, Math.floor(wait));
          }
          return;
        }
        c.send(factory.make(next++));
      }
    };
    const onFrame = (reply: Buffer): void => {
      if (reply.includes('role="ack"')) tally.acks++;
      else tally.naks++;
      answered++;
      if (answered === to) {
        c.removeListener("frame", onFrame);
        resolve();
      } else {
        pump();
      }
    };
    c.on("frame", onFrame);
    c.once("close", (reason: string) => {
      if (answered < to) reject(new Error(`connection closed after ${answered - from} replies: ${reason}`));
    });
    c.on("error", () => {});
    pump();
  });
}

async function run(from: number, to: number): Promise<void> {
  if (mode === "persistent") await persistent(from, to);
  else await oneshot(from, to);
}

async function main(): Promise<void> {
  if (warmup > 0) await run(0, warmup);
  const go = new Promise<void>((resolve) =>
    process.on("message", (m: ParentMessage) => {
      if (m.type === "go") resolve();
    }),
  );
  send({ type: "warmed" });
  await go;
  tally.acks = tally.naks = tally.failures = 0;
  const firstSend = now();
  await run(warmup, warmup + events);
  const lastAck = now();
  send({ type: "done", firstSend, lastAck, ...tally });
  conn?.close();
}

process.on("disconnect", () => process.exit(0));
main().catch((err: unknown) => {
  console.error(`author failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
