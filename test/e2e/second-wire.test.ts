/**
 * A receiver's message on two wires, in a real Node-RED runtime (its own RED.hooks): Node-RED
 * copies the message for the second wire. What a user checks: each branch has a model of its
 * own (what one function node changes, the other never sees), and the model is still read only
 * when a node uses it, on either wire (src/contract.ts copyLazyMessage, nodes/shared/lazy-copy.ts):
 * Node-RED's own copy read every property, so the model was built for every event that went
 * down two wires, even in a relay that never looks at it.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { FramedConnection } from "../../src/vtp/connection";
import { describeCorpus, readPacket } from "../helpers/corpus";
import { functionNode } from "./flows";
import {
  type FlowNode,
  freePort,
  INSTALL_TIMEOUT_MS,
  type Runtime,
  startRuntime,
  waitForPort,
} from "./harness";

const PACKET = "voeventdb__BAT_GRB_Pos_655721-214.xml";

/** Logs whether msg.voevent is still unread, then changes the model and logs its IVORN. */
const BRANCH = (name: string, wait: number) => `
const unread = typeof Object.getOwnPropertyDescriptor(msg, "voevent")?.get === "function";
setTimeout(() => {
  const ivorn = msg.voevent.ivorn;
  msg.voevent.ivorn = "ivo://changed.test/by#${name}";
  node.warn("${name} unread=" + unread + " ivorn=" + ivorn + " params=" + Object.keys(msg.voevent.params).length);
  node.done();
}, ${wait});
return null;
`;

function flow(port: number): FlowNode[] {
  const z = "e2e-two-wires";
  const fn = (name: string, wait: number): FlowNode =>
    functionNode(`e2e-${name}`, z, name, BRANCH(name, wait), [[]]);
  return [
    { id: z, type: "tab", label: "two wires" },
    { id: "e2e-identity", type: "voevent-identity", name: "", localIvo: "ivo://e2e.test/broker" },
    {
      id: "e2e-receiver",
      type: "voevent-receiver",
      z,
      name: "",
      host: "127.0.0.1",
      port,
      identity: "e2e-identity",
      whitelist: "127.0.0.0/8, ::1",
      validate: "well-formed",
      requireLocalId: false,
      maxBytes: 1048576,
      tls: "",
      wires: [["e2e-first", "e2e-second"]],
    },
    fn("first", 0),
    fn("second", 200),
  ];
}

describeCorpus("e2e: a receiver's message on two wires", () => {
  let rt: Runtime | undefined;

  after(async () => {
    await rt?.stop();
  });

  it("each wire gets a model of its own, read only when used", async function () {
    this.timeout(INSTALL_TIMEOUT_MS + 60_000);
    const port = await freePort();
    rt = await startRuntime({ flows: flow(port) });
    await rt.waitForLog("Started flows", 30_000);
    await waitForPort(port);
    const xml = readPacket(PACKET).toString("utf8");
    const ivorn = /ivorn="([^"]+)"/.exec(xml)?.[1];
    assert.ok(ivorn !== undefined);

    const socket = net.connect({ host: "127.0.0.1", port });
    await once(socket, "connect");
    const conn = new FramedConnection(socket);
    conn.send(xml);
    const [reply] = (await once(conn, "frame")) as [Buffer];
    assert.match(reply.toString("utf8"), /role="ack"/);
    conn.close("done");

    const logs = await rt.waitForLog(/second unread=\w+ ivorn=\S+ params=\d+/, 10_000);
    const line = (name: string) => new RegExp(`${name} unread=(\\w+) ivorn=(\\S+) params=(\\d+)`).exec(logs);
    const first = line("first");
    const second = line("second");
    assert.ok(first !== null && second !== null, logs.slice(-2000));
    assert.equal(first[1], "true", "the first wire's model was not read before its node used it");
    assert.equal(second[1], "true", "nor the copy's, for the second wire");
    assert.equal(first[2], ivorn);
    assert.equal(second[2], ivorn, "the second wire's model is its own: the first's change is not in it");
    assert.equal(second[3], first[3]);
    assert.ok(Number(first[3]) > 0, "the model has the packet's params");
  });
});
