/**
 * src/contract.ts: the tree a receiver's message carries (`lazyEventMessage`, `carryTree`,
 * `treeOf`), through Node-RED's own copy for a second wire (@node-red/util cloneMessage), on
 * real corpus packets: the copy finds the same tree, nothing of it shows where a user looks
 * (JSON, Object.keys, a spread), and a payload changed since is never answered with the old tree.
 */
import assert from "node:assert/strict";
import { inspect } from "node:util";
import v8 from "node:v8";
import { util as redUtil } from "@node-red/util";
import {
  carryTree,
  copyLazyMessage,
  eventMessage,
  eventOf,
  lazyEventMessage,
  parsedOf,
  treeOf,
} from "../src/contract";
import { bytesOf, frameOf, keepFrame } from "../src/message-frame";
import { getParsed, sharedParseCache } from "../src/voevent/cache";
import { topicFor } from "../src/voevent/ivorn";
import { parseVOEvent, readVOEventHead } from "../src/voevent/parse";
import { describeCorpus, readPacket } from "./helpers/corpus";
import { gc } from "./helpers/gc";

const PACKETS = [
  "voeventdb__BAT_GRB_Pos_655721-214.xml",
  "growth-too-marshal__GRB180116A_Fermi_GBM_Fin_Pos.xml",
  "gwcelery__G298048-1-Initial.xml",
];

/** Node-RED's copy of a message for a second wire. */
const nodeRedClone = (m: object): object => redUtil.cloneMessage(m as Record<string, unknown>);

/** What the receiver hands the node adapter: the text, its tree, the head, the model on demand. */
function receivedLike(xml: string) {
  const parsed = parseVOEvent(xml);
  return { xml, doc: parsed.doc, head: readVOEventHead(parsed.doc), voevent: parsed.voevent };
}

