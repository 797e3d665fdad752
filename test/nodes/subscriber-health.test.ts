/**
 * voevent-subscriber feed health: the status counts events, the optional second output
 * reports connect / silent / resumed / disconnect (a real VTPBroadcaster as the broker,
 * a silence alarm of one second), and the runtime's feed list sees the subscriber.
 */
import assert from "node:assert/strict";
import { feeds } from "../../src/monitor/feeds";
import { VTPBroadcaster } from "../../src/vtp/broadcaster";
import {
  collect,
  type FlowNode,
  getNode,
  loadFlow,
  type Msg,
  statusHistory,
  useNodeRed,
  waitUntil,
} from "../helpers/nodered";
import { freePort, identityNode, packet } from "./network-helpers";

const TYPES = ["voevent-subscriber", "voevent-identity"];

function flow(port: number, props: Record<string, unknown>): FlowNode[] {
  return [
    identityNode(),
    {
      id: "s",
      type: "voevent-subscriber",
      name: "test feed",
      host: "127.0.0.1",
      port,
      identity: "ident",
      brokerFilters: [],
      tls: "",
      watchdog: 150,
      maxBackoff: 60,
      ...props,
      wires: [["out"], ["health"]],
    },
    { id: "out", type: "helper" },
    { id: "health", type: "helper" },
  ];
}

const reasons = (msgs: Msg[]) => msgs.map((m) => (m.payload as { reason: string }).reason);

describe("voevent-subscriber feed health", () => {
  useNodeRed();
  let broker: VTPBroadcaster | undefined;
  afterEach(async () => {
    await broker?.close();
    broker = undefined;
  });

  it("reports connect, silent after the silence time, resumed with the next event, and disconnect", async function () {
    this.timeout(20_000);
    const port = await freePort();
    broker = new VTPBroadcaster({ host: "127.0.0.1", port, localIvo: "ivo://test.example/broker" });
    await broker.listen();
    await loadFlow(TYPES, flow(port, { health: true, silence: 1, silenceUnits: "seconds", outputs: 2 }));
    const out = collect("out");
    const health = collect("health");
    await waitUntil(() => broker!.count === 1, 5000, "subscribed");
    await waitUntil(() => health.length >= 1, 5000, "connect report");
    assert.deepEqual(reasons(health), ["connect"]);
    assert.equal(health[0].topic, "voevent/health");
    const first = health[0].payload as { state: string; peer: string; counts: { events: number } };
    assert.equal(first.state, "connected");
    assert.equal(first.peer, `127.0.0.1:${port}`);
    assert.equal(first.counts.events, 0);

    // iamalive is not an event: a broker that only says it is alive is silent.
    await waitUntil(() => health.length >= 2, 5000, "silent report");
    assert.deepEqual(reasons(health), ["connect", "silent"]);
    assert.ok((health[1].payload as { silentMs: number }).silentMs >= 900);

    broker.broadcast(packet({ stream: "ivo://test.example/stream", id: "health-1" }));
    await waitUntil(() => out.length === 1 && health.length >= 3, 5000, "event and resumed report");
    assert.deepEqual(reasons(health), ["connect", "silent", "resumed"]);
    assert.equal((health[2].payload as { counts: { events: number } }).counts.events, 1);
    // The event went to the first output only.
    assert.equal(out[0].topic, "voevent/test.example/stream");

    const status = statusHistory("s").at(-1)?.text ?? "";
    assert.match(status, /^connected · 1 events · last \d+ s ago$/);
    const listed = feeds.list().find((f) => f.id === "s");
    assert.ok(listed, "the subscriber is in the feed list");
    assert.equal(listed.role, "subscriber");
    assert.equal(listed.state, "connected");
    assert.equal(listed.events, 1);
    assert.equal(listed.eventsLastHour, 1);

    await broker.close();
    broker = undefined;
    await waitUntil(() => reasons(health).includes("disconnect"), 5000, "disconnect report");
    // Silent again later: the alarm is re-armed by the event.
    await waitUntil(() => reasons(health).filter((r) => r === "silent").length === 2, 5000, "second silence");
  });

  it("sends nothing on a second output when the health output is off, and leaves the feed list on close", async () => {
    const port = await freePort();
    broker = new VTPBroadcaster({ host: "127.0.0.1", port, localIvo: "ivo://test.example/broker" });
    await broker.listen();
    await loadFlow(TYPES, flow(port, { health: false, silence: 0.2, silenceUnits: "seconds" }));
    const health = collect("health");
    await waitUntil(() => broker!.count === 1, 5000, "subscribed");
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(health.length, 0);
    assert.ok(feeds.list().some((f) => f.id === "s"));
    await getNode("s").close(true);
    assert.ok(!feeds.list().some((f) => f.id === "s"), "gone from the feed list after close");
  });
});
