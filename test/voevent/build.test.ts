import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { validateXML } from "xmllint-wasm";
import { DEFAULT_TEST_STREAM, testAlert, testAlertModel } from "../../src/voevent/alert";
import { buildVOEvent, COORD_SYSTEMS, type VOEventInput } from "../../src/voevent/build";
import { parseIvorn } from "../../src/voevent/ivorn";
import type { VOEvent } from "../../src/voevent/model";
import { parseVOEvent } from "../../src/voevent/parse";
import { describeCorpus, isMarkedNotWellFormed, readIndex, readPacket, schemaPath } from "../helpers/corpus";

const V20 = "http://www.ivoa.net/xml/VOEvent/v2.0";
const FIXTURES = path.resolve(__dirname, "../fixtures/packets");

function base(over: Partial<VOEvent> = {}): VOEvent {
  return {
    ivorn: "ivo://voevent.example/build#1",
    role: "test",
    version: "2.0",
    namespace: V20,
    stream: "ivo://voevent.example/build",
    date: null,
    author: { ivorn: null, shortName: null, contactName: null, contactEmail: null },
    params: {},
    groups: {},
    position: null,
    time: null,
    why: { importance: null, expires: null, inferences: [], concepts: [] },
    citations: [],
    description: null,
    ...over,
  };
}

/** Complete models: parse(build(m)) must give m back exactly. */
const COMPLETE: Record<string, VOEvent> = {
  minimal: base(),
  "everything, GCN-like": base({
    ivorn: "ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_532871-729",
    role: "observation",
    stream: "ivo://nasa.gsfc.gcn/SWIFT",
    date: "2012-09-07T00:24:36",
    author: {
      ivorn: "ivo://nasa.gsfc.tan/gcn",
      shortName: "VO-GCN",
      contactName: "Scott Barthelmy",
      contactEmail: "scott.barthelmy@nasa.gov",
    },
    params: {
      Packet_Type: 61,
      TrigID: "00532871",
      Sun_Distance: 92.05,
      Looks_Numeric: "92.05",
      Negative: -70.55,
      Tiny: 1.5e-10,
      Huge: 1e21,
      Unsafe_Int_As_Text: "123456789012345678901234567890",
      Nothing: null,
      Flags: "0x3",
    },
    groups: {
      Merit_Values: { Merit_Val0: 1, Merit_Val1: 0 },
      Solution_Status: { Point_Source: "true", GRB_Identified: "true" },
      Empty: {},
    },
    position: { ra: 74.7412, dec: -9.3137, error: 0.05, system: "UTC-FK5-GEO" },
    time: "2012-09-07T00:24:23.08",
    why: {
      importance: 0.9,
      expires: "2012-09-08T00:00:00Z",
      inferences: [
        {
          probability: 0.98,
          relation: "identified",
          names: ["GRB 120907"],
          concepts: ["process.variation.burst;em.gamma"],
        },
      ],
      concepts: ["process.variation.burst;em.gamma"],
    },
    citations: [
      { ivorn: "ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_532871-728", cite: "supersedes" },
      { ivorn: "ivo://nasa.gsfc.gcn/SWIFT#BAT_Alert_532871-700", cite: "followup" },
      { ivorn: "ivo://nasa.gsfc.gcn/SWIFT#BAT_Wrong_532871-600", cite: "retraction" },
      { ivorn: "ivo://nasa.gsfc.gcn/SWIFT#BAT_Related_532871-500", cite: null },
    ],
    description: "The Swift-BAT instrument position notice.",
  }),
  "unicode and characters that need escaping": base({
    ivorn: "ivo://voevent.example/esc#%C3%A9t%C3%A9:1+2",
    stream: "ivo://voevent.example/esc",
    author: {
      ivorn: "ivo://voevent.example/esc?a=1&b=2",
      shortName: 'Observatoire "été" & <Co>',
      contactName: "Zoë Renée 天文 🔭",
      contactEmail: "a&b@example.org",
    },
    params: {
      "quote\"and'apos": "a < b && c > d \"q\" 's'",
      "tab\tand\nnewline": "line1\nline2\tcol\r\nend",
      "]]>": "]]>",
      λ_peak: 550,
      ["__proto__"]: "a Param may be called anything",
      constructor: 1,
    },
    groups: {
      "Group with <angle> & amp": { "x y": "spaces  inside" },
    },
    description: "Ligne 1\nLigne 2 — 🔭\r\nwith CR LF & <markup> ]]> kept",
    why: { importance: null, expires: null, inferences: [], concepts: ["em.opt <R & I>"] },
    citations: [{ ivorn: "ivo://voevent.example/esc#prev", cite: "followup" }],
  }),
  "time only, no position": base({ time: "2024-03-01T00:59:00.123456" }),
  "position without an error radius": base({
    position: { ra: 0, dec: -90, error: null, system: "TDB-ICRS-BARY" },
    time: "2016-01-16T07:52:27",
  }),
  "why: concepts outside, between and after inferences; an inference with nothing in it": base({
    why: {
      importance: 0,
      expires: null,
      inferences: [
        { probability: 0.5, relation: null, names: [], concepts: ["b", "c"] },
        { probability: 1, relation: "associated", names: ["n"], concepts: [] },
        { probability: null, relation: null, names: [], concepts: [] },
        { probability: 0, relation: null, names: [], concepts: ["e"] },
      ],
      concepts: ["a", "b", "c", "d", "e", "f"],
    },
  }),
  "why with importance only": base({
    why: { importance: 0.25, expires: null, inferences: [], concepts: [] },
  }),
};

