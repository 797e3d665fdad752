/**
 * Hostile and broken input to parseVOEvent: each is refused with a stable code and
 * a message that says what is wrong, or (deep nesting) parsed without harm.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { VOEventError, type VOEventErrorCode } from "../../src/errors";
import { parseVOEvent } from "../../src/voevent/parse";
import { prng } from "../helpers/prng";

const FIXTURES = path.resolve(__dirname, "../fixtures/packets");
const V20 = "http://www.ivoa.net/xml/VOEvent/v2.0";

function refuses(
  input: string | Buffer,
  code: VOEventErrorCode,
  messagePart?: string | RegExp,
): VOEventError {
  let caught: unknown;
  try {
    parseVOEvent(input);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof VOEventError, `expected a VOEventError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (typeof messagePart === "string") assert.ok(caught.message.includes(messagePart), caught.message);
  else if (messagePart !== undefined) assert.match(caught.message, messagePart);
  return caught;
}

describe("voevent/parse: hostile input", () => {
  describe("size limit, checked before parsing", () => {
    it("a 50 MB string is refused as TOO_LARGE without being parsed", () => {
      // Not XML at all: were it parsed, the answer would be NOT_XML.
      refuses("x".repeat(50 * 1024 * 1024), "TOO_LARGE", "exceeds the limit of 1048576 bytes");
    });
    it("a 50 MB Buffer likewise, before it is even decoded", () => {
      refuses(Buffer.alloc(50 * 1024 * 1024, 0xff), "TOO_LARGE", "52428800 bytes");
    });
    it("counts UTF-8 bytes, not UTF-16 units", () => {
      const body = "é".repeat(600 * 1024); // 614,400 characters, 1,228,800 bytes
      refuses(
        `<voe:VOEvent xmlns:voe="${V20}" ivorn="ivo://a.b/c#1"><Description>${body}</Description></voe:VOEvent>`,
        "TOO_LARGE",
      );
    });
    it("honours maxBytes", () => {
      const xml = readFileSync(path.join(FIXTURES, "full-v2.xml"));
      assert.throws(() => parseVOEvent(xml, { maxBytes: 1000 }), { code: "TOO_LARGE" });
      assert.throws(() => parseVOEvent(xml.toString(), { maxBytes: 1000 }), { code: "TOO_LARGE" });
      assert.equal(parseVOEvent(xml, { maxBytes: xml.length }).voevent.role, "observation");
    });
  });

  describe("DTDs and entities", () => {
    it("billion laughs is DTD_FORBIDDEN", () => {
      const lol = [
        '<?xml version="1.0"?>',
        "<!DOCTYPE lolz [",
        ' <!ENTITY lol "lol">',
        ' <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">',
        ' <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">',
        ' <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">',
        "]>",
        `<voe:VOEvent xmlns:voe="${V20}" ivorn="ivo://a.b/c#1"><Description>&lol3;</Description></voe:VOEvent>`,
      ].join("\n");
      refuses(lol, "DTD_FORBIDDEN", "DOCTYPE declarations are refused");
    });
    it("an external entity (SYSTEM file:///etc/passwd) is DTD_FORBIDDEN and nothing is read", () => {
      const xxe = [
        '<?xml version="1.0"?>',
        '<!DOCTYPE VOEvent [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        `<voe:VOEvent xmlns:voe="${V20}" ivorn="ivo://a.b/c#1"><Description>&xxe;</Description></voe:VOEvent>`,
      ].join("\n");
      const err = refuses(xxe, "DTD_FORBIDDEN");
      assert.ok(!err.message.includes("root:"), "the message must not carry file contents");
    });
    it("an external DTD (DOCTYPE … SYSTEM) is DTD_FORBIDDEN", () => {
      refuses(
        `<!DOCTYPE VOEvent SYSTEM "http://attacker.example/x.dtd"><VOEvent ivorn="ivo://a.b/c#1"/>`,
        "DTD_FORBIDDEN",
      );
    });
    it("an undefined entity &foo; is ENTITY", () => {
      refuses(
        `<voe:VOEvent xmlns:voe="${V20}" ivorn="ivo://a.b/c#1"><Description>&foo;</Description></voe:VOEvent>`,
        "ENTITY",
        "&foo;",
      );
    });
    it("an entity in an attribute is ENTITY too", () => {
      refuses(`<VOEvent ivorn="ivo://a.b/c#&foo;"/>`, "ENTITY", "&foo;");
    });
  });

  describe("not XML", () => {
    it("plain text", () => refuses("hello, this is not XML", "NOT_XML", "text before the first '<'"));
    it("empty input", () => refuses("", "NOT_XML", "empty"));
    it("an empty Buffer", () => refuses(Buffer.alloc(0), "NOT_XML", "empty"));
    it("only white space", () => refuses(" \n\t ", "NOT_XML", "white space"));
    it("JSON", () => refuses('{"ivorn":"ivo://a.b/c#1"}', "NOT_XML"));
    it("binary junk: 200 random buffers, each refused cleanly", () => {
      const rand = prng(20240301);
      for (let n = 0; n < 200; n++) {
        const bytes = Buffer.alloc(1 + Math.floor(rand() * 4096));
        for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rand() * 256);
        let caught: unknown;
        try {
          parseVOEvent(bytes);
        } catch (err) {
          caught = err;
        }
        assert.ok(caught instanceof VOEventError, `buffer ${n} was not refused with a VOEventError`);
        assert.ok(["NOT_XML", "MALFORMED"].includes(caught.code), `${caught.code}: ${caught.message}`);
      }
    });
    it("binary junk that starts with a control byte names it", () => {
      refuses(Buffer.from([0x00, 0x01, 0x02, 0x03]), "NOT_XML", "binary data (byte 0x00)");
    });
    it("a value that is neither string nor Buffer", () => {
      refuses({ ivorn: "x" } as unknown as string, "NOT_XML", "not a string or Buffer");
      refuses(null as unknown as string, "NOT_XML", "input is null");
    });
  });

  describe("not well-formed", () => {
    it("a packet cut in half is MALFORMED", () => {
      const full = readFileSync(path.join(FIXTURES, "full-v2.xml"), "utf8");
      refuses(full.slice(0, Math.floor(full.length / 2)), "MALFORMED", "not well-formed");
    });
    it("a packet cut inside a start tag is MALFORMED", () => {
      refuses(`<voe:VOEvent xmlns:voe="${V20}" ivorn="ivo://a.b/c`, "MALFORMED");
    });
    it("mismatched tags", () => {
      refuses(
        `<voe:VOEvent xmlns:voe="${V20}" ivorn="ivo://a.b/c#1"><Who><Date>x</Who></Date></voe:VOEvent>`,
        "MALFORMED",
        "end tag </Who> does not match start tag <Date>",
      );
    });
    it("a duplicated attribute", () => {
      refuses(
        `<VOEvent ivorn="ivo://a.b/c#1" ivorn="ivo://a.b/c#2"/>`,
        "MALFORMED",
        "duplicate attribute ivorn",
      );
      refuses(
        `<VOEvent ivorn="ivo://a.b/c#1"><What><Param name="a" name="b"/></What></VOEvent>`,
        "MALFORMED",
        "duplicate attribute name",
      );
    });
    it("an unbound namespace prefix", () => {
      refuses(`<voe:VOEvent ivorn="ivo://a.b/c#1"/>`, "MALFORMED", "prefix voe is not bound");
    });
    it("a NUL character in text", () => {
      refuses(`<VOEvent ivorn="ivo://a.b/c#1"><Description>a\u0000b</Description></VOEvent>`, "MALFORMED");
    });
    it("two root elements", () => {
      refuses(`<VOEvent ivorn="ivo://a.b/c#1"/><VOEvent ivorn="ivo://a.b/c#2"/>`, "MALFORMED", "second root");
    });
  });

  describe("well-formed, but not a usable VOEvent", () => {
    it("wrong root <html>", () => {
      refuses("<html><body>hi</body></html>", "WRONG_ROOT", "the root element is <html>, not <VOEvent>");
    });
    it("wrong root in a namespace names the namespace", () => {
      refuses(
        '<a:feed xmlns:a="http://www.w3.org/2005/Atom"/>',
        "WRONG_ROOT",
        "in namespace http://www.w3.org/2005/Atom",
      );
    });
    it("a Transport message", () => {
      refuses(
        '<trn:Transport xmlns:trn="http://www.telescope-networks.org/xml/Transport/v1.1" role="iamalive" version="1.0"><Origin>ivo://a.b/c</Origin><TimeStamp>2024-01-01T00:00:00Z</TimeStamp></trn:Transport>',
        "WRONG_ROOT",
        'VTP Transport message (role "iamalive")',
      );
    });
    it("missing ivorn", () =>
      refuses(`<voe:VOEvent xmlns:voe="${V20}" role="test"/>`, "NO_IVORN", "no ivorn"));
    it("invalid ivorn", () =>
      refuses(`<VOEvent ivorn="ivo://nasa.gsfc.gcn//SWIFT#1"/>`, "BAD_IVORN", "empty segment ('//')"));
    it("role retraction", () =>
      refuses(`<VOEvent role="retraction" ivorn="ivo://a.b/c#1"/>`, "BAD_ROLE", 'role "retraction"'));
  });

  describe("deep nesting (maxDepth, 256 by default as in libxml2)", () => {
    it("elements 256 deep inside a VOEvent: parsed", () => {
      const depth = 255; // plus the VOEvent root
      const xml = `<VOEvent ivorn="ivo://a.b/c#1">${"<x>".repeat(depth)}deep${"</x>".repeat(depth)}<Description>ok</Description></VOEvent>`;
      assert.equal(parseVOEvent(xml).voevent.description, "ok");
    });
    it("10,000 nested elements inside Description: TOO_DEEP, naming the limit", () => {
      const depth = 10_000;
      const xml = `<VOEvent ivorn="ivo://a.b/c#1"><Description>${"<b>".repeat(depth)}deep${"</b>".repeat(depth)}</Description></VOEvent>`;
      refuses(xml, "TOO_DEEP", "limit of 256 (maxDepth)");
    });
    it("10,000 nested elements cut short: TOO_DEEP before the truncation is reached", () => {
      refuses(`<VOEvent ivorn="ivo://a.b/c#1">${"<x>".repeat(10_000)}`, "TOO_DEEP", "maxDepth");
    });
    it("100,000 nested non-VOEvent elements: TOO_DEEP, cleanly", () => {
      const depth = 100_000;
      refuses(`${"<x>".repeat(depth)}${"</x>".repeat(depth)}`, "TOO_DEEP", "maxDepth");
    });
  });
});
