/**
 * One event's filtering across all subscribers (src/vtp/filter-runs.ts, issue 18 point 0),
 * on a real VTPBroadcaster over loopback, with a small `eventFilterBudget` so that a few
 * dozen subscribers show what a thousand would: the hostile ones share the event's budget
 * and are dropped naming it, the honest ones (connected last) get every event, the work per
 * event stays within the budget, events wait in order, and the backlog is bounded.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import net from "node:net";
import { VTPBroadcaster } from "../../src/vtp/broadcaster";
import type { FilterRunReport } from "../../src/vtp/filter-runs";
import { encodeFrame } from "../../src/vtp/framing";
import { type SubscribedEvent, VTPSubscriber } from "../../src/vtp/subscriber";
import { buildAuthenticate } from "../../src/vtp/transport";
import { HOSTILE_FILTER } from "../adversarial/hostile-xpath";
import { packetPath } from "../helpers/corpus";

const LOCAL = "ivo://filter-runs.test/broker";
const IVORN = "ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_1123129-022";

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A raw subscriber that answers the broker's authenticate with `filter` and reads everything. */
async function rawSubscriber(port: number, filter: string): Promise<net.Socket> {
  const socket = net.connect({ host: "127.0.0.1", port });
  socket.on("error", () => {});
  await once(socket, "data");
  socket.resume();
  socket.write(encodeFrame(buildAuthenticate(LOCAL, "ivo://filter-runs.test/hostile", [filter])));
  return socket;
}

describe("vtp: one event's filtering bounded across all subscribers (issue 18 point 0)", function () {
  this.timeout(60_000);
  const text = readFileSync(packetPath("gwcelery__swift_grb_gcn.xml"), "utf8");
  const event = (i: number) => text.replace(IVORN, `${IVORN}-${i}`);
  let b: VTPBroadcaster;
  const sockets: net.Socket[] = [];
  const subs: VTPSubscriber[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(subs.splice(0).map((s) => s.close()));
    await b?.close();
  });

  it("hostile subscribers share the event's budget and are dropped; honest ones get every event", async () => {
    const EVENT_BUDGET = 200_000;
    b = new VTPBroadcaster({ host: "127.0.0.1", port: 0, localIvo: LOCAL, eventFilterBudget: EVENT_BUDGET });
    const reports: { message: string }[] = [];
    const drops: { reason: string }[] = [];
    const runs: FilterRunReport[] = [];
    b.on("filter-budget", (r: { message: string }) => reports.push(r));
    b.on("filter-drop", (d: { reason: string }) => drops.push(d));
    b.on("filter-run", (r: FilterRunReport) => runs.push(r));
    b.on("warning", () => {});
    const { port } = await b.listen();
    for (let i = 0; i < 40; i++) sockets.push(await rawSubscriber(port, HOSTILE_FILTER));
    const got: string[][] = [];
    for (const filters of [['//Param[@name="Packet_Type" and @value="61"]'], ['@role="observation"']]) {
      const sub = new VTPSubscriber({
        host: "127.0.0.1",
        port,
        localIvo: "ivo://filter-runs.test/honest",
        filters,
      });
      const mine: string[] = [];
      sub.on("event", (ev: SubscribedEvent) => mine.push(ev.voevent.ivorn));
      sub.on("warning", () => {});
      sub.start();
      subs.push(sub);
      got.push(mine);
    }
    await until(
      () => b.subscribers.filter((s) => s.filters.length > 0).length === 42,
      "42 filtered subscribers",
    );

    for (let i = 0; i < 4; i++) {
      b.broadcast(event(i));
      await until(() => b.filterBacklog === 0, `event ${i} filtered`);
    }
    await until(() => got.every((g) => g.length === 4), "every event at both honest subscribers");
    for (const g of got)
      assert.deepEqual(
        g,
        [0, 1, 2, 3].map((i) => `${IVORN}-${i}`),
      );
    // Each hostile subscriber got a share of the event's budget (200,000 / 42), not its own 200,000.
    assert.equal(reports.length, 40);
    assert.match(
      reports[0].message,
      /share \(\d+ steps\) of the event's filter budget \(eventFilterBudget 200000/,
    );
    await until(() => drops.length === 40, "the 40 hostile subscribers dropped");
    assert.match(drops[0].reason, /maxBudgetOverruns 3/);
    await until(() => b.count === 2, "only the honest subscribers left");
    for (const r of runs) assert.ok(r.units <= EVENT_BUDGET * 1.1, `an event used ${r.units} units`);
  });

  it("events wait in order, at most maxFilterBacklog of them", async () => {
    b = new VTPBroadcaster({
      host: "127.0.0.1",
      port: 0,
      localIvo: LOCAL,
      filterSliceMs: 1,
      maxFilterBacklog: 3,
      maxBudgetOverruns: 100,
    });
    const warnings: string[] = [];
    b.on("warning", (w: { message: string }) => warnings.push(w.message));
    b.on("filter-budget", () => {});
    const { port } = await b.listen();
    for (let i = 0; i < 10; i++) sockets.push(await rawSubscriber(port, HOSTILE_FILTER));
    const sub = new VTPSubscriber({ host: "127.0.0.1", port, localIvo: "ivo://x/honest", filters: ["/*"] });
    const mine: string[] = [];
    sub.on("event", (ev: SubscribedEvent) => mine.push(ev.voevent.ivorn));
    sub.on("warning", () => {});
    sub.start();
    subs.push(sub);
    await until(
      () => b.subscribers.filter((s) => s.filters.length > 0).length === 11,
      "11 filtered subscribers",
    );
    for (let i = 0; i < 5; i++) b.broadcast(event(i));
    assert.ok(b.filterBacklog <= 3, `${b.filterBacklog} events waiting`);
    assert.equal(warnings.filter((w) => /maxFilterBacklog 3/.test(w)).length, 2);
    await until(() => b.filterBacklog === 0, "the backlog filtered");
    await until(() => mine.length === 3, "three events at the honest subscriber");
    assert.deepEqual(
      mine,
      [0, 1, 2].map((i) => `${IVORN}-${i}`),
    );
  });
});
