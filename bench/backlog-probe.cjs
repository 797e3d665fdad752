/**
 * Where a backlog waits inside a Node.js process: loaded with `node --require` (bench/flow.ts
 * --probe bench/backlog-probe.cjs), it samples every 100 ms the immediates waiting (Node-RED
 * delivers each message between nodes with setImmediate), the timers, the bytes waiting in TCP
 * sockets (written and not yet taken by the kernel; read and not yet consumed) and the heap, and
 * appends one line per sample (only while something waits) to $VOEVENT_PROBE_OUT
 * (default /tmp/backlog-probe.log), then the maxima at exit. With VOEVENT_PROBE_GC=1 it also
 * collects garbage once a second and logs the heap that is still live: what waits, not what
 * V8 has not yet collected.
 *
 * Decisions:
 * - process.getActiveResourcesInfo() lists one "Immediate" per immediate waiting, so its count
 *   is Node-RED's delivery queue between nodes (plus any other immediates: few).
 * - Sockets from process._getActiveHandles() (undocumented, stable since Node 0.x): a bench
 *   tool, not shipped.
 */
const fs = require("node:fs");
const net = require("node:net");

const out = process.env.VOEVENT_PROBE_OUT || "/tmp/backlog-probe.log";
const max = { immediates: 0, timers: 0, written: 0, unread: 0, heap: 0, rss: 0 };
const lines = [];
let gc = null;
if (process.env.VOEVENT_PROBE_GC === "1") {
  require("node:v8").setFlagsFromString("--expose-gc");
  gc = require("node:vm").runInNewContext("gc");
  max.live = 0;
  const gcTimer = setInterval(() => {
    gc();
    const live = process.memoryUsage().heapUsed;
    max.live = Math.max(max.live, live);
    lines.push(`${new Date().toISOString()} after gc: live heap ${(live / 1e6).toFixed(0)} MB`);
  }, 1000);
  gcTimer.unref();
}

const timer = setInterval(() => {
  let immediates = 0;
  let timers = 0;
  for (const r of process.getActiveResourcesInfo()) {
    if (r === "Immediate") immediates++;
    else if (r === "Timeout") timers++;
  }
  let written = 0;
  let unread = 0;
  for (const h of process._getActiveHandles()) {
    if (h instanceof net.Socket) {
      written += h.writableLength;
      unread += h.readableLength;
    }
  }
  const m = process.memoryUsage();
  const sample = { immediates, timers, written, unread, heap: m.heapUsed, rss: m.rss };
  for (const k of Object.keys(sample)) max[k] = Math.max(max[k], sample[k]);
  if (immediates > 2 || written > 65536) {
    lines.push(
      `${new Date().toISOString()} immediates ${immediates} timers ${timers} written ${written} unread ${unread} heap ${(m.heapUsed / 1e6).toFixed(0)} MB rss ${(m.rss / 1e6).toFixed(0)} MB`,
    );
  }
  if (lines.length >= 20) fs.appendFileSync(out, `${lines.splice(0).join("\n")}\n`);
}, 100);
timer.unref();

function finish() {
  fs.appendFileSync(out, `${lines.splice(0).join("\n")}\nmax ${JSON.stringify(max)}\n`);
}
process.on("exit", finish);
process.on("SIGTERM", () => {
  finish();
  process.exit(0);
});
