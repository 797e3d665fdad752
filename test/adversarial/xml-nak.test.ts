/**
 * Issue 8: a packet over an XML limit is naked by a real receiver over loopback, with a reason
 * that names the limit, so the author learns which one; issue 9: bytes that are not valid in
 * their encoding are naked with the byte offset, not relayed with U+FFFD in them.
 */
import assert from "node:assert/strict";
import { VTPReceiver } from "../../src/vtp/receiver";
import { sendEvent } from "../../src/vtp/sender";

const LOCAL = "ivo://receiver.test/vtp";

function packet(what: string): string {
  return `<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" version="2.0" role="test" ivorn="ivo://limits.test/s#1"><What>${what}</What></voe:VOEvent>`;
}

describe("adversarial: the receiver naks XML over a limit, naming it", () => {
  let rx: VTPReceiver;
  let port = 0;
  const received: string[] = [];

  before(async () => {
    rx = new VTPReceiver({ host: "127.0.0.1", port: 0, localIvo: LOCAL });
    rx.on("event", (e: { voevent: { ivorn: string } }) => received.push(e.voevent.ivorn));
    port = (await rx.listen()).port;
  });
  after(async () => {
    await rx.close();
  });

  const cases: [string, string | Buffer, RegExp][] = [
    ["elements 300 deep", packet(`${"<x>".repeat(300)}${"</x>".repeat(300)}`), /limit of 256 \(maxDepth\)/],
    [
      "300 attributes on one Param",
      packet(`<Param${Array.from({ length: 300 }, (_, i) => ` a${i}="1"`).join("")}/>`),
      /limit of 256 attributes \(maxAttributes\)/,
    ],
    ["20,000 empty elements", packet("<a/>".repeat(20_000)), /limit of 10000 \(maxElements\)/],
    ["a 2,000-character name", packet(`<${"n".repeat(2000)}/>`), /limit of 1024 \(maxNameLength\)/],
    [
      "a byte that is not UTF-8",
      Buffer.concat([Buffer.from(packet("caf")), Buffer.from([0xff])]),
      /invalid UTF-8 at byte offset \d+/,
    ],
    [
      "an unsupported encoding",
      `<?xml version="1.0" encoding="EBCDIC"?>${packet("")}`,
      /"EBCDIC" is not supported/,
    ],
    ["&constructor;", packet("&constructor;"), /&constructor; refused/],
  ];
  for (const [what, payload, reason] of cases) {
    it(`${what}: nak, and the reason says which limit`, async () => {
      const r = await sendEvent({ host: "127.0.0.1", port, payload, timeoutMs: 5000, retries: 0 });
      assert.equal(r.reply, "nak");
      assert.match(r.reason ?? "", reason);
    });
  }

  it("nothing over a limit reached the flow", () => {
    assert.deepEqual(received, []);
  });
});
