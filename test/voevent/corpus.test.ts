/**
 * parseVOEvent over the shared corpus of real packets (../shared/corpus):
 * every packet against INDEX.tsv, and a dozen packets of different streams
 * against values read by hand from their XML.
 */
import assert from "node:assert/strict";
import { VOEventError } from "../../src/errors";
import { parseIvorn, topicFor } from "../../src/voevent/ivorn";
import type { VOEvent } from "../../src/voevent/model";
import { parseVOEvent } from "../../src/voevent/parse";
import { describeCorpus, isMarkedNotWellFormed, readIndex, readPacket } from "../helpers/corpus";
import { topicProblem } from "./topic-check";

/** Packets that are well-formed XML but are not usable VOEvents, and why. */
const REFUSED: Record<string, { code: string; message: string }> = {
  // ivorn "INTEGRAL/dummy/demo#1" is not an ivo:// URI (it passes XSD20's lax anyURI).
  "rta-dummy__DUMMY_VOEVENT_INTEGRAL.xml": { code: "BAD_IVORN", message: "does not start with 'ivo://'" },
};

function parse(name: string): VOEvent {
  return parseVOEvent(readPacket(name)).voevent;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof VOEventError) return err.code;
    throw err;
  }
  return "parsed";
}

describeCorpus("voevent/parse: corpus packets against INDEX.tsv", () => {
  const rows = readIndex();

  it("INDEX.tsv lists the packets", () => {
    assert.ok(rows.length >= 70, `only ${rows.length} rows`);
  });

  for (const row of rows) {
    if (isMarkedNotWellFormed(row)) {
      it(`${row.file}: not well-formed → MALFORMED or NOT_XML`, () => {
        const code = codeOf(() => parseVOEvent(readPacket(row.file)));
        assert.ok(code === "MALFORMED" || code === "NOT_XML", code);
      });
      continue;
    }
    const refusal = REFUSED[row.file];
    if (refusal !== undefined) {
      it(`${row.file}: refused, ${refusal.code}`, () => {
        assert.throws(
          () => parseVOEvent(readPacket(row.file)),
          (err: unknown) => {
            assert.ok(err instanceof VOEventError);
            assert.equal(err.code, refusal.code);
            assert.ok(err.message.includes(refusal.message), err.message);
            return true;
          },
        );
      });
      continue;
    }
    it(`${row.file}: ivorn, role, stream as INDEX.tsv; the notable features hold`, () => {
      const v = parse(row.file);
      assert.equal(v.ivorn, row.ivorn);
      assert.equal(v.role, row.role);
      assert.equal(v.stream, row.stream);
      const notes = row.notable_features;
      if (notes.includes("VOEvent 1.1")) assert.equal(v.version, "1.1");
      if (notes.includes("VOEvent 2.0")) assert.equal(v.version, "2.0");
      if (notes.includes("NO namespace")) assert.equal(v.namespace, "");
      else assert.match(v.namespace, /^http:\/\/www\.ivoa\.net\/xml\/VOEvent\/v\d\.\d$/);
      if (notes.includes("has Citations")) assert.ok(v.citations.length > 0);
      for (const cite of ["followup", "supersedes", "retraction"]) {
        if (notes.includes(`cite=${cite}`))
          assert.ok(
            v.citations.some((c) => c.cite === cite),
            cite,
          );
      }
      if (notes.includes("has Why/Inference")) assert.ok(v.why.inferences.length > 0);
      if (notes.includes("without Position2D")) assert.equal(v.position, null);
      if (notes.includes("no WhereWhen")) {
        assert.equal(v.position, null);
        assert.equal(v.time, null);
      }
      if (notes.includes("no Who/AuthorIVORN")) assert.equal(v.author.ivorn, null);
      if (notes.includes("no Who/Date")) assert.equal(v.date, null);
      if (notes.includes("ivorn has no #fragment")) assert.equal(parseIvorn(v.ivorn).local, null);
      // The topic is MQTT-safe.
      const topic = topicFor(v.stream);
      assert.equal(topicProblem(topic), null, topic);
    });
  }

  it("every well-formed packet cut in half is MALFORMED", () => {
    for (const row of rows) {
      if (isMarkedNotWellFormed(row)) continue;
      const bytes = readPacket(row.file);
      const half = bytes.subarray(0, Math.floor(bytes.length / 2));
      assert.equal(
        codeOf(() => parseVOEvent(half)),
        "MALFORMED",
        row.file,
      );
    }
  });

  it("the same packet as a string and as a Buffer gives the same model", () => {
    for (const row of rows) {
      if (isMarkedNotWellFormed(row) || REFUSED[row.file] !== undefined) continue;
      const bytes = readPacket(row.file);
      assert.deepEqual(parseVOEvent(bytes).voevent, parseVOEvent(bytes.toString("utf8")).voevent, row.file);
    }
  });
});

