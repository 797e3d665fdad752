/**
 * Issue 12: two real Node-RED runtimes (the packed package), each subscribed
 * to the same two VTP brokers of the test, each with a dedupe node on one real
 * redis-server (a password, in credentials), both sending what passes to one
 * collector (a VTP receiver). Every event reaches the collector exactly once;
 * while Redis is stopped events still arrive (twice at most: once per
 * instance) and the status says so; after Redis is back, exactly once again.
 * The password is in neither the exported flow nor flows.json.
 *
 * Issue 18, point 2: each instance also has a receiver of its own wired to the
 * dedupe, so that an event can reach one instance only. Redis stopped, event A
 * to instance a (passes, on memory alone), Redis back, A to instance b: A
 * reaches the collector once, because instance a wrote its key back to Redis.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { VTPBroadcaster } from "../../src/vtp/broadcaster";
import { VTPReceiver } from "../../src/vtp/receiver";
import { sendEvent } from "../../src/vtp/sender";
import { readPacket } from "../helpers/corpus";
import { freePort, RedisServer } from "../helpers/redis-server";
import { countInLog } from "./flows";
import { delay, type FlowNode, INSTALL_TIMEOUT_MS, type Runtime, startRuntime } from "./harness";

const PASSWORD = "e2e-redis-password-4b1d";
/** How long "nothing more arrives" waits once everything expected has arrived. */
const QUIET_MS = 1500;

async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(50);
  }
}

const TEMPLATE = readPacket("pygcn__gbm_flt_pos.xml").toString("utf8");
const ivornOf = (n: number) => `ivo://nasa.gsfc.gcn/Fermi#E2E_redis_${n}`;
/** A real GCN notice under a fresh IVORN. */
function packet(n: number): string {
  return TEMPLATE.replace(/ivorn="[^"]+"/, `ivorn="${ivornOf(n)}"`);
}

function flow(
  tag: string,
  redisPort: number,
  brokers: number[],
  collector: number,
  receiverPort: number,
): FlowNode[] {
  const z = `e2e-${tag}`;
  return [
    {
      id: "e2e-receiver",
      type: "voevent-receiver",
      z,
      name: `instance ${tag}'s own receiver`,
      host: "127.0.0.1",
      port: receiverPort,
      identity: "voevent-identity-example",
      whitelist: "127.0.0.0/8",
      validate: "well-formed",
      requireLocalId: true,
      maxBytes: 1048576,
      tls: "",
      wires: [["e2e-dedupe"]],
    },
    { id: z, type: "tab", label: `instance ${tag}` },
    {
      id: "voevent-identity-example",
      type: "voevent-identity",
      name: "this Node-RED",
      localIvo: "ivo://node-red.local/voevent",
    },
    {
      id: "e2e-redis",
      type: "voevent-redis",
      name: "shared",
      host: "127.0.0.1",
      port: redisPort,
      db: 0,
      prefix: "e2e:dedupe:",
      tls: "",
      credentials: { password: PASSWORD },
    },
    ...brokers.map((port, i) => ({
      id: `e2e-sub${i}`,
      type: "voevent-subscriber",
      z,
      name: `broker ${i}`,
      host: "127.0.0.1",
      port,
      identity: "voevent-identity-example",
      brokerFilters: [],
      tls: "",
      watchdog: 150,
      maxBackoff: 5,
      wires: [["e2e-dedupe"]],
    })),
    {
      id: "e2e-dedupe",
      type: "voevent-dedupe",
      z,
      name: "shared dedupe",
      key: "ivorn",
      keyProperty: "topic",
      ttl: 1,
      ttlUnits: "days",
      capacity: 10000,
      store: "redis",
      path: "",
      redis: "e2e-redis",
      whenDown: "memory",
      wires: [["e2e-sender"], []],
    },
    {
      id: "e2e-sender",
      type: "voevent-sender",
      z,
      name: "collector",
      host: "127.0.0.1",
      hostType: "str",
      port: collector,
      portType: "num",
      timeout: 20,
      retries: 3,
      tls: "",
      wires: [[]],
    },
    // The dedupe node's status, as the editor shows it, to the log.
    { id: "e2e-status", type: "status", z, name: "", scope: ["e2e-dedupe"], wires: [["e2e-status-log"]] },
    {
      id: "e2e-status-log",
      type: "debug",
      z,
      name: "dedupe status",
      active: true,
      tosidebar: false,
      console: true,
      complete: "status.text",
      targetType: "msg",
      wires: [],
    },
  ];
}

