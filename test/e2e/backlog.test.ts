/**
 * Issue 16 (operators' point), end to end: the broker example in a real Node-RED runtime (the
 * packed package, the runtime's own RED.hooks) with a function node between receiver and dedupe
 * that holds each message 0.5 s, as a node waiting on a slow service does. One author pushes
 * real packets as fast as its acks come back.
 *
 * What a user checks: the function node never holds more messages than the receiver's
 * `maxBacklog` (before the bound it held as many as the author sent in the meantime:
 * hundreds), the receiver logs that the author was paused, every event is acked, and the
 * subscriber gets every event exactly once (before, the burst the slow stage let go could
 * overflow the subscriber's queue and get it dropped).
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { FramedConnection } from "../../src/vtp/connection";
import { type SubscribedEvent, VTPSubscriber } from "../../src/vtp/subscriber";
import { describeCorpus, readPacket } from "../helpers/corpus";
import { functionNode, readExample } from "./flows";
import { delay, type FlowNode, freePort, INSTALL_TIMEOUT_MS, type Runtime, startRuntime } from "./harness";

const MAX_BACKLOG = 100;
const EVENTS = 600;
const PACKET = "voeventdb__BAT_GRB_Pos_655721-214.xml";
const LOCAL_ID = "BAT_GRB_Pos_655721-214";

/** Counts the messages it holds; logs each new highest count that is a multiple of 10. */
const SLOW_FUNCTION = `
const held = (context.get("held") || 0) + 1;
context.set("held", held);
if (held > (context.get("max") || 0)) {
  context.set("max", held);
  if (held % 10 === 0) node.warn("holding " + held);
}
setTimeout(() => {
  context.set("held", context.get("held") - 1);
  node.send(msg);
  node.done();
}, 500);
return null;
`;

/** The broker example, ports moved, maxBacklog set, and the slow function after the receiver. */
function slowBrokerFlow(receiverPort: number, broadcasterPort: number): FlowNode[] {
  const flows = structuredClone(readExample("01-broker.json"));
  let tab = "";
  let dedupe = "";
  for (const node of flows) {
    if (node.type === "voevent-broadcaster") node.port = broadcasterPort;
    if (node.type === "voevent-dedupe") dedupe = node.id;
  }
  for (const node of flows) {
    if (node.type !== "voevent-receiver") continue;
    node.port = receiverPort;
    node.maxBacklog = MAX_BACKLOG;
    node.wires = [["e2e-slow"]];
    tab = String(node.z);
  }
  flows.push(functionNode("e2e-slow", tab, "slow", SLOW_FUNCTION, [[dedupe]]));
  return flows;
}

/** Sends `count` events on one connection, at most 64 ahead of their acks; resolves with the acks. */
async function author(port: number, count: number): Promise<number> {
  const source = readPacket(PACKET).toString("utf8");
  const socket = net.connect({ host: "127.0.0.1", port });
  socket.on("error", () => {});
  await once(socket, "connect");
  const conn = new FramedConnection(socket);
  conn.on("error", () => {});
  let sent = 0;
  let replies = 0;
  let acks = 0;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${replies} of ${count} replies in 120 s`)), 120_000);
    const fill = (): void => {
      while (sent < count && sent - replies < 64)
        conn.send(source.replace(`#${LOCAL_ID}"`, `#${LOCAL_ID}-e2e-${sent++}"`));
    };
    conn.on("frame", (payload: Buffer) => {
      replies++;
      if (/role="ack"/.test(payload.toString("utf8"))) acks++;
      if (replies === count) {
        clearTimeout(timer);
        conn.close("done");
        resolve(acks);
      } else fill();
    });
    conn.once("close", (reason: string) => {
      if (replies < count) {
        clearTimeout(timer);
        reject(new Error(`closed after ${replies} replies: ${reason}`));
      }
    });
    fill();
  });
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

describeCorpus("e2e: the receiver's backlog behind a slow flow is bounded (maxBacklog)", () => {
  let rt: Runtime | undefined;
  let sub: VTPSubscriber | undefined;

  after(async () => {
    await sub?.close();
    await rt?.stop();
  });

  it("the slow node holds at most maxBacklog messages; every event acked and delivered once", async function () {
    this.timeout(INSTALL_TIMEOUT_MS + 180_000);
    const receiverPort = await freePort();
    const broadcasterPort = await freePort();
    rt = await startRuntime({ flows: slowBrokerFlow(receiverPort, broadcasterPort) });
    await rt.waitForLog("Started flows", 30_000);
    sub = new VTPSubscriber({ host: "127.0.0.1", port: broadcasterPort, localIvo: "ivo://e2e.test/sub" });
    const events: SubscribedEvent[] = [];
    sub.on("event", (e: SubscribedEvent) => events.push(e));
    sub.start();
    await until("the subscriber to connect", () => sub?.state === "connected", 15_000);

    assert.equal(await author(receiverPort, EVENTS), EVENTS, "every event acked");
    await until(`${EVENTS} events at the subscriber`, () => events.length >= EVENTS, 30_000);

    const ids = new Set(events.map((e) => e.voevent.ivorn));
    assert.equal(ids.size, EVENTS, "each event delivered once");
    assert.equal(events.length, EVENTS);
    const held = [...rt.logs().matchAll(/holding (\d+)/g)].map((m) => Number(m[1]));
    const most = Math.max(0, ...held);
    assert.ok(most >= 10, "the slow node did hold messages");
    assert.ok(most <= MAX_BACKLOG, `the slow node held ${most} messages at once (maxBacklog ${MAX_BACKLOG})`);
    assert.match(
      rt.logs(),
      /author 127\.0\.0\.1 paused: it has 50 events unfinished by the flow, its share \(half of maxBacklog\)/,
    );
  });
});
