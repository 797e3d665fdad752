/**
 * The edges of the parser's fast paths (issue 16): plain text and indentation, plain attribute
 * values, end tags matched by the open element's name, attributes made as they are read and
 * resolved after the tag's declarations. On each side of each edge the tree, or the refusal's
 * message, is the one the careful code gives (test/xml/answers.test.ts checks the same on
 * ~95,000 inputs against the old parser's recorded answers).
 */
import assert from "node:assert/strict";
import { isVOEventError } from "../../src/errors";
import { parseXml } from "../../src/xml/parse";
import { type XElement, XNodeType } from "../../src/xml/types";

function refuses(input: string, message: string): void {
  assert.throws(
    () => parseXml(input),
    (err: unknown) => isVOEventError(err) && err.message === message,
    `expected ${JSON.stringify(message)}`,
  );
}

/** The element's children as [kind, value or name]. */
function kids(el: XElement): [string, string][] {
  return el.children.map((c) =>
    c.type === XNodeType.Element
      ? ["element", c.name]
      : c.type === XNodeType.Text
        ? ["text", c.value]
        : c.type === XNodeType.Comment
          ? ["comment", c.value]
          : ["pi", c.target],
  );
}

describe("xml: the fast paths give the careful code's answers", () => {
  describe("text", () => {
    it("indentation, short and long, with tabs and blank lines, is read as written", () => {
      const long = `\n${" ".repeat(70)}`;
      const doc = parseXml(`<r>\n  <a/>\n\t<b/>\n\n  <c/>${long}<d/>\n</r>`);
      assert.deepEqual(kids(doc.root), [
        ["text", "\n  "],
        ["element", "a"],
        ["text", "\n\t"],
        ["element", "b"],
        ["text", "\n\n  "],
        ["element", "c"],
        ["text", long],
        ["element", "d"],
        ["text", "\n"],
      ]);
      assert.deepEqual(
        doc.root.children.map((c) => c.order),
        [2, 3, 4, 5, 6, 7, 8, 9, 10],
      );
    });

    it("text beside a CDATA section is one text node, in either order", () => {
      assert.deepEqual(kids(parseXml("<r><![CDATA[a<]]>b</r>").root), [["text", "a<b"]]);
      assert.deepEqual(kids(parseXml("<r>x<![CDATA[a]]></r>").root), [["text", "xa"]]);
      assert.deepEqual(kids(parseXml("<r>x<![CDATA[a]]><!--c-->y</r>").root), [
        ["text", "xa"],
        ["comment", "c"],
        ["text", "y"],
      ]);
    });

    it("'>', references, CR LF and non-ASCII in text are read; ']]>' and U+FFFE are refused", () => {
      assert.deepEqual(kids(parseXml("<r>a>b &amp; c\r\nd é𝄞</r>").root), [["text", "a>b & c\nd é𝄞"]]);
      refuses("<r>a]]>b</r>", "XML is not well-formed: ']]>' in text (line 1, column 5)");
      refuses(
        "<r>a\ufffeb</r>",
        "XML is not well-formed: character U+FFFE is not allowed in XML (line 1, column 5)",
      );
    });
  });

  describe("end tags", () => {
    it("white space before '>' and a prefixed name are taken", () => {
      const doc = parseXml('<p:a xmlns:p="urn:p"><b></b ></p:a\n>');
      assert.equal(doc.root.local, "a");
      assert.deepEqual(kids(doc.root), [["element", "b"]]);
    });

    it("a name that only starts like the open element's, or is only its start, does not match", () => {
      refuses(
        "<ab></a>",
        "XML is not well-formed: end tag </a> does not match start tag <ab> (line 1, column 5)",
      );
      refuses(
        "<a></ab>",
        "XML is not well-formed: end tag </ab> does not match start tag <a> (line 1, column 4)",
      );
      refuses("<a></a", "XML is not well-formed: expected '>' to close end tag </a (line 1, column 7)");
    });
  });

  describe("attribute values", () => {
    it("white space around '=', either quote, references, tabs and line ends, non-ASCII", () => {
      const doc = parseXml(`<r a = "x'y" b='x"y' c="1 &lt; 2" d="t\tn\nr\r\nend" e="é€𝄞"/>`);
      assert.deepEqual(
        doc.root.attrs.map((a) => [a.name, a.value]),
        [
          ["a", "x'y"],
          ["b", 'x"y'],
          ["c", "1 < 2"],
          ["d", "t n r end"],
          ["e", "é€𝄞"],
        ],
      );
    });

    it("'<' and a missing closing quote are refused where they are", () => {
      refuses('<r a="x<y"/>', "XML is not well-formed: '<' in the value of attribute a (line 1, column 8)");
      refuses('<r a="x/>', "XML is not well-formed: unterminated value of attribute a (line 1, column 6)");
    });
  });

  describe("attributes and namespaces", () => {
    it("a prefixed attribute takes a declaration that follows it on the same tag; orders as written", () => {
      const doc = parseXml('<r p:a="1" b="2" xmlns:p="urn:p"><c/></r>');
      assert.deepEqual(
        doc.root.attrs.map((a) => [a.name, a.prefix, a.local, a.ns, a.order, a.parent === doc.root]),
        [
          ["p:a", "p", "a", "urn:p", 2, true],
          ["b", "", "b", "", 3, true],
        ],
      );
      assert.deepEqual(doc.root.nsDecls, [{ prefix: "p", uri: "urn:p" }]);
      assert.equal((doc.root.children[0] as XElement).order, 4);
    });

    it("two names of one expanded name, and an unbound prefix, are refused", () => {
      refuses(
        '<r xmlns:p="urn:u" xmlns:q="urn:u" p:a="1" q:a="2"/>',
        "XML is not well-formed: attributes q:a and another name the same attribute {urn:u}a in <r> (line 1, column 44)",
      );
      refuses(
        '<r a="1" p:b="2"/>',
        "XML is not well-formed: namespace prefix p is not bound (line 1, column 10)",
      );
    });

    it("a default namespace applies inside its element only", () => {
      const doc = parseXml('<r><a xmlns="urn:a"><b/></a><c/><d xmlns=""/></r>');
      const [a, c, d] = doc.root.children as XElement[];
      assert.deepEqual(
        [doc.root.ns, a.ns, (a.children[0] as XElement).ns, c.ns, d.ns],
        ["", "urn:a", "urn:a", "", ""],
      );
    });

    it("names with a colon first, last, twice, or before a non-name-start are refused", () => {
      refuses(
        "<a:b:c/>",
        "XML is not well-formed: element name a:b:c is not a qualified name (Namespaces 1.0) (line 1, column 2)",
      );
      refuses(
        "<:a/>",
        "XML is not well-formed: element name :a is not a qualified name (Namespaces 1.0) (line 1, column 2)",
      );
      refuses(
        '<r a:="1"/>',
        "XML is not well-formed: attribute name a: is not a qualified name (Namespaces 1.0) (line 1, column 4)",
      );
      refuses(
        "<a:1/>",
        "XML is not well-formed: element name a:1: the local part does not start a name (line 1, column 2)",
      );
    });
  });
  describe("XML declarations", () => {
    // The answers of the code before the two usual declarations skipped the regular expression.
    it("the two usual declarations, with or without a byte-order mark, are taken", () => {
      for (const input of [
        '<?xml version="1.0" encoding="UTF-8"?>\n<r a="1"/>',
        "<?xml version='1.0' encoding='UTF-8'?><r/>",
        '\ufeff<?xml version="1.0" encoding="UTF-8"?><r/>',
        '<?xml version="1.0" encoding="UTF-8" ?><r/>',
      ]) {
        const doc = parseXml(input);
        assert.equal(doc.root.name, "r", JSON.stringify(input));
        assert.equal(doc.children.length, 1);
      }
    });

    it("what follows one is read as before: a second declaration, no root, white space before it, a bad end", () => {
      refuses(
        '<?xml version="1.0" encoding="UTF-8"?><?xml version="1.0"?><r/>',
        "XML is not well-formed: XML declaration not at the start of the document (line 1, column 39)",
      );
      refuses(
        '<?xml version="1.0" encoding="UTF-8"?>',
        "XML is not well-formed: no root element (line 1, column 39)",
      );
      refuses(
        ' <?xml version="1.0" encoding="UTF-8"?><r/>',
        "XML is not well-formed: white space before the XML declaration (line 1, column 1)",
      );
      refuses(
        '<?xml version="1.0" encoding="UTF-8"?x><r/>',
        "XML is not well-formed: unterminated XML declaration (line 1, column 1)",
      );
      refuses(
        '<?xml version="1.0" encoding="UTF-8"?><r/><?xml version="1.0" encoding="UTF-8"?>',
        "XML is not well-formed: XML declaration not at the start of the document (line 1, column 43)",
      );
    });
  });
});
