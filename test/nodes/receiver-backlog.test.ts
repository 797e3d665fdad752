/**
 * The backlog behind the receiver (issue 16, operators' point): in a real Node-RED runtime, a
 * voevent-receiver feeds a deliberately slow node (one message at a time, each held a few ms
 * before it is sent on and done) while authors push a few thousand real packets as fast as their
 * acks come back. Without a bound the slow node's unfinished messages grow with the difference
 * of the rates (thousands); with `maxBacklog` they stay under it, the authors wait (TCP), every
 * event still arrives exactly once, every ack still comes, and other authors are still served.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import type { NodeAPI, NodeDef } from "node-red";
import type { DoneFn, Node, NodeMessageInFlow, SendFn } from "../../nodes/shared/types";
import { FramedConnection } from "../../src/vtp/connection";
import { describeCorpus, readPacket } from "../helpers/corpus";
import {
  callsOf,
  collect,
  type FlowNode,
  helper,
  nodeInit,
  statusHistory,
  TAB_ID,
  useNodeRed,
  waitUntil,
} from "../helpers/nodered";
import { freePort, identityNode, receiverNode } from "./network-helpers";

/** A real packet (Swift BAT position, 6.3 kB); each copy gets its own local id. */
const PACKET = "voeventdb__BAT_GRB_Pos_655721-214.xml";
const LOCAL_ID = "BAT_GRB_Pos_655721-214";

let source = "";
function eventNo(tag: string, n: number): string {
  source ||= readPacket(PACKET).toString("utf8");
  // Tag "nak…": the IVORN loses its local id, and the receiver naks it (the connection stays open).
  return source.replace(`#${LOCAL_ID}"`, tag.startsWith("nak") ? '"' : `#${LOCAL_ID}-${tag}-${n}"`);
}

/** What the slow node saw: messages it holds now and at most (got and not yet done). */
const slow = { holding: 0, maxHolding: 0, got: 0 };

/** "test-slow": handles one message at a time, each `delay` ms, then sends it on and calls done. */
function slowInit(RED: NodeAPI): void {
  function SlowNode(this: Node, config: NodeDef & { delay?: number }) {
    RED.nodes.createNode(this, config);
    const delay = Number(config.delay ?? 1);
    const queue: { msg: NodeMessageInFlow; send: SendFn; done: DoneFn }[] = [];
    let busy = false;
    const next = (): void => {
      const item = queue.shift();
      if (item === undefined) {
        busy = false;
        return;
      }
      setTimeout(() => {
        item.send(item.msg);
        slow.holding--;
        item.done();
        next();
      }, delay);
    };
    this.on("input", (msg, send, done) => {
      slow.got++;
      slow.holding++;
      slow.maxHolding = Math.max(slow.maxHolding, slow.holding);
      queue.push({ msg, send, done });
      if (!busy) {
        busy = true;
        next();
      }
    });
  }
  RED.nodes.registerType("test-slow", SlowNode);
}

/**
 * The receiver's init, given the runtime's message hooks as Node-RED gives them to nodes
 * (RED.hooks: @node-red/util's hooks, which the runtime's flows trigger); the test helper's RED
 * has none.
 */
function withHooks(RED: NodeAPI): void | Promise<void> {
  const red = RED as unknown as { hooks?: unknown };
  red.hooks ??= (require("@node-red/util") as { hooks: unknown }).hooks;
  return nodeInit("voevent-receiver")(RED);
}

/** `refused`: the slow node on the second output (refused packets), the first to `out` directly. */
async function loadSlowFlow(port: number, maxBacklog: number | string, refused = false): Promise<void> {
  const flow: FlowNode[] = [
    { id: TAB_ID, type: "tab", label: "test" },
    { ...identityNode(), z: TAB_ID },
    receiverNode(port, refused ? [["out"], ["slow"]] : [["slow"]], {
      z: TAB_ID,
      whitelist: "127.0.0.0/8",
      maxBacklog,
      refusedOutput: refused,
      outputs: refused ? 2 : 1,
    }),
    { id: "slow", z: TAB_ID, type: "test-slow", delay: 1, wires: [["out"]] },
    { id: "out", z: TAB_ID, type: "helper" },
  ];
  await helper.load([withHooks, nodeInit("voevent-identity"), slowInit], flow);
}

