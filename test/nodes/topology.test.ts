/**
 * A whole VTP topology made of the package's nodes alone, on real sockets:
 *
 *   sender → receiver → dedupe → broadcaster → subscriber s1 → filter → ksk / obs / other
 *                                            → subscriber s2
 *                                            → subscriber s3 (brokerFilters: KSK only)
 *
 * plus a Catch node that sees what the sender could not deliver.
 */
import assert from "node:assert/strict";
import { describeCorpus, isMarkedNotWellFormed, readIndex, readPacket } from "../helpers/corpus";
import {
  callsOf,
  catchNode,
  caughtError,
  collect,
  type FlowNode,
  getNode,
  loadFlow,
  type Msg,
  nextMessage,
  sleep,
  statusHistory,
  useNodeRed,
  waitUntil,
} from "../helpers/nodered";
import { fixture, freePorts, identityNode, packet, receiverNode } from "./network-helpers";

const TYPES = [
  "voevent-identity",
  "voevent-sender",
  "voevent-receiver",
  "voevent-dedupe",
  "voevent-broadcaster",
  "voevent-subscriber",
  "voevent-filter",
];

const KSK = '//Who/Author[contactName="KSK"]';

function topology(rPort: number, bPort: number): FlowNode[] {
  const subscriber = (id: string, wires: string[], filters: string[] = []): FlowNode => ({
    id,
    type: "voevent-subscriber",
    name: "",
    host: "127.0.0.1",
    port: bPort,
    identity: "ident",
    brokerFilters: filters,
    tls: "",
    watchdog: 150,
    maxBackoff: 1,
    wires: [wires],
  });
  return [
    identityNode(),
    {
      id: "snd",
      type: "voevent-sender",
      name: "",
      host: "127.0.0.1",
      hostType: "str",
      port: rPort,
      portType: "num",
      timeout: 5,
      retries: 0,
      tls: "",
      wires: [["acked"]],
    },
    { id: "acked", type: "helper" },
    receiverNode(rPort, [["d"]]),
    {
      id: "d",
      type: "voevent-dedupe",
      name: "",
      key: "bytes",
      keyProperty: "topic",
      ttl: 1,
      ttlUnits: "hours",
      capacity: 1000,
      store: "memory",
      path: "",
      wires: [["bc"], ["dup"]],
    },
    { id: "dup", type: "helper" },
    {
      id: "bc",
      type: "voevent-broadcaster",
      name: "",
      host: "127.0.0.1",
      port: bPort,
      identity: "ident",
      whitelist: "127.0.0.0/8, ::1",
      iamaliveInterval: 60,
      testInterval: 0,
      maxQueue: 4194304,
      tls: "",
      monitor: true,
      outputs: 2,
      wires: [["bcout"], ["mon"]],
    },
    { id: "bcout", type: "helper" },
    { id: "mon", type: "helper" },
    subscriber("s1", ["s1out", "f"]),
    subscriber("s2", ["s2out"]),
    subscriber("s3", ["s3out"], [KSK]),
    {
      id: "f",
      type: "voevent-filter",
      name: "",
      rulesFrom: "node",
      rules: [
        { t: "xpath", xpath: KSK },
        { t: "role", op: "is", role: "observation" },
      ],
      checkall: "true",
      otherwise: true,
      outputs: 3,
      wires: [["ksk"], ["obs"], ["other"]],
    },
    ...["s1out", "s2out", "s3out", "ksk", "obs", "other"].map((id) => ({ id, type: "helper" })),
    catchNode("c", ["caught"]),
    { id: "caught", type: "helper" },
  ];
}

const ivornOf = (m: Msg) => (m.voevent as { ivorn: string }).ivorn;

async function start(): Promise<{ rPort: number; bPort: number }> {
  const [rPort, bPort] = await freePorts(2);
  await loadFlow(TYPES, topology(rPort!, bPort!));
  await waitUntil(
    () => statusHistory("bc").some((s) => s.text === `3 subscribers (port ${bPort})`),
    5000,
    "three subscribers at the broadcaster",
  );
  await waitUntil(
    () => statusHistory("r").some((s) => s.text === `listening on port ${rPort}`),
    2000,
    "the receiver listening",
  );
  // The subscribers' authenticate replies (with s3's filter) follow the connection at once.
  await sleep(100);
  return { rPort: rPort!, bPort: bPort! };
}