describe("voevent/build", () => {
  describe("round trip: parseVOEvent(buildVOEvent(m)).voevent deep-equals m", () => {
    for (const [name, m] of Object.entries(COMPLETE)) {
      it(name, () => {
        const xml = buildVOEvent(m);
        assert.deepEqual(parseVOEvent(xml).voevent, m, xml);
      });
    }
    it("the fixtures: parse → build → parse keeps the model (but for version and namespace)", () => {
      for (const name of ["full-v2.xml", "retraction.xml", "unicode-crlf.xml", "no-namespace.xml"]) {
        const m = parseVOEvent(readFileSync(path.join(FIXTURES, name))).voevent;
        const again = parseVOEvent(buildVOEvent(m)).voevent;
        assert.deepEqual(again, { ...m, version: "2.0", namespace: V20 }, name);
      }
    });
  });

  describe("the XML", () => {
    const xml = buildVOEvent({
      ...COMPLETE["everything, GCN-like"],
      how: { description: "Swift", references: ["https://swift.gsfc.nasa.gov/"] },
    });
    it("starts with the declaration and a voe:VOEvent 2.0 root with schemaLocation", () => {
      const lines = xml.split("\n");
      assert.equal(lines[0], '<?xml version="1.0" encoding="UTF-8"?>');
      assert.ok(lines[1].startsWith(`<voe:VOEvent xmlns:voe="${V20}" `));
      assert.ok(lines[1].includes('xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'));
      assert.ok(
        lines[1].includes(`xsi:schemaLocation="${V20} http://www.ivoa.net/xml/VOEvent/VOEvent-v2.0.xsd"`),
      );
      assert.ok(
        lines[1].includes(
          'version="2.0" role="observation" ivorn="ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_532871-729"',
        ),
      );
      assert.ok(xml.endsWith("</voe:VOEvent>\n"));
    });
    it("orders the sections Who, What, WhereWhen, How, Why, Citations, Description", () => {
      const at = ["<Who>", "<What>", "<WhereWhen>", "<How>", "<Why ", "<Citations>", "<Description>"].map(
        (t) => xml.indexOf(`\n  ${t}`),
      );
      for (const i of at) assert.ok(i > 0);
      assert.deepEqual(
        [...at].sort((a, b) => a - b),
        at,
      );
    });
    it("writes numbers with dataType int or float, strings with dataType string, null without a value", () => {
      assert.ok(xml.includes('<Param name="Packet_Type" dataType="int" value="61"/>'));
      assert.ok(xml.includes('<Param name="Sun_Distance" dataType="float" value="92.05"/>'));
      assert.ok(xml.includes('<Param name="TrigID" dataType="string" value="00532871"/>'));
      assert.ok(xml.includes('<Param name="Nothing"/>'));
      assert.ok(xml.includes('<Param name="Huge" dataType="float" value="1e+21"/>'));
    });
    it("writes the position as the brief says", () => {
      for (const part of [
        '<ObservatoryLocation id="GEOLUN"/>',
        '<AstroCoordSystem id="UTC-FK5-GEO"/>',
        '<AstroCoords coord_system_id="UTC-FK5-GEO">',
        "<ISOTime>2012-09-07T00:24:23.08</ISOTime>",
        '<Position2D unit="deg">',
        "<Name1>RA</Name1>",
        "<Name2>Dec</Name2>",
        "<C1>74.7412</C1>",
        "<C2>-9.3137</C2>",
        "<Error2Radius>0.05</Error2Radius>",
      ]) {
        assert.ok(xml.includes(part), part);
      }
    });
    it("defaults the coordinate system to UTC-ICRS-TOPO and writes an unknown error as NaN", () => {
      const x = buildVOEvent({ ivorn: "ivo://a.b/c#1", role: "test", position: { ra: 1, dec: 2 } });
      assert.ok(x.includes('<AstroCoords coord_system_id="UTC-ICRS-TOPO">'));
      assert.ok(x.includes("<Error2Radius>NaN</Error2Radius>"));
      assert.deepEqual(parseVOEvent(x).voevent.position, {
        ra: 1,
        dec: 2,
        error: null,
        system: "UTC-ICRS-TOPO",
      });
    });
    it("leaves out empty sections", () => {
      const x = buildVOEvent({
        ivorn: "ivo://a.b/c#1",
        role: "utility",
        author: {},
        params: {},
        why: {},
        citations: [],
      });
      for (const s of ["<Who", "<What", "<WhereWhen", "<How", "<Why", "<Citations", "<Description"]) {
        assert.ok(!x.includes(s), s);
      }
    });
    it("escapes text and attributes", () => {
      const x = buildVOEvent(COMPLETE["unicode and characters that need escaping"]);
      assert.ok(x.includes('<shortName>Observatoire "été" &amp; &lt;Co&gt;</shortName>'));
      assert.ok(
        x.includes(
          'name="quote&quot;and\'apos" dataType="string" value="a &lt; b &amp;&amp; c &gt; d &quot;q&quot; \'s\'"',
        ),
      );
      assert.ok(
        x.includes(
          'name="tab&#9;and&#10;newline" dataType="string" value="line1&#10;line2&#9;col&#13;&#10;end"',
        ),
      );
      assert.ok(x.includes("]]&gt;"));
      assert.ok(x.includes("with CR LF &amp; &lt;markup&gt; ]]&gt; kept"));
    });
  });

  describe("refuses bad input, saying what", () => {
    const ok: VOEventInput = { ivorn: "ivo://a.b/c#1", role: "test" };
    it("a bad ivorn: BAD_IVORN", () => {
      assert.throws(() => buildVOEvent({ ...ok, ivorn: "ivo://[institute]/x#1" }), { code: "BAD_IVORN" });
    });
    it("a bad role: BAD_ROLE", () => {
      assert.throws(() => buildVOEvent({ ...ok, role: "retraction" as unknown as "test" }), {
        code: "BAD_ROLE",
        message: /role "retraction"/,
      });
    });
    it("a date that is not an xs:dateTime", () => {
      assert.throws(() => buildVOEvent({ ...ok, date: "yesterday" }), {
        name: "RangeError",
        message: /date "yesterday"/,
      });
      assert.throws(() => buildVOEvent({ ...ok, why: { expires: "2024-13-01T00:00:00" } }), /why.expires/);
    });
    it("a coordinate system the schema does not know", () => {
      assert.throws(() => buildVOEvent({ ...ok, position: { ra: 1, dec: 2, system: "FK5-UTC-GEO" } }), {
        name: "RangeError",
        message: /position.system "FK5-UTC-GEO"/,
      });
    });
    it("numbers that are not finite, a probability outside 0..1", () => {
      assert.throws(() => buildVOEvent({ ...ok, params: { x: Number.NaN } }), /finite number/);
      assert.throws(
        () => buildVOEvent({ ...ok, position: { ra: Number.POSITIVE_INFINITY, dec: 0 } }),
        /position.ra/,
      );
      assert.throws(
        () => buildVOEvent({ ...ok, why: { inferences: [{ probability: 1.5 }] } }),
        /outside 0..1/,
      );
    });
    it("a Param value of another type, an empty Param name", () => {
      assert.throws(
        () => buildVOEvent({ ...ok, params: { x: true as unknown as string } }),
        /string, a number or null/,
      );
      assert.throws(() => buildVOEvent({ ...ok, params: { "": 1 } }), /non-empty name/);
    });
    it("an unknown cite", () => {
      assert.throws(
        () => buildVOEvent({ ...ok, citations: [{ ivorn: "ivo://a.b/c#0", cite: "retracts" }] }),
        /cite "retracts"/,
      );
    });
    it("characters XML 1.0 cannot carry", () => {
      assert.throws(() => buildVOEvent({ ...ok, description: "bell\u0007" }), {
        name: "RangeError",
        message: /description contains U\+0007/,
      });
      assert.throws(() => buildVOEvent({ ...ok, params: { x: "half \ud800 pair" } }), /U\+D800/);
      assert.throws(() => buildVOEvent({ ...ok, author: { contactName: "\uffff" } }), /author.contactName/);
    });
  });

  describe("testAlert (the seed demo's alert)", () => {
    it("is a VOEvent 2.0 test packet from KSK under the default stream, with params and a position", () => {
      const before = Date.now();
      const p = parseVOEvent(testAlert());
      const v = p.voevent;
      assert.equal(v.version, "2.0");
      assert.equal(v.namespace, V20);
      assert.equal(v.role, "test");
      assert.equal(v.stream, DEFAULT_TEST_STREAM);
      assert.notEqual(parseIvorn(v.ivorn).local, null);
      assert.equal(v.author.contactName, "KSK");
      assert.ok(Object.keys(v.params).length >= 2);
      assert.ok(v.position !== null);
      assert.ok(v.description?.includes("KSK"));
      const date = Date.parse(v.date ?? "");
      assert.ok(date >= before - 1000 && date <= Date.now() + 1000, v.date ?? "no date");
      // What the seed filter //Who/Author[contactName="KSK"] looks at: exactly this text, no padding.
      assert.ok(p.xml.includes("<contactName>KSK</contactName>"));
    });
    it("takes the sender, stream and role", () => {
      const v = parseVOEvent(
        testAlert({
          contactName: "Ada",
          stream: "ivo://example.org/alerts",
          role: "utility",
          ra: 10,
          dec: -5,
          error: 1,
        }),
      ).voevent;
      assert.equal(v.author.contactName, "Ada");
      assert.equal(v.stream, "ivo://example.org/alerts");
      assert.equal(v.role, "utility");
      assert.deepEqual(v.position, { ra: 10, dec: -5, error: 1, system: "UTC-ICRS-TOPO" });
    });
    it("gives each alert a new IVORN", () => {
      const ivorns = new Set<string>();
      for (let i = 0; i < 100; i++) ivorns.add(testAlertModel().ivorn);
      assert.equal(ivorns.size, 100);
    });
    it("refuses a stream that is not one", () => {
      assert.throws(() => testAlert({ stream: "ivo://example.org/alerts#1" }), { code: "BAD_IVORN" });
      assert.throws(() => testAlert({ stream: "alerts" }), { code: "BAD_IVORN" });
    });
  });
});