describeCorpus("voevent/parse: FRB templates (caseyjlaw/FRB_VOEvent)", () => {
  const templates = [
    "FRB_VOEvent__01-Detection.xml",
    "FRB_VOEvent__02-Subsequent.xml",
    "FRB_VOEvent__03-Update.xml",
    "FRB_VOEvent__04-Retraction.xml",
    "FRB_VOEvent__I-Search.xml",
    "FRB_VOEvent__II-Targeted.xml",
  ];
  const stripLeadingText = (b: Buffer): string => {
    const s = b.toString("utf8");
    return s.slice(s.indexOf("<"));
  };
  for (const name of templates) {
    it(`${name}: NOT_XML as committed (prose before the XML); MALFORMED even without it ('--' in a comment)`, () => {
      const bytes = readPacket(name);
      assert.throws(() => parseVOEvent(bytes), { code: "NOT_XML", message: /text before the first '<'/ });
      assert.throws(() => parseVOEvent(stripLeadingText(bytes)), {
        code: "MALFORMED",
        message: /'--' inside a comment/,
      });
    });
  }
  it("their placeholder IVORN would be BAD_IVORN in any case", () => {
    assert.throws(() => parseIvorn("ivo://[institute]/[instrument]#FRB[YYMMDDhhmm]/[MJD]"), {
      code: "BAD_IVORN",
      message: /authority contains character "\["/,
    });
  });
  it("FRB140514_update.xml: NOT_XML as committed; a valid utility packet once the prose line is removed", () => {
    const bytes = readPacket("FRB_VOEvent__FRB140514_update.xml");
    assert.throws(() => parseVOEvent(bytes), { code: "NOT_XML" });
    const v = parseVOEvent(stripLeadingText(bytes)).voevent;
    assert.equal(v.ivorn, "ivo://au.csiro.atnf/parkes#FRB1405141714/57764.61250000");
    assert.equal(v.role, "utility");
  });
});

