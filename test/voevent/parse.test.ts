/**
 * parseVOEvent on the project's own fixtures (test/fixtures/packets): these run
 * without the shared corpus.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { VOEvent } from "../../src/voevent/model";
import { parseVOEvent, readVOEvent } from "../../src/voevent/parse";
import { parseXml } from "../../src/xml/parse";

const FIXTURES = path.resolve(__dirname, "../fixtures/packets");

function fixture(name: string): Buffer {
  return readFileSync(path.join(FIXTURES, name));
}

function model(name: string): VOEvent {
  return parseVOEvent(fixture(name)).voevent;
}

const V20 = "http://www.ivoa.net/xml/VOEvent/v2.0";

function packet(rootAttrs: string, body = ""): string {
  return `<voe:VOEvent xmlns:voe="${V20}" version="2.0" ${rootAttrs}>${body}</voe:VOEvent>`;
}

describe("voevent/parse (own fixtures)", () => {
  it("full-v2.xml: the whole model, field by field", () => {
    const expected: VOEvent = {
      ivorn: "ivo://fixtures.example/burst#BRST-2024-03-01T12:00:00.5_0042",
      role: "observation",
      version: "2.0",
      namespace: V20,
      stream: "ivo://fixtures.example/burst",
      date: "2024-03-01T12:00:05",
      author: {
        ivorn: "ivo://fixtures.example/burst",
        shortName: "FixObs",
        contactName: "Ada Example",
        contactEmail: "ada@fixtures.example",
      },
      params: {
        Packet_Type: 61,
        TrigID: "00532871",
        Sun_Distance: 92.05,
        Burst_Inten: 4622,
        Rate_Signif: 15.49,
        Flags: "0x3",
        Label: "123",
        Empty: null,
        NoValue: null,
        Tiny: 1.5e-10,
        Described: 2.5,
      },
      groups: {
        // Two Groups named Obs_Support_Info merge; the later Moon_Illum wins.
        Obs_Support_Info: { Moon_Distance: 34.56, Moon_Illum: 65, Galactic_Lat: -29.19 },
        // Unnamed, typed: keyed by type.
        Classification: { BNS: 0.95, Terrestrial: 0.05 },
        // Neither name nor type: the third Group of What.
        group3: { Tmax: 2453897.608 },
      },
      position: { ra: 74.7412, dec: -9.3137, error: 0.05, system: "UTC-FK5-GEO" },
      time: "2024-03-01T12:00:00.50",
      why: {
        importance: 0.9,
        expires: "2024-03-02T12:00:00",
        inferences: [
          {
            probability: 0.98,
            relation: "identified",
            names: ["GRB 240301A"],
            concepts: ["process.variation.burst;em.gamma"],
          },
          { probability: null, relation: null, names: ["other"], concepts: [] },
        ],
        concepts: ["process.variation.burst", "process.variation.burst;em.gamma"],
      },
      citations: [
        { ivorn: "ivo://fixtures.example/burst#BRST-2024-03-01T12:00:00.5_0041", cite: "supersedes" },
        { ivorn: "ivo://fixtures.example/burst#BRST-2024-03-01T12:00:00.5_0040", cite: "followup" },
      ],
      description: "A made-up burst for the tests.",
    };
    assert.deepEqual(model("full-v2.xml"), expected);
  });

  it("full-v2.xml: Params inside a Table are not What params", () => {
    assert.equal(Object.hasOwn(model("full-v2.xml").params, "InTable"), false);
  });

  it("v11-stc-prefixed.xml: VOEvent 1.1 with stc:/crd: prefixes, ObservationLocation under WhereWhen", () => {
    const v = model("v11-stc-prefixed.xml");
    assert.equal(v.version, "1.1");
    assert.equal(v.namespace, "http://www.ivoa.net/xml/VOEvent/v1.1");
    assert.equal(v.role, "prediction");
    assert.deepEqual(v.position, {
      ra: 268.446708333333,
      dec: -29.7399166666667,
      error: 0.0003,
      system: "UTC-FK5-GEO",
    });
    assert.equal(v.time, "2007-02-27T21:39:26");
    assert.deepEqual(v.params, { Field: "BLG103.1", StarNo: 8484 });
    assert.deepEqual(v.groups, { group1: { Tmax: 2454139.407 }, group2: { Tau: 15.333 } });
    assert.deepEqual(v.author, {
      ivorn: "ivo://fixtures.example/lensing#",
      shortName: "Lens Watch",
      contactName: null,
      contactEmail: null,
    });
    assert.equal(v.date, null);
    assert.deepEqual(v.why.inferences, [
      { probability: 1, relation: null, names: ["ML-2007-001"], concepts: ["Microlensing Event"] },
    ]);
  });

  it("no-namespace.xml: un-namespaced root, no declaration, no role → observation", () => {
    const v = model("no-namespace.xml");
    assert.equal(v.namespace, "");
    assert.equal(v.role, "observation");
    assert.equal(v.version, "2.0");
    assert.deepEqual(v.params, { BrokerDomain: "broker.fixtures.example" });
    assert.deepEqual(v.groups, { Subscribe: { Port: 8099, IPWhiteList: null } });
    assert.deepEqual(v.position, { ra: 0, dec: 0, error: 0, system: "UTC-FK5-GEO" });
    assert.equal(v.time, "2024-03-01T00:00:00");
    assert.equal(v.description, null);
    assert.deepEqual(v.why, { importance: null, expires: null, inferences: [], concepts: [] });
    assert.deepEqual(v.citations, []);
  });

  describe("no-wherewhen.xml: the Param number rule", () => {
    const v = model("no-wherewhen.xml");
    it("role utility, no local id, no position or time", () => {
      assert.equal(v.role, "utility");
      assert.equal(v.ivorn, "ivo://fixtures.example/notices");
      assert.equal(v.stream, "ivo://fixtures.example/notices");
      assert.equal(v.position, null);
      assert.equal(v.time, null);
      assert.equal(v.date, null);
      assert.deepEqual(v.author, { ivorn: null, shortName: null, contactName: null, contactEmail: null });
    });
    const cases: [string, string | number][] = [
      ["Packet_Type", 4],
      ["plain_int", -12],
      ["plain_zero", 0],
      ["plain_float", 0],
      ["plain_exp", 0.002],
      ["leading_zero", "007"],
      ["plus", "+5"],
      ["bare_point", ".5"],
      ["spaces", " 5"],
      ["huge", "123456789012345678901234567890"],
      ["huge_typed", "123456789012345678901234567890"],
      ["date", "2024-03-01"],
      ["word", "true"],
      ["nan_typed", "NaN"],
      ["inf_plain", "1e999"],
      ["typed_lenient", 0.5],
      ["gecam_case", 7.5],
      ["constructor", "c"],
      ["param1", "nameless one"],
      ["param2", "nameless two"],
    ];
    for (const [name, value] of cases) {
      it(`${name} → ${JSON.stringify(value)}`, () => assert.equal(v.params[name], value));
    }
    it("a Param called __proto__ is an own property and leaves the prototype alone", () => {
      assert.equal(Object.getPrototypeOf(v.params), Object.prototype);
      assert.equal(Object.getOwnPropertyDescriptor(v.params, "__proto__")?.value, 1);
      assert.equal(
        Object.getOwnPropertyDescriptor(JSON.parse(JSON.stringify(v.params)), "__proto__")?.value,
        1,
      );
    });
    it("a Group called constructor is its own group, not Object's constructor", () => {
      assert.deepEqual(Object.keys(v.groups), ["constructor"]);
      assert.equal(v.groups.constructor.toString, 2);
    });
  });

  it("retraction.xml: default VOEvent namespace, cite=retraction, time without position", () => {
    const v = model("retraction.xml");
    assert.equal(v.namespace, V20);
    assert.equal(v.role, "test");
    assert.equal(v.position, null);
    assert.equal(v.time, "2024-03-01T00:59:00.123456");
    assert.equal(v.date, "2024-03-01T01:00:00Z");
    assert.equal(v.author.contactName, "GW Fixtures");
    assert.deepEqual(v.params, { AlertType: "Retraction", Retraction: 1 });
    assert.deepEqual(v.citations, [
      { ivorn: "ivo://fixtures.example/gw#MS240301a-1-Preliminary", cite: "retraction" },
      { ivorn: "ivo://fixtures.example/gw#MS240301a-2-Preliminary", cite: "retraction" },
    ]);
  });

  it("unicode-crlf.xml: BOM, CRLF, non-ASCII, references and CDATA decoded", () => {
    const v = model("unicode-crlf.xml");
    assert.equal(v.author.shortName, "Observatoire été & Co");
    assert.equal(v.author.contactName, "Zoë Renée 天文");
    assert.equal(v.params.Comparison, "a < b && c > d \"q\" 's'");
    assert.equal(v.params.Multi, "line1\nline2");
    // Literal CR LF and tab in an attribute are normalised to spaces (XML 1.0 §3.3.3).
    assert.equal(v.params.Spaced, "a  b");
    assert.equal(v.params.λ_peak, 550);
    assert.deepEqual(v.why.concepts, ["em.opt <R & I>"]);
    assert.equal(v.description, "Ligne 1\nLigne 2 — 🔭");
    assert.equal(v.ivorn, "ivo://fixtures.example/unicode#%C3%A9t%C3%A9-1");
  });

  it("transport-ack.xml: a Transport message is WRONG_ROOT, saying so", () => {
    assert.throws(() => parseVOEvent(fixture("transport-ack.xml")), {
      code: "WRONG_ROOT",
      message: 'this is a VTP Transport message (role "ack"), not a VOEvent',
    });
  });

  it("a string and a Buffer of the same packet give the same result; xml is the text", () => {
    const buf = fixture("full-v2.xml");
    const fromBuf = parseVOEvent(buf);
    const fromStr = parseVOEvent(buf.toString("utf8"));
    assert.deepEqual(fromBuf.voevent, fromStr.voevent);
    assert.equal(fromBuf.xml, buf.toString("utf8"));
    assert.equal(fromStr.doc.root.local, "VOEvent");
  });

  it("readVOEvent reads a tree parsed elsewhere", () => {
    const doc = parseXml(fixture("retraction.xml"));
    assert.deepEqual(readVOEvent(doc), model("retraction.xml"));
  });

  it("the model is plain JSON: it survives a JSON round trip unchanged", () => {
    for (const name of ["full-v2.xml", "no-wherewhen.xml", "unicode-crlf.xml", "v11-stc-prefixed.xml"]) {
      const v = model(name);
      assert.deepEqual(JSON.parse(JSON.stringify(v)), v, name);
    }
  });

  describe("root, ivorn and role", () => {
    it("role absent means observation", () => {
      assert.equal(parseVOEvent(packet('ivorn="ivo://a.b/c#1"')).voevent.role, "observation");
    });
    for (const role of ["observation", "prediction", "utility", "test"]) {
      it(`role ${role}`, () => {
        assert.equal(parseVOEvent(packet(`role="${role}" ivorn="ivo://a.b/c#1"`)).voevent.role, role);
      });
    }
    it("role retraction is BAD_ROLE, naming it and saying what a retraction is", () => {
      assert.throws(() => parseVOEvent(packet('role="retraction" ivorn="ivo://a.b/c#1"')), {
        code: "BAD_ROLE",
        message: /role "retraction" is not a VOEvent role .*cite="retraction"/,
      });
    });
    it("role Test (wrong case) and empty role are BAD_ROLE", () => {
      assert.throws(() => parseVOEvent(packet('role="Test" ivorn="ivo://a.b/c#1"')), {
        code: "BAD_ROLE",
        message: /role "Test"/,
      });
      assert.throws(() => parseVOEvent(packet('role="" ivorn="ivo://a.b/c#1"')), { code: "BAD_ROLE" });
    });
    it("no ivorn is NO_IVORN", () => {
      assert.throws(() => parseVOEvent(packet('role="test"')), {
        code: "NO_IVORN",
        message: "the VOEvent has no ivorn attribute",
      });
    });
    it("an invalid ivorn is BAD_IVORN, saying why", () => {
      assert.throws(() => parseVOEvent(packet('ivorn="ivo://[institute]/[instrument]#FRB"')), {
        code: "BAD_IVORN",
        message: /authority contains character "\["/,
      });
      assert.throws(() => parseVOEvent(packet('ivorn=""')), { code: "BAD_IVORN", message: /it is empty/ });
    });
    it("white space around the ivorn is not part of it (xs:anyURI collapses it)", () => {
      const v = parseVOEvent(packet('ivorn="  ivo://a.b/c#1\n"')).voevent;
      assert.equal(v.ivorn, "ivo://a.b/c#1");
    });
    it("requireLocalId refuses an ivorn without #local, as Comet does", () => {
      const xml = packet('ivorn="ivo://nasa.gsfc.gcn/gcn"');
      assert.equal(parseVOEvent(xml).voevent.ivorn, "ivo://nasa.gsfc.gcn/gcn");
      assert.throws(() => parseVOEvent(xml, { requireLocalId: true }), {
        code: "BAD_IVORN",
        message: /has no local id/,
      });
      assert.equal(
        parseVOEvent(packet('ivorn="ivo://a.b/c#1"'), { requireLocalId: true }).voevent.ivorn,
        "ivo://a.b/c#1",
      );
    });
    it("a VOEvent root in an unexpected namespace still parses, and records it", () => {
      const v = parseVOEvent('<x:VOEvent xmlns:x="urn:other" ivorn="ivo://a.b/c#1"/>').voevent;
      assert.equal(v.namespace, "urn:other");
      assert.equal(v.version, null);
    });
    it("the first of repeated sections is used", () => {
      const v = parseVOEvent(
        packet('ivorn="ivo://a.b/c#1"', "<Description>one</Description><Description>two</Description>"),
      ).voevent;
      assert.equal(v.description, "one");
    });
    it("position is null unless both C1 and C2 are numbers", () => {
      const ww = (c1: string, c2: string) =>
        `<WhereWhen><ObsDataLocation><ObservationLocation><AstroCoords coord_system_id="UTC-FK5-GEO">` +
        `<Position2D><Value2><C1>${c1}</C1><C2>${c2}</C2></Value2></Position2D>` +
        `</AstroCoords></ObservationLocation></ObsDataLocation></WhereWhen>`;
      assert.equal(parseVOEvent(packet('ivorn="ivo://a.b/c#1"', ww("", "1"))).voevent.position, null);
      assert.equal(parseVOEvent(packet('ivorn="ivo://a.b/c#1"', ww("1", "north"))).voevent.position, null);
      assert.deepEqual(parseVOEvent(packet('ivorn="ivo://a.b/c#1"', ww(" 1 ", "-2.5e1"))).voevent.position, {
        ra: 1,
        dec: -25,
        error: null,
        system: "UTC-FK5-GEO",
      });
    });
  });
});
