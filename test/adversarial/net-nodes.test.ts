/**
 * Issue 8, rows 14 and 16, in a Node-RED runtime (node-red-node-test-helper):
 * the sender node bounds sends in flight and queued, reporting overflow with
 * done(err); warnings caused by peers are rate limited per node (a count, not
 * a flood).
 */
import assert from "node:assert/strict";
import net from "node:net";
import { encodeFrame } from "../../src/vtp/framing";
import {
  callsOf,
  catchNode,
  caughtError,
  collect,
  type FlowNode,
  getNode,
  loadFlow,
  statusHistory,
  useNodeRed,
  waitUntil,
} from "../helpers/nodered";
import { freePort, identityNode, packet } from "../nodes/network-helpers";
import { rawConnect, until } from "./net-peers";

const servers: net.Server[] = [];
const held: net.Socket[] = [];

async function server(onSocket: (s: net.Socket) => void): Promise<number> {
  const srv = net.createServer((socket) => {
    held.push(socket);
    socket.on("error", () => {});
    onSocket(socket);
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  return (srv.address() as net.AddressInfo).port;
}

describe("adversarial: network nodes (issue 8, rows 14 and 16)", function () {
  this.timeout(30_000);
  useNodeRed();
  afterEach(async () => {
    for (const s of held.splice(0)) s.destroy();
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(() => r(null)))));
  });

  it("row 14: sender node holds at most maxInFlight connections and maxWaiting messages; overflow goes to done(err)", async () => {
    let connections = 0;
    const port = await server((s) => {
      connections++;
      s.resume(); // reads, never answers: every send stays in flight
    });
    const flow: FlowNode[] = [
      {
        id: "snd",
        type: "voevent-sender",
        host: "127.0.0.1",
        hostType: "str",
        port,
        portType: "num",
        timeout: 30,
        retries: 0,
        maxInFlight: 2,
        maxWaiting: 3,
        tls: "",
        wires: [["out"]],
      },
      { id: "out", type: "helper" },
      catchNode("c", ["caught"]),
      { id: "caught", type: "helper" },
    ];
    await loadFlow(["voevent-sender"], flow);
    const caught = collect("caught");
    for (let i = 0; i < 10; i++) getNode("snd").receive({ payload: packet() });
    await waitUntil(() => caught.length >= 5, 5000, "five overflows caught");
    await until(() => connections >= 2, 5000, "two sends in flight");
    assert.equal(connections, 2, "connections opened");
    assert.equal(caught.length, 5);
    for (const m of caught) {
      assert.match(caughtError(m), /limit maxWaiting = 3/);
      assert.equal((m.vtp as { error?: string }).error, "LIMIT");
    }
  });

  it("row 16: a scanner's refused connections give a few warnings and a count, not one each", async () => {
    const port = await freePort();
    await loadFlow(
      ["voevent-receiver", "voevent-identity"],
      [
        identityNode(),
        {
          id: "r",
          type: "voevent-receiver",
          host: "127.0.0.1",
          port,
          identity: "ident",
          whitelist: "10.0.0.0/8",
          validate: "well-formed",
          tls: "",
          wires: [[]],
        },
      ],
    );
    await waitUntil(
      () => statusHistory("r").some((st) => (st.text ?? "").startsWith("listening on port")),
      3000,
      "listening",
    );
    const SCANS = 60;
    for (let i = 0; i < SCANS; i++) {
      const s = await rawConnect(port).catch(() => null);
      if (s !== null) held.push(s);
    }
    await until(() => held.every((s) => s.closed), 10_000, "every scan closed");
    const warns = callsOf("r", "warn").length;
    assert.ok(warns <= 6, `${warns} warnings for ${SCANS} refused connections`);
  });

  it("row 16: a broker's junk frames give a few warnings and a count, not one each", async () => {
    const FRAMES = 300;
    const junk = Buffer.concat(Array.from({ length: FRAMES }, () => encodeFrame("not xml")));
    let acked = 0;
    const port = await server((s) => {
      s.on("data", (c: Buffer) => {
        acked += c.toString("latin1").split('role="ack"').length - 1;
      });
      s.write(junk);
    });
    await loadFlow(
      ["voevent-subscriber", "voevent-identity"],
      [
        identityNode(),
        {
          id: "s",
          type: "voevent-subscriber",
          host: "127.0.0.1",
          port,
          identity: "ident",
          brokerFilters: [],
          tls: "",
          watchdog: 150,
          maxBackoff: 60,
          wires: [[]],
        },
      ],
    );
    await until(() => acked >= FRAMES, 10_000, "every junk frame acked");
    const warns = callsOf("s", "warn").length;
    assert.ok(warns <= 6, `${warns} warnings for ${FRAMES} junk frames`);
  });
});
