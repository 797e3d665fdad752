import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { MAX_CONCURRENT, schemasDir, validateVOEventSchema } from "../../src/vtp/schema";
import { parseXml } from "../../src/xml/parse";
import { describeCorpus, readIndex, readPacket } from "../helpers/corpus";

const V20 = "http://www.ivoa.net/xml/VOEvent/v2.0";

function packet(what: string, ns: string | null = V20, version = "2.0"): string {
  const open = ns === null ? "<VOEvent" : `<voe:VOEvent xmlns:voe="${ns}"`;
  const close = ns === null ? "</VOEvent>" : "</voe:VOEvent>";
  return `<?xml version="1.0" encoding="UTF-8"?>
${open} version="${version}" role="test" ivorn="ivo://schema.test/s#1">
  <Who><AuthorIVORN>ivo://schema.test/a</AuthorIVORN><Date>2026-01-01T00:00:00</Date></Who>
  ${what}
${close}
`;
}

describe("vtp/schema", () => {
  it("finds the packaged VOEvent-v2.0.xsd relative to the module", () => {
    assert.ok(existsSync(join(schemasDir(), "VOEvent-v2.0.xsd")));
  });

  it("accepts a valid VOEvent 2.0 packet (string or Buffer), and says how long it took", async () => {
    const xml = packet('<What><Param name="mag" value="12.5" dataType="float"/></What>');
    const r = await validateVOEventSchema(xml);
    assert.deepEqual(
      { valid: r.valid, error: r.error, line: r.line },
      { valid: true, error: null, line: null },
    );
    const r2 = await validateVOEventSchema(Buffer.from(xml), parseXml(xml));
    assert.equal(r2.valid, true);
    console.log(`      one schema validation: ${r.ms.toFixed(0)} ms, then ${r2.ms.toFixed(0)} ms`);
  });

  it("reports the first error with its line", async () => {
    const r = await validateVOEventSchema(packet('<What><Param name="x" value="1" datatype="int"/></What>'));
    assert.equal(r.valid, false);
    assert.match(r.error ?? "", /datatype/);
    assert.match(r.error ?? "", /\(line 4\)$/);
    assert.equal(r.line, 4);
    const r2 = await validateVOEventSchema(packet("<What/><What/>"));
    assert.equal(r2.valid, false);
    assert.match(r2.error ?? "", /What/);
  });

  it("fails VOEvent 1.1 and un-namespaced packets at once, with a clear message", async () => {
    const r = await validateVOEventSchema(packet("", "http://www.ivoa.net/xml/VOEvent/v1.1", "1.1"));
    assert.equal(r.valid, false);
    assert.match(r.error ?? "", /No matching global declaration/);
    assert.match(r.error ?? "", /VOEvent 1\.1/);
    const r2 = await validateVOEventSchema(packet("", null));
    assert.equal(r2.valid, false);
    assert.match(r2.error ?? "", /no namespace/);
  });

  it("never throws: not XML is reported as invalid", async () => {
    const r = await validateVOEventSchema("not xml");
    assert.equal(r.valid, false);
    assert.match(r.error ?? "", /not XML/);
  });

  it(`a burst is validated in batches (${MAX_CONCURRENT} xmllint runs at a time), each packet getting its own verdict`, async () => {
    const good = packet('<What><Param name="a" value="1"/></What>');
    const bad = (i: number) => packet(`<What><Param name="a" value="1" bogus${i}="x"/></What>`);
    const xmls = Array.from({ length: 40 }, (_, i) => (i % 3 === 1 ? bad(i) : good));
    const t0 = performance.now();
    const rs = await Promise.all(xmls.map((x, i) => validateVOEventSchema(i % 2 === 0 ? x : Buffer.from(x))));
    const ms = performance.now() - t0;
    rs.forEach((r, i) => {
      if (i % 3 === 1) {
        assert.equal(r.valid, false, `packet ${i}`);
        assert.match(r.error ?? "", new RegExp(`bogus${i}'`), `packet ${i} gets its own error`);
        assert.equal(r.line, 4);
      } else {
        assert.equal(r.valid, true, `packet ${i}: ${r.error}`);
      }
    });
    console.log(`      40 packets at once: ${ms.toFixed(0)} ms in all`);
  });

  describeCorpus("corpus", () => {
    it("agrees with INDEX.tsv on a sample of packets marked valid against VOEvent-v2.0.xsd", async () => {
      const valid = readIndex().filter((row) => row.notable_features.includes("valid VOEvent-v2.0.xsd"));
      assert.ok(valid.length > 0);
      const sample = valid.filter((_, i) => i % 8 === 0);
      const results = await Promise.all(sample.map((row) => validateVOEventSchema(readPacket(row.file))));
      results.forEach((r, i) => {
        assert.equal(r.valid, true, `${sample[i]?.file}: ${r.error}`);
      });
      const v11 = readIndex()
        .filter((row) => row.notable_features.includes("VOEvent 1.1"))
        .slice(0, 3);
      for (const row of v11) {
        const r = await validateVOEventSchema(readPacket(row.file));
        assert.equal(r.valid, false, row.file);
      }
    });
  });
});
