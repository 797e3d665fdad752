/**
 * The XML parser refuses what libxml2 refuses (issue 9's classes, each from mutations of real
 * packets that the old parser accepted) and reads every encoding it claims to.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { isVOEventError, type VOEventErrorCode } from "../../src/errors";
import { parseVOEvent } from "../../src/voevent/parse";
import { parseXml } from "../../src/xml/parse";
import { type XElement, XNodeType } from "../../src/xml/types";

function refuses(input: string | Buffer, code: VOEventErrorCode, part?: string | RegExp): void {
  try {
    parseXml(input);
  } catch (err) {
    assert.ok(isVOEventError(err), `a VOEventError, not ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (typeof part === "string") assert.ok(err.message.includes(part), `${err.message} lacks ${part}`);
    else if (part !== undefined) assert.match(err.message, part);
    return;
  }
  assert.fail(`accepted ${JSON.stringify(input.toString().slice(0, 80))}, expected ${code}`);
}

function text(el: XElement): string {
  return el.children.map((c) => (c.type === XNodeType.Text ? c.value : "")).join("");
}

const bytes = (...parts: (string | number[])[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Buffer.from(p))));

describe("xml: strict well-formedness", () => {
  describe("UTF-8 is validated strictly, with the byte offset of the first bad byte", () => {
    const cases: [string, number[]][] = [
      ["a stray 0xff", [0xff]],
      ["an overlong '/' (C0 AF)", [0xc0, 0xaf]],
      ["an overlong three-byte form (E0 80 AF)", [0xe0, 0x80, 0xaf]],
      ["an encoded surrogate (ED A0 80)", [0xed, 0xa0, 0x80]],
      ["a code point above U+10FFFF (F4 90 80 80)", [0xf4, 0x90, 0x80, 0x80]],
      ["a lone continuation byte", [0x80]],
      ["a truncated sequence", [0xe2, 0x82]],
    ];
    for (const [what, bad] of cases) {
      it(what, () => refuses(bytes("<r>caf", bad, "</r>"), "ENCODING", "invalid UTF-8 at byte offset 6"));
    }
    it("parseVOEvent of a Buffer refuses it too (what the receiver and the subscriber decode with)", () => {
      assert.throws(
        () => parseVOEvent(bytes('<VOEvent ivorn="ivo://a.b/c#1">', [0xff], "</VOEvent>")),
        (e: unknown) => isVOEventError(e) && e.code === "ENCODING" && /byte offset 31/.test(e.message),
      );
    });
    for (const decl of [`<?xml version="1.0" encoding="UTF-8"?>`, `<?xml version='1.0' encoding='UTF-8'?>`]) {
      it(`with the usual declaration ${decl} (read without parsing it): the same checks, the same messages`, () => {
        const at = decl.length + 6;
        refuses(
          bytes(decl, "<r>caf", [0xff], "</r>"),
          "ENCODING",
          `invalid UTF-8 at byte offset ${at} (bytes 0xff 0x3c 0x2f 0x72) in a document declared UTF-8`,
        );
        refuses(
          bytes([0xef, 0xbb, 0xbf], decl, "<r>caf", [0xc0, 0xaf], "</r>"),
          "ENCODING",
          `offset ${at + 3}`,
        );
        assert.equal(text(parseXml(Buffer.from(`${decl}<r>café €</r>`)).root), "café €");
        assert.equal(text(parseXml(bytes([0xef, 0xbb, 0xbf], decl, "<r>ok</r>")).root), "ok");
        // With a byte-order mark of UTF-16 the declaration contradicts it, as before.
        refuses(
          Buffer.from(`\ufeff${decl}<r/>`, "utf16le"),
          "ENCODING",
          "UTF-16 little-endian byte-order mark",
        );
      });
    }
    it("a U+FFFD written in the document (EF BF BD) is read, not taken for a decoding error", () => {
      for (const decl of ["", `<?xml version="1.0" encoding="UTF-8"?>`, `<?xml version="1.0"?>`]) {
        assert.equal(text(parseXml(bytes(decl, "<r>a", [0xef, 0xbf, 0xbd], "b</r>")).root), "a\ufffdb");
        refuses(
          bytes(decl, "<r>", [0xef, 0xbf, 0xbd], [0xff], "</r>"),
          "ENCODING",
          `offset ${decl.length + 6}`,
        );
      }
    });
    it("random bytes in a document: refused exactly when a strict UTF-8 decoder refuses them, else read as it reads them", () => {
      const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
      let seed = 16;
      const rand = (n: number): number => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed % n;
      };
      const interesting = [
        0x00, 0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0xa0, 0xbd,
      ];
      let refused = 0;
      for (let i = 0; i < 3000; i++) {
        const mid = Array.from({ length: 1 + rand(6) }, () => interesting[rand(interesting.length)] ?? 0x41);
        const doc = bytes(i % 2 === 0 ? `<?xml version="1.0" encoding="UTF-8"?>` : "", "<r>", mid, "</r>");
        let expected: string | null;
        try {
          expected = strict.decode(doc);
        } catch {
          expected = null;
        }
        if (expected === null) {
          refused++;
          refuses(doc, "ENCODING");
        } else {
          try {
            assert.equal(text(parseXml(doc).root), expected.slice(expected.indexOf("<r>") + 3, -4));
          } catch (err) {
            // well-formed UTF-8 can still be refused as XML (a control character): not an ENCODING error
            assert.ok(isVOEventError(err) && err.code !== "ENCODING", String(err));
          }
        }
      }
      assert.ok(refused > 500 && refused < 2900, `refused ${refused} of 3000`);
    });
    it("valid UTF-8, with and without its byte-order mark, is read", () => {
      assert.equal(text(parseXml(Buffer.from("<r>café €𝄞</r>")).root), "café €𝄞");
      assert.equal(
        text(parseXml(bytes([0xef, 0xbb, 0xbf], Buffer.from("<r>é</r>").toString("latin1"))).root),
        "é",
      );
    });
  });

  describe("encodings: declaration and byte-order mark honoured, others refused by name", () => {
    it("ISO-8859-1 is decoded as ISO-8859-1 (café, not caf\\uFFFD)", () => {
      const doc = parseXml(bytes('<?xml version="1.0" encoding="ISO-8859-1"?><r>caf', [0xe9], "</r>"));
      assert.equal(text(doc.root), "café");
    });
    it("US-ASCII: ASCII is read, a byte above 0x7f is refused with its offset", () => {
      assert.equal(text(parseXml(bytes('<?xml version="1.0" encoding="US-ASCII"?><r>ok</r>')).root), "ok");
      refuses(
        bytes('<?xml version="1.0" encoding="US-ASCII"?><r>', [0xe9], "</r>"),
        "ENCODING",
        "byte offset 44",
      );
    });
    for (const le of [true, false]) {
      it(`UTF-16 ${le ? "little" : "big"}-endian with its byte-order mark is read`, () => {
        const src = '<?xml version="1.0" encoding="UTF-16"?><r a="é">𝄞 ok</r>';
        const u = Buffer.from(`\ufeff${src}`, "utf16le");
        if (!le) u.swap16();
        const doc = parseXml(u);
        assert.equal(text(doc.root), "𝄞 ok");
        assert.equal(doc.root.attrs[0].value, "é");
      });
    }
    it('encoding="UTF-16" over UTF-8 bytes is refused', () =>
      refuses(bytes('<?xml version="1.0" encoding="UTF-16"?><r/>'), "ENCODING", '"UTF-16"'));
    it("a UTF-8 byte-order mark under an ISO-8859-1 declaration is refused", () =>
      refuses(bytes([0xef, 0xbb, 0xbf], '<?xml version="1.0" encoding="ISO-8859-1"?><r/>'), "ENCODING"));
    it("a UTF-16 byte-order mark under a UTF-8 declaration is refused", () =>
      refuses(Buffer.from('\ufeff<?xml version="1.0" encoding="UTF-8"?><r/>', "utf16le"), "ENCODING"));
    it("UTF-16 without a byte-order mark is refused", () =>
      refuses(Buffer.from("<?xml version='1.0'?><r/>", "utf16le"), "ENCODING", "byte-order mark"));
    for (const name of ["bogus", "Shift_JIS", "windows-1252", "EBCDIC-US"]) {
      it(`encoding="${name}" is refused by name, from bytes and from a string`, () => {
        refuses(bytes(`<?xml version="1.0" encoding="${name}"?><r/>`), "ENCODING", `"${name}"`);
        refuses(`<?xml version="1.0" encoding="${name}"?><r/>`, "ENCODING", `"${name}"`);
      });
    }
  });

  describe("characters XML forbids, anywhere", () => {
    const bad: [string, string][] = [
      ["U+0001 in a comment", "<r><!-- \u0001 --></r>"],
      ["U+0008 in a PI", "<r><?pi \u0008?></r>"],
      ["U+001F in CDATA", "<r><![CDATA[\u001f]]></r>"],
      ["U+FFFE in text", "<r>\ufffe</r>"],
      ["U+FFFF in an attribute", '<r a="\uffff"/>'],
      ["a form feed in text", "<r>\f</r>"],
      ["a lone high surrogate", "<r>\ud800</r>"],
      ["a lone low surrogate", "<r>\udc00x</r>"],
      ["U+FFFF in a comment after the root", "<r/><!--\uffff-->"],
    ];
    for (const [what, xml] of bad) it(what, () => refuses(xml, "MALFORMED", "is not allowed in XML"));
    it("a surrogate pair and U+10FFFF are fine", () => {
      assert.equal(text(parseXml("<r>\ud834\udd1e\udbff\udfff</r>").root), "\ud834\udd1e\udbff\udfff");
    });
  });

  describe("the XML declaration", () => {
    const bad: [string, string][] = [
      ["white space before it", ' <?xml version="1.0"?><r/>'],
      ["no version", '<?xml encoding="UTF-8"?><r/>'],
      ['version="2.0"', '<?xml version="2.0"?><r/>'],
      ['standalone="maybe"', '<?xml version="1.0" standalone="maybe"?><r/>'],
      ["an unknown pseudo-attribute", '<?xml version="1.0" valid="yes"?><r/>'],
      ["encoding before version", '<?xml encoding="UTF-8" version="1.0"?><r/>'],
      ["VERSION in capitals", '<?xml VERSION="1.0"?><r/>'],
      ["mismatched quotes", "<?xml version=\"1.0'?><r/>"],
      ["a second declaration", '<?xml version="1.0"?><r/><?xml version="1.0"?>'],
    ];
    for (const [what, xml] of bad) it(`refused: ${what}`, () => refuses(xml, "MALFORMED"));
    it("accepted: version 1.0 and 1.1, encoding, standalone, single quotes", () => {
      for (const d of [
        "<?xml version='1.0'?>",
        '<?xml version="1.1" encoding="utf-8" standalone="yes" ?>',
        "<?xml version = \"1.0\" standalone = 'no'?>",
      ]) {
        assert.equal(parseXml(`${d}<r/>`).root.name, "r", d);
      }
    });
  });

  describe("names follow XML 1.0 fifth edition", () => {
    for (const [what, ch] of [
      ["a combining mark first", "\u0301"],
      ["U+037E (Greek question mark)", "\u037e"],
      ["U+2190 (an arrow)", "\u2190"],
      ["U+3000 (ideographic space)", "\u3000"],
      ["U+FDD0 (a non-character)", "\ufdd0"],
      ["a digit first", "1"],
    ]) {
      it(`refused: ${what}`, () => refuses(`<${ch}a/>`, "MALFORMED"));
    }
    it("accepted: letters of many scripts, a combining mark after the first, U+10000", () => {
      for (const n of ["é", "日本", "a\u0301", "\u0391\u03b2", "x\u00b7y", "\ud800\udc00"]) {
        assert.equal(parseXml(`<${n}/>`).root.name, n);
      }
    });
  });

  describe("processing instructions", () => {
    it("refused: a target that is not a name, has a colon, or runs into its data", () => {
      refuses("<r><?-x?></r>", "MALFORMED");
      refuses("<r><?a:b x?></r>", "MALFORMED", "colon");
      refuses('<r><?pi"x"?></r>', "MALFORMED", "white space after");
      refuses("<r><?XmL x?></r>", "MALFORMED");
    });
    it("accepted: xml-stylesheet, an empty PI, line ends normalised", () => {
      const doc = parseXml('<?xml-stylesheet href="a.xsl"?><r><?empty?><?pi a\r\nb\rc?></r>');
      const pi = doc.root.children[1];
      assert.ok(pi.type === XNodeType.ProcessingInstruction);
      assert.equal(pi.value, "a\nb\nc");
    });
  });

  describe("comments", () => {
    it("line ends are normalised", () => {
      const c = parseXml("<r><!-- a\r\nb\rc --></r>").root.children[0];
      assert.ok(c.type === XNodeType.Comment);
      assert.equal(c.value, " a\nb\nc ");
    });
    it("'--' inside and '--->' are refused", () => {
      refuses("<r><!-- a -- b --></r>", "MALFORMED", "'--'");
      refuses("<r><!-- a ---></r>", "MALFORMED", "'--'");
    });
  });

  describe("Namespaces 1.0", () => {
    const bad: [string, string, string][] = [
      ["two colons in a name", '<p:a:b xmlns:p="urn:p"/>', "not a qualified name"],
      ["an empty local part", '<p: xmlns:p="urn:p"/>', "not a qualified name"],
      ["an empty prefix declared", '<r xmlns:="urn:x"/>', "not a qualified name"],
      ["the prefix xml rebound", '<r xmlns:xml="urn:x"/>', "prefix xml"],
      [
        "the xml namespace under another prefix",
        '<r xmlns:x="http://www.w3.org/XML/1998/namespace"/>',
        "only the prefix xml",
      ],
      ["the prefix xmlns declared", '<r xmlns:xmlns="urn:x"/>', "xmlns cannot be declared"],
      ["the xmlns namespace declared", '<r xmlns:x="http://www.w3.org/2000/xmlns/"/>', "cannot be declared"],
      [
        "the default namespace set to xmlns's",
        '<r xmlns="http://www.w3.org/2000/xmlns/"/>',
        "cannot be declared",
      ],
      ["an element with the prefix xmlns", "<xmlns:r/>", "reserved prefix xmlns"],
      ["a prefix bound to nothing", '<r xmlns:p=""/>', "empty name"],
      ["an unbound prefix", "<p:r/>", "not bound"],
      ["a namespace declared twice", '<r xmlns:a="urn:1" xmlns:a="urn:1"/>', "duplicate attribute"],
      [
        "one expanded attribute name twice",
        '<r xmlns:a="urn:1" xmlns:b="urn:1" a:x="1" b:x="2"/>',
        "same attribute",
      ],
      ["a namespace name with a space", '<r xmlns:p="urn:a b"/>', "not a URI reference"],
      ["a namespace name with a bad escape", '<r xmlns="urn:a%zz"/>', "not a URI reference"],
      ["a namespace name with non-ASCII", '<r xmlns:p="urn:é"/>', "not a URI reference"],
      ["a namespace name with two fragments", '<r xmlns:p="urn:a#b#c"/>', "not a URI reference"],
      ["a local part that is not a name", '<p:-r xmlns:p="urn:p"/>', "local part"],
    ];
    for (const [what, xml, part] of bad) it(`refused: ${what}`, () => refuses(xml, "MALFORMED", part));
    it("accepted: xml bound to its own name, a default namespace undeclared, a prefix rebound below", () => {
      const doc = parseXml(
        '<r xmlns:xml="http://www.w3.org/XML/1998/namespace" xmlns="urn:d" xmlns:p="urn:1"><p:a xmlns:p="urn:2" p:x="1"/><b xmlns=""/><p:c/></r>',
      );
      const [a, b, c] = doc.root.children as XElement[];
      assert.equal(doc.root.ns, "urn:d");
      assert.equal(a.ns, "urn:2");
      assert.equal(a.attrs[0].ns, "urn:2");
      assert.equal(b.ns, "");
      assert.equal(c.ns, "urn:1", "the inner rebinding ends with its element");
    });
  });

  describe("references", () => {
    it("&#x000000000041; (leading zeros) is accepted", () => {
      assert.equal(text(parseXml("<r>&#x000000000041;&#0000065;</r>").root), "AA");
    });
    it("refused: no digits, a non-character, beyond U+10FFFF, no ';'", () => {
      refuses("<r>&#x;</r>", "MALFORMED");
      refuses("<r>&#xFFFE;</r>", "MALFORMED", "not an XML character");
      refuses("<r>&#x110000;</r>", "MALFORMED", "not an XML character");
      refuses("<r>&#99999999999999999999;</r>", "MALFORMED", "not an XML character");
      refuses("<r>&amp</r>", "MALFORMED");
      refuses('<r a="&#65"/>', "MALFORMED");
    });
  });

  it("the corpus: exactly the packets refused before are refused now (the FRB samples start with prose)", () => {
    const dir = path.resolve(__dirname, "../../../shared/corpus/packets");
    const refused = new Set<string>();
    for (const f of readdirSync(dir)) {
      const buf = readFileSync(path.join(dir, f));
      for (const input of [buf, buf.toString("utf8")]) {
        try {
          parseXml(input);
        } catch (err) {
          assert.ok(isVOEventError(err) && err.code === "NOT_XML", `${f}: ${String(err)}`);
          refused.add(f);
        }
      }
    }
    assert.deepEqual([...refused].sort(), [
      "FRB_VOEvent__01-Detection.xml",
      "FRB_VOEvent__02-Subsequent.xml",
      "FRB_VOEvent__03-Update.xml",
      "FRB_VOEvent__04-Retraction.xml",
      "FRB_VOEvent__FRB140514_update.xml",
      "FRB_VOEvent__I-Search.xml",
      "FRB_VOEvent__II-Targeted.xml",
    ]);
  });
});
