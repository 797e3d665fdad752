import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describeCorpus, readPacket } from "../helpers/corpus";
import {
  callsOf,
  catchNode,
  caughtError,
  collect,
  type FlowNode,
  getNode,
  helper,
  loadFlow,
  type Msg,
  nextMessage,
  sleep,
  statusHistory,
  useNodeRed,
  userDir,
  waitUntil,
} from "../helpers/nodered";

const fixture = (name: string) => readFileSync(path.join(__dirname, "../fixtures/packets", name), "utf8");

function flow(props: Record<string, unknown> = {}): FlowNode[] {
  return [
    {
      id: "d",
      type: "voevent-dedupe",
      name: "",
      key: "bytes",
      keyProperty: "topic",
      ttl: 30,
      ttlUnits: "days",
      capacity: 100000,
      store: "memory",
      path: "",
      ...props,
      wires: [["first"], ["dup"]],
    },
    { id: "first", type: "helper" },
    { id: "dup", type: "helper" },
    catchNode("c", ["caught"]),
    { id: "caught", type: "helper" },
  ];
}

/** Collects both outputs; `send` pushes messages and waits until each has come out somewhere. */
function harness() {
  const first = collect("first");
  const dup = collect("dup");
  let sent = 0;
  const send = async (...msgs: Record<string, unknown>[]) => {
    for (const msg of msgs) getNode("d").receive(msg);
    sent += msgs.length;
    await waitUntil(() => first.length + dup.length >= sent, 2000, "every message out");
  };
  const tags = (msgs: Msg[]) => msgs.map((m) => m.tag);
  return { first, dup, send, tags };
}

