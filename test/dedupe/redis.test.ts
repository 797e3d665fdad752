import { strict as assert } from "node:assert";
import type { Redis } from "ioredis";
import { Deduper, type Verdict } from "../../src/dedupe/deduper";
import { backoffMs, createRedisClient, RedisStore } from "../../src/dedupe/redis";
import { RedisServer } from "../helpers/redis-server";

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("dedupe/redis against a real redis-server", function () {
  this.timeout(30_000);
  let server: RedisServer;
  const clients: Redis[] = [];

  function client(): Redis {
    const c = createRedisClient({ host: server.host, port: server.port, retryMinMs: 20, retryMaxMs: 200 });
    c.on("error", () => {});
    clients.push(c);
    return c;
  }
  async function ready(c: Redis): Promise<Redis> {
    await until(() => c.status === "ready", 5000, "the client to connect");
    return c;
  }

  beforeEach(async () => {
    server = await RedisServer.start();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.disconnect();
    await server.close();
  });

  it("checks with SET key 1 NX PX ttl under the prefix: first true, then false", async () => {
    const c = await ready(client());
    const store = new RedisStore({ client: c, ttlMs: 60_000, prefix: "t:" });
    assert.equal(await store.checkAndAdd("abc"), true);
    assert.equal(await store.checkAndAdd("abc"), false);
    const other = await ready(client());
    assert.equal(await other.get("t:abc"), "1");
    const pttl = await other.pttl("t:abc");
    assert.ok(pttl > 55_000 && pttl <= 60_000, `PTTL ${pttl}`);
    store.close();
  });

  it("two stores on two connections: each key is first exactly once, however the checks interleave", async () => {
    const a = new RedisStore({ client: await ready(client()), ttlMs: 60_000 });
    const b = new RedisStore({ client: await ready(client()), ttlMs: 60_000 });
    const keys = Array.from({ length: 500 }, (_, i) => `k${i}`);
    const [ra, rb] = await Promise.all([
      Promise.all(keys.map((k) => a.checkAndAdd(k))),
      Promise.all(keys.map((k) => b.checkAndAdd(k))),
    ]);
    for (let i = 0; i < keys.length; i++) assert.equal(Number(ra[i]) + Number(rb[i]), 1, keys[i]);
  });

  it("clear() deletes the keys under its prefix only", async () => {
    const c = await ready(client());
    await c.set("other:x", "1");
    const store = new RedisStore({ client: c, ttlMs: 60_000, prefix: "p[1]:" });
    for (let i = 0; i < 2500; i++) await store.checkAndAdd(`k${i}`);
    await store.clear();
    assert.equal(await store.checkAndAdd("k1"), true);
    assert.equal(await c.get("other:x"), "1");
    assert.equal((await c.keys("p\\[1\\]:*")).length, 1);
  });

  it("many checks in flight; answers come in input order", async () => {
    const d = new Deduper({
      primary: new RedisStore({ client: await ready(client()), ttlMs: 60_000 }),
      ttlMs: 60_000,
      capacity: 10_000,
      mirror: true,
    });
    const order: number[] = [];
    const verdicts: Verdict[] = [];
    for (let i = 0; i < 2000; i++) {
      d.check(`k${i % 1500}`, (err, v) => {
        assert.equal(err, null);
        order.push(i);
        if (v) verdicts.push(v);
      });
    }
    assert.ok(d.pending > 100, `checks in flight at once: ${d.pending}`);
    await until(() => order.length === 2000, 10_000, "every answer");
    assert.deepEqual(
      order,
      Array.from({ length: 2000 }, (_, i) => i),
    );
    assert.equal(verdicts.filter((v) => v.first).length, 1500);
  });

  it("Redis down: events pass on memory, counted as unshared; back up: shared again, the count reported", async () => {
    const degraded: string[] = [];
    const recovered: number[] = [];
    const c = await ready(client());
    const d = new Deduper({
      primary: new RedisStore({ client: c, ttlMs: 60_000 }),
      ttlMs: 60_000,
      capacity: 1000,
      mirror: true,
      onDegraded: (err) => degraded.push(err.message),
      onRecovered: ({ unshared }) => recovered.push(unshared),
    });
    const check = (key: string) =>
      new Promise<Verdict>((resolve, reject) =>
        d.check(key, (err, v) => (err || !v ? reject(err) : resolve(v))),
      );
    assert.deepEqual(await check("before"), { first: true, by: "store" });
    await server.stop();
    await until(() => c.status !== "ready", 5000, "the client to see the outage");
    assert.deepEqual(await check("during1"), { first: true, by: "memory" });
    assert.deepEqual(await check("during1"), { first: false, by: "memory" });
    assert.deepEqual(await check("during2"), { first: true, by: "memory" });
    assert.deepEqual(
      await check("before"),
      { first: false, by: "memory" },
      "seen before the outage: kept in memory",
    );
    assert.equal(degraded.length, 1);
    assert.equal(d.degraded, true);
    assert.equal(d.unsharedNow, 2);
    await server.start();
    await until(() => c.status === "ready", 10_000, "the client to reconnect");
    assert.deepEqual(await check("after"), { first: true, by: "store" });
    assert.deepEqual(recovered, [2]);
    assert.equal(d.degraded, false);
    assert.equal(d.unsharedTotal, 2);
  });

  it("whenDown hold: checks wait for Redis and are answered, in order, when it is back", async () => {
    const c = await ready(client());
    const d = new Deduper({
      primary: new RedisStore({ client: c, ttlMs: 60_000 }),
      ttlMs: 60_000,
      capacity: 1000,
      whenDown: "hold",
      maxPending: 3,
    });
    await server.stop();
    await until(() => c.status !== "ready", 5000, "the client to see the outage");
    const got: string[] = [];
    for (const k of ["a", "b", "a"]) d.check(k, (err, v) => got.push(err ? "err" : `${k}:${v?.first}`));
    d.check("overflow", (err) => got.push(err ? ((err as Error & { code?: string }).code ?? "err") : "ok"));
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(got, [], "held while Redis is down (the overflow waits for its turn)");
    assert.equal(d.holding, 3);
    await server.start();
    await until(() => got.length === 4, 10_000, "the held checks");
    assert.deepEqual(got, ["a:true", "b:true", "a:false", "PENDING_LIMIT"]);
    d.close();
  });

  it("reconnect backoff doubles from the minimum to the ceiling, with jitter", () => {
    assert.equal(
      backoffMs(1, 100, 10_000, () => 0.5),
      100,
    );
    assert.equal(
      backoffMs(4, 100, 10_000, () => 0.5),
      800,
    );
    assert.equal(
      backoffMs(40, 100, 10_000, () => 0.5),
      10_000,
    );
    assert.equal(
      backoffMs(40, 100, 10_000, () => 1),
      12_000,
    );
    assert.equal(
      backoffMs(1, 100, 10_000, () => 0),
      80,
    );
  });
});
