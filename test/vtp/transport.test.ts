import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isVOEventError } from "../../src/errors";
import {
  buildAck,
  buildAuthenticate,
  buildIamalive,
  buildNak,
  buildTransport,
  classify,
  escapeAttr,
  escapeText,
  formatTimestamp,
  parseTransport,
  TRANSPORT_NS,
} from "../../src/vtp/transport";
import { parseXml } from "../../src/xml/parse";
import { corpusDir, describeCorpus } from "../helpers/corpus";

const CORPUS = join(corpusDir(), "transport");

const COMET_NS = "http://www.telescope-networks.org/xml/Transport/v1.1";
const REC_NS = "http://telescope-networks.org/schema/Transport/v1.1";
const V01_NS = "http://www.telescope-networks.org/xml/Transport/v0.1";

interface Expect {
  role: string;
  origin: string;
  response: string | null;
  namespace: string;
  version?: string;
  result?: string | null;
  filters?: string[];
  params?: number;
  timestamp?: string;
}

const EXPECTED: Record<string, Expect> = {
  "captured-comet-broker__authenticate.xml": {
    role: "authenticate",
    origin: "ivo://anchors.test/comet-broker",
    response: null,
    namespace: COMET_NS,
    timestamp: "2026-11-23T06:56:16Z",
  },
  "captured-comet-broker__iamalive.xml": {
    role: "iamalive",
    origin: "ivo://anchors.test/comet-broker",
    response: null,
    namespace: COMET_NS,
  },
  "captured-comet-subscriber__ack-reply.xml": {
    role: "ack",
    origin: "ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_1123129-022",
    response: "ivo://anchors.test/comet-subscriber",
    namespace: COMET_NS,
  },
  "captured-comet-subscriber__authenticate-reply.xml": {
    role: "authenticate",
    origin: "ivo://mini.broadcaster/test",
    response: "ivo://anchors.test/comet-subscriber",
    namespace: COMET_NS,
    filters: ["//Param[@name='Packet_Type']"],
    params: 1,
  },
  "captured-comet-subscriber__iamalive-reply.xml": {
    role: "iamalive",
    origin: "ivo://mini.broadcaster/test",
    response: "ivo://anchors.test/comet-subscriber",
    namespace: COMET_NS,
  },
  "captured-pygcn__ack-reply.xml": {
    role: "ack",
    origin: "ivo://nasa.gsfc.gcn/Fermi#GBM_Flt_Pos_2011-09-04T03:54:36.02_336801278_45-956",
    response: "ivo://python_voeventclient/anonymous",
    namespace: REC_NS,
    timestamp: "2026-11-23T06:50:20.230769",
  },
  "captured-pygcn__iamalive-reply.xml": {
    role: "iamalive",
    origin: "ivo://mini.broadcaster/test",
    response: "ivo://python_voeventclient/anonymous",
    namespace: REC_NS,
  },
  "comet__DUMMY_ACK.xml": {
    role: "ack",
    origin: "ivo://comet.broker/test#1234567890",
    response: "ivo://comet.broker/test",
    namespace: COMET_NS,
  },
  "comet__DUMMY_AUTHENTICATE.xml": {
    role: "authenticate",
    origin: "ivo://comet.broker/test#1234567890",
    response: null,
    namespace: COMET_NS,
  },
  "comet__DUMMY_AUTHENTICATE_RESPONSE_LEGACY.xml": {
    role: "authenticate",
    origin: "ivo://comet.broker/test",
    response: "ivo://comet.broker/test",
    namespace: COMET_NS,
    filters: ["%s"],
    params: 0,
  },
  "comet__DUMMY_IAMALIVE.xml": {
    role: "iamalive",
    origin: "ivo://comet.broker/test#1234567890",
    response: null,
    namespace: COMET_NS,
  },
  "comet__DUMMY_NAK.xml": {
    role: "nak",
    origin: "ivo://comet.broker/test#1234567890",
    response: "ivo://comet.broker/test",
    namespace: COMET_NS,
    result: null,
  },
  "perl-xml-document-transport__2_build-DATA-v0.1.xml": {
    role: "ack",
    origin: "ivo://uk.org.estar/estar.ex#",
    response: "ivo://talons.lanl/#",
    namespace: V01_NS,
    version: "0.1",
    params: 4,
    timestamp: "2005-04-16T00:00:03",
  },
  "perl-xml-document-transport__2_parse-DATA-v0.1.xml": {
    role: "ack",
    origin: "ivo://uk.org.estar/pl.edu.ogle#OGLE-2006-BLG-296",
    response: "ivo://talons.lanl/#",
    namespace: V01_NS,
    version: "0.1",
    params: 3,
  },
  "vtp-2.0-rec-listing__ack.xml": {
    role: "ack",
    origin: "ivo://invalid.author/example#0123456789",
    response: "ivo://invalid.subscriber/example#",
    namespace: REC_NS,
    result: "Message received and validated successfully",
    params: 2,
  },
  "vtp-2.0-rec-listing__authenticate.xml": {
    role: "authenticate",
    origin: "ivo://invalid.broker/example#",
    response: null,
    namespace: REC_NS,
  },
  "vtp-2.0-rec-listing__iamalive.xml": {
    role: "iamalive",
    origin: "ivo://invalid.broker/example#",
    response: null,
    namespace: REC_NS,
  },
  "vtp-2.0-rec-listing__iamaliveresponse.xml": {
    role: "iamalive",
    origin: "ivo://invalid.broker/example#",
    response: "ivo://invalid.subscriber/example#",
    namespace: REC_NS,
    params: 2,
  },
  "vtp-2.0-rec-listing__nak.xml": {
    role: "nak",
    origin: "ivo://invalid.author/example#0123456789",
    response: "ivo://invalid.subscriber/example#",
    namespace: REC_NS,
    result: "Error in VOEvent message: ISOTime not in ISO 8601 format",
    params: 2,
  },
};