describe("voevent-dedupe node", () => {
  useNodeRed();

  it("bytes key: the first copy passes, identical copies are duplicates, other bytes pass", async () => {
    await loadFlow(["voevent-dedupe"], flow());
    const h = harness();
    const xml = fixture("full-v2.xml");
    await h.send(
      { payload: xml, tag: "a" },
      { payload: Buffer.from(xml), tag: "a-buffer" },
      { payload: `${xml}\n`, tag: "a-plus-newline" },
      { payload: xml, tag: "a-again" },
    );
    assert.deepEqual(h.tags(h.first), ["a", "a-plus-newline"]);
    assert.deepEqual(h.tags(h.dup), ["a-buffer", "a-again"]);
    await waitUntil(() => statusHistory("d").at(-1)?.text === "seen 2, dropped 2", 3000, "the counts");
    assert.deepEqual(statusHistory("d").at(-1), { fill: "green", shape: "dot", text: "seen 2, dropped 2" });
  });

  it("a burst of events: the counts are formatted about once a second, not per event (issue 16)", async () => {
    await loadFlow(["voevent-dedupe"], flow());
    const h = harness();
    const xml = fixture("full-v2.xml");
    const burst = Array.from({ length: 300 }, (_, i) => ({
      payload: i % 3 === 0 ? xml : `${xml}<!-- ${i} -->`,
    }));
    await h.send(...burst);
    assert.equal(h.first.length + h.dup.length, 300);
    // The last counts are shown once the interval is up (at most a second later).
    await waitUntil(
      () => statusHistory("d").at(-1)?.text === "seen 201, dropped 99",
      3000,
      "the final counts",
    );
    const counts = statusHistory("d").filter((s) => /^seen \d+, dropped \d+$/.test(String(s.text)));
    assert.ok(counts.length <= 4, `${counts.length} status updates for 300 events`);
  });

  it("ivorn key: another rendering of the same event is a duplicate", async () => {
    await loadFlow(["voevent-dedupe"], flow({ key: "ivorn" }));
    const h = harness();
    const xml = fixture("full-v2.xml");
    await h.send(
      { payload: xml, tag: "a" },
      { payload: xml.replace("<Who>", "<Who>\n"), tag: "a-reformatted" },
      { payload: fixture("retraction.xml"), tag: "b" },
    );
    assert.deepEqual(h.tags(h.first), ["a", "b"]);
    assert.deepEqual(h.tags(h.dup), ["a-reformatted"]);
  });

  it("ivorn key uses msg.voevent when present", async () => {
    await loadFlow(["voevent-dedupe"], flow({ key: "ivorn" }));
    const h = harness();
    const voevent = {
      ivorn: "ivo://x.org/y#1",
      stream: "ivo://x.org/y",
      role: "test",
      params: {},
      groups: {},
      author: {},
    };
    await h.send({ voevent, tag: "a" }, { voevent, tag: "b" });
    assert.deepEqual(h.tags(h.first), ["a"]);
    assert.deepEqual(h.tags(h.dup), ["b"]);
  });

  it("property key: any msg property; a missing one is reported", async () => {
    await loadFlow(["voevent-dedupe"], flow({ key: "property", keyProperty: "event.id" }));
    const h = harness();
    await h.send(
      { event: { id: "x" }, tag: "a" },
      { event: { id: "y" }, tag: "b" },
      { event: { id: "x" }, tag: "c" },
      { event: { id: { deep: [1] } }, tag: "d" },
      { event: { id: { deep: [1] } }, tag: "e" },
    );
    assert.deepEqual(h.tags(h.first), ["a", "b", "d"]);
    assert.deepEqual(h.tags(h.dup), ["c", "e"]);
    const caught = nextMessage("caught");
    getNode("d").receive({ payload: "x" });
    assert.match(caughtError(await caught), /msg\.event\.id is missing/);
  });

  it("reports a payload that is not a string or Buffer (bytes) or not a VOEvent (ivorn)", async () => {
    await loadFlow(["voevent-dedupe"], flow());
    let caught = nextMessage("caught");
    getNode("d").receive({ payload: { not: "xml" } });
    assert.match(caughtError(await caught), /msg\.payload must be VOEvent XML/);
    await helper.unload();
    await loadFlow(["voevent-dedupe"], flow({ key: "ivorn" }));
    caught = nextMessage("caught");
    getNode("d").receive({ payload: "hello" });
    assert.match(caughtError(await caught), /VOEventError/);
    await waitUntil(
      () => statusHistory("d").some((s) => s.text === "refused: NOT_XML"),
      1000,
      "a red status",
    );
  });

  it("forgets keys after the TTL", async () => {
    await loadFlow(["voevent-dedupe"], flow({ ttl: "0.1", ttlUnits: "seconds" }));
    const h = harness();
    await h.send({ payload: "<a/>", tag: 1 }, { payload: "<a/>", tag: 2 });
    await sleep(150);
    await h.send({ payload: "<a/>", tag: 3 });
    assert.deepEqual(h.tags(h.first), [1, 3]);
    assert.deepEqual(h.tags(h.dup), [2]);
  });

  it("keeps at most capacity keys, forgetting the oldest", async () => {
    await loadFlow(["voevent-dedupe"], flow({ capacity: "2" }));
    const h = harness();
    await h.send({ payload: "A", tag: "A" }, { payload: "B", tag: "B" }, { payload: "C", tag: "C" });
    await h.send({ payload: "C", tag: "C2" }, { payload: "A", tag: "A2" });
    assert.deepEqual(h.tags(h.first), ["A", "B", "C", "A2"]);
    assert.deepEqual(h.tags(h.dup), ["C2"]);
  });

  it("msg.reset forgets every key and sends nothing", async () => {
    await loadFlow(["voevent-dedupe"], flow());
    const h = harness();
    await h.send({ payload: "A", tag: 1 }, { payload: "A", tag: 2 });
    getNode("d").receive({ reset: true });
    await sleep(20);
    assert.equal(h.first.length + h.dup.length, 2, "reset sends nothing");
    assert.deepEqual(statusHistory("d").at(-1), { fill: "green", shape: "dot", text: "cleared" });
    await h.send({ payload: "A", tag: 3 });
    assert.deepEqual(h.tags(h.first), [1, 3]);
  });

  describe("file store", () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(path.join(tmpdir(), "voevent-dedupe-test-"));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("survives a redeploy: unload, load again with the same file", async () => {
      const file = path.join(dir, "seen.log");
      await loadFlow(["voevent-dedupe"], flow({ store: "file", path: file }));
      let h = harness();
      await h.send({ payload: "A", tag: 1 }, { payload: "B", tag: 2 });
      await helper.unload();
      assert.ok(existsSync(file));

      await loadFlow(["voevent-dedupe"], flow({ store: "file", path: file }));
      assert.deepEqual(statusHistory("d"), [{ fill: "green", shape: "dot", text: "2 keys remembered" }]);
      h = harness();
      await h.send({ payload: "A", tag: 3 }, { payload: "C", tag: 4 });
      assert.deepEqual(h.tags(h.first), [4]);
      assert.deepEqual(h.tags(h.dup), [3]);
    });

    it("survives a redeploy through setFlows, and msg.reset empties the file", async () => {
      const file = path.join(dir, "seen.log");
      const nodes = flow({ store: "file", path: file });
      await loadFlow(["voevent-dedupe"], nodes);
      let h = harness();
      await h.send({ payload: "A", tag: 1 });
      // A full redeploy of a changed flow: the node is closed (removed = false) and started again.
      const changed = nodes.map((n) =>
        n.id === "d" ? { ...n, name: "renamed", z: "tab1" } : { ...n, z: "tab1" },
      );
      await helper.setFlows([{ id: "tab1", type: "tab", label: "test" }, ...changed]);
      h = harness();
      await h.send({ payload: "A", tag: 2 });
      assert.deepEqual(h.tags(h.dup), [2]);
      getNode("d").receive({ reset: 1 });
      await sleep(20);
      assert.equal(readFileSync(file, "utf8"), "# voevent-dedupe seen keys v1\n");
      await h.send({ payload: "A", tag: 3 });
      assert.deepEqual(h.tags(h.first), [3]);
    });

    it("defaults to a file named after the node in the user directory", async () => {
      await loadFlow(["voevent-dedupe"], flow({ store: "file", path: "" }));
      const h = harness();
      await h.send({ payload: "A", tag: 1 });
      const file = path.join(userDir, "voevent-dedupe-d.log");
      assert.ok(existsSync(file), `${file} exists`);
      assert.match(readFileSync(file, "utf8"), /^# voevent-dedupe seen keys v1\n\d+ [0-9a-f]{40}\n$/);
      await helper.unload();
      rmSync(file);
    });

    it("a second node on the same file refuses the file, says so, and dedupes in memory", async () => {
      const file = path.join(dir, "shared.log");
      const nodes = flow({ store: "file", path: file });
      await loadFlow(["voevent-dedupe"], [...nodes, { ...nodes[0], id: "d2", wires: [["first"], ["dup"]] }]);
      const broken = ["d", "d2"].filter((id) =>
        statusHistory(id).some((s) => s.fill === "red" && /^no file store, in memory/.test(String(s.text))),
      );
      assert.equal(broken.length, 1);
      const id = broken[0] as string;
      assert.ok(callsOf(id, "error").some(([e]) => /already open in this process/.test(String(e))));
      const h = harness();
      getNode(id).receive({ payload: "A", tag: 1 });
      getNode(id).receive({ payload: "A", tag: 2 });
      await waitUntil(() => h.first.length + h.dup.length === 2, 2000, "both out");
      assert.deepEqual(h.tags(h.first), [1]);
      assert.deepEqual(h.tags(h.dup), [2]);
    });
  });
});

describeCorpus("voevent-dedupe node on real packets", () => {
  useNodeRed();
  const noise1 = "gwcelery__fermi_noise_gcn.xml";
  const noise2 = "gwcelery__fermi_noise_gcn_2.xml"; // same IVORN, one byte different

  it("bytes key: the two Fermi noise packets both pass", async () => {
    await loadFlow(["voevent-dedupe"], flow({ key: "bytes" }));
    const h = harness();
    await h.send(
      { payload: readPacket(noise1), tag: 1 },
      { payload: readPacket(noise2), tag: 2 },
      { payload: readPacket(noise1), tag: 3 },
    );
    assert.deepEqual(h.tags(h.first), [1, 2]);
    assert.deepEqual(h.tags(h.dup), [3]);
  });

  it("ivorn key: the second Fermi noise packet is a duplicate", async () => {
    await loadFlow(["voevent-dedupe"], flow({ key: "ivorn" }));
    const h = harness();
    await h.send({ payload: readPacket(noise1), tag: 1 }, { payload: readPacket(noise2), tag: 2 });
    assert.deepEqual(h.tags(h.first), [1]);
    assert.deepEqual(h.tags(h.dup), [2]);
  });
});
