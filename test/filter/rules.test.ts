import assert from "node:assert/strict";
import { VOEventError } from "../../src/errors";
import {
  compileRegistry,
  compileRule,
  compileRules,
  type FilterRule,
  globMatcher,
  matchingRules,
  paramValues,
  RuleError,
  RuleRegistry,
} from "../../src/filter";
import { buildVOEvent } from "../../src/voevent/build";
import { type ParsedVOEvent, parseVOEvent } from "../../src/voevent/parse";
import { describeCorpus, readPacket } from "../helpers/corpus";

const packet = (name: string): ParsedVOEvent => parseVOEvent(readPacket(name));
const test = (rule: FilterRule, p: ParsedVOEvent): boolean => compileRule(rule)(p);

/** A small packet of our own (no corpus needed). */
function made(overrides: Record<string, unknown> = {}): ParsedVOEvent {
  return parseVOEvent(
    buildVOEvent({
      ivorn: "ivo://example.org/alerts#1",
      role: "test",
      author: { contactName: "KSK" },
      params: { Packet_Type: 61, Name: "GRB 990123", Flag: "yes" },
      groups: { Extra: { Sun_Distance: 41.5, Packet_Type: 115 } },
      position: { ra: 359.9, dec: 89.5, error: 0.2 },
      ...overrides,
    }),
  );
}

