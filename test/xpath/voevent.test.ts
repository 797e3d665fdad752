/**
 * The filters of docs/voevent.md ("Filters people write"), on packets whose XML was read
 * to choose them: our own fixtures always, the shared corpus when it is there.
 */
import assert from "node:assert/strict";
import { parseXml } from "../../src/xml/parse";
import { compileXPath } from "../../src/xpath";
import {
  describeXPathCorpus,
  ev,
  fixture,
  fixtureNames,
  labels,
  names,
  packet,
  wellFormedPackets,
} from "./helpers";

interface Filter {
  expr: string;
  /** Fixtures (test/fixtures/xpath) where it is true / false. */
  fixtures: { true: string[]; false: string[] };
  /** Corpus packets where it is true / false, with what in them decides it. */
  corpus: { true: string[]; false: string[] };
}

const FILTERS: Filter[] = [
  {
    expr: '//Who/Author[contactName="KSK"]',
    fixtures: {
      true: ["seed-test-alert.xml"],
      // default-namespace.xml has contactName KSK, but in the VOEvent namespace: no match.
      false: ["gcn-observation.xml", "no-namespace.xml", "default-namespace.xml"],
    },
    // No corpus packet comes from the seed demo: GCN's author is Scott Barthelmy.
    corpus: { true: [], false: ["gwcelery__swift_grb_gcn.xml", "voeventdb__BAT_GRB_Pos_655721-214.xml"] },
  },
  {
    expr: '/*[@role="observation"]',
    fixtures: {
      true: ["gcn-observation.xml", "gw-retraction-v11.xml"],
      false: ["seed-test-alert.xml", "no-namespace.xml", "default-namespace.xml"],
    },
    corpus: {
      true: ["gwcelery__swift_grb_gcn.xml", "voevent-parse__SWIFT_xrt_position_v1.1_example.xml"],
      // role="test"; role="utility".
      false: [
        "gwcelery__snews_gcn_test.xml",
        "fink-voevent__ivo__nasa.gsfc.gcn_SWIFTActual_Point_Dir_20191202T065026.08_19886463446.xml",
      ],
    },
  },
  {
    expr: '//Param[@name="Sun_Distance" and @value > 40]',
    fixtures: {
      true: ["seed-test-alert.xml", "no-namespace.xml"],
      false: ["gcn-observation.xml", "gw-retraction-v11.xml", "default-namespace.xml"],
    },
    corpus: {
      // 104.30; 135.56; 132.16 (VOEvent 1.1).
      true: [
        "gwcelery__swift_grb_gcn.xml",
        "voeventdb__BAT_GRB_Pos_655721-214.xml",
        "voevent-parse__SWIFT_xrt_position_v1.1_example.xml",
      ],
      // 35.13 (the lowest in the corpus); LVC notices have no Sun_Distance at all.
      false: [
        "perl-voevent__LAT_Test_Pos_2008-08-21T08:43:11.00_099999-0-206.xml",
        "skyportal__GW190814.xml",
        "gwcelery__G298048-1-Initial.xml",
      ],
    },
  },
  {
    expr: '//Param[@name="Packet_Type" and (@value=61 or @value=115)]',
    fixtures: {
      true: ["seed-test-alert.xml", "gcn-observation.xml", "no-namespace.xml"],
      false: ["gw-retraction-v11.xml", "default-namespace.xml"],
    },
    corpus: {
      // 61 (Swift BAT position); 115 (Fermi GBM final position).
      true: ["voevent-parse__SWIFT_bat_position_v2.0_example.xml", "gwcelery__fermi_grb_gcn.xml"],
      // 110 (GBM alert); 67 (XRT position).
      false: ["gwcelery__fermi_initial_grb_gcn.xml", "voeventdb__XRT_Pos_655721-326.xml"],
    },
  },
  {
    expr: 'starts-with(/*/@ivorn, "ivo://gwnet/")',
    fixtures: {
      true: ["gw-retraction-v11.xml"],
      false: ["seed-test-alert.xml", "gcn-observation.xml", "no-namespace.xml", "default-namespace.xml"],
    },
    corpus: {
      true: ["skyportal__GW190814.xml", "growth-too-marshal__MS181101ab-4-Retraction.xml"],
      false: ["gwcelery__swift_grb_gcn.xml", "growth-too-marshal__AMON_151115.xml"],
    },
  },
  {
    expr: "//Why[@importance > 0.5]",
    fixtures: {
      true: ["seed-test-alert.xml"],
      // 0.5 is not > 0.5; 0.2; no Why; a Why in the VOEvent namespace.
      false: ["gcn-observation.xml", "no-namespace.xml", "gw-retraction-v11.xml", "default-namespace.xml"],
    },
    corpus: {
      // 0.90; 0.99.
      true: ["gwcelery__swift_grb_gcn.xml", "voeventdb__XRT_Pos_655721-326.xml"],
      // importance="0.5"; no Why element.
      false: ["gwcelery__fermi_noise_gcn.xml", "comet__DUMMY_VOEVENT.xml"],
    },
  },
  {
    expr: 'count(//Citations/EventIVORN[@cite="retraction"]) > 0',
    fixtures: {
      true: ["gw-retraction-v11.xml"],
      false: ["gcn-observation.xml", "seed-test-alert.xml", "no-namespace.xml"],
    },
    corpus: {
      true: ["growth-too-marshal__MS181101ab-4-Retraction.xml"],
      // cite="supersedes"; cite="followup".
      false: ["skyportal__GW190814.xml", "gwcelery__fermi_noise_gcn.xml"],
    },
  },
  {
    expr: '/voe:VOEvent[@role="test"]',
    fixtures: {
      // VOEvent 2.0 prefixed root; un-namespaced root (voe is then bound to no namespace).
      true: ["seed-test-alert.xml", "no-namespace.xml"],
      false: ["gcn-observation.xml", "gw-retraction-v11.xml", "default-namespace.xml"],
    },
    corpus: {
      // 2.0; no namespace; 1.1: one expression for all three.
      true: [
        "gwcelery__snews_gcn_test.xml",
        "voevent-parse__no_namespace_packet.xml",
        "perl-voevent__LAT_Test_Pos_2008-08-21T08:43:11.00_099999-0-206.xml",
      ],
      false: ["gwcelery__snews_gcn.xml", "voevent-parse__SWIFT_xrt_position_v1.1_example.xml"],
    },
  },
];

