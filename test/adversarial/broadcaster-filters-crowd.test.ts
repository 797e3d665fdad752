/**
 * Issue 18 point 0: one event's filters bounded across all subscribers. A voevent-broadcaster
 * node in a real Node-RED runtime (test/e2e/harness.ts: a process of its own, the package
 * installed from npm pack), events posted to it over HTTP, with its default cap of 1,000
 * subscribers: 997 hostile ones from 16 source addresses (127.0.0.2 … 127.0.0.17, 63 each,
 * under the 64 per address), each with a filter that uses its whole XPath budget (nested
 * count(following/preceding), or a 2,054-character count(//*|//*|…) of 512 unions), and 3
 * honest ones with ordinary filters, connected last (so that nothing about their order helps
 * them).
 *
 * What an operator checks, while events go through: the runtime's admin API (GET /flows)
 * answers every request within 100 ms; each honest subscriber gets each event within a
 * second of its input; the runtime's memory stays bounded; the hostile subscribers are
 * dropped. Before the per-event budget, each event held the runtime for 1,000 subscribers'
 * budgets, seconds.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import type net from "node:net";
import { type SubscribedEvent, VTPSubscriber } from "../../src/vtp/subscriber";
import { buildAuthenticate } from "../../src/vtp/transport";
import {
  type FlowNode,
  freePort,
  httpRequest,
  INSTALL_TIMEOUT_MS,
  type Runtime,
  startRuntime,
  waitForPort,
} from "../e2e/harness";
import { packetPath } from "../helpers/corpus";
import { HOSTILE_FILTER } from "./hostile-xpath";
import { frameOf, rawConnect, until } from "./net-peers";

const HOSTILE = 997;
const ADDRESSES = 16;
const UNION_FILTER = `count(${Array(512).fill("//*").join("|")})`;
const HONEST_FILTERS = [
  ['//Param[@name="Packet_Type" and @value="61"]'],
  ["//Who/Author[shortName]", '@role="observation"'],
  ["//WhereWhen//Position2D[Error2Radius < 1]"],
];
const EVENTS = 5;
const ADMIN_MS = 100;
const DELIVERY_MS = 1000;
/** The runtime's resident memory may grow this much while the crowd is served. */
const RSS_GROWTH_BYTES = 128 * 1024 * 1024;

function flow(port: number): FlowNode[] {
  const z = "crowd-tab";
  return [
    { id: z, type: "tab", label: "crowd" },
    { id: "crowd-ident", type: "voevent-identity", name: "", localIvo: "ivo://adversarial.test/broker" },
    {
      id: "crowd-in",
      type: "http in",
      z,
      name: "",
      url: "/event",
      method: "post",
      upload: false,
      swaggerDoc: "",
      wires: [["crowd-b"]],
    },
    {
      id: "crowd-b",
      type: "voevent-broadcaster",
      z,
      name: "",
      host: "0.0.0.0",
      port,
      identity: "crowd-ident",
      whitelist: "127.0.0.0/8, ::1",
      iamaliveInterval: 60,
      testInterval: 0,
      monitor: false,
      outputs: 1,
      wires: [["crowd-out"]],
    },
    { id: "crowd-out", type: "http response", z, name: "", statusCode: "", headers: {}, wires: [] },
  ];
}

/** Resident memory of a process, bytes (Linux). */
function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m === null ? 0 : Number(m[1]) * 1024;
}