describeCorpus("voevent/parse: values read by hand from the XML", () => {
  it("Swift BAT: voeventdb__BAT_GRB_Pos_655721-214.xml", () => {
    const v = parse("voeventdb__BAT_GRB_Pos_655721-214.xml");
    assert.equal(v.ivorn, "ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_655721-214");
    assert.equal(v.date, "2015-09-15T21:19:42");
    assert.deepEqual(v.author, {
      ivorn: "ivo://nasa.gsfc.tan/gcn",
      shortName: "VO-GCN",
      contactName: "Scott Barthelmy",
      contactEmail: "scott.barthelmy@nasa.gov",
    });
    assert.deepEqual(v.position, { ra: 319.7309, dec: -34.8537, error: 0.05, system: "UTC-FK5-GEO" });
    assert.equal(v.time, "2015-09-15T21:18:24.86");
    assert.equal(v.params.Packet_Type, 61);
    assert.equal(v.params.TrigID, 655721);
    assert.equal(v.params.Integ_Time, 64);
    assert.equal(v.params.Image_Signif, 7.23);
    assert.equal(v.params.Soln_Status, "0x13");
    assert.equal(v.params.Bkg_Time, "00:00:00.00");
    assert.equal(v.params.Coords_String, "source_object");
    assert.deepEqual(Object.keys(v.groups), [
      "Merit_Values",
      "Solution_Status",
      "Misc_Flags",
      "Obs_Support_Info",
    ]);
    assert.equal(v.groups.Merit_Values.Merit_Val5, -3);
    assert.equal(v.groups.Solution_Status.GRB_Identified, "true");
    assert.equal(v.groups.Obs_Support_Info.Sun_Distance, 135.56);
    assert.deepEqual(v.why, {
      importance: 0.9,
      expires: null,
      inferences: [
        {
          probability: 0.9,
          relation: null,
          names: ["GRB 150915"],
          concepts: ["process.variation.burst;em.gamma"],
        },
      ],
      concepts: ["process.variation.burst;em.gamma"],
    });
    assert.deepEqual(v.citations, []);
    assert.equal(v.description, null); // <Description> holds only white space
  });

  it("Swift BAT, every value labelled dataType=string: voevent-parse__SWIFT_bat_position_v2.0_example.xml", () => {
    const v = parse("voevent-parse__SWIFT_bat_position_v2.0_example.xml");
    assert.equal(v.params.Packet_Type, "61");
    assert.equal(v.params.TrigID, "532871");
    assert.equal(v.groups.Obs_Support_Info.Sun_Distance, "92.05");
    assert.deepEqual(v.position, { ra: 74.7412, dec: -9.3137, error: 0.05, system: "UTC-FK5-GEO" });
    assert.equal(v.time, "2012-09-07T00:24:23.08");
  });

  it("Fermi GBM: gwcelery__fermi_grb_gcn.xml", () => {
    const v = parse("gwcelery__fermi_grb_gcn.xml");
    assert.equal(v.stream, "ivo://nasa.gsfc.gcn/Fermi");
    assert.equal(v.date, "2018-05-24T18:35:45");
    assert.equal(v.author.shortName, "Fermi (via VO-GCN)");
    assert.equal(v.author.contactName, "Julie McEnery");
    assert.deepEqual(v.position, { ra: 140.05, dec: -39.0499, error: 5.6, system: "UTC-FK5-GEO" });
    assert.equal(v.time, "2018-05-24T09:58:26.31Z");
    assert.equal(v.params.Packet_Type, 115);
    assert.equal(v.params.TrigID, 548848711);
    assert.equal(v.params.Burst_SOD, 35906.31);
    assert.equal(v.params.Hi_Energy, 300000);
    assert.equal(v.params.Misc_flags, "0x40000001");
    assert.equal(
      v.params.LightCurve_URL,
      "http://heasarc.gsfc.nasa.gov/FTP/fermi/data/gbm/triggers/2018/bn180524416/quicklook/glg_lc_medres34_bn180524416.gif",
    );
    assert.deepEqual(v.groups.Misc_Flags, {
      Values_Out_of_Range: "false",
      Flt_Generated: "false",
      Gnd_Generated: "true",
      CRC_Error: "false",
    });
    assert.equal(v.groups.Obs_Support_Info.Sun_Distance, 94.75);
    assert.equal(v.groups.Obs_Support_Info.Ecliptic_Lat, -50.93);
    assert.equal(v.why.importance, 0.95);
    assert.deepEqual(v.why.inferences, [
      { probability: 1, relation: null, names: [], concepts: ["process.variation.burst;em.gamma"] },
    ]);
  });

  it("INTEGRAL: gwcelery__integral_grb_gcn.xml", () => {
    const v = parse("gwcelery__integral_grb_gcn.xml");
    assert.equal(v.ivorn, "ivo://nasa.gsfc.gcn/INTEGRAL#Wakeup_Pos_000000-0-640");
    assert.equal(v.author.contactName, "S. Mereghetti");
    assert.equal(v.author.contactEmail, "sandro@iasf-milano.inaf.it");
    assert.equal(v.date, "2017-02-03T19:00:05");
    assert.deepEqual(v.position, { ra: 1.2343, dec: 2.3455, error: 0.0169, system: "UTC-FK5-GEO" });
    assert.equal(v.time, "2017-05-23T12:03:23.68Z");
    assert.equal(v.params.Packet_Type, 53);
    assert.equal(v.params.Inten_Sigma, 11.34);
    assert.equal(v.params.SC_Pnt_Dec, 247.56);
    // A Param and a Group may share a name: they live in different maps.
    assert.equal(v.params.Test_mpos, "0x80000000");
    assert.equal(v.groups.Test_mpos.Test_Notice, "true");
    assert.equal(v.why.importance, null);
    assert.equal(v.why.inferences[0].probability, 0.5);
  });

  it("AMON/IceCube, declared 1.1 with 2.0-style STC: growth-too-marshal__AMON_ICECUBE_GOLD_190730.xml", () => {
    const v = parse("growth-too-marshal__AMON_ICECUBE_GOLD_190730.xml");
    assert.equal(v.version, "1.1");
    assert.equal(v.namespace, "http://www.ivoa.net/xml/VOEvent/v1.1");
    assert.deepEqual(v.author, {
      ivorn: "ivo://nasa.gsfc.tan/gcn",
      shortName: null,
      contactName: "Icecube Realtime Committee",
      contactEmail: "roc@icecube.wisc.edu",
    });
    assert.deepEqual(v.position, { ra: 225.7899, dec: 10.47, error: 1.185, system: "UTC-FK5-GEO" });
    assert.equal(v.time, "2019-07-30T20:50:41.31");
    assert.equal(v.params.Packet_Type, 173);
    assert.equal(v.params.AMON_ID, 13291057145925);
    assert.equal(v.params.signalness, 0.6716);
    assert.equal(v.params.energy, 298.8134);
    assert.equal(v.params.src_error_90, 1.185);
    assert.deepEqual(v.groups, {
      Trigger_ID: {
        SubType: "indi",
        Test: "false",
        RADec_valid: "false",
        Retraction: "false",
        InternalTest: "false",
      },
      Misc_flags: {},
    });
    assert.equal(v.why.importance, 1);
    assert.deepEqual(v.why.concepts, ["process.variation.burst;em"]);
  });

  it("LVC/gwnet: skyportal__GW190814.xml", () => {
    const v = parse("skyportal__GW190814.xml");
    assert.equal(v.ivorn, "ivo://gwnet/LVC#S190814bv-5-Update");
    assert.equal(v.date, "2019-08-15T10:19:10");
    assert.deepEqual(v.author, {
      ivorn: null,
      shortName: null,
      contactName: "LIGO Scientific Collaboration and Virgo Collaboration",
      contactEmail: null,
    });
    assert.equal(v.position, null);
    assert.equal(v.time, "2019-08-14T21:10:39.012957");
    assert.equal(v.params.Packet_Type, 152);
    assert.equal(v.params.Pkt_Ser_Num, "5"); // dataType="string"
    assert.equal(v.params.GraceID, "S190814bv");
    assert.equal(v.params.FAR, 2.03262501422e-33);
    assert.equal(v.params.Instruments, "H1,L1,V1");
    assert.deepEqual(Object.keys(v.groups), ["LALInference.v1", "Classification", "Properties"]);
    assert.deepEqual(v.groups["LALInference.v1"], { skymap_fits: "data/LALInference.v1.fits.gz" });
    assert.deepEqual(v.groups.Classification, {
      BNS: 0,
      NSBH: 0.99789,
      BBH: 0,
      MassGap: 0.00211,
      Terrestrial: 0,
    });
    assert.deepEqual(v.groups.Properties, { HasNS: 0.997890295359, HasRemnant: 0 });
    assert.deepEqual(v.citations, [
      { ivorn: "ivo://gwnet/LVC#S190814bv-4-Update", cite: "supersedes" },
      { ivorn: "ivo://gwnet/LVC#S190814bv-3-Preliminary", cite: "supersedes" },
      { ivorn: "ivo://gwnet/LVC#S190814bv-2-Initial", cite: "supersedes" },
      { ivorn: "ivo://gwnet/LVC#S190814bv-1-Preliminary", cite: "supersedes" },
    ]);
    assert.equal(v.description, "Report of a candidate gravitational wave event");
    assert.deepEqual(v.why, { importance: null, expires: null, inferences: [], concepts: [] });
  });

  it("LVC retraction: growth-too-marshal__MS181101ab-4-Retraction.xml", () => {
    const v = parse("growth-too-marshal__MS181101ab-4-Retraction.xml");
    assert.equal(v.role, "test");
    assert.equal(v.params.Packet_Type, 164);
    assert.equal(v.params.AlertType, "Retraction");
    assert.equal(v.params.EventPage, "https://example.org/superevents/MS181101ab/view/");
    assert.equal(v.time, "2018-11-01T22:22:46.654437");
    assert.equal(v.position, null);
    assert.ok(v.citations.length > 0 && v.citations.every((c) => c.cite === "retraction"));
  });

  it("SNEWS: gwcelery__snews_gcn.xml", () => {
    const v = parse("gwcelery__snews_gcn.xml");
    assert.equal(v.author.shortName, "SNEWS (via VO-TAN)");
    assert.equal(v.author.contactName, "Kate Scholberg");
    assert.equal(v.date, "2018-09-18T16:00:10");
    assert.deepEqual(v.position, { ra: 0, dec: 0, error: 360, system: "UTC-FK5-GEO" });
    assert.equal(v.time, "2018-09-18T16:00:01.00Z");
    assert.equal(v.params.Packet_Type, 149);
    assert.equal(v.params.TrigID, 1000194);
    assert.equal(v.params.Event_SOD, 57601);
    assert.equal(v.params.Trigger_ID, "0x7");
    assert.equal(v.groups.Trigger_ID.SubType, "coinc");
    assert.equal(v.groups.Misc_Flags.Detector_A_Good, "true");
    assert.equal(v.groups.Obs_Support_Info.Sun_Distance, 175.43);
    assert.deepEqual(v.why.concepts, ["process.variation.burst;phys.particle.neutrino"]);
  });

  it("Gaia, nameless Params and <Value>: voevent-parse__Gaia16aac.xml", () => {
    const v = parse("voevent-parse__Gaia16aac.xml");
    assert.equal(v.ivorn, "ivo://gaia.cam.uk/alerts#Gaia16aac");
    assert.deepEqual(v.author, {
      ivorn: "ivo://gaia.cam.uk",
      shortName: null,
      contactName: null,
      contactEmail: "gaiaalerts@ast.cam.ac.uk",
    });
    assert.equal(v.date, "2016-10-12T13:26:49");
    assert.deepEqual(v.params, {
      param1: "Gaia16aac", // <Param dataType="string" ucd="meta.id"><Value>Gaia16aac</Value>
      timescale: "TCB",
      "alerting timestamp": "2016-01-16T07:52:47",
      param2: "G", // <Param ucd="instr.bandpass" value="G"/>
    });
    assert.deepEqual(v.groups, {
      "alert-magnitude": { averagemag: 17.32, "averagemag error": 0.05 },
      "historic-magnitude": { averagemag: null, "averagemag error": null }, // value=""
    });
    assert.deepEqual(v.position, { ra: 73.29423, dec: 7.35212, error: 0.00002, system: "TDB-ICRS-BARY" });
    assert.equal(v.time, "2016-01-16T07:52:27");
    assert.deepEqual(v.why, { importance: null, expires: null, inferences: [], concepts: [] });
  });

  it("MOA: voevent-parse__MOA_Lensing_Event_2015-07-10T14_50_54.00.xml", () => {
    const v = parse("voevent-parse__MOA_Lensing_Event_2015-07-10T14_50_54.00.xml");
    assert.equal(v.ivorn, "ivo://nasa.gsfc.gcn/MOA#Lensing_Event_2015-07-10T14:50:54.00_4201500354-0-309");
    assert.equal(v.author.contactName, "Ian Bond");
    assert.equal(v.author.contactEmail, "I.A.Bond@massey.ac.nz");
    assert.equal(v.date, "2015-07-10T14:48:31");
    assert.deepEqual(v.position, { ra: 268.686, dec: -29.7073, error: 0, system: "UTC-FK5-GEO" });
    assert.equal(v.time, "2015-07-10T14:50:54.00");
    assert.equal(v.params.Packet_Type, 139);
    assert.equal(v.params.TrigID, 201500354);
    assert.equal(v.params.tE, 22.24);
    assert.equal(v.params.tE_Uncert, 12.01);
    assert.equal(v.params.Soln_status, "0x0");
    assert.deepEqual(v.groups.Trigger_ID, {});
    assert.equal(v.groups.Obs_Support_Info.Sun_Distance, 160.05);
    assert.equal(v.why.importance, 1);
    assert.deepEqual(v.why.inferences, [
      { probability: 0.99, relation: null, names: [], concepts: ["process.variation;em.opt"] },
    ]);
  });

  it("VOEvent 1.1, STC-namespaced WhereWhen: pygcn__gbm_flt_pos.xml", () => {
    const v = parse("pygcn__gbm_flt_pos.xml");
    assert.equal(v.version, "1.1");
    assert.equal(v.namespace, "http://www.ivoa.net/xml/VOEvent/v1.1");
    assert.deepEqual(v.author, {
      ivorn: "ivo://nasa.gsfc.tan/gcn",
      shortName: "Fermi (via VO-GCN)",
      contactName: "Julie Mcenery",
      contactEmail: "Julie.E.McEnery@nasa.gov",
    });
    assert.equal(v.date, "2011-09-04T03:54:51");
    // coord_system_id as written ("FK5-UTC-GEO", not the usual UTC-FK5-GEO).
    assert.deepEqual(v.position, { ra: 193, dec: -31.75, error: 17.4333, system: "FK5-UTC-GEO" });
    assert.equal(v.time, "2011-09-04T03:54:36.02");
    assert.equal(v.params.Packet_Type, 111);
    assert.equal(v.params.Trig_Timescale, 8.192);
    assert.equal(v.params.Most_Likely_Prob, 93);
    assert.equal(v.params.Misc_flags, "0x1000000");
    assert.equal(v.params.Coords_String, "source_object");
    assert.deepEqual(Object.keys(v.groups), ["Trigger_ID", "Misc_Flags", "Obs_Support_Info"]);
    assert.equal(v.groups.Obs_Support_Info.Moon_Illum, 43.7);
    assert.deepEqual(v.why, {
      importance: 0.5,
      expires: null,
      inferences: [
        { probability: 0.5, relation: null, names: [], concepts: ["process.variation.burst;em.gamma"] },
      ],
      concepts: ["process.variation.burst;em.gamma"],
    });
    assert.deepEqual(v.citations, [
      {
        ivorn: "ivo://nasa.gsfc.gcn/Fermi#GBM_Alert_2011-09-04T03:54:36.02_336801278_1-954",
        cite: "followup",
      },
    ]);
    assert.equal(v.description, null);
  });

  it("VOEvent 1.1 eSTAR OGLE, unnamed Groups, no Error2Radius: perl-voevent__OGLE-2006-BLG-307.xml", () => {
    const v = parse("perl-voevent__OGLE-2006-BLG-307.xml");
    assert.equal(v.date, null);
    assert.equal(v.author.ivorn, "ivo://uk.org.estar/pl.edu.ogle#");
    assert.equal(v.author.shortName, "OGLE III Project (via eSTAR Project)");
    assert.deepEqual(v.position, {
      ra: 269.1795,
      dec: -30.4041111111111,
      error: null,
      system: "UTC-FK5-GEO",
    });
    assert.equal(v.time, "2006-06-11T02:38:23+0000");
    assert.deepEqual(v.params, {
      Field: "BLG103.1",
      StarNo: 8484,
      "Finding Chart": "http://www.astrouw.edu.pl/~ogle/ogle3/ews/blg-307.html",
    });
    assert.deepEqual(v.groups, {
      group1: { Tmax: 2453897.608, Error: 3.11 },
      // biome-ignore lint/suspicious/noApproximativeNumericConstant: read from the packet, not ln 10
      group2: { Tau: 14.257, Error: 2.302 },
    });
    assert.deepEqual(v.why.inferences, [
      { probability: 1, relation: null, names: ["OGLE-2006-BLG-307"], concepts: ["Microlensing Event"] },
    ]);
    assert.match(v.description ?? "", /^The OGLE early warning system \(EWS\) has detected/);
  });

  it("un-namespaced root: voevent-parse__no_namespace_packet.xml", () => {
    const v = parse("voevent-parse__no_namespace_packet.xml");
    assert.equal(v.namespace, "");
    assert.equal(v.version, "2.0");
    assert.equal(v.role, "test");
    assert.deepEqual(v.author, {
      ivorn: "ivo://com.dc3/dc3.broker",
      shortName: null,
      contactName: null,
      contactEmail: "rdenny@dc3.com",
    });
    assert.equal(v.date, "2014-02-24T15:55:27.72");
    assert.deepEqual(v.params, { BrokerDomain: "voevent.dc3.com" });
    assert.deepEqual(v.groups, {
      Subscribe: { Port: 8099, IPWhiteList: null, DigitalSignature: null },
      Publish: { Port: 8098, IPWhiteList: null, DigitalSignature: null },
    });
    assert.deepEqual(v.position, { ra: 0, dec: 0, error: 0, system: "UTC-FK5-GEO" });
    assert.equal(v.time, "2014-02-24T15:55:27.72");
  });

  it("no WhereWhen: VOEventLib__sample3.xml and comet__DUMMY_VOEVENT.xml", () => {
    const a = parse("VOEventLib__sample3.xml");
    assert.equal(a.ivorn, "ivo://testing#111");
    assert.equal(a.stream, "ivo://testing");
    assert.equal(a.position, null);
    assert.equal(a.time, null);
    assert.equal(a.date, null);
    assert.equal(a.author.contactName, "Donald Duck");
    assert.deepEqual(a.params, { apple: "123", orange: "124" }); // dataType="string"
    const b = parse("comet__DUMMY_VOEVENT.xml");
    assert.deepEqual(b.author, {
      ivorn: "ivo://comet.broker/test",
      shortName: null,
      contactName: null,
      contactEmail: null,
    });
    assert.equal(b.date, "2012-01-01T00:00:00");
    assert.deepEqual(b.params, {});
    assert.deepEqual(b.groups, {});
    assert.equal(b.position, null);
  });

  it("no #local id: pygcn__kill_socket.xml parses, and is refused with requireLocalId", () => {
    const v = parse("pygcn__kill_socket.xml");
    assert.equal(v.ivorn, "ivo://nasa.gsfc.gcn/gcn");
    assert.deepEqual(v.params, { Packet_Type: 4 });
    assert.throws(() => parseVOEvent(readPacket("pygcn__kill_socket.xml"), { requireLocalId: true }), {
      code: "BAD_IVORN",
    });
  });

  it("CHIME/FRB: rta-dummy__DUMMY_VOEVENT_CHIME.xml", () => {
    const v = parse("rta-dummy__DUMMY_VOEVENT_CHIME.xml");
    assert.equal(v.stream, "ivo://ca.chimenet.frb/FRB-DETECTION-");
    assert.equal(v.date, "2022-03-20T10:00:28+00:00");
    assert.deepEqual(v.author, {
      ivorn: "ivo://ca.chimenet.frb/contact",
      shortName: "CHIME/FRB VOEvent Service",
      contactName: "Andrew Zwaniga",
      contactEmail: "andrew.zwaniga@mail.mcgill.ca",
    });
    assert.deepEqual(v.position, {
      ra: 207.13546129702095,
      dec: 39.68328005638283,
      error: 0.5392466329194251,
      system: "UTC-FK5-TOPO",
    });
    assert.equal(v.groups["event parameters"].dm, 308.1332092285156);
    assert.equal(v.groups["event parameters"].event_no, 217097677);
    assert.equal(v.groups["event parameters"].known_source_name, null);
    assert.equal(v.groups["event parameters"].timestamp_utc, "2022-03-20 10:00:28.960760+00:00");
    assert.equal(v.groups["observatory parameters"].bandwidth, 400);
    assert.equal(v.why.importance, 0.9999834084886757);
    assert.deepEqual(v.why.inferences, [
      { probability: 0, relation: null, names: [], concepts: ["No probabilistic measurement is reported"] },
    ]);
    assert.equal(v.why.concepts.length, 2);
    assert.equal(topicFor(v.ivorn), "voevent/ca.chimenet.frb/FRB-DETECTION-");
  });
});
