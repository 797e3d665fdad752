import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { readVOEventHead } from "../../src/voevent/parse";
import { AckFramer } from "../../src/vtp/ack-frame";
import { encodeFrame } from "../../src/vtp/framing";
import { buildAck, parseTransport } from "../../src/vtp/transport";
import { parseXml } from "../../src/xml/parse";
import { corpusDir, readPacket } from "../helpers/corpus";

/** The frame buildAck would give at the time stamp `frame` carries (the two may straddle a second). */
function expectedFor(frame: Buffer, origin: string, response: string | null): Buffer {
  const stamp = /<TimeStamp>([^<]+)<\/TimeStamp>/.exec(frame.toString("utf8"))?.[1];
  assert.ok(stamp !== undefined, "the ack has a time stamp");
  const at = Date.parse(stamp);
  assert.ok(Math.abs(Date.now() - at) < 5000, `time stamp ${stamp} is now`);
  return encodeFrame(buildAck(origin, response, { timestamp: new Date(at) }));
}

describe("AckFramer: acks made as bytes", () => {
  it("gives buildAck's exact frame for every corpus packet's IVORN", () => {
    const names = readdirSync(join(corpusDir(), "packets")).filter((n) => n.endsWith(".xml"));
    assert.ok(names.length > 20, "the corpus has packets");
    const framer = new AckFramer("ivo://nasa.gsfc.gcn/gcn");
    let compared = 0;
    for (const name of names) {
      let ivorn: string;
      try {
        ivorn = readVOEventHead(parseXml(readPacket(name).toString("utf8"))).ivorn;
      } catch {
        continue; // not a VOEvent the receiver would ack
      }
      const frame = framer.frame(ivorn);
      assert.deepEqual(frame, expectedFor(frame, ivorn, "ivo://nasa.gsfc.gcn/gcn"), name);
      compared++;
    }
    assert.ok(compared > 20, `compared ${compared}`);
  });

  it("escapes an Origin as buildAck does, and writes what is not ASCII as UTF-8", () => {
    const origins = [
      "ivo://a.b/c#d",
      "",
      "ivo://a.b/c#x&y<z>w\"q'",
      "ivo://a.b/c#\r\n\t",
      "ivo://a.b/c#\u0000\u0001\u001f",
      "ivo://été.b/ñ#ü",
      "ivo://a.b/c#\u{1f52d}",
      "ivo://a.b/c#\ud800lone",
      "ivo://a.b/c#\ufffe\uffff",
      `ivo://a.b/c#${"x".repeat(5000)}`,
    ];
    for (const response of ["ivo://voevent.test/receiver", "ivo://a&b/<c>", "ivo://ümlaut/r"]) {
      const framer = new AckFramer(response);
      for (const origin of origins) {
        const frame = framer.frame(origin);
        assert.deepEqual(frame, expectedFor(frame, origin, response), JSON.stringify(origin));
        assert.equal(frame.readUInt32BE(0), frame.length - 4, "the length prefix counts the bytes after it");
      }
    }
  });

  it("is read back by our Transport parser as an ack of that event", () => {
    const origin = "ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_1234-567&x";
    const frame = new AckFramer("ivo://voevent.test/receiver").frame(origin);
    const t = parseTransport(parseXml(frame.subarray(4).toString("utf8")));
    assert.equal(t.role, "ack");
    assert.equal(t.origin, origin);
    assert.equal(t.response, "ivo://voevent.test/receiver");
  });
});
