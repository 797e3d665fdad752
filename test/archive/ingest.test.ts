/**
 * archive/ingest: what voeventdb would store for each real corpus packet, checked against the
 * packet read by an independent parser (@xmldom/xmldom) and INDEX.tsv, plus the ingest rules
 * (GCN's dummy position, coordinate systems, cites with their type and description).
 */
import assert from "node:assert/strict";
import { DOMParser, type Element } from "@xmldom/xmldom";
import { mayHoldText, recordFromPacket, recordFromParsed } from "../../src/archive/ingest";
import { parseIsoTime } from "../../src/archive/time";
import { VOEventError } from "../../src/errors";
import { getParsed, ParseCache } from "../../src/voevent/cache";
import { parseVOEvent, readVOEventHead } from "../../src/voevent/parse";
import { describeCorpus, isMarkedNotWellFormed, readIndex, readPacket } from "../helpers/corpus";

function kids(el: Element, local: string): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n !== null; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).localName === local) out.push(n as Element);
  }
  return out;
}

function kid(el: Element | null, local: string): Element | null {
  return el === null ? null : (kids(el, local)[0] ?? null);
}

function textIn(el: Element | null): string | null {
  const t = el?.textContent?.trim() ?? "";
  return t === "" ? null : t;
}

function rootOf(bytes: Buffer): Element {
  const doc = new DOMParser({ onError: () => undefined }).parseFromString(bytes.toString("utf8"), "text/xml");
  const root = doc.documentElement;
  if (root === null) throw new Error("no root");
  return root;
}