describe("vtp/transport", () => {
  describeCorpus("corpus", () => {
    it("parses every Transport message in the corpus to the right role, origin, response, filters, result, version", () => {
      const files = readdirSync(CORPUS);
      assert.ok(files.length >= Object.keys(EXPECTED).length);
      for (const f of files) {
        const want = EXPECTED[f];
        assert.ok(want, `no expectation for corpus file ${f}: add one`);
        const bytes = readFileSync(join(CORPUS, f));
        const t = parseTransport(bytes);
        assert.equal(t.role, want.role, f);
        assert.equal(t.origin, want.origin, f);
        assert.equal(t.response, want.response, f);
        assert.equal(t.namespace, want.namespace, f);
        assert.equal(t.version, want.version ?? "1.0", f);
        if (want.result !== undefined) assert.equal(t.result, want.result, f);
        assert.deepEqual(t.filters, want.filters ?? [], f);
        if (want.params !== undefined) assert.equal(t.params.length, want.params, f);
        if (want.timestamp !== undefined) assert.equal(t.timestamp, want.timestamp, f);
        assert.equal(classify(parseXml(bytes)), "transport", f);
      }
    });

    it("builds byte for byte what Comet sends (captured), apart from the values", () => {
      const read = (f: string) => readFileSync(join(CORPUS, f), "utf8");
      const at = (s: string) => new Date(s);
      assert.equal(
        buildAuthenticate("ivo://anchors.test/comet-broker", null, [], {
          timestamp: at("2026-11-23T06:56:16Z"),
        }),
        read("captured-comet-broker__authenticate.xml"),
      );
      assert.equal(
        buildIamalive("ivo://anchors.test/comet-broker", undefined, {
          timestamp: at("2026-11-23T06:57:14Z"),
        }),
        read("captured-comet-broker__iamalive.xml"),
      );
      assert.equal(
        buildAck("ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_1123129-022", "ivo://anchors.test/comet-subscriber", {
          timestamp: at("2026-11-23T06:58:26Z"),
        }),
        read("captured-comet-subscriber__ack-reply.xml"),
      );
      assert.equal(
        buildAuthenticate(
          "ivo://mini.broadcaster/test",
          "ivo://anchors.test/comet-subscriber",
          ["//Param[@name='Packet_Type']"],
          { timestamp: at("2026-11-23T06:58:26Z") },
        ),
        read("captured-comet-subscriber__authenticate-reply.xml"),
      );
      assert.equal(
        buildIamalive("ivo://mini.broadcaster/test", "ivo://anchors.test/comet-subscriber", {
          timestamp: at("2026-11-23T06:58:26Z"),
        }),
        read("captured-comet-subscriber__iamalive-reply.xml"),
      );
    });
  });

  describe("parseTransport", () => {
    const msg = (
      ns: string | null,
      body = "<Origin>ivo://a.b/c</Origin><TimeStamp>t</TimeStamp>",
      role = "ack",
    ) =>
      `<?xml version="1.0"?><${ns === null ? "" : "t:"}Transport ${ns === null ? "" : `xmlns:t="${ns}" `}role="${role}" version="1.0">${body}</${ns === null ? "" : "t:"}Transport>`;

    it("accepts the five namespaces, including none (the REC appendix schema)", () => {
      for (const ns of [COMET_NS, REC_NS, "http://telescope-networks.org/xml/Transport/v1.1", V01_NS, null]) {
        const t = parseTransport(msg(ns));
        assert.equal(t.role, "ack");
        assert.equal(t.origin, "ivo://a.b/c");
        assert.equal(t.namespace, ns ?? "");
      }
    });

    it("refuses another namespace with BAD_TRANSPORT, naming it", () => {
      assert.throws(
        () => parseTransport(msg("http://example.org/Transport")),
        (e: unknown) => isVOEventError(e) && e.code === "BAD_TRANSPORT" && e.message.includes("example.org"),
      );
    });

    it("refuses a non-Transport root (WRONG_ROOT) and a missing role (BAD_TRANSPORT)", () => {
      assert.throws(
        () => parseTransport('<VOEvent role="test" ivorn="ivo://a.b/c#1"/>'),
        (e: unknown) => isVOEventError(e) && e.code === "WRONG_ROOT",
      );
      assert.throws(
        () => parseTransport(`<Transport version="1.0"><Origin>x</Origin></Transport>`),
        (e: unknown) => isVOEventError(e) && e.code === "BAD_TRANSPORT",
      );
    });

    it("passes the XML parser's errors through (malformed, DTD)", () => {
      assert.throws(
        () => parseTransport("<Transport role='ack'>"),
        (e: unknown) => isVOEventError(e) && e.code === "MALFORMED",
      );
      assert.throws(
        () => parseTransport('<!DOCTYPE x [<!ENTITY a "b">]><Transport role="ack"/>'),
        (e: unknown) => isVOEventError(e) && e.code === "DTD_FORBIDDEN",
      );
    });

    it("keeps missing elements null and an unknown role as written", () => {
      const t = parseTransport(msg(COMET_NS, "", "hello"));
      assert.equal(t.role, "hello");
      assert.equal(t.origin, null);
      assert.equal(t.response, null);
      assert.equal(t.timestamp, null);
      assert.equal(t.result, null);
      assert.deepEqual(t.params, []);
    });

    it("reads both filter forms, in order: Param xpath-filter, then legacy filter type=xpath", () => {
      const t = parseTransport(
        msg(
          COMET_NS,
          `<Origin>o</Origin><TimeStamp>t</TimeStamp><Meta><filter type="xpath">//Who</filter><Param name="xpath-filter" value="//What"/><Param name="other" value="1"/><filter type="other">no</filter></Meta>`,
          "authenticate",
        ),
      );
      assert.deepEqual(t.filters, ["//What", "//Who"]);
      assert.deepEqual(t.params, [
        { name: "xpath-filter", value: "//What" },
        { name: "other", value: "1" },
      ]);
    });

    it("accepts an already parsed document", () => {
      const t = parseTransport(parseXml(msg(COMET_NS)));
      assert.equal(t.origin, "ivo://a.b/c");
    });
  });

  describe("classify", () => {
    it("types a message as peers do: root name and role", () => {
      const c = (x: string) => classify(parseXml(x));
      assert.equal(
        c('<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" role="test"/>'),
        "voevent",
      );
      assert.equal(c("<VOEvent/>"), "voevent"); // role defaults to observation
      assert.equal(c('<VOEvent role="retraction"/>'), "unknown");
      assert.equal(c('<Transport role="iamalive"/>'), "transport");
      assert.equal(c('<Transport role="observation"/>'), "unknown");
      assert.equal(c('<Other role="ack"/>'), "transport");
      assert.equal(c('<Other role="utility"/>'), "voevent");
      assert.equal(c("<html/>"), "unknown");
    });
  });

  describe("builders", () => {
    it("round-trip through our parser, with Comet's namespace and version", () => {
      const ack = parseTransport(buildAck("ivo://ev.test/s#1", "ivo://me.test/r"));
      assert.equal(ack.role, "ack");
      assert.equal(ack.namespace, TRANSPORT_NS);
      assert.equal(ack.version, "1.0");
      assert.equal(ack.origin, "ivo://ev.test/s#1");
      assert.equal(ack.response, "ivo://me.test/r");
      assert.match(ack.timestamp ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(ack.result, null);

      const nak = parseTransport(buildNak("ivo://ev.test/s#1", "ivo://me.test/r", "Event rejected: bad"));
      assert.equal(nak.role, "nak");
      assert.equal(nak.result, "Event rejected: bad");

      const ia = parseTransport(buildIamalive("ivo://broker.test/b"));
      assert.equal(ia.role, "iamalive");
      assert.equal(ia.response, null);

      const au = parseTransport(buildAuthenticate("ivo://broker.test/b", "ivo://me.test/s", ["//a", "//b"]));
      assert.equal(au.role, "authenticate");
      assert.deepEqual(au.filters, ["//a", "//b"]);
    });

    it("escapes text and attributes so that any value survives a round trip", () => {
      const nasty = `a & b < c > d "e" 'f' ]]> \t tab\nline\r\ncrlf \u0001 ctl \ud800 lone 🚀`;
      const clean = nasty.replace("\u0001", "\ufffd").replace("\ud800", "\ufffd");
      const nak = parseTransport(buildNak(nasty, null, nasty));
      assert.equal(nak.result, clean.trim());
      assert.equal(nak.origin, clean.trim());
      const au = parseTransport(buildAuthenticate("o", null, [`//Param[@name="x" and @value='<&>']`]));
      assert.deepEqual(au.filters, [`//Param[@name="x" and @value='<&>']`]);
      const p = parseTransport(
        buildTransport({ role: "ack", origin: "o", params: [{ name: "n", value: nasty }] }),
      );
      assert.equal(p.params[0]?.value, clean);
      assert.equal(escapeText("plain"), "plain");
      assert.equal(escapeAttr("plain"), "plain");
    });

    it("writes TimeStamp in UTC with Z and no fraction", () => {
      assert.equal(formatTimestamp(new Date("2026-01-02T03:04:05.678Z")), "2026-01-02T03:04:05Z");
      assert.match(formatTimestamp(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    });
  });
});