describe("xpath: the filters of docs/voevent.md", () => {
  for (const f of FILTERS) {
    describe(f.expr, () => {
      const rule = compileXPath(f.expr);
      for (const name of f.fixtures.true)
        it(`is true for fixture ${name}`, () => assert.equal(rule.test(fixture(name)), true));
      for (const name of f.fixtures.false) {
        it(`is false for fixture ${name}`, () => assert.equal(rule.test(fixture(name)), false));
      }
    });
  }

  it("give the nodes that matched, not only a yes", () => {
    assert.deepEqual(
      labels(ev('//Param[@name="Sun_Distance" and @value > 40]/@value', fixture("seed-test-alert.xml"))),
      ["value=92.05"],
    );
    assert.deepEqual(names(ev('//Who/Author[contactName="KSK"]', fixture("seed-test-alert.xml"))), [
      "Author",
    ]);
    assert.equal(
      ev("count(//Citations/EventIVORN[@cite='retraction'])", fixture("gw-retraction-v11.xml")),
      2,
    );
    assert.equal(ev('starts-with(/*/@ivorn, "ivo://gwnet/")', fixture("gw-retraction-v11.xml")), true);
  });

  it("bind voe per document: 1.1, 2.0, none, and a default namespace", () => {
    const rule = compileXPath("local-name(/voe:VOEvent)");
    for (const name of fixtureNames()) assert.equal(rule.evaluate(fixture(name)), "VOEvent", name);
    const d = fixture("default-namespace.xml");
    assert.equal(ev('boolean(//voe:Who/voe:Author[voe:contactName="KSK"])', d), true);
    assert.equal(ev("string(/voe:*/voe:What/voe:Param/@value)", d), "120");
    assert.equal(ev("count(//Who)", d), 0, "unprefixed names are in no namespace (XPath 1.0)");
    assert.equal(ev("count(/voe:VOEvent/Who)", fixture("seed-test-alert.xml")), 1);
  });

  it("let options.namespaces bind more prefixes, or voe itself", () => {
    const v11 = fixture("gw-retraction-v11.xml");
    const namespaces = { stc: "http://www.ivoa.net/xml/STC/stc-v1.30.xsd", crd: "urn:nvo-coords" };
    assert.equal(
      ev("string(//stc:ObservationLocation//crd:ISOTime)", v11, { namespaces }),
      "2019-05-10T02:59:39",
    );
    assert.equal(ev("count(//crd:*)", v11, { namespaces }), 4);
    const v20only = compileXPath("/voe:VOEvent", {
      namespaces: { voe: "http://www.ivoa.net/xml/VOEvent/v2.0" },
    });
    assert.equal(v20only.test(v11), false);
    assert.equal(v20only.test(fixture("seed-test-alert.xml")), true);
  });

  it("see CDATA as text, comments and PIs at the top, xml:lang", () => {
    const v11 = fixture("gw-retraction-v11.xml");
    assert.equal(ev("string(//What/Description)", v11), "Retracted: <not> astrophysical after review.");
    assert.equal(ev("count(//What/Description/text())", v11), 1);
    assert.equal(
      ev("normalize-space(/comment())", v11),
      "a retraction, VOEvent 1.1 with STC-prefixed WhereWhen",
    );
    assert.equal(ev("string(/processing-instruction('fixture'))", v11), 'kind="retraction"');
    assert.equal(ev("count(//Param[lang('en')])", v11), 3);
  });
});

