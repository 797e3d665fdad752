/**
 * The archive's nodes (node-red-node-test-helper), on the embedded store and on a PostgreSQL server
 * of the test's own: voevent-archive stores real packets through
 * the writer and shows stored / duplicates / pending, done() at once even with the database down;
 * voevent-query answers msg.query in the message contract (one message each or an array) and
 * refuses a bad query with done(err); voevent-archive-db shares one store between nodes and
 * flows, serves the HTTP API on RED.httpNode and frees its path and its file when closed; over TLS
 * with a core tls-config node (a PostgreSQL server with ssl=on and hostssl only, a test CA), and
 * a refused certificate or a server without TLS logged clearly while events keep flowing.
 */
import assert from "node:assert/strict";
import { util as redUtil } from "@node-red/util";
import { eventMessage, lazyEventMessage } from "../../src/contract";
import { rememberParsed, sharedParseCache } from "../../src/voevent/cache";
import { parseVOEvent, readVOEventHead } from "../../src/voevent/parse";
import { streamOf } from "../helpers/archive-expect";
import { describeCorpus } from "../helpers/corpus";
import {
  callsOf,
  catchNode,
  caughtError,
  collect,
  type FlowNode,
  getNode,
  helper,
  type Msg,
  nodeInit,
  statusHistory,
  TAB_ID,
  useNodeRed,
  waitUntil,
} from "../helpers/nodered";
import { PostgresServer } from "../helpers/postgres";
import { readTarballPackets } from "../helpers/tarball";
import { httpNodeGet, keepingHttpNode } from "./http-node";
import { freePorts, tlsConfigInit, tlsConfigNode } from "./network-helpers";

function inits() {
  return [
    keepingHttpNode(nodeInit("voevent-archive-db")),
    nodeInit("voevent-archive"),
    nodeInit("voevent-query"),
    tlsConfigInit,
  ];
}

async function load(flow: FlowNode[], credentials?: Record<string, unknown>): Promise<void> {
  const nodes = flow.some((n) => n.type === "tab")
    ? flow
    : [
        { id: TAB_ID, type: "tab", label: "test" },
        // Configuration nodes stay global, as the editor makes them.
        ...flow.map((n) =>
          "z" in n || n.type === "voevent-archive-db" || n.type === "tls-config" ? n : { ...n, z: TAB_ID },
        ),
      ];
  await helper.load(inits(), nodes, credentials);
}

/** GET on RED.httpNode through a real loopback server: the body as text. */
async function httpGet(pathAndQuery: string): Promise<{ status: number; body: string }> {
  const { status, body } = await httpNodeGet(pathAndQuery);
  return { status, body: new TextDecoder().decode(body) };
}

function dbNode(id: string, file: string, path: string, extra: Record<string, unknown> = {}): FlowNode {
  return {
    id,
    type: "voevent-archive-db",
    name: "",
    store: "embedded",
    file,
    path,
    maxAge: 0,
    maxEvents: 0,
    ...extra,
  };
}

const ivornOf = (xml: string): string => parseVOEvent(xml).voevent.ivorn;

const lastStatus = (id: string) => statusHistory(id).at(-1)?.text ?? "";

