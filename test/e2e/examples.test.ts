/**
 * The examples (examples/*.json), each deployed to a real runtime as a user would import it
 * (ports rewritten to free ones, GCN's servers to a local broadcaster) and driven from outside:
 * the package's CLI (voevent-alert, voevent-send, voevent-listen) publishes and listens, an
 * in-process VTP broadcaster plays GCN, the registry is used over HTTP. What is checked is what
 * a user would see: events arrive once, filtered ones do not, the broadcaster relays the exact
 * bytes, dedupe drops a re-send.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { VTPBroadcaster } from "../../src/vtp/broadcaster";
import { readPacket } from "../helpers/corpus";
import { countInLog, EXAMPLES_DIR, readDemo, readExample, rewriteFlow, seen, tapDebugs } from "./flows";
import {
  delay,
  type FlowNode,
  freePort,
  httpRequest,
  INSTALL_TIMEOUT_MS,
  killChild,
  makeTempDir,
  PACKAGE_NAME,
  type Runtime,
  run,
  startRuntime,
} from "./harness";

const MINE = [
  "01-broker.json",
  "02-subscriber-filter.json",
  "03-gcn.json",
  "06-registry.json",
  "07-test-alerts.json",
];
const GCN_HOSTS = ["45.58.43.186", "68.169.57.253"];
const KSK_XPATH = '//Who/Author[contactName="KSK"]';
const STRUCTURAL = new Set(["tab", "comment", "group", "junction"]);
/** How long "it does not arrive" waits once something sent later has arrived. */
const QUIET_MS = 1000;

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(50);
  }
}

function ivornOf(xml: string | Buffer): string {
  const m = /ivorn="([^"]+)"/.exec(String(xml));
  if (!m?.[1]) throw new Error("no ivorn");
  return m[1];
}