describe("VTP topology from the nodes alone", () => {
  useNodeRed();

  it("each event reaches every subscriber once, the filter routes it, a duplicate is dropped, a nak reaches Catch", async () => {
    await start();
    const out = Object.fromEntries(
      ["acked", "dup", "bcout", "s1out", "s2out", "s3out", "ksk", "obs", "other", "caught"].map((id) => [
        id,
        collect(id),
      ]),
    ) as Record<string, Msg[]>;

    // 1. A KSK observation: to every subscriber (s3's filter accepts it); the filter's KSK and observation outputs.
    const a = packet({ id: "A", contactName: "KSK", role: "observation" });
    getNode("snd").receive({ payload: a });
    await waitUntil(
      () => out.s1out!.length === 1 && out.s2out!.length === 1 && out.s3out!.length === 1,
      3000,
      "event A at the subscribers",
    );
    assert.equal((out.acked![0]!.vtp as { reply: string }).reply, "ack");
    for (const id of ["s1out", "s2out", "s3out"]) {
      assert.equal(out[id]![0]!.payload, a, `${id}: the bytes as sent`);
      assert.equal(ivornOf(out[id]![0]!), "ivo://test.example/alerts#A");
      assert.match(String((out[id]![0]!.vtp as { peer: string }).peer), /^127\.0\.0\.1:\d+$/);
    }
    await waitUntil(() => out.ksk!.length === 1 && out.obs!.length === 1, 2000, "A routed");

    // 2. A test event from someone else: s3's broker filter keeps it away; the filter's "otherwise".
    const b = packet({ id: "B", contactName: "Someone" });
    getNode("snd").receive({ payload: b });
    await waitUntil(() => out.s1out!.length === 2 && out.s2out!.length === 2, 3000, "event B");
    await waitUntil(() => out.other!.length === 1, 2000, "B routed to otherwise");

    // 3. The same bytes again: the receiver acks (a duplicate is no reason to nak), dedupe drops it.
    getNode("snd").receive({ payload: a });
    await waitUntil(() => out.dup!.length === 1 && out.acked!.length === 3, 3000, "the duplicate");
    assert.equal(out.dup![0]!.payload, a);

    // 4. Broken packets: no #local-id, then not well-formed. The receiver naks, the sender's done(err) reaches Catch.
    const noLocalId = nextMessage("caught", 3000);
    getNode("snd").receive({ payload: fixture("no-wherewhen.xml") });
    const caught1 = await noLocalId;
    assert.match(caughtError(caught1), /refused the event \(nak\): Event rejected: .*local ID/i);
    assert.equal((caught1.error as { source: { id: string } }).source.id, "snd");
    assert.equal((caught1.vtp as { reply: string }).reply, "nak");
    const malformed = nextMessage("caught", 3000);
    getNode("snd").receive({
      payload: '<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" ivorn="ivo://x.org/y#1">',
    });
    assert.match(caughtError(await malformed), /refused the event \(nak\)/);

    // Nothing more arrives anywhere.
    await sleep(200);
    const counts = Object.fromEntries(Object.entries(out).map(([id, msgs]) => [id, msgs.length]));
    assert.deepEqual(counts, {
      acked: 3,
      dup: 1,
      bcout: 2,
      s1out: 2,
      s2out: 2,
      s3out: 1,
      ksk: 1,
      obs: 1,
      other: 1,
      caught: 2,
    });
    assert.deepEqual(
      out.s3out!.map(ivornOf),
      ["ivo://test.example/alerts#A"],
      "s3's broker filter: KSK only",
    );
    assert.deepEqual(
      out.s1out!.map(ivornOf),
      ["ivo://test.example/alerts#A", "ivo://test.example/alerts#B"],
      "in order",
    );
    assert.deepEqual(
      out.bcout!.map((m) => m.broadcast),
      [
        { sent: 3, subscribers: 3 },
        { sent: 2, subscribers: 3 },
      ],
    );
  });

  it("the broadcaster's monitor output sees the subscribers connect, ack and leave", async () => {
    const { bPort } = await start();
    const mon = collect("mon");
    const s1 = collect("s1out");
    getNode("snd").receive({ payload: packet({ id: "M", contactName: "KSK" }) });
    await waitUntil(() => s1.length === 1, 3000, "the event");
    await waitUntil(() => mon.filter((m) => m.topic === "ack").length === 3, 2000, "three acks");
    const acks = mon
      .filter((m) => m.topic === "ack")
      .map((m) => m.payload as { origin: string; peer: string });
    assert.ok(acks.every((a) => a.origin === "ivo://test.example/alerts#M"));
    assert.equal(new Set(acks.map((a) => a.peer)).size, 3, "one ack from each subscriber");
    // The subscribe reports went out before collect() started: they are in the node's send history.
    const sentBefore = callsOf("bc", "send").map(([m]) => m as (Msg | null)[]);
    const subscribes = sentBefore.map((pair) => pair[1]).filter((m): m is Msg => m?.topic === "subscribe");
    assert.equal(subscribes.length, 3);
    assert.deepEqual(
      subscribes.map((m) => (m.payload as { subscribers: number }).subscribers),
      [1, 2, 3],
    );
    // One subscriber node stops (as on a redeploy of its flow): the broadcaster reports it leaving.
    await getNode("s3").close(false);
    await waitUntil(() => mon.some((m) => m.topic === "unsubscribe"), 2000, "unsubscribe");
    const left = mon.find((m) => m.topic === "unsubscribe")!.payload as {
      event: string;
      subscribers: number;
    };
    assert.equal(left.event, "unsubscribe");
    assert.equal(left.subscribers, 2);
    await waitUntil(
      () => statusHistory("bc").at(-1)?.text === `2 subscribers (port ${bPort})`,
      2000,
      "the count going down",
    );
  });
});

describeCorpus("VTP topology with the corpus", () => {
  useNodeRed();

  it("corpus packets travel sender → receiver → dedupe → broadcaster → subscribers byte for byte", async function () {
    this.timeout(60000);
    await start();
    const s1 = collect("s1out");
    const s2 = collect("s2out");
    const acked = collect("acked");
    const sent: string[] = [];
    for (const row of readIndex()) {
      if (isMarkedNotWellFormed(row) || !row.ivorn.includes("#") || row.size_bytes > 90000) continue;
      const bytes = readPacket(row.file);
      const result = Promise.race([nextMessage("acked", 5000), nextMessage("caught", 5000)]);
      getNode("snd").receive({ payload: bytes });
      const msg = await result;
      if ((msg.vtp as { reply?: string }).reply !== "ack") continue;
      sent.push(bytes.toString("utf8"));
    }
    const unique = [...new Set(sent)];
    await waitUntil(
      () => s1.length === unique.length && s2.length === unique.length,
      10000,
      "every unique packet",
    );
    assert.deepEqual(
      s1.map((m) => m.payload),
      unique,
    );
    assert.ok(acked.length === sent.length && unique.length > 10, `${unique.length} packets relayed`);
  });
});