describe("filter rules (own packets)", () => {
  it("xpath: Comet's truthiness, voe bound to the packet's namespace", () => {
    const p = made();
    assert.equal(test({ t: "xpath", xpath: '//Who/Author[contactName="KSK"]' }, p), true);
    assert.equal(test({ t: "xpath", xpath: '//Who/Author[contactName="XYZ"]' }, p), false);
    assert.equal(test({ t: "xpath", xpath: '/voe:VOEvent[@role="test"]' }, p), true);
    assert.equal(test({ t: "xpath", xpath: "count(//Param)" }, p), true);
    assert.equal(test({ t: "xpath", xpath: "count(//Nothing)" }, p), false);
    assert.equal(test({ t: "xpath", xpath: "string(//Nothing)" }, p), false);
  });

  it("xpath: refuses what does not compile with BAD_XPATH", () => {
    for (const xpath of ["//Param[", "", "   ", "foo(1)", "$x"]) {
      assert.throws(
        () => compileRule({ t: "xpath", xpath }),
        (err: unknown) => err instanceof VOEventError && err.code === "BAD_XPATH",
        xpath,
      );
    }
  });

  it("role: is / is not; an unknown role is refused", () => {
    const p = made();
    assert.equal(test({ t: "role", role: "test" }, p), true);
    assert.equal(test({ t: "role", op: "is", role: "observation" }, p), false);
    assert.equal(test({ t: "role", op: "not", role: "test" }, p), false);
    assert.equal(test({ t: "role", op: "not", role: "observation" }, p), true);
    assert.throws(() => compileRule({ t: "role", role: "retraction" }), RuleError);
  });

  it("stream and ivorn: whole-string globs, case-sensitive", () => {
    const p = made();
    assert.equal(test({ t: "stream", pattern: "ivo://example.org/*" }, p), true);
    assert.equal(test({ t: "stream", pattern: "ivo://example.org/alerts" }, p), true);
    assert.equal(test({ t: "stream", pattern: "ivo://example.org/alert" }, p), false);
    assert.equal(test({ t: "stream", pattern: "ivo://EXAMPLE.org/*" }, p), false);
    assert.equal(test({ t: "ivorn", pattern: "*#1" }, p), true);
    assert.equal(test({ t: "ivorn", pattern: "ivo://example.org/alerts#?" }, p), true);
    assert.equal(test({ t: "ivorn", pattern: "ivo://example.org/alerts" }, p), false);
    assert.throws(() => compileRule({ t: "stream", pattern: " " }), RuleError);
  });

  it("globs treat regex characters literally", () => {
    assert.equal(globMatcher("ivo://a.b/(x)+*")("ivo://a.b/(x)+yz"), true);
    assert.equal(globMatcher("ivo://a.b/*")("ivo://aXb/c"), false);
    assert.equal(globMatcher("a*b*c")("aXXbYYc"), true);
    assert.equal(globMatcher("a*b*c")("aXXbYY"), false);
  });

  it("param: numbers compare as numbers, top-level and in groups", () => {
    const p = made();
    assert.deepEqual(paramValues(p.voevent, "Packet_Type"), [61, 115]);
    assert.equal(test({ t: "param", name: "Packet_Type", op: "eq", value: "61" }, p), true);
    assert.equal(test({ t: "param", name: "Packet_Type", op: "eq", value: "61.0" }, p), true);
    assert.equal(
      test({ t: "param", name: "Packet_Type", op: "eq", value: 115 }, p),
      true,
      "a group's param counts",
    );
    assert.equal(test({ t: "param", name: "Packet_Type", op: "eq", value: 62 }, p), false);
    assert.equal(test({ t: "param", name: "Sun_Distance", op: "gt", value: "40" }, p), true);
    assert.equal(test({ t: "param", name: "Sun_Distance", op: "gt", value: "41.5" }, p), false);
    assert.equal(test({ t: "param", name: "Sun_Distance", op: "gte", value: "41.5" }, p), true);
    assert.equal(test({ t: "param", name: "Sun_Distance", op: "lt", value: "42" }, p), true);
    assert.equal(test({ t: "param", name: "Sun_Distance", op: "lte", value: "41" }, p), false);
    assert.equal(test({ t: "param", name: "Sun_Distance", op: "neq", value: "41.5" }, p), false);
  });

  it("param: strings compare as strings; contains; a missing param never matches", () => {
    const p = made();
    assert.equal(test({ t: "param", name: "Name", op: "eq", value: "GRB 990123" }, p), true);
    assert.equal(test({ t: "param", name: "Name", op: "contains", value: "990" }, p), true);
    assert.equal(test({ t: "param", name: "Name", op: "contains", value: "grb" }, p), false);
    assert.equal(test({ t: "param", name: "Flag", op: "neq", value: "no" }, p), true);
    assert.equal(test({ t: "param", name: "Flag", op: "gt", value: "1" }, p), false);
    assert.equal(test({ t: "param", name: "Nope", op: "neq", value: "x" }, p), false);
    assert.throws(() => compileRule({ t: "param", name: "X", op: "gt", value: "big" }), /not a number/);
    assert.throws(() => compileRule({ t: "param", name: "", op: "eq", value: "1" }), RuleError);
    assert.throws(() => compileRule({ t: "param", name: "X", op: "like" as "eq", value: "1" }), RuleError);
  });

  it("cone: great circle across the pole and RA 0/360; error circle optional", () => {
    const p = made(); // (359.9, 89.5) error 0.2
    assert.equal(test({ t: "cone", ra: 179.9, dec: 89.5, radius: 1.01 }, p), true, "over the pole");
    assert.equal(test({ t: "cone", ra: 179.9, dec: 89.5, radius: 0.9 }, p), false);
    assert.equal(test({ t: "cone", ra: "179.9", dec: "89.5", radius: "0.9", error: true }, p), true);
    assert.equal(test({ t: "cone", ra: 0.1, dec: 89.5, radius: 0.01 }, p), true, "across RA 0/360");
    assert.throws(() => compileRule({ t: "cone", ra: 0, dec: 95, radius: 1 }), RuleError);
    assert.throws(() => compileRule({ t: "cone", ra: "x", dec: 0, radius: 1 }), RuleError);
  });

  it("cone: an event without a position never matches", () => {
    const p = made({ position: null });
    assert.equal(test({ t: "cone", ra: 0, dec: 0, radius: 180 }, p), false);
    assert.equal(test({ t: "cone", ra: 0, dec: 0, radius: 180, error: true }, p), false);
  });

  it("compileRules numbers the failing rule; matchingRules honours checkall", () => {
    assert.throws(
      () =>
        compileRules([
          { t: "role", role: "test" },
          { t: "xpath", xpath: "//[" },
        ]),
      (err: unknown) =>
        err instanceof VOEventError && err.code === "BAD_XPATH" && /^rule 2 \(xpath\)/.test(err.message),
    );
    assert.throws(
      () => compileRules([{ t: "bogus" } as unknown as FilterRule]),
      /rule 1 \(bogus\): unknown rule type/,
    );
    const rules = compileRules([
      { t: "role", role: "observation" },
      { t: "role", role: "test" },
      { t: "stream", pattern: "ivo://example.org/*" },
    ]);
    assert.deepEqual(matchingRules(rules, made(), true), [1, 2]);
    assert.deepEqual(matchingRules(rules, made(), false), [1]);
    assert.deepEqual(matchingRules(rules, made({ ivorn: "ivo://other.org/x#1", role: "utility" }), true), []);
  });

  it("needs the tree only for xpath rules", () => {
    const p = made();
    const subject = {
      voevent: p.voevent,
      get doc(): never {
        throw new Error("doc read");
      },
    };
    assert.equal(compileRule({ t: "role", role: "test" })(subject), true);
    assert.throws(() => compileRule({ t: "xpath", xpath: "/*" })(subject), /doc read/);
  });
});

