import { strict as assert } from "node:assert";
import type { Redis } from "ioredis";
import {
  Deduper,
  type PrimaryStore,
  type Verdict,
  WRITE_BACK_CONCURRENCY,
  type WriteBackInfo,
} from "../../src/dedupe/deduper";
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

  describe("after an outage, the keys that passed on memory alone are written back (issue 18, point 2)", () => {
    /**
     * The real store, with its write-backs held at a gate after the first `pass` of them, so
     * that a test can act in the middle of a run whatever the machine's speed.
     */
    function gated(store: RedisStore, pass: number): { primary: PrimaryStore; release: () => void } {
      let open = pass;
      let release = (): void => {};
      const gate = new Promise<void>((resolve) => (release = resolve));
      const primary: PrimaryStore = {
        checkAndAdd: (key) => store.checkAndAdd(key),
        clear: () => store.clear(),
        get available() {
          return store.available;
        },
        onAvailable: (listener) => store.onAvailable(listener),
        writeBack: async (key, ttlMs) => {
          if (open-- <= 0) await gate;
          return store.writeBack(key, ttlMs);
        },
      };
      return { primary, release };
    }

    /** A deduper on its own client, Redis stopped, with `keys` passed on memory alone. */
    async function outage(
      opts: { ttlMs: number; maxWriteBack?: number; now?: () => number; gate?: boolean },
      keys: string[],
    ) {
      const c = await ready(client());
      const reports: WriteBackInfo[] = [];
      const store = new RedisStore({ client: c, ttlMs: opts.ttlMs, prefix: "wb:" });
      const { primary, release } =
        opts.gate === true ? gated(store, 0) : { primary: store, release: () => {} };
      const d = new Deduper({
        primary,
        ttlMs: opts.ttlMs,
        capacity: 1000,
        mirror: true,
        ...(opts.maxWriteBack === undefined ? {} : { maxWriteBack: opts.maxWriteBack }),
        ...(opts.now === undefined ? {} : { now: opts.now }),
        onWrittenBack: (info) => reports.push(info),
      });
      await server.stop();
      await until(() => c.status !== "ready", 5000, "the client to see the outage");
      for (const key of keys) {
        const v = await new Promise<Verdict>((resolve, reject) =>
          d.check(key, (err, verdict) => (err || !verdict ? reject(err) : resolve(verdict))),
        );
        assert.deepEqual(v, { first: true, by: "memory" }, key);
      }
      return { c, d, reports, release };
    }

    it("Redis back: each is set with the TTL it has left; another instance then finds it", async () => {
      const { d, reports } = await outage({ ttlMs: 60_000 }, ["A", "B"]);
      assert.equal(d.awaitingWriteBack, 2);
      await server.start();
      // No event needed on this instance: the reconnection starts the write-back.
      await until(() => reports.length === 1, 10_000, "the write-back report");
      assert.deepEqual(reports[0], { written: 2, present: 0, expired: 0, left: 0, dropped: 0 });
      assert.equal(d.awaitingWriteBack, 0);
      const other = new RedisStore({ client: await ready(client()), ttlMs: 60_000, prefix: "wb:" });
      assert.equal(await other.checkAndAdd("A"), false, "the other instance finds A");
      assert.equal(await other.checkAndAdd("B"), false, "and B");
      assert.equal(await other.checkAndAdd("C"), true);
      const pttl = await clients.at(-1)!.pttl("wb:A");
      assert.ok(pttl > 0 && pttl <= 60_000, `PTTL ${pttl}: at most what it had left`);
      d.close();
    });

    it("a key another instance wrote meanwhile is left as it is (SET NX), counted as present", async () => {
      const { d, reports, release } = await outage({ ttlMs: 60_000, gate: true }, ["A", "B"]);
      await server.start();
      const other = await ready(client());
      assert.equal(await other.set("wb:A", "other", "PX", 5000, "NX"), "OK");
      release();
      await until(() => reports.length === 1, 10_000, "the write-back report");
      assert.deepEqual(reports[0], { written: 1, present: 1, expired: 0, left: 0, dropped: 0 });
      assert.equal(await other.get("wb:A"), "other", "not overwritten");
      assert.ok((await other.pttl("wb:A")) <= 5000, "nor its TTL");
      assert.equal(await other.get("wb:B"), "1");
      d.close();
    });

    it("bounded: beyond maxWriteBack the oldest are forgotten and counted; expired ones are not written", async () => {
      let now = 1_000_000;
      const { d, reports } = await outage({ ttlMs: 60_000, maxWriteBack: 3, now: () => now }, [
        "old1",
        "old2",
      ]);
      now += 30_000;
      await new Promise<void>((resolve) => d.check("new1", () => resolve()));
      now += 20_000;
      for (const key of ["new2", "new3"]) {
        await new Promise<void>((resolve) => d.check(key, () => resolve()));
      }
      assert.equal(d.awaitingWriteBack, 3, "at most maxWriteBack noted: old1 and old2 forgotten");
      // new1's TTL has passed when Redis is back; new2's and new3's has not.
      now += 40_001;
      await server.start();
      await until(() => reports.length === 1, 10_000, "the write-back report");
      assert.deepEqual(reports[0], { written: 2, present: 0, expired: 1, left: 0, dropped: 2 });
      const other = await ready(client());
      assert.deepEqual(
        await Promise.all(["old1", "new1", "new2", "new3"].map((k) => other.exists(`wb:${k}`))),
        [0, 0, 1, 1],
      );
      const pttl = await other.pttl("wb:new2");
      assert.ok(pttl > 0 && pttl <= 19_999, `PTTL ${pttl}: the 19,999 ms new2 had left`);
      d.close();
    });

    it("Redis fails again during the write-back: the rest are left for the next recovery", async () => {
      const c = await ready(client());
      const store = new RedisStore({ client: c, ttlMs: 60_000, prefix: "wb:" });
      const { primary, release } = gated(store, WRITE_BACK_CONCURRENCY);
      const reports: WriteBackInfo[] = [];
      const d = new Deduper({
        primary,
        ttlMs: 60_000,
        capacity: 1000,
        mirror: true,
        onWrittenBack: (info) => reports.push(info),
      });
      await server.stop();
      await until(() => c.status !== "ready", 5000, "the client to see the outage");
      const keys = Array.from({ length: 100 }, (_, i) => `k${i}`);
      for (const key of keys) await new Promise<void>((resolve) => d.check(key, () => resolve()));
      await server.start();
      await until(
        () => d.awaitingWriteBack === keys.length - WRITE_BACK_CONCURRENCY,
        10_000,
        "the first batch",
      );
      await server.stop();
      await until(() => c.status !== "ready", 5000, "the client to see the second outage");
      release();
      await until(() => reports.length === 1, 10_000, "the first report");
      assert.deepEqual(reports[0], {
        written: WRITE_BACK_CONCURRENCY,
        present: 0,
        expired: 0,
        left: keys.length - WRITE_BACK_CONCURRENCY,
        dropped: 0,
      });
      await server.start();
      await until(() => reports.length === 2, 10_000, "the second report");
      // Redis restarted empty (no persistence): every key left is written now.
      assert.deepEqual(reports[1], {
        written: keys.length - WRITE_BACK_CONCURRENCY,
        present: 0,
        expired: 0,
        left: 0,
        dropped: 0,
      });
      assert.equal(d.awaitingWriteBack, 0);
      d.close();
    });
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
