/**
 * The monitor's cost per event and its memory: `npx tsx --expose-gc bench/monitor.ts [events]`.
 *
 * Adds `events` (default 100,000) distinct Fermi GBM events (the shipped sample, a fresh
 * IVORN and XML copy each) to a MonitorStore keeping 500, with two Param columns, and prints
 * the rate (summary, projection and error-circle outline included) and the heap after
 * 10,000 and after all events (with --expose-gc, after a full collection).
 */
import { MonitorStore } from "../src/monitor/events";
import { readSample } from "../src/monitor/try";
import { parseVOEvent } from "../src/voevent/parse";

const total = Number(process.argv[2] ?? 100_000);
const xml = readSample("fermi-gbm-position") ?? "";
const base = parseVOEvent(xml);
const gc = (globalThis as { gc?: () => void }).gc;
const heapMB = () => {
  gc?.();
  return (process.memoryUsage().heapUsed / 1048576).toFixed(1);
};

const store = new MonitorStore({ max: 500, params: ["Packet_Type", "Sun_Distance"] });
const start = process.hrtime.bigint();
let at10k = "";
for (let i = 0; i < total; i++) {
  store.add(
    { ...base.voevent, ivorn: `${base.voevent.ivorn}-${i}` },
    xml.replace("GBM_Fin_Pos", `GBM_Fin_Pos${i}`),
  );
  if (i === 9_999) at10k = heapMB();
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
console.log(`node ${process.version}, ${total} events into a monitor keeping ${store.max}`);
console.log(
  `rate: ${Math.round(total / seconds)} events/s (${((seconds / total) * 1e6).toFixed(1)} µs per event)`,
);
console.log(
  `heap: ${at10k} MB after 10,000 events, ${heapMB()} MB after ${total}${gc ? "" : " (no --expose-gc: not collected)"}`,
);
console.log(`kept: ${store.size}`);