describe("filter registry (rules from context)", () => {
  it("compiles { name, xpath } and { name, t, … }, skipping and reporting bad entries", () => {
    const { rules, problems } = compileRegistry([
      { name: "ksk", xpath: '//Who/Author[contactName="KSK"]' },
      { name: "bad", xpath: "//[" },
      { name: "tests", t: "role", role: "test" },
      { xpath: "/*" },
      "junk",
      { name: "neither" },
    ]);
    assert.deepEqual(
      rules.map((r) => r.name),
      ["ksk", "tests"],
    );
    assert.deepEqual(
      problems.map((p) => [p.index, p.name]),
      [
        [1, "bad"],
        [3, null],
        [4, null],
        [5, "neither"],
      ],
    );
    assert.match(problems[0].message, /XPath/);
  });

  it("keeps the subscription's name apart from a rule's own fields: { name, rule: { t: \"param\", name, … } }", () => {
    const subject = made({ groups: {} });
    const { rules, problems } = compileRegistry([
      { name: "gbm", rule: { t: "param", name: "Packet_Type", op: "eq", value: "61" } },
      { name: "bat", rule: { t: "param", name: "Packet_Type", op: "eq", value: "115" } },
      { name: "Packet_Type", t: "param", op: "eq", value: "61" },
      { name: "broken", rule: "param" },
    ]);
    assert.deepEqual(
      rules.map((r) => [r.name, r.test(subject)]),
      [
        ["gbm", true],
        ["bat", false],
      ],
    );
    assert.deepEqual(
      problems.map((p) => [p.index, p.name]),
      [
        [2, "Packet_Type"],
        [3, "broken"],
      ],
    );
    assert.match(problems[0]!.message, /rule: \{ t: "param"/);
  });

  it("an absent list is no rules; a non-list is one problem", () => {
    assert.deepEqual(compileRegistry(undefined), { rules: [], problems: [] });
    assert.equal(compileRegistry({ name: "x" }).problems.length, 1);
  });

  it("RuleRegistry recompiles only when the content changes and reports problems once", () => {
    const reg = new RuleRegistry();
    const list = [
      { name: "a", xpath: "/*" },
      { name: "b", xpath: "//[" },
    ];
    const first = reg.update(list);
    assert.equal(first.changed, true);
    assert.equal(first.rules.length, 1);
    assert.equal(first.problems.length, 1);
    const again = reg.update(JSON.parse(JSON.stringify(list)));
    assert.equal(again.changed, false);
    assert.equal(again.problems.length, 0);
    assert.equal(again.rules, first.rules, "same compiled rules");
    list.push({ name: "c", xpath: "//Param" });
    const third = reg.update(list);
    assert.equal(third.changed, true);
    assert.equal(third.rules.length, 2);
    assert.equal(third.problems.length, 1);
    reg.reset();
    assert.equal(reg.update(list).changed, true);
  });
});

describeCorpus("filter rules on real packets", () => {
  const swiftBat = () => packet("voevent-parse__SWIFT_bat_position_v2.0_example.xml");
  const swiftGrb = () => packet("gwcelery__swift_grb_gcn.xml");
  const fermiFin = () => packet("growth-too-marshal__GRB180116A_Fermi_GBM_Fin_Pos.xml");
  const lvc = () => packet("gwcelery__G298048-1-Initial.xml");
  const snewsTest = () => packet("gwcelery__snews_gcn_test.xml");
  const noNs = () => packet("voevent-parse__no_namespace_packet.xml");
  const xrt11 = () => packet("voevent-parse__SWIFT_xrt_position_v1.1_example.xml");

  it("xpath: the forms people write", () => {
    const bat61 = {
      t: "xpath",
      xpath: '//Param[@name="Packet_Type" and (@value=61 or @value=115)]',
    } as const;
    assert.equal(test(bat61, swiftBat()), true);
    assert.equal(test(bat61, fermiFin()), true);
    assert.equal(test(bat61, lvc()), false);
    const sun = { t: "xpath", xpath: '//Param[@name="Sun_Distance" and @value > 40]' } as const;
    assert.equal(test(sun, swiftBat()), true);
    assert.equal(test(sun, lvc()), false);
    const gw = { t: "xpath", xpath: 'starts-with(/*/@ivorn, "ivo://gwnet/")' } as const;
    assert.equal(test(gw, lvc()), true);
    assert.equal(test(gw, swiftBat()), false);
    const real = { t: "xpath", xpath: '/*[@role="observation"]' } as const;
    assert.equal(test(real, swiftBat()), true);
    assert.equal(test(real, snewsTest()), false);
  });

  it("xpath: voe: works on 2.0, 1.1 and un-namespaced packets alike", () => {
    const rule = { t: "xpath", xpath: "/voe:VOEvent" } as const;
    assert.equal(test(rule, swiftBat()), true);
    assert.equal(test(rule, xrt11()), true);
    assert.equal(test(rule, noNs()), true);
    assert.equal(test({ t: "xpath", xpath: '/voe:VOEvent[@role="test"]' }, noNs()), true);
  });

  it("param: Swift BAT Packet_Type = 61, Sun_Distance > 40", () => {
    assert.equal(test({ t: "param", name: "Packet_Type", op: "eq", value: "61" }, swiftBat()), true);
    assert.equal(test({ t: "param", name: "Packet_Type", op: "eq", value: "61" }, fermiFin()), false);
    assert.equal(test({ t: "param", name: "Sun_Distance", op: "gt", value: "40" }, swiftBat()), true);
    assert.equal(test({ t: "param", name: "Sun_Distance", op: "gt", value: "100" }, swiftBat()), false);
    assert.equal(test({ t: "param", name: "Sun_Distance", op: "gt", value: "40" }, lvc()), false);
  });

  it("role: test vs observation", () => {
    assert.equal(test({ t: "role", role: "test" }, snewsTest()), true);
    assert.equal(test({ t: "role", role: "test" }, packet("gwcelery__snews_gcn.xml")), false);
    assert.equal(test({ t: "role", op: "not", role: "test" }, swiftBat()), true);
  });

  it("stream: ivo://gwnet/* picks the gravitational-wave packets", () => {
    const rule = { t: "stream", pattern: "ivo://gwnet/*" } as const;
    assert.equal(test(rule, lvc()), true);
    assert.equal(test(rule, swiftBat()), false);
    assert.equal(test({ t: "stream", pattern: "ivo://nasa.gsfc.gcn/SWIFT" }, swiftBat()), true);
    assert.equal(test({ t: "ivorn", pattern: "ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_*" }, swiftGrb()), true);
    assert.equal(test({ t: "ivorn", pattern: "ivo://nasa.gsfc.gcn/SWIFT#XRT_*" }, swiftGrb()), false);
  });

  it("cone around a GCN position, with and without the error circle", () => {
    // gwcelery swift_grb_gcn: (268.87, -20.3153), error 0.05.
    const near = { t: "cone", ra: 268.87, dec: -20, radius: 0.3 } as const;
    assert.equal(test(near, swiftGrb()), false, "0.3153° away, outside 0.3°");
    assert.equal(test({ ...near, error: true }, swiftGrb()), true, "the 0.05° error circle reaches it");
    assert.equal(test({ t: "cone", ra: 268.87, dec: -20.3, radius: 0.1 }, swiftGrb()), true);
    assert.equal(test({ t: "cone", ra: 268.87, dec: -20, radius: 90 }, lvc()), false, "no position");
  });

  it("cone over the pole: Fermi at Dec 81 seen from the other side of the pole", () => {
    // gwcelery fermi_noise_gcn: (222.7167, 81.1667), error 32.78.
    const p = packet("gwcelery__fermi_noise_gcn.xml");
    assert.equal(test({ t: "cone", ra: 42.7167, dec: 81.1667, radius: 18 }, p), true);
    assert.equal(test({ t: "cone", ra: 42.7167, dec: 81.1667, radius: 17 }, p), false);
    assert.equal(test({ t: "cone", ra: 42.7167, dec: 0, radius: 10, error: true }, p), false);
    assert.equal(test({ t: "cone", ra: 42.7167, dec: 60, radius: 10, error: true }, p), true);
  });

  it("cone across RA 0/360: AGILE at RA 0", () => {
    const p = packet("gwcelery__agile_grb_gcn.xml"); // (0, 4.3526)
    assert.equal(test({ t: "cone", ra: 359.5, dec: 4.35, radius: 1 }, p), true);
    assert.equal(test({ t: "cone", ra: -0.5, dec: 4.35, radius: 1 }, p), true);
    assert.equal(test({ t: "cone", ra: 358, dec: 4.35, radius: 1 }, p), false);
  });
});

describe("filter rule: signed", () => {
  const ev = made();
  const FP = "C1566092746958D944C216D335F3D633A4FDD30A";
  const withSig = (signature: { verdict: string; keyId: string | null; fingerprint?: string } | null) => ({
    voevent: ev.voevent,
    doc: ev.doc,
    signature,
  });
  const signed = withSig({ verdict: "signed", keyId: "35F3D633A4FDD30A", fingerprint: FP });

  it("any key: matches only the verdict 'signed'; no msg.signature never matches", () => {
    const any = compileRule({ t: "signed" });
    assert.equal(any(signed), true);
    for (const verdict of ["bad", "unknown-key", "unsigned", "malformed"])
      assert.equal(any(withSig({ verdict, keyId: "35F3D633A4FDD30A" })), false, verdict);
    assert.equal(any(withSig(null)), false);
    assert.equal(any({ voevent: ev.voevent, doc: ev.doc }), false);
  });

  it("a given key: by long or short key ID or fingerprint, spaces and case ignored", () => {
    for (const key of [
      "35F3D633A4FDD30A",
      "a4fdd30a",
      "0x35F3D633A4FDD30A",
      "C156 6092 7469 58D9 44C2  16D3 35F3 D633 A4FD D30A",
    ])
      assert.equal(compileRule({ t: "signed", key })(signed), true, key);
    for (const key of ["0123456789ABCDEF", "C1566092746958D944C216D335F3D633A4FDD30B"])
      assert.equal(compileRule({ t: "signed", key })(signed), false, key);
  });

  it("a key that is neither an ID nor a fingerprint is refused, naming it", () => {
    assert.throws(
      () => compileRule({ t: "signed", key: "Alice" }),
      /'Alice' is not a key ID \(8 or 16 hex digits\) or a fingerprint \(40\)/,
    );
    assert.throws(() => compileRule({ t: "signed", key: "123" }), RuleError);
  });
});
