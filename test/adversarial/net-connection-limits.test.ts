/**
 * Issue 8, row 13: the broadcaster limits connections in all and per address
 * (the receiver had only a total). Peers come from different loopback
 * addresses (127.0.0.x), so the per-address limit is measured, not assumed.
 */
import assert from "node:assert/strict";
import type net from "node:net";
import { VTPBroadcaster } from "../../src/vtp/broadcaster";
import { VTPReceiver } from "../../src/vtp/receiver";
import { closesWithin, rawConnect, until } from "./net-peers";

describe("adversarial: connection limits (issue 8, row 13)", function () {
  this.timeout(30_000);
  const sockets: net.Socket[] = [];
  afterEach(() => {
    for (const s of sockets.splice(0)) s.destroy();
  });

  it("broadcaster: maxConnections and maxConnectionsPerAddress refuse more, naming the limit", async () => {
    const b = new VTPBroadcaster({
      host: "127.0.0.1",
      port: 0,
      localIvo: "ivo://adversarial.test/broadcaster",
      maxConnections: 3,
      maxConnectionsPerAddress: 2,
    });
    const rejected: { address: string; reason?: string; limit?: string }[] = [];
    b.on("rejected", (r: { address: string; reason?: string; limit?: string }) => rejected.push(r));
    const { port } = await b.listen();
    try {
      for (let i = 0; i < 4; i++) sockets.push(await rawConnect(port, "127.0.0.1"));
      await until(() => rejected.length >= 2, 5000, "refusals from 127.0.0.1");
      assert.equal(b.count, 2, "subscribers from 127.0.0.1");
      await Promise.all(sockets.slice(2).map((s) => closesWithin(s, 5000, "a refused peer")));
      sockets.push(await rawConnect(port, "127.0.0.2"));
      await until(() => b.count === 3, 5000, "a subscriber from 127.0.0.2 accepted");
      sockets.push(await rawConnect(port, "127.0.0.3"));
      await until(() => rejected.length === 3, 5000, "a refusal when full");
      assert.equal(b.count, 3, "subscribers held");
      assert.deepEqual(
        rejected.map((r) => [r.address, r.limit]),
        [
          ["127.0.0.1", "maxConnectionsPerAddress"],
          ["127.0.0.1", "maxConnectionsPerAddress"],
          ["127.0.0.3", "maxConnections"],
        ],
      );
      assert.match(rejected[2]!.reason ?? "", /limit maxConnections = 3/);
      // A slot freed is a slot taken again.
      sockets[0]!.destroy();
      await until(() => b.count === 2, 5000, "a subscriber left");
      sockets.push(await rawConnect(port, "127.0.0.3"));
      await until(() => b.count === 3, 5000, "its slot reused");
    } finally {
      await b.close();
    }
  });

  it("receiver: one address cannot take every slot", async () => {
    const rx = new VTPReceiver({
      host: "127.0.0.1",
      port: 0,
      localIvo: "ivo://adversarial.test/receiver",
      maxConnections: 4,
      maxConnectionsPerAddress: 2,
    });
    const rejected: { reason: string; limit?: string }[] = [];
    rx.on("rejected", (r: { reason: string; limit?: string }) => rejected.push(r));
    const { port } = await rx.listen();
    try {
      for (let i = 0; i < 4; i++) sockets.push(await rawConnect(port, "127.0.0.1"));
      await until(() => rejected.length >= 2, 5000, "refusals from 127.0.0.1");
      sockets.push(await rawConnect(port, "127.0.0.2"));
      await until(() => rx.connections === 3, 5000, "a peer from 127.0.0.2 accepted");
      assert.equal(rejected.length, 2);
      assert.ok(rejected.every((r) => r.limit === "maxConnectionsPerAddress"));
      assert.match(rejected[0]!.reason, /from 127\.0\.0\.1 \(limit maxConnectionsPerAddress = 2\)/);
    } finally {
      await rx.close();
    }
  });
});