describeCorpus("voevent-archive, voevent-query and voevent-archive-db nodes", () => {
  useNodeRed();
  let packets: Buffer[] = [];
  let pg: PostgresServer | undefined;
  let pgTls: PostgresServer | undefined;

  after(async () => {
    await pg?.close();
    await pgTls?.close();
  });

  /** A core tls-config node verifying the server (its CA given as credentials). */
  const tlsConfig = tlsConfigNode;

  before(async function () {
    this.timeout(60_000);
    packets = (await readTarballPackets(43)).map((p) => p.xml);
  });

  for (const kind of ["embedded", "postgres"] as const)
    it(`${kind}: stores real packets, counts a duplicate, and shows it on a timer; query answers in the message contract`, async function () {
      this.timeout(60_000);
      let extra: Record<string, unknown> = {};
      let credentials: Record<string, unknown> | undefined;
      if (kind === "postgres") {
        pg ??= await PostgresServer.start();
        extra = { store: "postgres", host: pg.host, port: pg.port, database: pg.database, user: pg.user };
        credentials = { db: { password: pg.password } };
      }
      await load(
        [
          dbNode("db", "archive-nodes-a", `/voevent/archive-a-${kind}`, extra),
          { id: "store", type: "voevent-archive", name: "", db: "db", wires: [] },
          { id: "q", type: "voevent-query", name: "", db: "db", output: "each", wires: [["each"]] },
          { id: "qa", type: "voevent-query", name: "", db: "db", output: "array", wires: [["array"]] },
          { id: "each", type: "helper" },
          { id: "array", type: "helper" },
          catchNode("c", ["caught"]),
          { id: "caught", type: "helper" },
        ],
        credentials,
      );
      const caught = collect("caught");
      const sent = packets.slice(0, 30);
      const receivedAt = "2026-01-02T03:04:05.678Z";
      for (const xml of sent)
        getNode("store").receive({ payload: xml, vtp: { peer: null, localIvo: null, receivedAt } });
      getNode("store").receive({ payload: sent[0].toString("utf8") });
      await waitUntil(() => lastStatus("store") === "30 stored / 1 duplicates / 0 pending", 10_000, "status");
      assert.ok(
        statusHistory("store").length < 10,
        `the status is set on a timer, not per message (${statusHistory("store").length} times)`,
      );

      const each = collect("each");
      getNode("q").receive({ query: { limit: 5, order: "-id" }, topic: "digest", keep: "me" });
      await waitUntil(() => each.length === 5, 5000, "5 events");
      const newest = sent.slice(-5).reverse();
      for (const [i, msg] of each.entries()) {
        assert.equal(msg.payload, newest[i].toString("utf8"), "the XML exactly as received");
        const v = (msg as Msg & { voevent: { ivorn: string; stream: string } }).voevent;
        assert.ok(newest[i].toString("utf8").includes(v.ivorn));
        assert.match(String(msg.topic), /^voevent\//);
        assert.equal(v.stream.replace(/^ivo:\/\//, ""), streamOf(v.ivorn));
        assert.equal((msg as Msg & { vtp: { receivedAt: string } }).vtp.receivedAt, receivedAt);
        assert.deepEqual((msg as Msg & { archive: unknown }).archive, { index: i, count: 5, skipped: 0 });
        assert.equal(msg.keep, "me", "the input's other properties are kept");
      }
      assert.equal(lastStatus("q"), "5 found");

      const arrays = collect("array");
      getNode("qa").receive({ query: { stream: ["gwnet/LVC", "nasa.gsfc.gcn/SWIFT"], limit: 1000 } });
      await waitUntil(() => arrays.length === 1, 5000, "one message");
      const events = arrays[0].payload as Array<{ payload: string; voevent: { stream: string } }>;
      const want = sent.filter((x) => {
        const s = /ivorn="ivo:\/\/([^#"]+)/.exec(x.toString("utf8"))?.[1];
        return s === "gwnet/LVC" || s === "nasa.gsfc.gcn/SWIFT";
      });
      assert.equal(events.length, want.length);
      assert.deepEqual(
        events.map((e) => e.payload),
        want.map((x) => x.toString("utf8")),
      );

      getNode("q").receive({ query: { cone: "north" } });
      getNode("q").receive({ query: "role=observation" });
      getNode("q").receive({ query: { limit: 20000 } });
      getNode("store").receive({ payload: "<not-a-voevent/>" });
      await waitUntil(() => caught.length === 4, 5000, "four errors");
      const messages = caught.map(caughtError).sort();
      assert.ok(
        messages.some((m) => m.includes("cone") && m.includes("north")),
        messages.join(" | "),
      );
      assert.ok(
        messages.some((m) => m.includes("msg.query must be an object")),
        messages.join(" | "),
      );
      assert.ok(
        messages.some((m) => m.includes("limit") && m.includes("20000")),
        messages.join(" | "),
      );
      assert.ok(
        messages.some((m) => /VOEvent|root/i.test(m)),
        messages.join(" | "),
      );
    });

  for (const kind of ["embedded", "postgres"] as const)
    it(`${kind}: keeps msg.signature's verdict with the packet; voevent-query gives it back as msg.signature`, async function () {
      this.timeout(60_000);
      let extra: Record<string, unknown> = {};
      let credentials: Record<string, unknown> | undefined;
      if (kind === "postgres") {
        pg ??= await PostgresServer.start();
        extra = { store: "postgres", host: pg.host, port: pg.port, database: pg.database, user: pg.user };
        credentials = { db: { password: pg.password } };
      }
      await load(
        [
          dbNode("db", "archive-nodes-sig", `/voevent/archive-sig-${kind}`, extra),
          { id: "store", type: "voevent-archive", name: "", db: "db", wires: [] },
          { id: "q", type: "voevent-query", name: "", db: "db", output: "each", wires: [["each"]] },
          { id: "qa", type: "voevent-query", name: "", db: "db", output: "array", wires: [["array"]] },
          { id: "each", type: "helper" },
          { id: "array", type: "helper" },
        ],
        credentials,
      );
      // Packets no other test of this file stores (the PostgreSQL database is shared).
      const sent = packets.slice(40, 43);
      const signed = {
        verdict: "signed",
        keyId: "8C3F2A71D0E4B95A",
        userId: "GCN test key <gcn@example.org>",
        fingerprint: "0F1E2D3C4B5A69788796A5B48C3F2A71D0E4B95A",
        reason: "signed by 8C3F2A71D0E4B95A (GCN test key <gcn@example.org>)",
      };
      const unknown = {
        verdict: "unknown-key",
        keyId: "35F3D633A4FDD30A",
        userId: null,
        reason: "unknown key",
      };
      // As a subscriber with signatures "check" sends them on; the third was not checked.
      getNode("store").receive({ payload: sent[0], signature: signed });
      getNode("store").receive({ payload: sent[1], signature: unknown });
      getNode("store").receive({ payload: sent[2] });
      await waitUntil(() => lastStatus("store") === "3 stored / 0 duplicates / 0 pending", 10_000, "written");
      const expected = [
        null,
        { verdict: "unknown-key", keyId: "35F3D633A4FDD30A", userId: null },
        { verdict: "signed", keyId: "8C3F2A71D0E4B95A", userId: "GCN test key <gcn@example.org>" },
      ];

      const each = collect("each");
      // The input's own msg.signature is not what comes out.
      getNode("q").receive({
        query: { limit: 3, order: "-id" },
        signature: { verdict: "signed", keyId: "X" },
      });
      await waitUntil(() => each.length === 3, 5000, "3 events");
      assert.deepEqual(
        each.map((m) => m.payload),
        sent
          .slice()
          .reverse()
          .map((x) => x.toString("utf8")),
      );
      assert.deepEqual(
        each.map((m) => (Object.hasOwn(m, "signature") ? m.signature : null)),
        expected,
      );

      const arrays = collect("array");
      getNode("qa").receive({ query: { limit: 3, order: "-id" } });
      await waitUntil(() => arrays.length === 1, 5000, "one message");
      const events = arrays[0].payload as Array<{ signature?: unknown }>;
      assert.deepEqual(
        events.map((e) => (Object.hasOwn(e, "signature") ? e.signature : null)),
        expected,
      );
    });

  it("takes the flow's parse: a packet the receiver parsed is stored without parsing it again", async function () {
    this.timeout(30_000);
    await load([
      dbNode("db", "archive-nodes-parse", "/voevent/archive-parse"),
      { id: "store", type: "voevent-archive", name: "", db: "db", wires: [] },
    ]);
    const cache = sharedParseCache();
    cache.clear();
    const sent = packets.slice(0, 10).map((b) => b.toString("utf8"));
    for (const xml of sent) {
      // What the receiver node does with each packet it takes (voevent-receiver.ts).
      const parsed = parseVOEvent(xml);
      rememberParsed(xml, parsed.doc);
      getNode("store").receive({ ...eventMessage(parsed) });
    }
    await waitUntil(() => lastStatus("store") === "10 stored / 0 duplicates / 0 pending", 10_000, "status");
    assert.equal(cache.stats.misses, 0, "no packet was parsed a second time");
    assert.equal(cache.stats.hits, 10);
    const stored = await httpGet(
      `/voevent/archive-parse/apiv1/packet/xml/${encodeURIComponent(ivornOf(sent[3]))}`,
    );
    assert.equal(stored.body, sent[3], "the bytes exactly as received");
  });

  it("takes the tree a receiver's message carries: a copy for a second wire, its packet gone from the parse cache (a deep backlog), is not parsed again", async function () {
    this.timeout(30_000);
    await load([
      dbNode("db", "archive-nodes-tree", "/voevent/archive-tree"),
      { id: "store", type: "voevent-archive", name: "", db: "db", wires: [] },
    ]);
    const sent = packets.slice(10, 30).map((b) => b.toString("utf8"));
    const copies = sent.map((xml) => {
      // What the receiver node sends (voevent-receiver.ts), and Node-RED's copy of it for the
      // archive's wire beside the broadcaster's.
      const parsed = parseVOEvent(xml);
      const ev = { xml, doc: parsed.doc, head: readVOEventHead(parsed.doc), voevent: parsed.voevent };
      return redUtil.cloneMessage(lazyEventMessage(ev));
    });
    // By the archive's turn, hundreds of packets later, the cache has let these go.
    const cache = sharedParseCache();
    cache.clear();
    for (const msg of copies) getNode("store").receive(msg);
    await waitUntil(() => lastStatus("store") === "20 stored / 0 duplicates / 0 pending", 10_000, "status");
    assert.equal(cache.stats.misses, 0, "no packet was parsed a second time");
    for (const i of [0, 7, 19]) {
      const stored = await httpGet(
        `/voevent/archive-tree/apiv1/packet/xml/${encodeURIComponent(ivornOf(sent[i]))}`,
      );
      assert.equal(stored.body, sent[i], "the bytes exactly as received");
    }
    // A copy whose payload a node changed since is not stored with the old tree's fields.
    const changed = redUtil.cloneMessage(copies[0]);
    changed.payload = sent[5].replace(ivornOf(sent[5]), `${ivornOf(sent[5])}-changed`);
    getNode("store").receive(changed);
    await waitUntil(() => lastStatus("store") === "21 stored / 0 duplicates / 0 pending", 10_000, "status");
    const synopsis = await httpGet(
      `/voevent/archive-tree/apiv1/packet/synopsis/${encodeURIComponent(`${ivornOf(sent[5])}-changed`)}`,
    );
    assert.equal(synopsis.status, 200, "stored under the IVORN of its own payload");
  });

  it("serves the API on RED.httpNode while deployed; a redeploy frees the path and reopens the same file", async function () {
    this.timeout(30_000);
    const flow = () => [
      dbNode("db", "archive-nodes-b", "/voevent/archive-b"),
      { id: "store", type: "voevent-archive", name: "", db: "db", wires: [] },
    ];
    await load(flow());
    for (const xml of packets.slice(0, 3)) getNode("store").receive({ payload: xml });
    await waitUntil(() => lastStatus("store") === "3 stored / 0 duplicates / 0 pending", 10_000, "stored");
    const count = await httpGet("/voevent/archive-b/apiv1/count");
    assert.equal(count.status, 200);
    assert.equal(JSON.parse(count.body).result, 3);
    assert.equal((await httpGet("/voevent/archive-b/")).status, 200);

    await helper.unload();
    await load([
      {
        id: "other",
        type: "voevent-archive-db",
        name: "",
        store: "embedded",
        file: "archive-nodes-c",
        path: "/voevent/elsewhere",
      },
    ]);
    assert.equal(
      (await httpGet("/voevent/archive-b/apiv1/count")).status,
      404,
      "the path is free once closed",
    );
    await helper.unload();

    // The same file again (the store was closed, so it opens) with what was stored before.
    await load(flow());
    const again = await httpGet("/voevent/archive-b/apiv1/count");
    assert.equal(again.status, 200, again.body);
    assert.equal(JSON.parse(again.body).result, 3);
  });

  it("is shared by nodes on two flows; a second archive on the same path serves no HTTP and says so", async function () {
    this.timeout(30_000);
    await load([
      { id: "t1", type: "tab", label: "one" },
      { id: "t2", type: "tab", label: "two" },
      dbNode("db", "archive-nodes-d", "/voevent/archive-d"),
      dbNode("db2", "archive-nodes-e", "/voevent/archive-d"),
      { id: "s1", type: "voevent-archive", z: "t1", name: "", db: "db", wires: [] },
      { id: "s2", type: "voevent-archive", z: "t2", name: "", db: "db", wires: [] },
      { id: "q", type: "voevent-query", z: "t2", name: "", db: "db", output: "array", wires: [["out"]] },
      { id: "out", type: "helper", z: "t2" },
    ]);
    getNode("s1").receive({ payload: packets[0] });
    getNode("s2").receive({ payload: packets[1] });
    getNode("s2").receive({ payload: packets[0] });
    await waitUntil(
      () => /^[12] stored/.test(lastStatus("s1")) && /^[12] stored/.test(lastStatus("s2")),
      10_000,
      "stored",
    );
    const out = collect("out");
    getNode("q").receive({ query: {} });
    await waitUntil(() => out.length === 1, 5000, "answer");
    assert.equal((out[0].payload as unknown[]).length, 2, "both flows wrote to the one archive");
    const warnings = callsOf("db2", "warn").map((args) => String(args[0]));
    assert.ok(
      warnings.some((w) => w.includes("already served")),
      warnings.join(" | "),
    );
  });

  it("postgres down mid-flow: events keep flowing, wait as pending (yellow), and are written when it is back", async function () {
    this.timeout(90_000);
    pg ??= await PostgresServer.start();
    await load(
      [
        dbNode("db", "", "/voevent/archive-g", {
          store: "postgres",
          host: pg.host,
          port: pg.port,
          database: pg.database,
          user: pg.user,
        }),
        { id: "store", type: "voevent-archive", name: "", db: "db", wires: [] },
        { id: "done", type: "complete", scope: ["store"], uncaught: false, wires: [["completed"]] },
        { id: "completed", type: "helper" },
      ],
      { db: { password: pg.password } },
    );
    const completed = collect("completed");
    const batch = packets.slice(30, 40);
    for (const xml of batch.slice(0, 3)) getNode("store").receive({ payload: xml });
    await waitUntil(
      () => /^\d+ stored \/ \d+ duplicates \/ 0 pending$/.test(lastStatus("store")),
      20_000,
      "written",
    );
    const before = Number(lastStatus("store").split(" ")[0]);
    await pg.stop();
    for (const xml of batch.slice(3)) getNode("store").receive({ payload: xml });
    await waitUntil(() => completed.length === batch.length, 2000, "every message done at once");
    await waitUntil(() => statusHistory("store").at(-1)?.fill === "yellow", 20_000, "yellow while down");
    assert.match(lastStatus("store"), /7 pending/);
    await pg.start();
    await waitUntil(
      () => lastStatus("store").endsWith("/ 0 pending") && statusHistory("store").at(-1)?.fill === "green",
      30_000,
      "written once the server is back",
    );
    const c = lastStatus("store").match(/^(\d+) stored \/ (\d+) duplicates/);
    assert.ok(c);
    assert.equal(Number(c[1]) + Number(c[2]), before + 7 + (batch.length - 10), "nothing lost");
  });

  it("postgres over TLS with a tls-config node (its CA, verify server certificate): stores, queries and serves", async function () {
    this.timeout(60_000);
    pgTls ??= await PostgresServer.start({ tls: true });
    const ca = pgTls.tlsFiles?.ca ?? "";
    await load(
      [
        dbNode("db", "", "/voevent/archive-tls", {
          store: "postgres",
          host: pgTls.host,
          port: pgTls.port,
          database: pgTls.database,
          user: pgTls.user,
          tls: "tls1",
        }),
        tlsConfig("tls1"),
        { id: "store", type: "voevent-archive", name: "", db: "db", wires: [] },
        { id: "q", type: "voevent-query", name: "", db: "db", output: "array", wires: [["out"]] },
        { id: "out", type: "helper" },
      ],
      { db: { password: pgTls.password }, tls1: { cadata: ca } },
    );
    const sent = packets.slice(0, 6);
    for (const xml of sent) getNode("store").receive({ payload: xml });
    // The server takes only TLS over TCP (hostssl): stored means stored over TLS.
    await waitUntil(() => lastStatus("store") === "6 stored / 0 duplicates / 0 pending", 20_000, "stored");
    const out = collect("out");
    getNode("q").receive({ query: { order: "id" } });
    await waitUntil(() => out.length === 1, 10_000, "answer");
    assert.deepEqual(
      (out[0].payload as Array<{ payload: string }>).map((m) => m.payload),
      sent.map((x) => x.toString("utf8")),
    );
    const count = await httpGet("/voevent/archive-tls/apiv1/count");
    assert.equal(count.status, 200, count.body);
    assert.equal((JSON.parse(count.body) as { result: number }).result, 6);
    assert.deepEqual(callsOf("db", "warn"), [], "no warning");
  });

  for (const wrong of ["a certificate from another CA", "a server without TLS"] as const)
    it(`TLS refused (${wrong}): a clear log line, events still flow and wait as pending, the API 503`, async function () {
      this.timeout(60_000);
      pgTls ??= await PostgresServer.start({ tls: true });
      pg ??= await PostgresServer.start();
      const files = pgTls.tlsFiles;
      assert.ok(files);
      const server = wrong === "a server without TLS" ? pg : pgTls;
      const ca = wrong === "a server without TLS" ? files.ca : files.otherCa;
      await load(
        [
          dbNode("db", "", "/voevent/archive-tls-bad", {
            store: "postgres",
            host: server.host,
            port: server.port,
            database: server.database,
            user: server.user,
            tls: "tls1",
          }),
          tlsConfig("tls1"),
          { id: "store", type: "voevent-archive", name: "", db: "db", wires: [] },
          { id: "done", type: "complete", scope: ["store"], uncaught: false, wires: [["completed"]] },
          { id: "completed", type: "helper" },
        ],
        { db: { password: server.password }, tls1: { cadata: ca } },
      );
      const completed = collect("completed");
      for (const xml of packets.slice(0, 5)) getNode("store").receive({ payload: xml });
      await waitUntil(() => completed.length === 5, 2000, "every message done at once");
      await waitUntil(() => statusHistory("store").at(-1)?.fill === "yellow", 20_000, "yellow");
      assert.equal(lastStatus("store"), "0 stored / 0 duplicates / 5 pending · database unavailable");
      const words =
        wrong === "a server without TLS"
          ? /TLS is on but the server does not offer it/
          : /TLS: the server's certificate was refused: (unable to verify|self-signed certificate in)/;
      await waitUntil(
        () => callsOf("db", "warn").some((args) => words.test(String(args[0]))),
        10_000,
        "the log says what is wrong",
      );
      const warning = callsOf("db", "warn")
        .map((args) => String(args[0]))
        .find((w) => words.test(w));
      assert.match(
        String(warning),
        new RegExp(`cannot write to the archive voevent@127\\.0\\.0\\.1:${server.port}/voevent`),
      );
      const count = await httpGet("/voevent/archive-tls-bad/apiv1/count");
      assert.equal(count.status, 503);
      assert.match(count.body, words);
    });

  it("a tls setting naming no tls-config node: a worded error, not a catalogue key", async () => {
    await load(
      [
        dbNode("db", "", "/voevent/archive-tls-missing", {
          store: "postgres",
          host: "127.0.0.1",
          port: 5432,
          database: "voevent",
          user: "voevent",
          tls: "gone",
        }),
      ],
      { db: { password: "x" } },
    );
    const errors = callsOf("db", "error").map((args) => String(args[0]));
    assert.deepEqual(errors, ["TLS: the TLS configuration node gone is missing (was it deleted?)"]);
  });

  it("done() at once with the database down: events wait as pending, the status says so", async function () {
    this.timeout(30_000);
    const [deadPort] = await freePorts(1);
    await load(
      [
        dbNode("db", "", "/voevent/archive-f", {
          store: "postgres",
          host: "127.0.0.1",
          port: deadPort,
          database: "voevent",
          user: "voevent",
        }),
        { id: "store", type: "voevent-archive", name: "", db: "db", wires: [] },
        { id: "done", type: "complete", scope: ["store"], uncaught: false, wires: [["completed"]] },
        { id: "completed", type: "helper" },
      ],
      { db: { password: "secret" } },
    );
    const completed = collect("completed");
    for (const xml of packets.slice(0, 5)) getNode("store").receive({ payload: xml });
    await waitUntil(() => completed.length === 5, 2000, "five messages done");
    await waitUntil(
      () => lastStatus("store").startsWith("0 stored / 0 duplicates / 5 pending"),
      10_000,
      "pending",
    );
    await waitUntil(() => statusHistory("store").at(-1)?.fill === "yellow", 10_000, "yellow");
  });
});
