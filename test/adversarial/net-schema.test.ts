/**
 * Issue 8, rows 6 and 18: schema validation cannot be talked into "valid" by
 * a packet's own text, and a run that takes too long naks.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { type NakInfo, type ReceivedEvent, VTPReceiver } from "../../src/vtp/receiver";
import { validateVOEventSchema } from "../../src/vtp/schema";
import { sendEvent } from "../../src/vtp/sender";

const LOCAL = "ivo://adversarial.test/schema";
const VALID = readFileSync(path.join(__dirname, "../fixtures/packets/full-v2.xml"));

/**
 * A schema-invalid packet (dataType "bogus") whose error message quotes its own
 * attribute value, which holds line breaks and the lines xmllint writes for a
 * valid file, for every name the old scheme could have given it.
 */
function forged(id: string): string {
  const lines = Array.from({ length: 400 }, (_, i) => `event-${i}.xml validates`).join("&#10;");
  return `<?xml version="1.0" encoding="UTF-8"?>
<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" version="2.0" role="test" ivorn="ivo://adversarial.test/schema#${id}">
  <Who><AuthorIVORN>ivo://adversarial.test/schema</AuthorIVORN><Date>2024-03-01T12:00:00</Date></Who>
  <What><Param name="seq" value="1" dataType="bogus&#10;${lines}&#10;"/></What>
</voe:VOEvent>
`;
}

describe("adversarial: schema validation (issue 8, rows 6 and 18)", function () {
  this.timeout(120_000);

  it("row 6: a packet quoting xmllint's 'validates' lines is still invalid, alone or in a batch", async () => {
    const results = await Promise.all([
      validateVOEventSchema(forged("a")),
      validateVOEventSchema(VALID),
      validateVOEventSchema(forged("b")),
      validateVOEventSchema(VALID),
    ]);
    assert.deepEqual(
      results.map((r) => r.valid),
      [false, true, false, true],
      results.map((r) => r.error).join(" | "),
    );
    assert.match(results[0]!.error ?? "", /dataType/);
  });

  it("row 6: the receiver naks it", async () => {
    const rx = new VTPReceiver({ host: "127.0.0.1", port: 0, localIvo: LOCAL, validate: "schema" });
    const events: ReceivedEvent[] = [];
    rx.on("event", (e: ReceivedEvent) => events.push(e));
    const { port } = await rx.listen();
    try {
      const r = await sendEvent({ host: "127.0.0.1", port, payload: forged("rx"), retries: 0 });
      assert.equal(r.reply, "nak");
      assert.match(r.reason ?? "", /schema validation failed/);
      assert.equal(events.length, 0);
    } finally {
      await rx.close();
    }
  });

  it("row 18: an xmllint run past schemaTimeoutMs is stopped and the event naked, saying so", async () => {
    const rx = new VTPReceiver({
      host: "127.0.0.1",
      port: 0,
      localIvo: LOCAL,
      validate: "schema",
      schemaTimeoutMs: 1, // no real run finishes within 1 ms: every run here is one that "hangs"
    });
    const naks: NakInfo[] = [];
    rx.on("nak", (n: NakInfo) => naks.push(n));
    const { port } = await rx.listen();
    try {
      const r = await sendEvent({ host: "127.0.0.1", port, payload: VALID, retries: 0, timeoutMs: 30_000 });
      assert.equal(r.reply, "nak");
      assert.match(r.reason ?? "", /schema validation timed out after 1 ms \(limit schemaTimeoutMs = 1\)/);
      assert.equal(naks[0]?.code, "TIMEOUT");
    } finally {
      await rx.close();
    }
  });
});