describeCorpus("contract: the tree a message carries", () => {
  for (const name of PACKETS) {
    it(`${name}: a copy for a second wire (Node-RED's cloneMessage) finds the receiver's tree`, () => {
      const xml = readPacket(name).toString("utf8");
      const ev = receivedLike(xml);
      const msg = lazyEventMessage(ev);
      assert.equal(treeOf(msg)?.doc, ev.doc, "the message itself");
      const copy = redUtil.cloneMessage(msg) as typeof msg;
      assert.notEqual(copy, msg);
      assert.equal(copy.payload, xml);
      assert.deepEqual(copy.voevent, ev.voevent, "the copy still has the model");
      const tree = treeOf(copy);
      assert.ok(tree !== null, "the copy carries the tree");
      assert.equal(tree.doc, ev.doc, "the same tree, not a copy of it");
      assert.equal(tree.xml, xml);
      // A copy of the copy (a third wire further on) too.
      assert.equal(treeOf(redUtil.cloneMessage(copy) as typeof msg)?.doc, ev.doc);
    });
  }

  it("a relay's messages die young: what they hold is not kept past a minor collection", () => {
    // Each event's message holds its tree (~10–20 times the packet). A message V8 cannot free in
    // a minor collection is copied to the old generation, and the broker pays for the copy and for
    // a full collection later: at one event per connection that was about a quarter of its CPU time.
    const xml = readPacket(PACKETS[0]).toString("utf8");
    const ev = receivedLike(xml);
    const oldSpace = () =>
      v8.getHeapSpaceStatistics().find((s) => s.space_name === "old_space")?.space_used_size ?? 0;
    gc();
    const before = oldSpace();
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 400; i++) {
        // A fresh event each time, holding ~10 KB, as the receiver's are.
        const held = { ...ev, doc: { ...ev.doc, pad: Array.from({ length: 100 }, (_, k) => ({ k })) } };
        const msg = lazyEventMessage(held);
        assert.equal(msg.payload, xml);
      }
      gc({ type: "minor" });
    }
    gc({ type: "minor" });
    gc({ type: "minor" });
    const grown = oldSpace() - before;
    assert.ok(grown < 4_000_000, `2,000 messages left ${(grown / 1e6).toFixed(1)} MB in the old generation`);
  });

  it("copyLazyMessage: Node-RED's copy for a second wire, the model unread in both, each its own when read", () => {
    const xml = readPacket(PACKETS[1]).toString("utf8");
    const ev = receivedLike(xml);
    const msg = lazyEventMessage(ev, { peer: "127.0.0.1:5000", localIvo: "ivo://here/x" });
    const copy = copyLazyMessage(msg, nodeRedClone) as typeof msg | null;
    assert.ok(copy !== null);
    const unread = (m: object) => typeof Object.getOwnPropertyDescriptor(m, "voevent")?.get === "function";
    assert.ok(unread(msg) && unread(copy), "neither model was read to make the copy");
    assert.deepEqual(Object.keys(copy).sort(), ["payload", "topic", "voevent", "vtp"]);
    assert.equal(copy.payload, xml);
    assert.equal(copy.topic, msg.topic);
    assert.deepEqual(copy.vtp, msg.vtp);
    assert.notEqual(copy.vtp, msg.vtp, "a deep copy, as Node-RED's");
    assert.equal(treeOf(copy)?.doc, ev.doc, "the same tree");
    // Each branch its own model: what one changes the other never sees.
    assert.deepEqual(copy.voevent, ev.voevent);
    copy.voevent.ivorn = "ivo://changed/by#copy";
    assert.deepEqual(msg.voevent, ev.voevent, "the original's model is its own");
    assert.notEqual(msg.voevent, copy.voevent);
    assert.equal(copyLazyMessage(msg, nodeRedClone), null, "read already: Node-RED copies it");
    assert.equal(
      copyLazyMessage({ payload: xml }, (m) => m),
      null,
      "not a lazy message",
    );
  });

  it("copyLazyMessage copies what Node-RED's copy copies: properties a flow added, deep; symbols a flow set, deep; what the message carries, shared and hidden", () => {
    const xml = readPacket(PACKETS[0]).toString("utf8");
    const ev = receivedLike(xml);
    const frame = Buffer.concat([Buffer.alloc(4), Buffer.from(xml, "utf8")]);
    const mark = Symbol("a flow's own");
    const make = () => {
      const m = lazyEventMessage(ev, {
        peer: "127.0.0.1:5000",
        receivedAt: new Date("2026-01-02T03:04:05.678Z"),
      }) as ReturnType<typeof lazyEventMessage> & Record<string | symbol, unknown>;
      m._msgid = "0123abcd";
      m.extra = { list: [1, { deep: "yes" }], when: new Date(0) };
      m[mark] = { n: 1 };
      keepFrame(m, xml, frame);
      return m;
    };
    const msg = make();
    const copy = copyLazyMessage(msg, nodeRedClone) as typeof msg | null;
    assert.ok(copy !== null);
    // Node-RED's own copy of the same message, its model read first (what copying used to do).
    const theirs = nodeRedClone(make()) as typeof msg;
    assert.deepEqual(Object.keys(copy).sort(), Object.keys(theirs).sort());
    for (const k of ["payload", "topic", "vtp", "_msgid", "extra"]) assert.deepEqual(copy[k], theirs[k], k);
    assert.notEqual(copy.extra, msg.extra, "a deep copy");
    assert.notEqual((copy.extra as { list: unknown[] }).list[1], (msg.extra as { list: unknown[] }).list[1]);
    assert.deepEqual(copy[mark], { n: 1 });
    assert.notEqual(copy[mark], msg[mark], "a flow's enumerable symbol is copied as Node-RED copies it");
    assert.equal(treeOf(copy)?.doc, ev.doc, "the tree, shared");
    assert.equal(bytesOf(copy)?.buffer, frame.buffer, "the frame, shared");
    const carried = Object.getOwnPropertySymbols(copy).filter((k) => k !== mark);
    assert.equal(carried.length, 2);
    for (const k of carried)
      assert.equal(Object.prototype.propertyIsEnumerable.call(copy, k), false, String(k));
    assert.deepEqual(copy.voevent, theirs.voevent);
  });

  it("a receiver's message carries its frame with its event: frameOf finds it, in a copy too, until the payload changes", () => {
    const xml = readPacket(PACKETS[1]).toString("utf8");
    const frame = Buffer.concat([Buffer.alloc(4), Buffer.from(xml, "utf8")]);
    frame.writeUInt32BE(frame.length - 4, 0);
    const msg: { payload: unknown } = lazyEventMessage({ ...receivedLike(xml), frame });
    assert.equal(frameOf(msg), frame, "the frame it came in, not a copy");
    assert.equal(bytesOf(msg)?.toString("utf8"), xml);
    assert.equal(Object.getOwnPropertySymbols(msg).length, 1, "one carried value for the tree and the frame");
    for (const copy of [copyLazyMessage(msg, nodeRedClone), redUtil.cloneMessage(msg)] as {
      payload: unknown;
    }[])
      assert.equal(frameOf(copy), frame, "a copy for a second wire");
    msg.payload = `${xml} `;
    assert.equal(frameOf(msg), null, "a changed payload: the frame is not its bytes");
    msg.payload = xml;
    assert.equal(frameOf(msg), frame);
    assert.equal(frameOf(lazyEventMessage(receivedLike(xml))), null, "an event without a frame");
    // A frame kept on its own is the one that counts, stale or not.
    const kept: { payload: unknown } = lazyEventMessage({ ...receivedLike(xml), frame });
    keepFrame(kept, "other text", Buffer.from("\0\0\0\u0001x"));
    assert.equal(frameOf(kept), null);
  });

  it("shows nowhere a user looks: the debug sidebar, JSON, Object.keys, for…in", () => {
    const xml = readPacket(PACKETS[0]).toString("utf8");
    const msg = lazyEventMessage(receivedLike(xml));
    const copy = redUtil.cloneMessage(msg) as typeof msg;
    for (const m of [msg, copy]) {
      assert.deepEqual(Object.keys(m).sort(), ["payload", "topic", "voevent", "vtp"]);
      const json = JSON.parse(JSON.stringify(m)) as Record<string, unknown>;
      assert.deepEqual(Object.keys(json).sort(), ["payload", "topic", "voevent", "vtp"]);
      const seen: string[] = [];
      for (const k in m) seen.push(k);
      assert.deepEqual(seen.sort(), ["payload", "topic", "voevent", "vtp"]);
      // What a debug node sends the editor's sidebar (its "complete msg object").
      const shown = redUtil.encodeObject({ msg: m }) as { msg: string };
      assert.ok(shown.msg.includes('"ivorn"'), "the sidebar shows the message");
      assert.ok(!shown.msg.includes("voevent.tree"), "and not the tree");
    }
    // The original hides it from util.inspect too; a copy shows it there (lodash makes the copied
    // property enumerable), as `[Symbol(voevent.tree)]: [Function: value]`, nothing of the tree.
    assert.ok(!inspect(msg).includes("voevent.tree"));
    assert.ok(inspect(copy, { depth: 0 }).includes("[Symbol(voevent.tree)]: [Function: value]"));
  });

  it("answers null once msg.payload is another text, and for a message that carries nothing", () => {
    const a = readPacket(PACKETS[0]).toString("utf8");
    const b = readPacket(PACKETS[1]).toString("utf8");
    const msg: { payload: unknown } = lazyEventMessage(receivedLike(a));
    msg.payload = b;
    assert.equal(treeOf(msg), null, "a changed payload never gets the old tree");
    msg.payload = Buffer.from(a);
    assert.equal(treeOf(msg), null, "nor a Buffer of it (the tree is of the text)");
    msg.payload = a;
    assert.equal(treeOf(msg)?.xml, a, "the same text again: the tree is its");
    assert.equal(treeOf(eventMessage(parseVOEvent(a))), null, "eventMessage carries none");
    assert.equal(treeOf({ payload: a }), null);
    const forged = { payload: a, [Symbol("voevent.tree")]: () => ({ xml: a, doc: {} }) };
    assert.equal(treeOf(forged), null, "another symbol of the same name is not the key");
  });

  it("carryTree on a message of another maker (the subscriber's spread message)", () => {
    const xml = readPacket(PACKETS[2]).toString("utf8");
    const ev = receivedLike(xml);
    const msg = { ...eventMessage(ev), signature: { verdict: "unsigned", keyId: null, userId: null } };
    carryTree(msg, { xml, doc: ev.doc });
    const copy = redUtil.cloneMessage(msg) as typeof msg;
    assert.equal(treeOf(copy)?.doc, ev.doc);
  });

  it("eventOf and parsedOf (filter, broadcaster, monitor, parse nodes) take the carried tree, with nothing in the cache", () => {
    const cache = sharedParseCache();
    cache.clear();
    for (const name of PACKETS) {
      const xml = readPacket(name).toString("utf8");
      const ev = receivedLike(xml);
      const copy = redUtil.cloneMessage(lazyEventMessage(ev)) as ReturnType<typeof lazyEventMessage>;
      assert.equal(eventOf(copy).doc, ev.doc, "the model's message: its tree when asked for");
      const bare = redUtil.cloneMessage(copy) as { payload: unknown; voevent?: unknown };
      delete bare.voevent; // a flow that dropped the model: read again from the carried tree
      const event = eventOf(bare);
      assert.equal(event.doc, ev.doc);
      assert.deepEqual(event.voevent, ev.voevent);
      assert.notEqual(event.voevent, ev.voevent, "the caller's own model");
      const parsed = parsedOf(copy);
      assert.equal(parsed.doc, ev.doc);
      assert.deepEqual(parsed.voevent, ev.voevent);
    }
    assert.deepEqual(cache.stats, { hits: 0, misses: 0, size: 0, chars: 0 }, "nothing parsed again or kept");
  });

  it("a carried tree is refused as a cache hit would be: too large for the caller's maxBytes, no local id when required", () => {
    const xml = readPacket(PACKETS[0]).toString("utf8");
    const msg = lazyEventMessage(receivedLike(xml));
    const bytes = Buffer.byteLength(xml);
    const refusal = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return { code: (err as { code?: string }).code, message: (err as Error).message };
      }
      return null;
    };
    const small = { maxBytes: bytes - 1 };
    getParsed(xml); // the cache holds it: the hit's answer is the reference
    const hit = refusal(() => getParsed(xml, small));
    assert.equal(hit?.code, "TOO_LARGE");
    assert.deepEqual(
      refusal(() => parsedOf(msg, small)),
      hit,
    );
    const bare = redUtil.cloneMessage(msg) as { payload: unknown; voevent?: unknown };
    delete bare.voevent;
    assert.ok(treeOf(bare) !== null);
    assert.deepEqual(
      refusal(() => eventOf(bare, small)),
      hit,
    );
    assert.deepEqual(
      refusal(() => eventOf(msg, small).doc),
      hit,
      "the model's message, its tree asked for",
    );
    assert.equal(
      refusal(() => parsedOf(msg, { maxBytes: bytes })),
      null,
      "exactly at the limit",
    );
    // An IVORN without a #local-id, required: the cache's and the carried tree's refusals agree.
    const noLocal = xml.replace(/ivorn="([^"#]*)#[^"]*"/, 'ivorn="$1"');
    assert.notEqual(noLocal, xml);
    const msg2 = lazyEventMessage(receivedLike(noLocal));
    const fromCache = refusal(() => getParsed(noLocal, { requireLocalId: true }));
    assert.ok(fromCache !== null);
    assert.deepEqual(
      refusal(() => parsedOf(msg2, { requireLocalId: true })),
      fromCache,
    );
    sharedParseCache().clear();
  });
});

describe("contract: msg.topic", () => {
  it("is the stream's topic for every stream, however many (the topics made are kept for a while)", () => {
    // More streams than the topics kept, each seen twice: every message gets its own stream's topic.
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 600; i++) {
        const stream = `ivo://topic.test/s${i}/a+b`;
        const xml = `<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" version="2.0" role="test" ivorn="${stream}#${round}"/>`;
        const ev = receivedLike(xml);
        assert.equal(lazyEventMessage(ev).topic, topicFor(stream), stream);
        assert.equal(eventMessage(ev).topic, `voevent/topic.test/s${i}/a_b`);
      }
    }
  });
});