describe("e2e: two instances share one dedupe on Redis", function () {
  this.timeout(INSTALL_TIMEOUT_MS + 180_000);
  let redis: RedisServer | undefined;
  const brokers: VTPBroadcaster[] = [];
  let collector: VTPReceiver | undefined;
  const runtimes: Runtime[] = [];
  const arrived = new Map<string, number>();
  const receiverPorts: number[] = [];

  before(async () => {
    redis = await RedisServer.start({ password: PASSWORD });
    const brokerPorts: number[] = [];
    for (let i = 0; i < 2; i++) {
      const b = new VTPBroadcaster({ host: "127.0.0.1", port: 0, localIvo: `ivo://e2e.test/broker${i}` });
      brokers.push(b);
      brokerPorts.push((await b.listen()).port);
    }
    collector = new VTPReceiver({
      host: "127.0.0.1",
      port: 0,
      localIvo: "ivo://e2e.test/collector",
      handler: (ev) => {
        arrived.set(ev.voevent.ivorn, (arrived.get(ev.voevent.ivorn) ?? 0) + 1);
      },
    });
    const bound = await collector.listen();
    for (const tag of ["a", "b"]) {
      const rt = await startRuntime();
      runtimes.push(rt);
      const since = rt.logs().length;
      const receiverPort = await freePort();
      receiverPorts.push(receiverPort);
      await rt.deploy(flow(tag, redis.port, brokerPorts, bound.port, receiverPort));
      // The status a user would look at: connected, nothing seen yet.
      await rt.waitForLog(/\[debug:dedupe status\][\s\S]*?seen 0, dropped 0/, 20_000, since);
    }
    await until("both instances subscribed to both brokers", () =>
      brokers.every((b) => b.subscribers.length === 2),
    );
  });

  after(async () => {
    for (const rt of runtimes) await rt.stop();
    for (const b of brokers) await b.close();
    await collector?.close();
    await redis?.close();
  });

  /** Sends events from..to-1 through both brokers (each reaches both instances through both). */
  function publish(from: number, to: number): void {
    for (let n = from; n < to; n++) {
      const xml = packet(n);
      for (const b of brokers) assert.equal(b.broadcast(xml), 2, "sent to both instances");
    }
  }
  const count = (n: number) => arrived.get(ivornOf(n)) ?? 0;
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

  it("every event reaches the collector exactly once", async () => {
    publish(0, 30);
    await until("all 30 events", () => range(0, 30).every((n) => count(n) >= 1));
    await delay(QUIET_MS);
    assert.deepEqual(
      range(0, 30).map(count),
      range(0, 30).map(() => 1),
    );
  });

  it("Redis stopped mid-stream: nothing lost, duplicates only during the outage, status says so; back: once again", async () => {
    const since = runtimes.map((rt) => rt.logs().length);
    publish(30, 40);
    await until("events before the outage", () => range(30, 40).every((n) => count(n) >= 1));
    await redis?.stop();
    publish(40, 60);
    await until("events during the outage", () => range(40, 60).every((n) => count(n) >= 1));
    for (const [i, rt] of runtimes.entries()) {
      await rt.waitForLog(
        /\[warn\] \[voevent-dedupe:shared dedupe\] Redis failed; deduping in memory/,
        20_000,
        since[i],
      );
      await rt.waitForLog(/\[debug:dedupe status\][\s\S]*?Redis unavailable, in memory/, 20_000, since[i]);
    }
    await redis?.start();
    for (const [i, rt] of runtimes.entries()) {
      await rt.waitForLog(/connected to Redis at 127\.0\.0\.1/, 30_000, since[i]);
    }
    publish(60, 80);
    await until("events after the outage", () => range(60, 80).every((n) => count(n) >= 1));
    await delay(QUIET_MS);

    assert.deepEqual(
      range(30, 40).map(count),
      range(30, 40).map(() => 1),
      "before the outage: once",
    );
    for (const n of range(40, 60))
      assert.ok(count(n) >= 1 && count(n) <= 2, `during: ${n} arrived ${count(n)} times`);
    assert.deepEqual(
      range(60, 80).map(count),
      range(60, 80).map(() => 1),
      "after the outage: once",
    );
    const unshared = range(40, 60).reduce((sum, n) => sum + count(n), 0) - 20;
    // Each instance says how many went through unshared; together they account for every duplicate.
    let reported = 0;
    for (const [i, rt] of runtimes.entries()) {
      const log = await rt.waitForLog(
        /Redis works again after \d+ s; \d+ event\(s\) passed on memory alone/,
        20_000,
        since[i],
      );
      const m = /Redis works again after \d+ s; (\d+) event\(s\) passed on memory alone/.exec(
        log.slice(since[i]),
      );
      reported += Number(m?.[1]);
    }
    assert.ok(
      reported >= 20 + unshared,
      `reported unshared ${reported}, events during the outage 20 + ${unshared} duplicates`,
    );
  });

  it("an event that reached one instance during the outage is dropped by the other after it (issue 18, point 2)", async () => {
    const since = runtimes.map((rt) => rt.logs().length);
    const A = 1000;
    const toInstance = async (i: number) => {
      const reply = await sendEvent({
        host: "127.0.0.1",
        port: receiverPorts[i]!,
        payload: packet(A),
        retries: 0,
      });
      assert.equal(reply.reply, "ack", `instance ${i === 0 ? "a" : "b"} acks A`);
    };
    await redis?.stop();
    await toInstance(0);
    await until("A from instance a", () => count(A) === 1);
    await runtimes[0]!.waitForLog(/Redis failed; deduping in memory/, 20_000, since[0]);
    await redis?.start();
    // What the operator reads in instance a's log once Redis is back.
    await runtimes[0]!.waitForLog(
      /\[voevent-dedupe:shared dedupe\] Redis: wrote 1 key\(s\) of events that passed on memory alone to it, for the rest of their TTL \(0 already there, 0 expired, 0 left for the next recovery, 0 forgotten beyond the 10000 kept\)/,
      30_000,
      since[0],
    );
    // Instance b's status, as the editor shows it, is back to its counts: it uses Redis again.
    await runtimes[1]!.waitForLog(/\[debug:dedupe status\] seen \d+, dropped \d+$/m, 30_000, since[1]);
    await toInstance(1);
    await delay(QUIET_MS);
    assert.equal(count(A), 1, "A passed once in all");
  });

  it("the password is in neither the exported flow nor flows.json", async () => {
    for (const rt of runtimes) {
      const exported = JSON.stringify(await rt.getFlows());
      assert.ok(exported.includes("e2e-redis"), "the config node is exported");
      assert.ok(!exported.includes(PASSWORD), "no password in the export");
      const file = fs.readFileSync(path.join(rt.userDir, "flows.json"), "utf8");
      assert.ok(!file.includes(PASSWORD), "no password in flows.json");
      assert.equal(countInLog(rt, PASSWORD), 0, "no password in the log");
    }
  });
});