describeCorpus("voevent/build: output valid against VOEvent-v2.0.xsd (xmllint-wasm)", () => {
  const xsd = (): string => readFileSync(schemaPath("VOEvent-v2.0.xsd"), "utf8");

  async function invalid(packets: { name: string; xml: string }[]): Promise<string[]> {
    // The v2.0 schema is self-contained (no xs:import), so no preload files are needed.
    const result = await validateXML({
      xml: packets.map((p, i) => ({ fileName: `p${i}.xml`, contents: p.xml })),
      schema: [{ fileName: "VOEvent-v2.0.xsd", contents: xsd() }],
    });
    if (result.valid) return [];
    return result.errors.map((e) => {
      const i = Number(/^p(\d+)\.xml/.exec(e.loc?.fileName ?? "")?.[1] ?? -1);
      return `${packets[i]?.name ?? "?"}: ${e.message}`;
    });
  }

  it("the complete models, a minimal one, and test alerts", async () => {
    const packets = Object.entries(COMPLETE).map(([name, m]) => ({ name, xml: buildVOEvent(m) }));
    packets.push({ name: "minimal input", xml: buildVOEvent({ ivorn: "ivo://a.b/c#1", role: "test" }) });
    packets.push({ name: "testAlert", xml: testAlert() });
    packets.push({
      name: "testAlert utility",
      xml: testAlert({ role: "utility", contactName: "Ada <& Co>" }),
    });
    for (const system of COORD_SYSTEMS) {
      packets.push({
        name: system,
        xml: buildVOEvent({
          ivorn: "ivo://a.b/c#1",
          role: "test",
          position: { ra: 1, dec: 2, error: 3, system },
        }),
      });
    }
    assert.deepEqual(await invalid(packets), []);
  });

  it("a sanity check that the validator does reject: a bad role fails", async () => {
    const bad = buildVOEvent({ ivorn: "ivo://a.b/c#1", role: "test" }).replace(
      'role="test"',
      'role="retraction"',
    );
    const errors = await invalid([{ name: "bad role", xml: bad }]);
    assert.equal(errors.length, 1);
    assert.match(errors[0], /role/);
  });

  it("every usable corpus packet re-encoded as 2.0 validates, and keeps its model", async () => {
    const packets: { name: string; xml: string }[] = [];
    for (const row of readIndex()) {
      if (isMarkedNotWellFormed(row)) continue;
      let m: VOEvent;
      try {
        m = parseVOEvent(readPacket(row.file)).voevent;
      } catch {
        continue; // refused packets (BAD_IVORN) are covered elsewhere
      }
      // A few 1.1 packets write the coordinate system the other way round; the 2.0 schema knows one spelling.
      const system = m.position?.system;
      const input: VOEventInput =
        m.position !== null && system !== null && system !== undefined && !COORD_SYSTEMS.includes(system)
          ? { ...m, position: { ...m.position, system: null } }
          : m;
      const xml = buildVOEvent(input);
      const again = parseVOEvent(xml).voevent;
      const expected: VOEvent = {
        ...m,
        version: "2.0",
        namespace: V20,
        position:
          m.position === null ? null : { ...m.position, system: input.position?.system ?? "UTC-ICRS-TOPO" },
      };
      assert.deepEqual(again, expected, row.file);
      packets.push({ name: row.file, xml });
    }
    assert.ok(packets.length >= 60, `only ${packets.length} packets`);
    assert.deepEqual(await invalid(packets), []);
  });
});