const texts = () => statusHistory("r").map((s) => s.text ?? "");
const logs = () => callsOf("r", "log").map((args) => String(args[0]));

const open: net.Socket[] = [];

/**
 * An author on one persistent connection from `localAddress`: sends `count` events, at most
 * `window` ahead of their acks, and resolves with the acks and naks it got.
 */
async function author(
  port: number,
  tag: string,
  count: number,
  opts: { window?: number; localAddress?: string; timeoutMs?: number } = {},
): Promise<{ acks: number; naks: number }> {
  const socket = net.connect({ host: "127.0.0.1", port, localAddress: opts.localAddress ?? "127.0.0.1" });
  socket.on("error", () => {});
  open.push(socket);
  await once(socket, "connect");
  const conn = new FramedConnection(socket);
  conn.on("error", () => {});
  const window = opts.window ?? 64;
  let sent = 0;
  let acks = 0;
  let naks = 0;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `author ${tag}: ${acks + naks} of ${count} replies within ${opts.timeoutMs ?? 60_000} ms`,
          ),
        ),
      opts.timeoutMs ?? 60_000,
    );
    const fill = (): void => {
      while (sent < count && sent - acks - naks < window) conn.send(eventNo(tag, sent++));
    };
    conn.on("frame", (payload: Buffer) => {
      if (/role="ack"/.test(payload.toString("utf8"))) acks++;
      else naks++;
      if (acks + naks === count) {
        clearTimeout(timer);
        conn.close("done");
        resolve({ acks, naks });
      } else fill();
    });
    conn.once("close", (reason: string) => {
      if (acks + naks < count) {
        clearTimeout(timer);
        reject(new Error(`author ${tag}: closed after ${acks + naks} replies: ${reason}`));
      }
    });
    fill();
  });
}

