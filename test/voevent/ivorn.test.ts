import assert from "node:assert/strict";
import { VOEventError } from "../../src/errors";
import {
  createLocalIdGenerator,
  hasLocalId,
  isIvorn,
  MAX_IVORN_LENGTH,
  newIvorn,
  newLocalId,
  parseIvorn,
  streamOf,
  topicFor,
} from "../../src/voevent/ivorn";
import { topicProblem } from "./topic-check";

function badIvorn(s: string, messagePart: string | RegExp): void {
  assert.throws(
    () => parseIvorn(s),
    (err: unknown) => {
      assert.ok(err instanceof VOEventError, `expected a VOEventError for ${JSON.stringify(s)}`);
      assert.equal(err.code, "BAD_IVORN");
      if (typeof messagePart === "string") assert.ok(err.message.includes(messagePart), err.message);
      else assert.match(err.message, messagePart);
      return true;
    },
  );
  assert.equal(isIvorn(s), false);
}

describe("voevent/ivorn", () => {
  describe("parseIvorn accepts", () => {
    it("a GCN ivorn and splits it", () => {
      assert.deepEqual(parseIvorn("ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_532871-729"), {
        ivorn: "ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_532871-729",
        authority: "nasa.gsfc.gcn",
        path: "/SWIFT",
        local: "BAT_GRB_Pos_532871-729",
        stream: "ivo://nasa.gsfc.gcn/SWIFT",
      });
    });
    it("an ivorn without #local (pygcn's kill_socket), local null", () => {
      const p = parseIvorn("ivo://nasa.gsfc.gcn/gcn");
      assert.equal(p.local, null);
      assert.equal(p.stream, "ivo://nasa.gsfc.gcn/gcn");
      assert.equal(hasLocalId("ivo://nasa.gsfc.gcn/gcn"), false);
    });
    it("CHIME's ':' '+' in the local part and '-' before '#'", () => {
      const s = "ivo://ca.chimenet.frb/FRB-DETECTION-#2022-03-20-10:00:28.960760UTC+0000_996ae14090d1";
      const p = parseIvorn(s);
      assert.equal(p.path, "/FRB-DETECTION-");
      assert.equal(p.local, "2022-03-20-10:00:28.960760UTC+0000_996ae14090d1");
      assert.equal(hasLocalId(s), true);
    });
    it("'::' in the path (VOEvent 2.1 draft example)", () => {
      const s = "ivo://psws.irap/VOEvent/Tao_Jupiter_2018-10-02T17_34_45::v1.0";
      const p = parseIvorn(s);
      assert.equal(p.path, "/VOEvent/Tao_Jupiter_2018-10-02T17_34_45::v1.0");
      assert.equal(p.stream, s);
      assert.equal(p.local, null);
    });
    it("no path at all, and '/' in the local part", () => {
      assert.deepEqual(parseIvorn("ivo://testing#111"), {
        ivorn: "ivo://testing#111",
        authority: "testing",
        path: "",
        local: "111",
        stream: "ivo://testing",
      });
      assert.equal(parseIvorn("ivo://realfast.io/realfast#rfcand/59347.865").local, "rfcand/59347.865");
    });
    it("Comet's extra authority characters and percent-encoding", () => {
      assert.equal(parseIvorn("ivo://a_b-c.d~e*f'(g)/x#y").authority, "a_b-c.d~e*f'(g)");
      assert.equal(parseIvorn("ivo://fixtures.example/unicode#%C3%A9t%C3%A9").local, "%C3%A9t%C3%A9");
    });
  });

  describe("parseIvorn refuses, saying why", () => {
    it("an empty string", () => badIvorn("", "it is empty"));
    it("no ivo:// scheme (rta-dummy's INTEGRAL/dummy/demo#1)", () =>
      badIvorn("INTEGRAL/dummy/demo#1", "does not start with 'ivo://'"));
    it("http:// instead of ivo://", () => badIvorn("http://example.org/x#1", "does not start with 'ivo://'"));
    it("IVO:// in upper case", () => badIvorn("IVO://nasa.gsfc.gcn/SWIFT#1", "lower case"));
    it("the FRB template authority [institute]", () =>
      badIvorn("ivo://[institute]/[instrument]#FRB[YYMMDDhhmm]/[MJD]", /authority contains character "\["/));
    it("an empty authority", () =>
      badIvorn("ivo:///SWIFT#1", "authority (the part after 'ivo://') is empty"));
    it("an authority shorter than 3 characters", () => badIvorn("ivo://ab/c#1", "too short"));
    it("an authority starting with punctuation", () =>
      badIvorn("ivo://.abc/c#1", "must start with a letter"));
    it("a port in the authority", () => badIvorn("ivo://host:8099/x#1", 'authority contains character ":"'));
    it("'//' in the path", () => badIvorn("ivo://nasa.gsfc.gcn//SWIFT#1", "empty segment ('//')"));
    it("'/../' in the path", () => badIvorn("ivo://nasa.gsfc.gcn/a/../b#1", "'..' segment"));
    it("'/./' in the path and a final '..'", () => {
      badIvorn("ivo://nasa.gsfc.gcn/a/./b#1", "'.' segment");
      badIvorn("ivo://nasa.gsfc.gcn/a/..", "'..' segment");
    });
    it("a trailing '/'", () => {
      badIvorn("ivo://nasa.gsfc.gcn/SWIFT/#1", "ends with '/'");
      badIvorn("ivo://nasa.gsfc.gcn/#1", "lone '/'");
    });
    it("white space anywhere", () => {
      badIvorn("ivo://nasa.gsfc.gcn/SWI FT#1", "a space");
      badIvorn(" ivo://nasa.gsfc.gcn/SWIFT#1", "does not start with 'ivo://'");
      badIvorn("ivo://nasa.gsfc.gcn/SWIFT#1 ", "a space");
      badIvorn("ivo://nasa.gsfc.gcn/SWIFT#a\tb", "control character U+0009");
    });
    it("control characters, NUL included", () => {
      badIvorn("ivo://nasa.gsfc.gcn/SW\u0000IFT#1", "control character U+0000");
      badIvorn("ivo://nasa\u0007.gsfc/x#1", "control character U+0007");
      badIvorn("ivo://nasa.gsfc.gcn/x#1\n", "control character U+000A");
    });
    it("non-ASCII characters", () => badIvorn("ivo://fixtures.example/été#1", "non-ASCII character é"));
    it("an empty local id after '#'", () =>
      badIvorn("ivo://nasa.gsfc.gcn/SWIFT#", "nothing follows the '#'"));
    it("a second '#'", () => badIvorn("ivo://nasa.gsfc.gcn/SWIFT#a#b", "second '#'"));
    it("characters URIs exclude", () => {
      for (const ch of ['"', "<", ">", "\\", "^", "`", "{", "|", "}", "[", "]"]) {
        badIvorn(`ivo://nasa.gsfc.gcn/SW${ch}IFT#1`, "the path contains");
        badIvorn(`ivo://nasa.gsfc.gcn/SWIFT#a${ch}`, "the local id");
      }
    });
    it("an over-long IVORN", () =>
      badIvorn(`ivo://nasa.gsfc.gcn/${"a".repeat(MAX_IVORN_LENGTH)}#1`, "characters long"));
    it("a value that is not a string (from JavaScript callers)", () => {
      assert.throws(() => parseIvorn(42 as unknown as string), { code: "BAD_IVORN" });
      assert.equal(isIvorn(null), false);
      assert.equal(isIvorn(undefined), false);
    });
  });

  describe("streamOf, hasLocalId, isIvorn", () => {
    it("streamOf drops the local id, and throws on non-IVORNs", () => {
      assert.equal(streamOf("ivo://gwnet/LVC#S190814bv-5-Update"), "ivo://gwnet/LVC");
      assert.equal(streamOf("ivo://gwnet/LVC"), "ivo://gwnet/LVC");
      assert.throws(() => streamOf("INTEGRAL/dummy/demo#1"), { code: "BAD_IVORN" });
    });
    it("hasLocalId is false for invalid input rather than throwing", () => {
      assert.equal(hasLocalId("not an ivorn#x"), false);
      assert.equal(hasLocalId("ivo://gwnet/LVC#x"), true);
    });
    it("isIvorn", () => {
      assert.equal(isIvorn("ivo://gwnet/LVC#x"), true);
      assert.equal(isIvorn("ivo://[institute]/[instrument]#FRB"), false);
    });
  });

  describe("topicFor", () => {
    it("maps the stream to voevent/<authority>/<path>", () => {
      assert.equal(
        topicFor("ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_532871-729"),
        "voevent/nasa.gsfc.gcn/SWIFT",
      );
      assert.equal(topicFor("ivo://gwnet/LVC"), "voevent/gwnet/LVC");
      assert.equal(
        topicFor("ivo://uk.org.estar/pl.edu.ogle#OGLE-2006-BLG-307"),
        "voevent/uk.org.estar/pl.edu.ogle",
      );
      assert.equal(topicFor("ivo://testing#111"), "voevent/testing");
      assert.equal(topicFor("ivo://a.b/deep/er/path#x"), "voevent/a.b/deep/er/path");
    });
    it("keeps ':' and '-' and takes a ParsedIvorn too", () => {
      assert.equal(
        topicFor(parseIvorn("ivo://psws.irap/VOEvent/Tao_Jupiter_2018-10-02T17_34_45::v1.0")),
        "voevent/psws.irap/VOEvent/Tao_Jupiter_2018-10-02T17_34_45::v1.0",
      );
      assert.equal(
        topicFor("ivo://ca.chimenet.frb/FRB-DETECTION-#2022+0000"),
        "voevent/ca.chimenet.frb/FRB-DETECTION-",
      );
    });
    it("replaces the MQTT wildcard '+' in the path with '_' and never carries the local id", () => {
      const t = topicFor("ivo://example.org/a+b/c+#local+");
      assert.equal(t, "voevent/example.org/a_b/c_");
    });
    it("hostile input: refused before it can reach a topic", () => {
      for (const s of [
        "ivo://example.org/a#b#c",
        "ivo://example.org/a\u0000b",
        "ivo://example.org//x",
        "ivo://example.org/x/",
        "ivo://example.org/x/../y",
        "ivo://example.org/ x",
        "voevent/#",
        "ivo://example.org/\ud800",
      ]) {
        assert.throws(() => topicFor(s), { code: "BAD_IVORN" }, s);
      }
    });
    it("the result never has '#', '+', an empty level, a control character, or an outer '/'", () => {
      const samples = [
        "ivo://nasa.gsfc.gcn/SWIFT#x",
        "ivo://a.b/+/++/c#+",
        "ivo://a.b/%2B/x$&'()*,;=:@!#q",
        "ivo://abc",
      ];
      for (const s of samples) {
        const t = topicFor(s);
        assert.equal(topicProblem(t), null, t);
      }
    });
  });

  describe("newLocalId, newIvorn", () => {
    it("makes unique ids that sort in the order they were made, even within one millisecond", () => {
      const gen = createLocalIdGenerator();
      const ids: string[] = [];
      for (let i = 0; i < 2000; i++) ids.push(gen(1_700_000_000_000));
      assert.equal(new Set(ids).size, ids.length);
      assert.deepEqual([...ids].sort(), ids);
      const later = gen(1_700_000_000_001);
      assert.ok(later > ids[ids.length - 1]);
    });
    it("starts with the UTC time and is a valid local id", () => {
      const id = createLocalIdGenerator()(Date.UTC(2025, 0, 2, 3, 4, 5, 678));
      assert.match(id, /^20250102T030405\.678Z-0000-[0-9a-f]{10}$/);
      assert.equal(parseIvorn(`ivo://a.b/c#${id}`).local, id);
    });
    it("does not go backwards when the clock does", () => {
      const gen = createLocalIdGenerator();
      const a = gen(Date.UTC(2030, 0, 1));
      const b = gen(Date.UTC(2029, 0, 1));
      assert.ok(b > a);
    });
    it("the process-wide newLocalId: unique and ordered", () => {
      const a = newLocalId();
      const b = newLocalId();
      assert.ok(b > a);
      assert.equal(isIvorn(`ivo://a.b/c#${a}`), true);
    });
    it("newIvorn makes an event IVORN under a stream, and refuses an event IVORN as the stream", () => {
      const iv = newIvorn("ivo://voevent.example/test");
      assert.ok(iv.startsWith("ivo://voevent.example/test#"));
      assert.equal(hasLocalId(iv), true);
      assert.notEqual(newIvorn("ivo://voevent.example/test"), iv);
      assert.throws(() => newIvorn("ivo://voevent.example/test#1"), {
        code: "BAD_IVORN",
        message: /has a '#'/,
      });
      assert.throws(() => newIvorn("not a stream"), { code: "BAD_IVORN" });
    });
  });
});
