/**
 * Issue 8, end to end: the broker example (01: receiver → dedupe → broadcaster) in a real
 * Node-RED runtime, attacked at both ends at once.
 *
 * - Row 1: an author publishes one frame just under the receiver's 1 MiB limit, made of nested
 *   elements that each declare a fresh namespace prefix. Before the parser's linear namespace
 *   scopes and its depth limit, parsing it took the heap past its limit and killed the runtime.
 * - Row 2: a subscriber asks the broadcaster (Comet's authenticate extension) to filter with a
 *   nested count(following::…[count(preceding::…)]) expression. Before the XPath budget, every
 *   event held the event loop for seconds, and so every other subscriber.
 *
 * What a user checks: the runtime stays up, the hostile frame gets a nak that names the limit,
 * and an honest subscriber still gets every honest event within a second of its publication.
 */
import assert from "node:assert/strict";
import { testAlertModel } from "../../src/voevent/alert";
import { buildVOEvent } from "../../src/voevent/build";
import { sendEvent } from "../../src/vtp/sender";
import { type SubscribedEvent, VTPSubscriber } from "../../src/vtp/subscriber";
import { HOSTILE_FILTER } from "../adversarial/hostile-xpath";
import { readExample } from "./flows";
import { delay, type FlowNode, freePort, INSTALL_TIMEOUT_MS, type Runtime, startRuntime } from "./harness";

const LOCAL_IVO = "ivo://voevent.example/e2e-hostile";
/** Honest events must reach the honest subscriber within this long of being acked. */
const DELIVERY_MS = 1000;
const HONEST_EVENTS = 10;

/** Row 1's frame: nested elements, each declaring a new prefix, `maxBytes` long at most. */
function namespaceBomb(maxBytes: number): string {
  const open: string[] = [];
  const close: string[] = [];
  let size = 0;
  for (let i = 0; ; i++) {
    const tag = `<e xmlns:p${i}="urn:x:${i}">`;
    if (size + tag.length + 4 > maxBytes) break;
    open.push(tag);
    close.push("</e>");
    size += tag.length + 4;
  }
  return open.join("") + close.join("");
}

/** The broker example with its two ports moved to free ones. */
function brokerFlow(receiverPort: number, broadcasterPort: number): FlowNode[] {
  const flows = structuredClone(readExample("01-broker.json"));
  for (const node of flows) {
    if (node.type === "voevent-receiver") node.port = receiverPort;
    if (node.type === "voevent-broadcaster") node.port = broadcasterPort;
  }
  return flows;
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

describe("e2e: the broker example under attack (issue 8 rows 1 and 2)", function () {
  this.timeout(INSTALL_TIMEOUT_MS + 120_000);
  let rt: Runtime | undefined;
  const subscribers: VTPSubscriber[] = [];
  let receiverPort = 0;
  let broadcasterPort = 0;

  before(async () => {
    receiverPort = await freePort();
    broadcasterPort = await freePort();
    rt = await startRuntime({ flows: brokerFlow(receiverPort, broadcasterPort) });
    await rt.waitForLog("Started flows", 30_000);
  });

  after(async () => {
    await Promise.all(subscribers.map((s) => s.close()));
    await rt?.stop();
  });

  function subscribe(filters: string[]): { events: SubscribedEvent[]; sub: VTPSubscriber } {
    const sub = new VTPSubscriber({ host: "127.0.0.1", port: broadcasterPort, localIvo: LOCAL_IVO, filters });
    const events: SubscribedEvent[] = [];
    sub.on("event", (e: SubscribedEvent) => events.push(e));
    subscribers.push(sub);
    sub.start();
    return { events, sub };
  }

  it("stays up, naks the namespace bomb with the limit, and delivers honest events within a second", async () => {
    const honest = subscribe([]);
    const hostile = subscribe([HOSTILE_FILTER]);
    await until(
      "both subscribers to connect",
      () => [honest.sub, hostile.sub].every((s) => s.state === "connected"),
      15_000,
    );

    // Row 1: one frame just under the receiver's 1 MiB limit.
    const bomb = namespaceBomb(1024 * 1024 - 64);
    assert.ok(bomb.length > 900_000, `the frame is ${bomb.length} bytes`);
    const refused = await sendEvent({
      host: "127.0.0.1",
      port: receiverPort,
      payload: bomb,
      timeoutMs: 20_000,
      retries: 0,
    });
    assert.equal(refused.reply, "nak", "the namespace bomb is refused");
    assert.match(String(refused.reason), /depth/i, `the nak names the limit: ${refused.reason}`);

    // Row 2 is live from here: each honest event goes past the hostile subscriber's filter.
    const latencies: number[] = [];
    for (let i = 0; i < HONEST_EVENTS; i++) {
      const xml = buildVOEvent(testAlertModel({ contactName: "KSK" }));
      const ivorn = /ivorn="([^"]+)"/.exec(xml)![1]!;
      const reply = await sendEvent({
        host: "127.0.0.1",
        port: receiverPort,
        payload: xml,
        timeoutMs: 10_000,
      });
      assert.equal(reply.reply, "ack", `event ${i} acked`);
      const acked = Date.now();
      await until(
        `event ${i} at the honest subscriber`,
        () => honest.events.some((e) => e.voevent.ivorn === ivorn),
        10_000,
      );
      latencies.push(Date.now() - acked);
    }
    const worst = Math.max(...latencies);
    assert.ok(
      worst < DELIVERY_MS,
      `every honest event within ${DELIVERY_MS} ms of its ack (worst ${worst} ms: ${latencies.join(", ")})`,
    );
    assert.equal(honest.events.length, HONEST_EVENTS, "the honest subscriber got each event once");

    // The runtime is alive and answers its admin API.
    assert.equal(rt!.process.exitCode, null, "the runtime process is still running");
    const flows = await rt!.getFlows();
    assert.ok(
      flows.some((n) => n.type === "voevent-broadcaster"),
      "the admin API answers with the flow",
    );
  });
});
