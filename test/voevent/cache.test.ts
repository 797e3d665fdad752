import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { VOEventError } from "../../src/errors";
import { getParsed, ParseCache, sharedParseCache } from "../../src/voevent/cache";
import { cloneVOEvent } from "../../src/voevent/clone";
import { parseVOEvent } from "../../src/voevent/parse";

const FIXTURES = path.resolve(__dirname, "../fixtures/packets");
const full = readFileSync(path.join(FIXTURES, "full-v2.xml"), "utf8");

function packet(n: number): string {
  return `<VOEvent role="test" ivorn="ivo://cache.example/s#${n}"><Description>${n}</Description></VOEvent>`;
}

describe("voevent/cache", () => {
  it("parses a payload once: the second call is a hit sharing the tree", () => {
    const cache = new ParseCache();
    const a = cache.get(full);
    const b = cache.get(full);
    assert.deepEqual(cache.stats, { hits: 1, misses: 1, size: 1, chars: full.length });
    assert.equal(a.doc, b.doc);
    assert.equal(a.xml, full);
    assert.deepEqual(a.voevent, parseVOEvent(full).voevent);
  });

  it("keeps a parse made elsewhere (the receiver's): the next get is a hit, with its own copy", () => {
    const cache = new ParseCache();
    const parsed = parseVOEvent(full);
    cache.remember(full, parsed.doc);
    // The receiver's model goes on in msg.voevent; a change to it must not reach the cache.
    parsed.voevent.params.Packet_Type = 999;
    const got = cache.get(full);
    assert.deepEqual(cache.peek(full).voevent, got.voevent, "peek reads the same model");
    assert.deepEqual(cache.stats, { hits: 2, misses: 0, size: 1, chars: full.length });
    assert.equal(got.doc, parsed.doc);
    assert.deepEqual(got.voevent, parseVOEvent(full).voevent);
  });

  it("hands each caller its own copy of the model", () => {
    const cache = new ParseCache();
    const a = cache.get(full);
    a.voevent.params.Packet_Type = 999;
    a.voevent.groups.Obs_Support_Info.Moon_Illum = -1;
    a.voevent.why.concepts.push("changed");
    if (a.voevent.position !== null) a.voevent.position.ra = 0;
    a.voevent.author.contactName = "someone else";
    const b = cache.get(full);
    assert.notEqual(a.voevent, b.voevent);
    assert.deepEqual(b.voevent, parseVOEvent(full).voevent);
  });

  it("a Buffer payload hits the entry of the same text", () => {
    const cache = new ParseCache();
    cache.get(full);
    cache.get(Buffer.from(full, "utf8"));
    assert.equal(cache.stats.hits, 1);
  });

  it("does not cache errors: a bad payload is refused every time", () => {
    const cache = new ParseCache();
    for (let i = 0; i < 3; i++) {
      assert.throws(() => cache.get("<html/>"), { code: "WRONG_ROOT" });
    }
    assert.deepEqual(cache.stats, { hits: 0, misses: 3, size: 0, chars: 0 });
  });

  it("re-checks maxBytes and requireLocalId on a hit", () => {
    const cache = new ParseCache();
    const noLocal = '<VOEvent ivorn="ivo://nasa.gsfc.gcn/gcn"/>';
    assert.equal(cache.get(noLocal).voevent.ivorn, "ivo://nasa.gsfc.gcn/gcn");
    assert.throws(() => cache.get(noLocal, { requireLocalId: true }), { code: "BAD_IVORN" });
    assert.throws(() => cache.get(noLocal, { maxBytes: 10 }), { code: "TOO_LARGE" });
    assert.equal(cache.stats.hits, 2);
    // …and on a miss.
    const cache2 = new ParseCache();
    assert.throws(
      () => cache2.get(noLocal, { requireLocalId: true }),
      (err: unknown) => {
        return err instanceof VOEventError && err.code === "BAD_IVORN";
      },
    );
    assert.equal(cache2.get(noLocal).voevent.role, "observation");
  });

  it("evicts the least recently used beyond its capacity", () => {
    const cache = new ParseCache({ capacity: 3 });
    cache.get(packet(1));
    cache.get(packet(2));
    cache.get(packet(3));
    cache.get(packet(1)); // 1 is now the most recent
    cache.get(packet(4)); // evicts 2
    assert.equal(cache.size, 3);
    const before = cache.stats.misses;
    cache.get(packet(1));
    cache.get(packet(3));
    cache.get(packet(4));
    assert.equal(cache.stats.misses, before);
    cache.get(packet(2));
    assert.equal(cache.stats.misses, before + 1);
  });

  it("keeps within its character budget and does not keep a payload too big for it", () => {
    const budget = 64 * full.length;
    const cache = new ParseCache({ maxChars: budget });
    for (let i = 0; i < 100; i++) cache.get(`${full}<!-- ${i} -->`);
    assert.ok(cache.stats.chars <= budget, `${cache.stats.chars} > ${budget}`);
    assert.ok(cache.size > 50 && cache.size < 64, String(cache.size));
    const small = new ParseCache({ maxChars: 100 });
    small.get(full);
    assert.equal(small.size, 0);
  });

  it("getParsed uses one process-wide cache of 256 entries", () => {
    const shared = sharedParseCache();
    shared.clear();
    assert.equal(shared.capacity, 256);
    getParsed(full);
    getParsed(full);
    assert.equal(shared.stats.hits, 1);
    for (let i = 0; i < 300; i++) getParsed(packet(i));
    assert.equal(shared.size, 256);
    shared.clear();
    assert.equal(shared.size, 0);
  });

  it("cloneVOEvent copies deeply, __proto__ Params included", () => {
    const v = parseVOEvent(readFileSync(path.join(FIXTURES, "no-wherewhen.xml"))).voevent;
    const c = cloneVOEvent(v);
    assert.deepEqual(c, v);
    assert.notEqual(c.params, v.params);
    assert.notEqual(c.groups.constructor, v.groups.constructor);
    assert.equal(Object.getOwnPropertyDescriptor(c.params, "__proto__")?.value, 1);
    assert.equal(Object.getPrototypeOf(c.params), Object.prototype);
  });
});
