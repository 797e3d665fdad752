/**
 * Issue 8, row 17: whitelist entries with host bits set used to be cleared
 * silently, so `10.0.0.1/0` or `::ffff:10.0.0.0/96` meant "everyone". They are
 * refused, with the network address they may have meant.
 */
import assert from "node:assert/strict";
import { VTPBroadcaster } from "../../src/vtp/broadcaster";
import { VTPReceiver } from "../../src/vtp/receiver";
import { parseCidrList, Whitelist } from "../../src/vtp/whitelist";

describe("adversarial: whitelist host bits (issue 8, row 17)", () => {
  it("refuses 10.0.0.1/0 and ::ffff:10.0.0.0/96, naming the network address", () => {
    assert.throws(() => parseCidrList("10.0.0.1/0"), {
      message: '"10.0.0.1/0": host bits set; did you mean 0.0.0.0/0?',
    });
    assert.throws(() => new Whitelist("127.0.0.0/8, ::ffff:10.0.0.0/96"), {
      message: '"::ffff:10.0.0.0/96": host bits set; did you mean ::ffff:0.0.0.0/96?',
    });
    assert.throws(() => new Whitelist("2001:db8::1/32"), /did you mean 2001:db8::\/32\?/);
  });

  it("the receiver and broadcaster refuse such a whitelist instead of admitting everyone", () => {
    assert.throws(
      () => new VTPReceiver({ port: 0, localIvo: "ivo://a.test/r", whitelist: "10.0.0.1/0" }),
      /host bits set/,
    );
    assert.throws(
      () => new VTPBroadcaster({ port: 0, localIvo: "ivo://a.test/b", whitelist: "::ffff:10.0.0.0/96" }),
      /host bits set/,
    );
  });
});