describe("e2e: the examples in a real runtime", function () {
  this.timeout(60_000);
  let rt: Runtime;
  let cliDir = "";
  let work = "";
  const children = new Set<ChildProcess>();

  const cli = (name: "send" | "alert" | "listen") => path.join(cliDir, `${name}.js`);

  /** voevent-alert [--contact NAME] into a file; resolves to its path and IVORN. */
  async function alertFile(contact: string): Promise<{ file: string; ivorn: string; xml: string }> {
    const { stdout } = await run(process.execPath, [cli("alert"), "--contact", contact], {
      timeoutMs: 20_000,
    });
    const file = path.join(work, `alert-${contact}-${Date.now()}-${Math.random().toString(16).slice(2)}.xml`);
    fs.writeFileSync(file, stdout);
    return { file, ivorn: ivornOf(stdout), xml: stdout };
  }

  /** voevent-send --port PORT FILE; resolves once the broker acked. */
  async function send(port: number, file: string): Promise<void> {
    await run(process.execPath, [cli("send"), "--port", String(port), "--timeout", "5", file], {
      timeoutMs: 30_000,
    });
  }

  /** voevent-listen --xml on a port: the packets it prints, as they come. */
  async function listen(port: number): Promise<{ packets: string[]; stop(): Promise<void> }> {
    const child = spawn(process.execPath, [cli("listen"), "--port", String(port), "--xml"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.add(child);
    let out = "";
    let err = "";
    const packets: string[] = [];
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString("utf8");
      let i = out.indexOf("\n\n");
      while (i >= 0) {
        packets.push(out.slice(0, i));
        out = out.slice(i + 2);
        i = out.indexOf("\n\n");
      }
    });
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString("utf8");
    });
    await until("voevent-listen to connect", () => err.includes("connected to"));
    return {
      packets,
      async stop() {
        await killChild(child, "SIGTERM", 3000);
        children.delete(child);
      },
    };
  }

  /** Deploys and waits until the flows have started. */
  async function deploy(flows: FlowNode[]): Promise<number> {
    const since = rt.logs().length;
    await rt.deploy(flows);
    await rt.waitForLog("Started flows", 20_000, since);
    return since;
  }

  /** Sends fresh alerts until one shows at the debug tap `id`: the subscribers are connected. */
  async function primed(port: number, id: string, contact = "probe"): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const a = await alertFile(contact);
      await send(port, a.file);
      const t = Date.now() + 1500;
      while (Date.now() < t) {
        if (rt.logs().includes(seen(id, a.ivorn))) return;
        await delay(50);
      }
      if (Date.now() > deadline) throw new Error(`nothing reached ${id}`);
    }
  }

  before(async function () {
    this.timeout(INSTALL_TIMEOUT_MS + 60_000);
    rt = await startRuntime();
    cliDir = path.join(rt.userDir, "node_modules", ...PACKAGE_NAME.split("/"), "dist", "src", "cli");
    work = makeTempDir("examples");
  });

  after(async () => {
    for (const child of children) await killChild(child, "SIGTERM", 3000);
    await rt?.stop();
  });

  it("examples share one identity node and listen on ports of their own (8100-8199), apart from the demo's", () => {
    const files = fs.readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith(".json"));
    assert.ok(!files.includes("demo.json"), "the demo is not among the examples");
    const identities = new Set<string>();
    for (const file of files) {
      for (const node of readExample(file)) {
        if (node.type === "voevent-identity") {
          assert.deepEqual(
            { id: node.id, name: node.name, localIvo: node.localIvo },
            {
              id: "voevent-identity-example",
              name: "this Node-RED",
              localIvo: "ivo://node-red.local/voevent",
            },
            `${file}: the shared identity node`,
          );
          identities.add(node.id);
        }
        if (typeof node.identity === "string" && node.identity !== "") {
          assert.equal(
            node.identity,
            "voevent-identity-example",
            `${file}: ${node.id} uses the shared identity`,
          );
        }
        if (node.type === "voevent-receiver" || node.type === "voevent-broadcaster") {
          const port = Number(node.port);
          assert.ok(port >= 8100 && port <= 8199, `${file}: ${node.id} listens on ${port}, not 8100-8199`);
        }
        for (const text of [node.info, node.name].filter((t): t is string => typeof t === "string")) {
          // GCN's own servers listen on 8099; every other mention would be the demo's broker.
          if (file !== "03-gcn.json")
            assert.doesNotMatch(text, /\b809[89]\b/, `${file}: ${node.id} names the demo's ports`);
          assert.doesNotMatch(
            text,
            /broker example \(0[2-9]\)/,
            `${file}: ${node.id}: the broker example is 01`,
          );
        }
      }
    }
    assert.deepEqual([...identities], ["voevent-identity-example"]);
  });

  it("each example is a flow with a Comment saying how to try it, and deploys without edits", async function () {
    this.timeout(120_000);
    const known = new Set((await rt.nodes()).flatMap((s) => s.types));
    for (const file of MINE) {
      const flows = readExample(file);
      const ids = flows.map((n) => n.id);
      assert.equal(new Set(ids).size, ids.length, `${file}: unique ids`);
      const comments = flows.filter((n) => n.type === "comment");
      assert.ok(comments.length > 0, `${file} has a Comment`);
      assert.ok(
        comments.some((c) => /npx voevent-/.test(String(c.info ?? ""))),
        `${file}: a Comment gives shell commands to try it`,
      );
      for (const n of flows) {
        if (!STRUCTURAL.has(n.type))
          assert.ok(known.has(n.type), `${file}: ${n.id} is a known type (${n.type})`);
      }
      // Only the fixed listening ports move (another test may hold 8100/8101).
      const ports = { 8100: await freePort(), 8101: await freePort() };
      const since = await deploy(rewriteFlow(flows, { ports }));
      await delay(300);
      const log = rt.logs().slice(since);
      assert.doesNotMatch(log, /Waiting for missing types/, file);
      assert.doesNotMatch(log, /\[error\]/, `${file}: no errors on deploy\n${log}`);
    }
  });

  it("01 broker: the listener gets the exact bytes once; dedupe drops the re-send", async () => {
    const ports = { 8100: await freePort(), 8101: await freePort() };
    const flows = tapDebugs(rewriteFlow(readExample("01-broker.json"), { ports }), {
      "ex01-duplicate": "voevent.ivorn",
    });
    const since = await deploy(flows);
    const listener = await listen(ports[8101]);
    try {
      const a = await alertFile("KSK");
      await send(ports[8100], a.file);
      await until("the event at the listener", () => listener.packets.length === 1);
      assert.equal(listener.packets[0], a.xml.replace(/\s+$/, ""), "the bytes as sent");
      await send(ports[8100], a.file);
      await rt.waitForLog(seen("ex01-duplicate", a.ivorn), 10_000, since);
      const b = await alertFile("other");
      await send(ports[8100], b.file);
      await until("the next event", () => listener.packets.length >= 2);
      await delay(QUIET_MS);
      assert.deepEqual(listener.packets.map(ivornOf), [a.ivorn, b.ivorn], "each event once, in order");
      assert.equal(countInLog(rt, seen("ex01-duplicate", a.ivorn), since), 1);
    } finally {
      await listener.stop();
    }
  });

  it("02 subscriber + filter: KSK's events pass, others are dropped", async () => {
    const ports = { 8100: await freePort(), 8101: await freePort() };
    const flows = tapDebugs(
      rewriteFlow([...readExample("01-broker.json"), ...readExample("02-subscriber-filter.json")], { ports }),
      { "ex02-ksk": "voevent.ivorn", "ex02-all": "voevent.ivorn" },
    );
    const since = await deploy(flows);
    await primed(ports[8100], "ex02-all");
    const other = await alertFile("other");
    const ksk = await alertFile("KSK");
    await send(ports[8100], other.file);
    await send(ports[8100], ksk.file);
    await rt.waitForLog(seen("ex02-ksk", ksk.ivorn), 10_000, since);
    await rt.waitForLog(seen("ex02-all", other.ivorn), 10_000, since);
    await delay(QUIET_MS);
    assert.equal(countInLog(rt, seen("ex02-ksk", ksk.ivorn), since), 1);
    assert.equal(countInLog(rt, seen("ex02-ksk", other.ivorn), since), 0, "the other event is filtered out");
  });

  describe("03 GCN, its two servers played by one local broadcaster", () => {
    let broadcaster: VTPBroadcaster | undefined;
    after(async () => {
      await broadcaster?.close();
    });

    it("a GBM or BAT position arrives once though both subscribers get it; other notices are dropped", async () => {
      const port = await freePort();
      broadcaster = new VTPBroadcaster({ host: "127.0.0.1", port, localIvo: "ivo://gcn.test/broker" });
      await broadcaster.listen();
      const hosts = Object.fromEntries(GCN_HOSTS.map((h) => [h, "127.0.0.1"]));
      const flows = rewriteFlow(readExample("03-gcn.json"), { hosts, ports: { 8099: port } });
      // A tap after dedupe: what passes it, before the filter.
      flows.push({
        id: "test-unique",
        type: "debug",
        z: "ex03-tab",
        name: "unique",
        active: true,
        tosidebar: false,
        console: true,
        complete: "voevent.ivorn",
        targetType: "msg",
        wires: [],
      });
      const dedupe = flows.find((n) => n.id === "ex03-dedupe");
      assert.ok(dedupe?.wires?.[0]);
      dedupe.wires[0].push("test-unique");
      tapDebugs(flows, {
        "ex03-gbm": "voevent.ivorn",
        "ex03-bat": "voevent.ivorn",
        "test-unique": "voevent.ivorn",
      });
      const since = await deploy(flows);
      const b = broadcaster;
      await until("both subscribers at the broadcaster", () => b.subscribers.length === 2);
      let acks = 0;
      b.on("ack", () => {
        acks += 1;
      });

      const gbm = readPacket("pygcn__gbm_flt_pos.xml"); // Packet_Type 111
      const bat = readPacket("gwcelery__swift_grb_gcn.xml"); // 61
      const alert = readPacket("growth-too-marshal__GRB180116A_Fermi_GBM_Alert.xml"); // 110
      for (const p of [gbm, alert, bat]) assert.equal(b.broadcast(p), 2, "sent to both subscribers");
      await rt.waitForLog(seen("ex03-bat", ivornOf(bat)), 10_000, since);
      await until("both subscribers' acks", () => acks === 6);
      await delay(QUIET_MS);
      assert.equal(countInLog(rt, seen("ex03-gbm", ivornOf(gbm)), since), 1, "GBM position once");
      assert.equal(countInLog(rt, seen("ex03-bat", ivornOf(bat)), since), 1, "BAT position once");
      assert.equal(
        countInLog(rt, seen("test-unique", ivornOf(alert)), since),
        1,
        "the GBM alert passed dedupe",
      );
      assert.equal(countInLog(rt, seen("ex03-gbm", ivornOf(alert)), since), 0, "type 110 is filtered out");
      assert.equal(countInLog(rt, seen("ex03-bat", ivornOf(alert)), since), 0);
      // The same notice again (GCN's other server, late): still nothing new.
      b.broadcast(gbm);
      await until("the late copies acked", () => acks === 8);
      await delay(QUIET_MS);
      assert.equal(countInLog(rt, seen("ex03-gbm", ivornOf(gbm)), since), 1);
    });
  });

  describe("the seed demo (broker + registry + test alerts)", () => {
    const ports: Record<number, number> = {};
    let since = 0;
    const api = (p = "") => rt.httpUrl(`/voevent/api/subscriptions${p}`);
    const matched = (text: string) => seen("demo-matched", text);

    before(async () => {
      ports[8098] = await freePort();
      ports[8099] = await freePort();
      const flows = tapDebugs(rewriteFlow(readDemo(), { ports }), {
        "demo-matched": "summary",
        "demo-received": "voevent.ivorn",
        "demo-email-debug": 'to & " " & voevent.ivorn',
        "demo-mqtt-debug": 'topic & " " & voevent.ivorn',
        "demo-reply": 'vtp.reply & " " & voevent.author.contactName',
      });
      since = await deploy(flows);
    });

    it("serves the registry page and starts with the default subscription 'all'", async () => {
      const page = await httpRequest(rt.httpUrl("/voevent/subscriptions"));
      assert.equal(page.status, 200);
      assert.match(String(page.headers["content-type"]), /text\/html/);
      assert.match(page.body, /<form id="add">/);
      // The default subscription is added by an inject node 0.1 s after the flows start.
      let list = await httpRequest(api());
      for (let i = 0; i < 50 && list.body === "[]"; i++) {
        await delay(100);
        list = await httpRequest(api());
      }
      assert.equal(list.status, 200);
      assert.deepEqual(JSON.parse(list.body), [
        { name: "all", xpath: "true()", destination: "debug", target: "" },
      ]);
      // 'all' passes everything: the demo's own test alert comes back matched.
      await primed(ports[8098]!, "demo-received");
      const a = await alertFile("other");
      await send(ports[8098]!, a.file);
      await rt.waitForLog(matched(`all: ${a.ivorn}`), 10_000, since);
    });

    it("refuses a bad subscription with a clear error", async () => {
      const cases: Array<[unknown, RegExp]> = [
        [{ name: "x", xpath: '//Who/Author[contactName=="KSK"]' }, /not a valid XPath.*column 26.*found '='/],
        [{ name: "x", xpath: "//Who[" }, /not a valid XPath.*column 7.*end of expression/],
        [{ name: "", xpath: "true()" }, /^name:/],
        [{ name: "x", xpath: "true()", destination: "email", target: "nobody" }, /e-mail address/],
        [{ name: "x", xpath: "true()", destination: "pager" }, /destination/],
      ];
      for (const [body, error] of cases) {
        const res = await httpRequest(api(), { method: "POST", body });
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.match((JSON.parse(res.body) as { error: string }).error, error);
      }
      const list = JSON.parse((await httpRequest(api())).body) as Array<{ name: string }>;
      assert.deepEqual(
        list.map((s) => s.name),
        ["all"],
      );
    });

    it("creates with 201, refuses an existing name with 409, replaces only when asked (200)", async () => {
      const first = { name: "twice", xpath: "true()", destination: "debug" };
      assert.equal((await httpRequest(api(), { method: "POST", body: first })).status, 201);
      const again = await httpRequest(api(), { method: "POST", body: { ...first, xpath: "false()" } });
      assert.equal(again.status, 409, again.body);
      assert.match((JSON.parse(again.body) as { error: string }).error, /exists.*replace: true/);
      const listed = () =>
        httpRequest(api()).then((r) =>
          (JSON.parse(r.body) as Array<{ name: string; xpath: string }>).filter((s) => s.name === "twice"),
        );
      assert.deepEqual(
        (await listed()).map((s) => s.xpath),
        ["true()"],
        "unchanged after the 409",
      );
      const replaced = await httpRequest(api(), {
        method: "POST",
        body: { ...first, xpath: "false()", replace: true },
      });
      assert.equal(replaced.status, 200, replaced.body);
      assert.deepEqual(
        (await listed()).map((s) => s.xpath),
        ["false()"],
        "replaced in place, once",
      );
      assert.equal((await httpRequest(api("/twice"), { method: "DELETE" })).status, 200);
    });

    it("checks each request's XPath on its own: concurrent requests never see each other's", async () => {
      const bodies = Array.from({ length: 12 }, (_, i) =>
        i % 2 === 0
          ? { name: `good${i}`, xpath: `//Param[@name="P${i}"]`, destination: "debug" }
          : { name: `bad${i}`, xpath: `//Param[@name=="P${i}"]`, destination: "debug" },
      );
      const results = await Promise.all(bodies.map((body) => httpRequest(api(), { method: "POST", body })));
      assert.deepEqual(
        results.map((r) => r.status),
        bodies.map((b) => (b.name.startsWith("good") ? 201 : 400)),
      );
      for (const b of bodies) {
        if (b.name.startsWith("good"))
          assert.equal((await httpRequest(api(`/${b.name}`), { method: "DELETE" })).status, 200);
      }
    });

    it("a KSK subscription gets KSK's alerts only, until it is removed", async () => {
      assert.equal((await httpRequest(api("/all"), { method: "DELETE" })).status, 200);
      assert.equal((await httpRequest(api("/nothing"), { method: "DELETE" })).status, 404);
      const add = await httpRequest(api(), {
        method: "POST",
        body: { name: "KSK", xpath: KSK_XPATH, destination: "debug" },
      });
      assert.equal(add.status, 201, add.body);
      assert.deepEqual(JSON.parse((await httpRequest(api())).body), [
        { name: "KSK", xpath: KSK_XPATH, destination: "debug", target: "" },
      ]);

      const other = await alertFile("other");
      const ksk = await alertFile("KSK");
      await send(ports[8098]!, other.file);
      await send(ports[8098]!, ksk.file);
      await rt.waitForLog(matched(`KSK: ${ksk.ivorn}`), 10_000, since);
      await rt.waitForLog(seen("demo-received", other.ivorn), 10_000, since);
      await delay(QUIET_MS);
      assert.equal(countInLog(rt, matched(`KSK: ${ksk.ivorn}`), since), 1, "once");
      assert.equal(countInLog(rt, other.ivorn, since), 1, "the other alert was received, never matched");

      // The test-alert buttons (example 07): KSK's is matched, the other's is not.
      const mark = rt.logs().length;
      await rt.api("POST", "/inject/demo-inject-other");
      await rt.waitForLog(seen("demo-reply", "ack other"), 10_000, mark);
      await rt.api("POST", "/inject/demo-inject-ksk");
      await rt.waitForLog(seen("demo-reply", "ack KSK"), 10_000, mark);
      await rt.waitForLog(/SEEN demo-matched KSK: ivo:\/\//, 10_000, mark);
      await delay(QUIET_MS);
      assert.equal(countInLog(rt, "SEEN demo-matched", mark), 1, "only KSK's button alert matched");

      assert.equal((await httpRequest(api("/KSK"), { method: "DELETE" })).status, 200);
      assert.deepEqual(JSON.parse((await httpRequest(api())).body), []);
      const after = rt.logs().length;
      const late = await alertFile("KSK");
      await send(ports[8098]!, late.file);
      await rt.waitForLog(seen("demo-received", late.ivorn), 10_000, after);
      await delay(QUIET_MS);
      assert.equal(countInLog(rt, "SEEN demo-matched", after), 0, "nothing matched once removed");
    });

    it("routes e-mail and MQTT destinations to their link nodes", async () => {
      for (const body of [
        { name: "mail", xpath: KSK_XPATH, destination: "email", target: "ksk@example.org" },
        { name: "feed", xpath: KSK_XPATH, destination: "mqtt", target: "voevent/ksk" },
      ]) {
        assert.equal((await httpRequest(api(), { method: "POST", body })).status, 201);
      }
      const ksk = await alertFile("KSK");
      await send(ports[8098]!, ksk.file);
      await rt.waitForLog(seen("demo-email-debug", `ksk@example.org ${ksk.ivorn}`), 10_000, since);
      await rt.waitForLog(seen("demo-mqtt-debug", `voevent/ksk ${ksk.ivorn}`), 10_000, since);
      await rt.waitForLog(matched(`mail: ${ksk.ivorn}`), 10_000, since);
      await rt.waitForLog(matched(`feed: ${ksk.ivorn}`), 10_000, since);
    });
  });
});
