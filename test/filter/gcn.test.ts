/**
 * The filter rule "GCN notice type" and GCN's table of notice types, on real GCN packets from
 * the corpus: a rule chosen by name matches exactly the packets whose Packet_Type GCN gives
 * that name.
 */
import { strict as assert } from "node:assert";
import { readdirSync } from "node:fs";
import { compileRule, compileRules, type FilterRule, RuleError } from "../../src/filter";
import { tryRules } from "../../src/monitor/try";
import {
  GCN_NOTICE_TYPES,
  gcnNoticeType,
  gcnNoticeTypeByName,
  gcnTypeLabel,
  packetTypeOf,
} from "../../src/voevent/gcn-types";
import { parseVOEvent } from "../../src/voevent/parse";
import { corpusDir, describeCorpus, readPacket } from "../helpers/corpus";

const parsed = (name: string) => parseVOEvent(readPacket(name));
const matches = (rule: FilterRule, name: string): boolean => {
  const p = parsed(name);
  return compileRule(rule)({ voevent: p.voevent, doc: p.doc });
};

describe("GCN notice types: the table", () => {
  it("has GCN's classic types, the newer missions' and SVOM's, one name per number", () => {
    const names = new Set(GCN_NOTICE_TYPES.map((t) => t.name));
    const numbers = new Set(GCN_NOTICE_TYPES.map((t) => t.type));
    assert.equal(names.size, GCN_NOTICE_TYPES.length, "names are unique");
    assert.equal(numbers.size, GCN_NOTICE_TYPES.length, "numbers are unique");
    const expected: [number, string][] = [
      [4, "KILL_SOCKET"],
      [61, "SWIFT_BAT_GRB_POS_ACK"],
      [105, "AGILE_MCAL_ALERT"],
      [111, "FERMI_GBM_FLT_POS"],
      [150, "LVC_PRELIMINARY"],
      [163, "LVC_EARLY_WARNING"],
      [164, "LVC_RETRACTION"],
      [172, "AMON_NU_EM_COINC"],
      [173, "ICECUBE_ASTROTRACK_GOLD"],
      [175, "SK_SN"],
      [176, "ICECUBE_CASCADE"],
      [188, "GECAM_FLT"],
      [189, "GECAM_GND"],
      [201, "SVOM_GRM_TRIGGER"],
      [209, "SVOM_MXT_INITIAL"],
    ];
    for (const [type, name] of expected) {
      assert.equal(gcnNoticeType(type)?.name, name, `type ${type}`);
      assert.equal(gcnNoticeTypeByName(name)?.type, type, name);
    }
    assert.ok(GCN_NOTICE_TYPES.length >= 150, `${GCN_NOTICE_TYPES.length} types`);
    assert.equal(gcnNoticeTypeByName(" fermi_gbm_flt_pos ")?.type, 111);
    assert.equal(gcnTypeLabel(111), "FERMI_GBM_FLT_POS (111)");
    assert.equal(gcnTypeLabel(999), "type 999");
  });

  it("refuses an empty rule and a name GCN does not have, and accepts a number it does not name", () => {
    assert.throws(() => compileRule({ t: "gcn", types: [] }), RuleError);
    assert.throws(
      () => compileRule({ t: "gcn", types: ["FERMI_GBM_FLT_PSO"] }),
      (err: Error) =>
        err instanceof RuleError && /'FERMI_GBM_FLT_PSO' is not a GCN notice type/.test(err.message),
    );
    assert.throws(
      () => compileRules([{ t: "gcn", types: [111, { x: 1 } as unknown as number] }]),
      /rule 1 \(gcn\): /,
    );
    assert.doesNotThrow(() => compileRule({ t: "gcn", types: [999] }));
    assert.throws(() => compileRule({ t: "gcn", types: Array(301).fill(1) }), /at most 300/);
  });
});

describeCorpus("GCN notice type rule on real GCN packets", () => {
  // Every corpus packet with a Packet_Type: the rule by name matches exactly those of that type.
  const withType = () =>
    readdirSync(`${corpusDir()}/packets`)
      .filter((f) => f.endsWith(".xml"))
      .flatMap((f) => {
        try {
          const type = packetTypeOf(parsed(f).voevent);
          return type === null ? [] : [{ file: f, type }];
        } catch {
          return []; // the corpus keeps broken packets on purpose
        }
      });

  it("reads Packet_Type from the corpus's GCN packets, and GCN names every one", () => {
    const found = withType();
    assert.ok(found.length >= 40, `${found.length} packets with a Packet_Type`);
    for (const { file, type } of found) assert.ok(gcnNoticeType(type), `${file}: type ${type} is named`);
  });

  it("FERMI_GBM_FLT_POS matches the Fermi GBM flight positions (111) and nothing else", () => {
    const rule: FilterRule = { t: "gcn", types: ["FERMI_GBM_FLT_POS"] };
    for (const { file, type } of withType()) assert.equal(matches(rule, file), type === 111, file);
    assert.equal(matches(rule, "pygcn__gbm_flt_pos.xml"), true);
    assert.equal(matches(rule, "growth-too-marshal__GRB180116A_Fermi_GBM_Fin_Pos.xml"), false);
  });

  it("a list by name and number, as pygcn's include_notice_types: LVK and IceCube", () => {
    const rule: FilterRule = {
      t: "gcn",
      types: ["LVC_PRELIMINARY", "LVC_INITIAL", "164", 173, "ICECUBE_ASTROTRACK_BRONZE"],
    };
    assert.equal(matches(rule, "growth-too-marshal__MS181101ab-1-Preliminary.xml"), true);
    assert.equal(matches(rule, "gwcelery__G298048-1-Initial.xml"), true);
    assert.equal(matches(rule, "growth-too-marshal__MS181101ab-4-Retraction.xml"), true);
    assert.equal(matches(rule, "growth-too-marshal__AMON_ICECUBE_GOLD_190730.xml"), true);
    assert.equal(matches(rule, "skyportal__AMON.xml"), true);
    assert.equal(matches(rule, "skyportal__GW190814.xml"), false, "an update (152)");
    assert.equal(matches(rule, "gwcelery__swift_grb_gcn.xml"), false);
    assert.equal(matches(rule, "voevent-parse__Gaia16aac.xml"), false, "no Packet_Type at all");
  });

  it('Packet_Type written as a string (dataType="string") and by 1.1 packets matches too', () => {
    const rule: FilterRule = { t: "gcn", types: ["SWIFT_BAT_GRB_POS_ACK", "SWIFT_XRT_POSITION"] };
    assert.equal(matches(rule, "voevent-parse__SWIFT_bat_position_v2.0_example.xml"), true);
    assert.equal(matches(rule, "voevent-parse__SWIFT_xrt_position_v1.1_example.xml"), true);
  });

  it("Try names the packet's notice type beside the verdict", () => {
    const xml = readPacket("pygcn__gbm_flt_pos.xml").toString("utf8");
    const result = tryRules(
      [
        { t: "gcn", types: ["FERMI_GBM_FLT_POS"] },
        { t: "gcn", types: ["LVC_INITIAL"] },
      ],
      xml,
    );
    assert.equal(result.ok, true);
    assert.equal(result.results[0]?.matches, true);
    assert.equal(result.results[1]?.matches, false);
    assert.match(String(result.results[0]?.value), /FERMI_GBM_FLT_POS \(111\)/);
    assert.match(String(result.results[1]?.value), /FERMI_GBM_FLT_POS \(111\)/);
    assert.equal(result.results[1]?.setting, "LVC_INITIAL (151)", "and the rule's own choice");
  });
});
