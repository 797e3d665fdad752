import { strict as assert } from "node:assert";
import { sha1Key } from "../../src/dedupe/keys";

describe("dedupe/keys", () => {
  it("is the hex SHA-1 of the bytes", () => {
    assert.equal(sha1Key(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    assert.equal(sha1Key("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert.equal(sha1Key(Buffer.from("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
  });

  it("hashes a string as UTF-8, the same as its bytes", () => {
    const xml = '<voe:VOEvent ivorn="ivo://x.y/z#1">Zürich ☄</voe:VOEvent>';
    assert.equal(sha1Key(xml), sha1Key(Buffer.from(xml, "utf8")));
    assert.notEqual(sha1Key(xml), sha1Key(Buffer.from(xml, "latin1")));
  });

  it("tells apart packets differing in one byte, and only by bytes", () => {
    assert.notEqual(sha1Key("<a/>\n"), sha1Key("<a/>"));
    assert.equal(sha1Key(Buffer.from([0, 255, 1])), sha1Key(Buffer.from([0, 255, 1])));
    assert.match(sha1Key(Buffer.from([0xff, 0xfe])), /^[0-9a-f]{40}$/);
  });

  it("refuses other types", () => {
    assert.throws(() => sha1Key(undefined as unknown as string), TypeError);
  });
});