describeXPathCorpus("xpath: the filters of docs/voevent.md on the corpus", () => {
  for (const f of FILTERS) {
    describe(f.expr, () => {
      const rule = compileXPath(f.expr);
      for (const name of f.corpus.true)
        it(`is true for ${name}`, () => assert.equal(rule.test(packet(name)), true));
      for (const name of f.corpus.false)
        it(`is false for ${name}`, () => assert.equal(rule.test(packet(name)), false));
    });
  }

  it("each but the first is true for some packets and false for others", () => {
    const docs = wellFormedPackets();
    assert.ok(docs.length >= 60, `${docs.length} well-formed packets`);
    FILTERS.forEach((f, i) => {
      const rule = compileXPath(f.expr);
      const hits = docs.filter((d) => rule.test(d.doc)).length;
      if (i === 0) assert.equal(hits, 0, f.expr);
      else assert.ok(hits > 0 && hits < docs.length, `${f.expr}: true for ${hits} of ${docs.length}`);
    });
  });
});

describe("xpath: context root (Comet's evaluation of subscribers' filters)", () => {
  const packet = `<?xml version="1.0"?>
<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" version="2.0" role="test" ivorn="ivo://ctx.test/s#1">
  <Who><Author><contactName>KSK</contactName></Author></Who>
</voe:VOEvent>`;
  const doc = parseXml(packet);

  it("relative filters match at the root element, as in Comet, and not at the document node", () => {
    for (const expr of ['Who/Author[contactName="KSK"]', '@role="test"', "self::voe:VOEvent"]) {
      assert.equal(compileXPath(expr, { context: "root" }).test(doc), true, expr);
      assert.equal(compileXPath(expr).test(doc), false, expr);
    }
    assert.equal(compileXPath('Who/Author[contactName="BOB"]', { context: "root" }).test(doc), false);
  });

  it("absolute filters give the same result in either context", () => {
    for (const expr of [
      '//Who/Author[contactName="KSK"]',
      '/*[@role="test"]',
      '/voe:VOEvent[@role="observation"]',
    ]) {
      assert.equal(compileXPath(expr, { context: "root" }).test(doc), compileXPath(expr).test(doc), expr);
    }
  });
});