/** The local ids the out node got, each with how often. */
function arrivals(msgs: { payload?: unknown }[]): Map<string, number> {
  const seen = new Map<string, number>();
  for (const m of msgs) {
    const id = /ivorn="[^"#]*#([^"]*)"/.exec(String(m.payload))?.[1] ?? "?";
    seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  return seen;
}

/** Every one of `count` events arrived, each exactly once. */
function assertEachOnce(msgs: { payload?: unknown }[], count: number): void {
  const seen = arrivals(msgs);
  assert.equal(seen.size, count, "every event arrived");
  assert.ok(
    [...seen.values()].every((n) => n === 1),
    "each exactly once",
  );
}

describe("voevent-receiver node: the maxBacklog setting", () => {
  useNodeRed();
  for (const value of ["0", "-5", "12.5", "lots"]) {
    it(`refuses maxBacklog ${JSON.stringify(value)} with a message naming it, and does not listen`, async () => {
      const port = await freePort();
      await loadSlowFlow(port, value);
      await waitUntil(() => texts().includes("invalid settings"), 2000, "invalid settings status");
      assert.equal(
        String(callsOf("r", "error")[0]![0]),
        `not started: the backlog (maxBacklog) must be a whole number of events, 1 or more, not "${value}"`,
      );
    });
  }
});

describeCorpus("voevent-receiver node: the backlog behind it is bounded (maxBacklog)", () => {
  useNodeRed();
  beforeEach(() => {
    slow.holding = 0;
    slow.maxHolding = 0;
    slow.got = 0;
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.destroy();
  });

  it("a flow slower than its author holds at most maxBacklog unfinished messages; every event arrives once and is acked", async function () {
    this.timeout(120_000);
    const port = await freePort();
    await loadSlowFlow(port, 200);
    await waitUntil(() => texts().some((t) => t.startsWith("listening on port")), 3000, "listening");
    const out = collect("out");
    const N = 2000;

    const got = await author(port, "a", N, { timeoutMs: 90_000 });

    assert.deepEqual(got, { acks: N, naks: 0 }, "every event acked");
    await waitUntil(() => out.length >= N, 30_000, `${N} messages at the end of the flow`);
    assertEachOnce(out, N);
    // Without the bound the slow node held ~1,000–2,000 here (the author runs at the
    // receiver's speed, several times the slow node's).
    assert.ok(
      slow.maxHolding <= 200,
      `the slow node held ${slow.maxHolding} messages at once (maxBacklog 200)`,
    );
    // One author: paused at its share, half the bound, and told so.
    assert.ok(
      texts().some((t) => /^authors paused: flow behind \(\d+ unfinished\)$/.test(t)),
      `a status "authors paused: flow behind": ${texts().slice(-5).join(" | ")}`,
    );
    assert.ok(
      logs().some((l) =>
        /^author 127\.0\.0\.1 paused: it has 100 events unfinished by the flow, its share \(half of maxBacklog\); \d+ unfinished in all \(the node's setting “Backlog”\)$/.test(
          l,
        ),
      ),
      `a log line naming the setting: ${logs().join(" | ")}`,
    );
    // Back to normal once the flow caught up.
    await waitUntil(() => /^port \d+: \d+ received$/.test(texts().at(-1) ?? ""), 5000, "the received status");
  });

  it("refused packets sent on (second output) count too: a flood of naks waits for the flow", async function () {
    this.timeout(120_000);
    const port = await freePort();
    await loadSlowFlow(port, 200, true);
    await waitUntil(() => texts().some((t) => t.startsWith("listening on port")), 3000, "listening");
    const out = collect("out");
    const N = 1500;

    const got = await author(port, "nak", N, { timeoutMs: 90_000 });

    assert.deepEqual(got, { acks: 0, naks: N }, "every packet naked, on one connection");
    await waitUntil(() => out.length >= N, 30_000, `${N} refused packets at the end of the flow`);
    assert.ok(
      out.every((m) => m.code === "BAD_IVORN"),
      String(out[0]?.code),
    );
    assert.ok(
      slow.maxHolding <= 200,
      `the slow node held ${slow.maxHolding} refused packets at once (maxBacklog 200)`,
    );
  });

  it("three flooding authors share the bound; a fourth author is still served; nothing lost", async function () {
    this.timeout(120_000);
    const port = await freePort();
    await loadSlowFlow(port, 200);
    await waitUntil(() => texts().some((t) => t.startsWith("listening on port")), 3000, "listening");
    const out = collect("out");
    const N = 1000;

    // Each may hold half of the bound: two at their share and the third flooding reach it.
    const a = author(port, "a", N, { localAddress: "127.0.0.1", timeoutMs: 90_000 });
    const b = author(port, "b", N, { localAddress: "127.0.0.2", timeoutMs: 90_000 });
    const d = author(port, "d", N, { localAddress: "127.0.0.4", timeoutMs: 90_000 });
    await waitUntil(
      () => logs().some((l) => l.startsWith("authors paused: flow behind")),
      30_000,
      "every author paused",
    );
    // A fourth author, one event per connection (comet-sendvo's way), while the others flood.
    for (let i = 0; i < 5; i++) {
      const got = await author(port, `c${i}`, 1, { localAddress: "127.0.0.3", timeoutMs: 30_000 });
      assert.deepEqual(got, { acks: 1, naks: 0 }, `the fourth author's event ${i} acked`);
    }
    assert.deepEqual(await a, { acks: N, naks: 0 });
    assert.deepEqual(await b, { acks: N, naks: 0 });
    assert.deepEqual(await d, { acks: N, naks: 0 });

    await waitUntil(() => out.length >= 3 * N + 5, 30_000, "every message at the end of the flow");
    assertEachOnce(out, 3 * N + 5);
    assert.ok(
      slow.maxHolding <= 200,
      `the slow node held ${slow.maxHolding} messages at once (maxBacklog 200)`,
    );
    assert.ok(
      logs().some((l) =>
        /^authors paused: flow behind \(\d+ events unfinished, limit maxBacklog = 200\); reading again at half \(the node's setting “Backlog”\)$/.test(
          l,
        ),
      ),
      `the log line: ${logs().join(" | ")}`,
    );
  });
});
