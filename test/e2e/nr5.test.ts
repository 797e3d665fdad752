/**
 * Node-RED 5 leg: Node 22 and Node-RED 5 from the npm registry, kept in .nr5/ by
 * scripts/ensure-nr5.sh (run here if missing); the packed package loads there too.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { Redis } from "ioredis";
import { sendEvent } from "../../src/vtp/sender";
import { readPacket } from "../helpers/corpus";
import { freePort, RedisServer } from "../helpers/redis-server";
import {
  declaredNodeSets,
  ensureNodeRed5,
  INSTALL_TIMEOUT_MS,
  PACKAGE_JSON,
  PACKAGE_NAME,
  type Runtime,
  run,
  startRuntime,
} from "./harness";

describe("e2e: Node-RED 5 (Node 22) with the packed package", function () {
  this.timeout(60_000);
  let rt: Runtime | undefined;

  before(async function () {
    this.timeout(2 * INSTALL_TIMEOUT_MS + 60_000);
    const nr5 = await ensureNodeRed5();
    const { stdout } = await run(nr5.nodeBinary, ["--version"]);
    assert.match(stdout.trim(), /^v22\./, "the .nr5 node is Node 22");
    rt = await startRuntime(nr5);
  });

  after(async () => {
    await rt?.stop();
  });

  it("runs Node-RED 5.x on Node 22", async () => {
    const settings = await rt!.settings();
    assert.match(String(settings.version), /^5\./);
    assert.match(rt!.logs(), /Node\.js\s+version: v22\./);
  });

  it("loads every node set of the package", async () => {
    const sets = (await rt!.nodes()).filter((s) => s.module === PACKAGE_NAME);
    const declared = declaredNodeSets();
    assert.deepEqual(sets.map((s) => s.name).sort(), [...declared].sort());
    for (const set of sets) {
      assert.equal(set.err, undefined, `${set.name} loaded without error`);
      assert.equal(set.enabled, true, `${set.name} enabled`);
      assert.equal(set.version, PACKAGE_JSON.version);
    }
  });

  it("deploys and reads back a flow", async () => {
    const flows = [
      { id: "nr5-tab", type: "tab", label: "nr5" },
      { id: "nr5-inject", type: "inject", z: "nr5-tab", wires: [["nr5-debug"]] },
      { id: "nr5-debug", type: "debug", z: "nr5-tab", wires: [] },
    ];
    await rt!.deploy(flows);
    assert.deepEqual((await rt!.getFlows()).map((n) => n.id).sort(), ["nr5-debug", "nr5-inject", "nr5-tab"]);
  });

  it("a receiver with maxPerAddress 1 and a dedupe on Redis (ioredis 6 on Node 22): one event passes once, a second connection from one address is refused", async () => {
    const redis = await RedisServer.start();
    const peek = new Redis({ host: redis.host, port: redis.port, lazyConnect: true });
    peek.on("error", () => {});
    const held: net.Socket[] = [];
    try {
      const port = await freePort();
      const z = "nr5-redis-tab";
      await rt!.deploy([
        { id: z, type: "tab", label: "nr5 redis" },
        {
          id: "nr5-redis",
          type: "voevent-redis",
          name: "nr5",
          host: redis.host,
          port: redis.port,
          db: 0,
          prefix: "nr5:",
          tls: "",
        },
        {
          id: "nr5-receiver",
          type: "voevent-receiver",
          z,
          name: "nr5 receiver",
          host: "127.0.0.1",
          port,
          whitelist: "127.0.0.0/8",
          validate: "well-formed",
          requireLocalId: true,
          maxBytes: 1048576,
          maxPerAddress: 1,
          tls: "",
          wires: [["nr5-dedupe"]],
        },
        {
          id: "nr5-dedupe",
          type: "voevent-dedupe",
          z,
          name: "nr5 dedupe",
          key: "ivorn",
          ttl: 1,
          ttlUnits: "hours",
          capacity: 1000,
          store: "redis",
          redis: "nr5-redis",
          whenDown: "memory",
          wires: [[], []],
        },
        { id: "nr5-status", type: "status", z, scope: ["nr5-dedupe"], wires: [["nr5-status-log"]] },
        {
          id: "nr5-status-log",
          type: "debug",
          z,
          name: "nr5 dedupe status",
          active: true,
          tosidebar: false,
          console: true,
          complete: "status.text",
          targetType: "msg",
          wires: [],
        },
      ]);
      await rt!.waitForLog(/\[debug:nr5 dedupe status\] seen 0, dropped 0/, 20_000);
      const packet = readPacket("pygcn__gbm_flt_pos.xml").toString("utf8");
      for (let i = 0; i < 2; i++) {
        const reply = await sendEvent({ host: "127.0.0.1", port, payload: packet, retries: 2 });
        assert.equal(reply.reply, "ack");
      }
      await rt!.waitForLog(/\[debug:nr5 dedupe status\] seen 1, dropped 1/, 20_000);
      await peek.connect();
      const keys = await peek.keys("nr5:*");
      assert.equal(keys.length, 1, "one key on Redis");
      assert.match(keys[0]!, /^nr5:ivo:\/\/nasa\.gsfc\.gcn\//, "the event's IVORN under the prefix");
      // The receiver's setting holds on Node-RED 5: one connection from 127.0.0.1, the next refused.
      const first = net.connect({ host: "127.0.0.1", port });
      first.on("error", () => {});
      held.push(first);
      await new Promise((resolve) => first.once("connect", resolve));
      const second = net.connect({ host: "127.0.0.1", port });
      second.on("error", () => {});
      held.push(second);
      await new Promise((resolve) => second.once("close", resolve));
      await rt!.waitForLog(
        /limit maxConnectionsPerAddress = 1\) \(the node's setting “Authors: from one address”\)/,
        10_000,
      );
      assert.equal(first.destroyed, false, "the first stays open");
    } finally {
      for (const s of held) s.destroy();
      peek.disconnect();
      await redis.close();
    }
  });
});
