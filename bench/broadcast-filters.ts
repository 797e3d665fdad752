/**
 * What one event's filtering costs a broadcaster with 1,000 filtered subscribers (issue 18
 * point 0), over loopback in this process:
 *   (a) honest: 1,000 subscribers, each with an ordinary filter (the filters of the README and
 *       examples, in turn), a corpus GCN notice broadcast again and again: ms per event, from
 *       broadcast() until the last subscriber's filters are evaluated (after broadcast() returns
 *       when filtering goes on in later turns), and the longest the event loop was held;
 *   (b) hostile: 1,000 subscribers each with a filter that uses its whole budget (nested
 *       count(following/preceding), or count(//*|…) of 512 unions): the same figures for the
 *       first events, before the subscribers are dropped.
 * Median of the events after two warm-up events. Run: npx tsx bench/broadcast-filters.ts [events, default 20]
 */
import { once } from "node:events";
import { readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { VTPBroadcaster } from "../src/vtp/broadcaster";
import { encodeFrame } from "../src/vtp/framing";
import { buildAuthenticate } from "../src/vtp/transport";

const EVENTS = Number(process.argv[2] ?? 20);
const SUBSCRIBERS = 1000;
const ORDINARY = [
  '//Param[@name="Packet_Type" and @value="61"]',
  '//Who/Author[contactName="KSK"]',
  '/*[@role="observation"]',
  '//Param[@name="Sun_Distance" and @value > 40]',
  "//WhereWhen//Position2D[Error2Radius < 1]",
];
const HOSTILE = [
  "//*[count(following::*[count(preceding::*[count(following::*[count(preceding::*) > 1]) > 1]) > 0]) > 0]",
  `count(${Array(512).fill("//*").join("|")})`,
];

function packet(): string {
  const corpus = path.resolve(__dirname, "../../shared/corpus/packets/gwcelery__swift_grb_gcn.xml");
  return readFileSync(corpus, "utf8");
}

async function crowd(port: number, filters: readonly string[]): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  for (let i = 0; i < SUBSCRIBERS; i += 50) {
    const batch: Promise<net.Socket>[] = [];
    for (let j = i; j < Math.min(SUBSCRIBERS, i + 50); j++) {
      batch.push(
        (async () => {
          const socket = net.connect({ host: "127.0.0.1", port, localAddress: `127.0.0.${2 + (j % 16)}` });
          socket.on("error", () => {});
          await once(socket, "data");
          socket.resume();
          socket.write(
            encodeFrame(
              buildAuthenticate("ivo://bench/broker", `ivo://bench/sub-${j}`, [filters[j % filters.length]]),
            ),
          );
          return socket;
        })(),
      );
    }
    sockets.push(...(await Promise.all(batch)));
  }
  return sockets;
}

/** Resolves when no event is waiting for its filters (an older broadcaster has no backlog). */
async function filtered(b: VTPBroadcaster): Promise<void> {
  const backlog = () => (b as unknown as { filterBacklog?: number }).filterBacklog ?? 0;
  while (backlog() > 0) await new Promise((r) => setTimeout(r, 1));
}

async function scenario(name: string, filters: readonly string[], events: number): Promise<void> {
  const b = new VTPBroadcaster({ host: "127.0.0.1", port: 0, localIvo: "ivo://bench/broker" });
  b.on("warning", () => {});
  b.on("filter-budget", () => {});
  b.on("filter-drop", () => {});
  const { port } = await b.listen();
  const sockets = await crowd(port, filters);
  await new Promise((r) => setTimeout(r, 500));
  const text = packet();
  const IVORN = "ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_1123129-022";
  const total: number[] = [];
  const sync: number[] = [];
  const held: number[] = [];
  const reached: number[] = [];
  for (let e = 0; e < events; e++) {
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const t0 = performance.now();
    const sent = b.broadcast(text.replace(IVORN, `${IVORN}-${e}`));
    sync.push(performance.now() - t0);
    await filtered(b);
    total.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 20));
    h.disable();
    held.push(Math.max(h.max / 1e6, sync[sync.length - 1]));
    reached.push(sent);
    await new Promise((r) => setTimeout(r, 50));
  }
  const med = (xs: number[]) => {
    const s = xs.slice(2).sort((a, c) => a - c);
    return s[Math.floor(s.length / 2)] ?? Number.NaN;
  };
  console.log(
    `${name}: ${SUBSCRIBERS} subscribers, ${events} events: per event ${med(total).toFixed(1)} ms in all (median; first three ${total
      .slice(0, 3)
      .map((x) => x.toFixed(0))
      .join(
        ", ",
      )}), broadcast() itself ${med(sync).toFixed(1)} ms, loop held at most ${Math.max(...held).toFixed(0)} ms; subscribers left ${b.count}`,
  );
  for (const s of sockets) s.destroy();
  await b.close();
}

async function main(): Promise<void> {
  await scenario("honest (ordinary filters)", ORDINARY, EVENTS);
  await scenario("hostile (budget-eating filters)", HOSTILE, 5);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
