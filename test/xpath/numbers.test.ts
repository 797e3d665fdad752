/**
 * Numbers in exponent form, as libxml2 (and so Comet's filters) reads them: the filters people
 * write on real LVK, AMON and Gaia packets of the corpus mean the same here as under Comet.
 * A deliberate departure from XPath 1.0, whose number() knows no exponent.
 */
import assert from "node:assert/strict";
import { compileRule } from "../../src/filter/rules";
import { parseVOEvent } from "../../src/voevent/parse";
import { describeCorpus, readPacket } from "../helpers/corpus";

function matches(packet: string, xpath: string): boolean {
  const parsed = parseVOEvent(readPacket(packet));
  return compileRule({ t: "xpath", xpath })(parsed);
}

describeCorpus("xpath: numbers in exponent form on corpus packets (Comet/libxml2 compatible)", () => {
  const cases: [string, string, boolean][] = [
    // LVK preliminary / initial notices: FAR 9.1e-14 Hz, 3.5e-12 Hz.
    ["gwcelery__G298048-1-Initial.xml", '//Param[@name="FAR"]/@value < 0.000001', true],
    ["gwcelery__G298048-1-Initial.xml", '//Param[@name="FAR" and @value < 1e-6]', true],
    ["gwcelery__G298048-1-Initial.xml", '//Param[@name="FAR"]/@value < 1e-12', false],
    ["growth-too-marshal__MS181101ab-1-Preliminary.xml", '//Param[@name="FAR"]/@value < 3.8e-8', true],
    ["skyportal__GW190814.xml", '//Param[@name="FAR"]/@value < 1e-30', true],
    ["skyportal__GW190814.xml", 'number(//Param[@name="FAR"]/@value) * 3.15576e7 < 1', true],
    ["rta-dummy__DUMMY_VOEVENT_LIGO_PRELIMINARY.xml", 'sum(//Param[@name="FAR"]/@value) > 0', true],
    [
      "fink-voevent__ivo__gwnet_LVCMS191201o1Preliminary.xml",
      '//Param[@name="Terrestrial"]/@value < 0.01 and //Param[@name="FAR"]/@value < 1e-10',
      true,
    ],
    // AMON: a false-positive rate of 5.0003e-01 and a p-value of 0.0000e+00.
    ["growth-too-marshal__AMON_151115.xml", '//Param[@name="False_pos"]/@value < 0.6', true],
    ["growth-too-marshal__AMON_151115.xml", '//Param[@name="False_pos"]/@value < 0.5', false],
    ["growth-too-marshal__AMON_151115.xml", '//Param[@name="pvalue"]/@value = 0', true],
    // Fermi fluxes, Swift XRT intensity.
    ["rta-dummy__DUMMY_VOEVENT_GCN_FERMI.xml", '//Param[@name="Curr_Flux"]/@value > 3 * 1.5e-7', true],
    ["voeventdb__XRT_Pos_655721-326.xml", '//Param[@name="Burst_Inten"]/@value >= 1e-10', true],
    // Gaia: no corpus packet writes its error radius with an exponent; the filter may.
    ["voevent-parse__Gaia16aac.xml", "//Position2D/Error2Radius < 1e-3", true],
    ["voevent-parse__Gaia16aac.xml", "//Position2D/Error2Radius < 2E-5", false],
  ];
  for (const [packet, xpath, want] of cases) {
    it(`${packet}: ${xpath} → ${want}`, () => assert.equal(matches(packet, xpath), want));
  }
});