describeCorpus("archive/ingest: corpus packets", () => {
  const rows = readIndex().filter((r) => !isMarkedNotWellFormed(r) && r.ivorn.startsWith("ivo://"));
  const received = new Date("2026-01-02T03:04:05Z");

  it("the record from the flow's parse (the cache, as the archive node takes it) is the record from the bytes", () => {
    for (const row of rows) {
      const bytes = readPacket(row.file);
      const text = bytes.toString("utf8");
      const fromParse = recordFromParsed(getParsed(text), Buffer.from(text, "utf8"), received);
      assert.deepEqual(fromParse, recordFromPacket(bytes, received), row.file);
      assert.ok(Buffer.from(fromParse.xml).equals(bytes), `${row.file}: bytes kept as received`);
    }
  });

  it("from a tree the receiver remembered, the record is made without the packet's model, with the model's values", () => {
    const cache = new ParseCache({ capacity: 4 });
    let dummies = 0;
    for (const row of rows) {
      const text = readPacket(row.file).toString("utf8");
      const parsed = parseVOEvent(text);
      cache.remember(text, parsed.doc);
      const rec = recordFromParsed(cache.peekDoc(text), Buffer.from(text, "utf8"), received);
      assert.equal(cache.modelsRead, 0, `${row.file}: the model was built`);
      const v = parsed.voevent;
      assert.deepEqual(
        [rec.ivorn, rec.role, rec.version, rec.authorIvorn, rec.authorDatetime],
        [v.ivorn, v.role, v.version, v.author.ivorn, v.date === null ? null : parseIsoTime(v.date)],
        row.file,
      );
      const dummy =
        rec.stream.startsWith("nasa.gsfc.gcn/") && v.params.Coords_String === "unavailable/inappropriate";
      if (dummy) {
        dummies++;
        assert.deepEqual(rec.coords, [], `${row.file}: GCN's dummy position is not kept`);
      }
      assert.deepEqual(rec, recordFromPacket(Buffer.from(text, "utf8"), received), row.file);
    }
    assert.ok(dummies > 0, "the corpus has GCN packets with the dummy position");
    // The counter counts: asking for the model of a remembered tree builds it once.
    const last = readPacket(rows[rows.length - 1].file).toString("utf8");
    cache.peek(last);
    cache.peek(last);
    assert.equal(cache.modelsRead, 1);
  });

  it("the record from the receiver's head and text (few tree nodes read) is the record from the tree alone", () => {
    let skipped = 0;
    for (const row of rows) {
      const text = readPacket(row.file).toString("utf8");
      const { doc } = parseVOEvent(text);
      const bytes = Buffer.from(text, "utf8");
      const fromTree = recordFromParsed({ doc }, bytes, received);
      const fast = recordFromParsed({ doc, xml: text, head: readVOEventHead(doc) }, bytes, received);
      assert.deepEqual(fast, fromTree, row.file);
      if (fast.stream.startsWith("nasa.gsfc.gcn/") && !mayHoldText(text, "unavailable/inappropriate"))
        skipped++;
    }
    assert.ok(skipped > 0, "some GCN packets skip the walk of their Params");
  });

  it("GCN's dummy position is recognised however the packet spells its value, and only in the Param", () => {
    const file = "voeventdb__Konus_Lightcurve_2015-07-10T00:28:01.68.xml";
    const text = readPacket(file).toString("utf8");
    const marked = 'name="Coords_String" value="unavailable/inappropriate"';
    assert.ok(text.includes(marked), "the corpus packet marks its dummy position");
    const variants: Array<[string, string, boolean]> = [
      ["as written", text, true],
      [
        "a character reference for the slash",
        text.replace(marked, 'name="Coords_String" value="unavailable&#x2F;inappropriate"'),
        true,
      ],
      [
        "every letter a character reference",
        text.replace(
          marked,
          `name="Coords_String" value="${[..."unavailable/inappropriate"].map((c) => `&#${c.charCodeAt(0)};`).join("")}"`,
        ),
        true,
      ],
      [
        "another value, the dummy's text in a comment",
        text
          .replace(marked, 'name="Coords_String" value="source_object"')
          .replace("<Who>", "<!-- unavailable/inappropriate --><Who>"),
        false,
      ],
      ["another value", text.replace(marked, 'name="Coords_String" value="source_object"'), false],
    ];
    for (const [what, xml, dummy] of variants) {
      const { doc } = parseVOEvent(xml);
      const rec = recordFromParsed({ doc, xml, head: readVOEventHead(doc) }, xml, received);
      assert.deepEqual(rec, recordFromParsed({ doc }, xml, received), what);
      if (dummy) assert.deepEqual(rec.coords, [], `${what}: the dummy position is not kept`);
      else assert.ok(rec.coords.length > 0, `${what}: the position is kept`);
    }
  });

  it("every VOEvent's identity, author and raw bytes as voeventdb stores them", () => {
    for (const row of rows) {
      const bytes = readPacket(row.file);
      const rec = recordFromPacket(bytes, received);
      const root = rootOf(bytes);
      assert.equal(rec.ivorn, row.ivorn, row.file);
      assert.equal(rec.role, row.role, row.file);
      // voeventdb: stream = ivorn.split('#')[0][6:]
      assert.equal(rec.stream, row.ivorn.split("#")[0].slice(6), row.file);
      assert.equal(rec.version, root.getAttribute("version") || null, row.file);
      const who = kid(root, "Who");
      assert.equal(rec.authorIvorn, textIn(kid(who, "AuthorIVORN")), row.file);
      const date = textIn(kid(who, "Date"));
      if (date === null) assert.equal(rec.authorDatetime, null, row.file);
      else if (rec.authorDatetime !== null) {
        const withZone = /(Z|[+-]\d\d:?\d\d)$/.test(date) ? date : `${date}Z`;
        assert.equal(rec.authorDatetime.getTime(), Date.parse(withZone), `${row.file}: ${date}`);
      }
      assert.ok(Buffer.from(rec.xml).equals(bytes), `${row.file}: bytes kept as received`);
      assert.equal(rec.receivedAt, received);
    }
  });

  it("every Citations/EventIVORN with its cite type and the Citations description", () => {
    let total = 0;
    for (const row of rows) {
      const bytes = readPacket(row.file);
      const rec = recordFromPacket(bytes, received);
      const cits = kid(rootOf(bytes), "Citations");
      const expected =
        cits === null
          ? []
          : kids(cits, "EventIVORN")
              .filter(
                (e) =>
                  textIn(e) !== null &&
                  ["followup", "supersedes", "retraction"].includes(e.getAttribute("cite") ?? ""),
              )
              .map((e) => ({
                refIvorn: textIn(e),
                citeType: e.getAttribute("cite"),
                description: textIn(kid(cits, "Description")),
              }));
      assert.deepEqual(rec.cites, expected, row.file);
      total += expected.length;
    }
    assert.ok(total >= 10, `only ${total} cites in the corpus`);
  });

  it("positions: one per ObsDataLocation in degrees in a system voeventdb loads; none for GCN's dummy", () => {
    const accepted = [
      "UTC-FK5-GEO",
      "UTC-FK5-TOPO",
      "UTC-ICRS-GEO",
      "UTC-ICRS-TOPO",
      "TDB-FK5-BARY",
      "TDB-ICRS-BARY",
    ];
    let withCoords = 0;
    for (const row of rows) {
      const bytes = readPacket(row.file);
      const rec = recordFromPacket(bytes, received);
      const root = rootOf(bytes);
      const ww = kid(root, "WhereWhen");
      const dummy = (kid(root, "What") === null ? [] : kids(kid(root, "What") as Element, "Param")).some(
        (p) =>
          p.getAttribute("name") === "Coords_String" &&
          p.getAttribute("value") === "unavailable/inappropriate",
      );
      const expected: Array<{ ra: number; dec: number }> = [];
      let dropAll = dummy && rec.stream.startsWith("nasa.gsfc.gcn");
      for (const odl of ww === null ? [] : kids(ww, "ObsDataLocation")) {
        const obs = kid(odl, "ObservationLocation");
        const ac = kid(obs, "AstroCoords");
        if (ac === null) continue;
        const pos = kid(ac, "Position2D");
        const sys = kid(obs, "AstroCoordSystem")?.getAttribute("id") ?? ac.getAttribute("coord_system_id");
        const c1 = Number(textIn(kid(kid(pos, "Value2"), "C1")));
        const c2 = Number(textIn(kid(kid(pos, "Value2"), "C2")));
        if (pos === null || !accepted.includes(sys ?? "") || pos.getAttribute("unit") !== "deg")
          dropAll = true;
        else if (
          !Number.isFinite(c1) ||
          !Number.isFinite(c2) ||
          textIn(kid(kid(pos, "Value2"), "C1")) === null
        )
          dropAll = true;
        else expected.push({ ra: c1, dec: c2 });
      }
      const got = rec.coords.map((c) => ({ ra: c.ra, dec: c.dec }));
      assert.deepEqual(got, dropAll ? [] : expected, row.file);
      if (got.length > 0) withCoords++;
    }
    assert.ok(withCoords >= 20, `only ${withCoords} packets with positions`);
  });

  it("GCN's dummy position (Coords_String unavailable/inappropriate) is not stored, though the packet has one", () => {
    const bytes = readPacket("growth-too-marshal__GRB180116A_Fermi_GBM_Alert.xml");
    assert.match(bytes.toString(), /<C1>/);
    const rec = recordFromPacket(bytes, received);
    assert.deepEqual(rec.coords, []);
    assert.equal(rec.stream, "nasa.gsfc.gcn/Fermi");
  });

  it("a Swift BAT position with its error radius, time and system", () => {
    const row = readIndex().find((r) => r.ivorn.includes("SWIFT#BAT_GRB_Pos"));
    assert.ok(row !== undefined);
    const bytes = readPacket(row.file);
    const rec = recordFromPacket(bytes, received);
    const root = rootOf(bytes);
    const ac = kid(kid(kid(kid(root, "WhereWhen"), "ObsDataLocation"), "ObservationLocation"), "AstroCoords");
    const pos = kid(ac, "Position2D");
    assert.equal(rec.coords.length, 1);
    assert.equal(rec.coords[0].error, Number(textIn(kid(pos, "Error2Radius"))));
    const iso = textIn(kid(kid(kid(ac, "Time"), "TimeInstant"), "ISOTime"));
    assert.equal(rec.coords[0].time?.getTime(), Date.parse(`${iso}Z`));
    assert.equal(rec.coords[0].system, "UTC-FK5-GEO");
  });

  it("refuses what is not a VOEvent with the parser's error", () => {
    assert.throws(
      () => recordFromPacket("not xml", received),
      (e: unknown) => e instanceof VOEventError && e.code === "NOT_XML",
    );
    assert.throws(
      () => recordFromPacket("<Transport/>", received),
      (e: unknown) => e instanceof VOEventError && e.code === "WRONG_ROOT",
    );
    assert.throws(
      () => recordFromPacket(readPacket("rta-dummy__DUMMY_VOEVENT_INTEGRAL.xml"), received),
      (e: unknown) => e instanceof VOEventError && e.code === "BAD_IVORN",
    );
  });
});