describe("adversarial: 1,000 subscribers with costly filters against a voevent-broadcaster in a real runtime (issue 18 point 0)", function () {
  this.timeout(INSTALL_TIMEOUT_MS + 180_000);
  let rt: Runtime | undefined;
  let port = 0;
  const sockets: net.Socket[] = [];
  const honest: VTPSubscriber[] = [];

  before(async () => {
    port = await freePort();
    rt = await startRuntime({ flows: flow(port) });
    await rt.waitForLog(/Started flows/, 30_000);
    await waitForPort(port);
  });
  after(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(honest.splice(0).map((s) => s.close()));
    await rt?.stop();
  });

  it("the admin API answers within 100 ms, honest subscribers get each event within a second, memory stays bounded", async () => {
    const runtime = rt!;
    // The hostile crowd: raw sockets from 16 addresses that answer the broker's authenticate
    // with their filter and then read (and ignore) everything.
    let closed = 0;
    const connecting: Promise<void>[] = [];
    for (let i = 0; i < HOSTILE; i++) {
      const from = `127.0.0.${2 + (i % ADDRESSES)}`;
      const filter = i % 2 === 0 ? HOSTILE_FILTER : UNION_FILTER;
      connecting.push(
        (async () => {
          const socket = await rawConnect(port, from);
          sockets.push(socket);
          socket.once("close", () => closed++);
          await once(socket, "data"); // the broker's authenticate: it has taken us on
          socket.resume();
          socket.write(
            frameOf(
              buildAuthenticate("ivo://adversarial.test/broker", `ivo://adversarial.test/hostile-${i}`, [
                filter,
              ]),
            ),
          );
        })(),
      );
      if (connecting.length === 100) await Promise.all(connecting.splice(0));
    }
    await Promise.all(connecting);
    assert.equal(closed, 0, "every hostile subscriber was taken on");

    // The honest subscribers, last.
    const received: Map<string, number>[] = [];
    for (const filters of HONEST_FILTERS) {
      const sub = new VTPSubscriber({
        host: "127.0.0.1",
        port,
        localIvo: "ivo://adversarial.test/honest",
        filters,
      });
      const got = new Map<string, number>();
      sub.on("event", (ev: SubscribedEvent) => got.set(ev.voevent.ivorn, performance.now()));
      sub.on("warning", () => {});
      sub.on("error", () => {});
      sub.start();
      honest.push(sub);
      received.push(got);
    }
    // Connected now: the broadcaster logs each subscriber coming and going (waitForPort's probe too).
    const connectedNow = () =>
      (runtime.logs().match(/subscriber \S+ connected/g)?.length ?? 0) -
      (runtime.logs().match(/subscriber \S+ left/g)?.length ?? 0);
    await until(() => connectedNow() === HOSTILE + HONEST_FILTERS.length, 30_000, "1,000 subscribers");
    await new Promise((r) => setTimeout(r, 1000)); // the last filters arrive with their authenticate

    // The admin API, asked again and again from now on: first for two seconds with the crowd
    // connected and no event (what this machine gives at best: its worst is allowed on top of
    // the 100 ms, so that a machine busy with other work does not fail the test), then while
    // the events go through.
    const adminMs: number[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const t0 = performance.now();
        const res = await httpRequest(`${runtime.url}flows`, { headers: { Accept: "application/json" } });
        adminMs.push(performance.now() - t0);
        assert.equal(res.status, 200);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await new Promise((r) => setTimeout(r, 2000));
    const idleMs = Math.max(...adminMs);
    adminMs.length = 0;

    const pid = runtime.process.pid!;
    const rssBefore = rssOf(pid);
    let rssMax = rssBefore;
    const text = readFileSync(packetPath("gwcelery__swift_grb_gcn.xml"), "utf8");
    const IVORN = "ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_1123129-022";
    const delays: number[][] = [];
    try {
      for (let e = 0; e < EVENTS; e++) {
        const ivorn = `${IVORN}-crowd-${e}`;
        const t0 = performance.now();
        const res = await httpRequest(runtime.httpUrl("/event"), {
          method: "POST",
          body: text.replace(IVORN, ivorn),
          headers: { "Content-Type": "text/plain" },
        });
        assert.equal(res.status, 200, res.body);
        await until(
          () => received.every((got) => got.has(ivorn)),
          10_000,
          `event ${e + 1} at every honest subscriber`,
        );
        delays.push(received.map((got) => (got.get(ivorn) ?? Number.NaN) - t0));
        rssMax = Math.max(rssMax, rssOf(pid));
        await new Promise((r) => setTimeout(r, 300));
      }
    } finally {
      polling = false;
      await poller;
    }

    const worstAdmin = Math.max(...adminMs);
    const worstDelivery = Math.max(...delays.flat());
    console.log(
      `      GET /flows: ${adminMs.length} requests, worst ${worstAdmin.toFixed(0)} ms (with no event: ${idleMs.toFixed(0)} ms); honest delivery worst ${worstDelivery.toFixed(0)} ms (per event: ${delays.map((d) => Math.max(...d).toFixed(0)).join(", ")}); runtime RSS +${((rssMax - rssBefore) / 1048576).toFixed(1)} MiB; hostile dropped ${closed}`,
    );
    assert.ok(
      worstAdmin < ADMIN_MS + idleMs,
      `the admin API took ${worstAdmin.toFixed(0)} ms (limit ${ADMIN_MS} ms, plus ${idleMs.toFixed(0)} ms at worst with no event)`,
    );
    assert.ok(
      worstDelivery < DELIVERY_MS,
      `an honest subscriber got an event ${worstDelivery.toFixed(0)} ms after its input`,
    );
    assert.ok(rssMax - rssBefore < RSS_GROWTH_BYTES, `the runtime grew by ${rssMax - rssBefore} bytes`);
    // The hostile subscribers are dropped (maxBudgetOverruns events in a row over their share).
    await until(() => closed === HOSTILE, 10_000, `the crowd dropped (${closed} of ${HOSTILE})`);
    assert.match(runtime.logs(), /maxBudgetOverruns 3/);
  });
});