describe("archive/time: ISO 8601 as voeventdb's iso8601.parse_date", () => {
  it("reads dates, months, times, fractions and zones", () => {
    assert.equal(parseIsoTime("2015-10-09T21:34:19")?.toISOString(), "2015-10-09T21:34:19.000Z");
    assert.equal(parseIsoTime("2015-10-09")?.toISOString(), "2015-10-09T00:00:00.000Z");
    assert.equal(parseIsoTime("2015-10")?.toISOString(), "2015-10-01T00:00:00.000Z");
    assert.equal(parseIsoTime("2015-10-09T21:34:19.123456")?.toISOString(), "2015-10-09T21:34:19.123Z");
    assert.equal(parseIsoTime("2015-10-09T21:34:19+02:00")?.toISOString(), "2015-10-09T19:34:19.000Z");
    assert.equal(parseIsoTime("2015-10-09 21:34Z")?.toISOString(), "2015-10-09T21:34:00.000Z");
    assert.equal(parseIsoTime("0001-01-01")?.toISOString(), "0001-01-01T00:00:00.000Z");
  });

  it("refuses what is not a date, never rolling over", () => {
    for (const bad of [
      "",
      "2015-13",
      "2015-02-29",
      "2015-10-09T25:00",
      "2015-10-09T21:60",
      "yesterday",
      "0000-01-01",
      "2015-1-1x",
    ]) {
      assert.equal(parseIsoTime(bad), null, bad);
    }
    assert.equal(parseIsoTime("2016-02-29")?.toISOString(), "2016-02-29T00:00:00.000Z");
  });

  it("keeps a fraction to the millisecond it is in, however many digits: never the next second", () => {
    // Python's iso8601 keeps microseconds and the stores milliseconds: .9999… is still .999.
    assert.equal(
      parseIsoTime("2015-12-31T23:59:59.99999999999999999Z")?.toISOString(),
      "2015-12-31T23:59:59.999Z",
    );
    assert.equal(parseIsoTime("2015-10-09T21:34:19.0009")?.toISOString(), "2015-10-09T21:34:19.000Z");
    assert.equal(parseIsoTime("2015-10-09T21:34:19,5")?.toISOString(), "2015-10-09T21:34:19.500Z");
    for (let i = 0; i < 1000; i++) {
      const f = String(i).padStart(3, "0");
      assert.equal(
        parseIsoTime(`2015-10-09T21:34:19.${f}7`)?.getTime(),
        Date.parse(`2015-10-09T21:34:19.${f}Z`),
        f,
      );
    }
  });
});
