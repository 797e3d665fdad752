/**
 * Issue 18 point 5: the namespace axis, as XPath 1.0 defines it (§5.4 and §2.2): a
 * namespace node for every namespace in scope on an element, `xml` included; name() and
 * local-name() the prefix, namespace-uri() empty, string-value the URI, the element its
 * parent; in document order after the element and before its attributes; inside the
 * evaluation budget.
 *
 * Differential: against lxml (libxml2, what Comet evaluates subscribers' filters with;
 * Debian's python3-lxml, installed by scripts/ensure-test-tools.sh) on every well-formed
 * corpus packet and the documents below, for the expressions of NS_EXPRESSIONS. Namespace
 * node sets are compared as sets of prefix=URI (their order among themselves is left to the
 * implementation). Where libxml2 departs from XPath 1.0, its answer is not the reference and
 * the case is a unit test here instead:
 * - libxml2 lists a namespace node with an empty URI for `xmlns=""` (XPath: that undeclares
 *   the default namespace, no node); the lxml side drops it.
 * - libxml2 puts namespace nodes before their element in document order and gives them no
 *   following or preceding nodes; XPath puts them after it, and their following nodes are
 *   the element's children and what comes after, as an attribute's.
 * (The `xpath` npm package, the other differential oracle, implements the axis only in
 * part: no parent, node() does not match, `xmlns=""` not honoured.)
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import type { XNode } from "../../src/xml/types";
import { compileXPath, stringValue, type XPathValue } from "../../src/xpath";
import { describeXPathCorpus, parse, wellFormedPackets } from "./helpers";

const PYTHON = "/usr/bin/python3";

const NS_EXPRESSIONS = [
  "count(/*/namespace::*)",
  "count(//*/namespace::*)",
  "count(//namespace::*)",
  "/*/namespace::*",
  "//*[last()]/namespace::*",
  "string(/*/namespace::xml)",
  "string(/*/namespace::voe)",
  "string(/*/namespace::xsi)",
  "name(/*/namespace::*[. = 'http://www.w3.org/2001/XMLSchema-instance'])",
  "local-name(/*/namespace::*[. = 'http://www.w3.org/XML/1998/namespace'])",
  "namespace-uri(/*/namespace::*[1])",
  "count(/*/namespace::xml/..)",
  "name(/*/namespace::*[1]/..)",
  "count(/*/namespace::node())",
  "count(/*/namespace::text())",
  "count(/*/namespace::*[name() = ''])",
  "count(//*[namespace::*[. = 'http://www.ivoa.net/xml/VOEvent/v2.0']])",
  "count(/*/*[1]/namespace::*/ancestor::*)",
  "count(/*/namespace::* | /*/@*)",
  "count(/*/namespace::* | /*/namespace::*)",
  "count(//Param[1]/namespace::*[. = ../../namespace::*])",
  "boolean(//What/namespace::*[contains(., 'VOEvent')])",
  "count(//*/namespace::*[string-length(.) > 30])",
];

/** Documents of our own: nested declarations, a redeclared prefix, a default namespace. */
const DOCS = [
  `<a xmlns="urn:a" xmlns:p="urn:p" p:x="1"><b xmlns:q="urn:q"><c xmlns:p="urn:p2" y="2"/></b><d/></a>`,
  `<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" role="test"><What xmlns:x="urn:x"><Param name="a" value="1"/></What></voe:VOEvent>`,
  "<plain><Param/></plain>",
];

/** Our result in the normal form: namespace and other node sets as sorted name=value lines. */
function ours(v: XPathValue): unknown {
  if (typeof v !== "object") return v;
  return v.map((n: XNode) => `${"name" in n ? n.name : ""}=${stringValue(n)}`).sort();
}

const LXML_SCRIPT = `
import json, sys
from lxml import etree
job = json.load(sys.stdin)
out = []
for text in job["docs"]:
    tree = etree.fromstring(text.encode("utf-8"), etree.XMLParser(resolve_entities=False)).getroottree()
    row = []
    for expr in job["exprs"]:
        v = tree.xpath(expr)
        if isinstance(v, list):
            lines = []
            for n in v:
                if isinstance(n, tuple):
                    if n[0] is None and n[1] == "":
                        continue  # libxml2's node for xmlns="" (XPath 1.0 has none)
                    lines.append((n[0] or "") + "=" + n[1])
                else:
                    lines.append("?")
            v = sorted(lines)
        row.append(v)
    out.append(row)
json.dump(out, sys.stdout)
`;

function lxml(docs: string[], exprs: string[]): unknown[][] {
  assert.ok(existsSync(PYTHON), `${PYTHON} missing: run bash scripts/ensure-test-tools.sh`);
  const run = spawnSync(PYTHON, ["-c", LXML_SCRIPT], {
    input: JSON.stringify({ docs, exprs }),
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  assert.equal(run.status, 0, `lxml: ${run.stderr}`);
  return JSON.parse(run.stdout) as unknown[][];
}

function differences(texts: string[]): string[] {
  const theirs = lxml(texts, NS_EXPRESSIONS);
  const problems: string[] = [];
  texts.forEach((text, d) => {
    const doc = parse(text);
    NS_EXPRESSIONS.forEach((expr, i) => {
      const mine = ours(compileXPath(expr).evaluate(doc));
      const ref = theirs[d][i];
      if (JSON.stringify(mine) !== JSON.stringify(ref)) {
        problems.push(
          `${text.slice(0, 60)}…: ${expr}\n    ours: ${JSON.stringify(mine)}\n    lxml: ${JSON.stringify(ref)}`,
        );
      }
    });
  });
  return problems;
}

describe("xpath: the namespace axis (issue 18 point 5)", () => {
  const doc = parse(DOCS[0]);
  const value = (expr: string) => compileXPath(expr, { namespaces: { p: "urn:p" } }).evaluate(doc);

  it("one node per namespace in scope, xml included; the nearest declaration wins", () => {
    assert.equal(value("count(/*/namespace::*)"), 3);
    assert.deepEqual(ours(value("//*[local-name() = 'c']/namespace::*")), [
      "=urn:a",
      "p=urn:p2",
      "q=urn:q",
      "xml=http://www.w3.org/XML/1998/namespace",
    ]);
    assert.equal(value("count(//namespace::*)"), 3 + 4 + 4 + 3);
  });

  it('xmlns="" undeclares the default namespace: no node for it (libxml2 lists one)', () => {
    const d = parse(`<a xmlns="urn:a"><b xmlns=""/></a>`);
    assert.equal(compileXPath("count(/*/*/namespace::*)").evaluate(d), 1);
    assert.equal(
      compileXPath("string(/*/*/namespace::*)").evaluate(d),
      "http://www.w3.org/XML/1998/namespace",
    );
  });

  it("name() and local-name() are the prefix, namespace-uri() is empty, the string-value the URI", () => {
    assert.equal(value("name(/*/namespace::*[. = 'urn:p'])"), "p");
    assert.equal(value("local-name(/*/namespace::*[. = 'urn:a'])"), "");
    assert.equal(value("namespace-uri(/*/namespace::p)"), "");
    assert.equal(value("string(/*/namespace::p)"), "urn:p");
    assert.equal(value("count(/*/namespace::p:*)"), 0); // a namespace node's own namespace URI is empty
  });

  it("its parent is the element; only namespace::, name and node() tests select it", () => {
    assert.equal(value("name(/*/namespace::xml/..)"), "a");
    assert.equal(value("count(/*/namespace::node())"), 3);
    assert.equal(value("count(/*/namespace::text())"), 0);
    assert.equal(value("count(/*/@*)"), 1);
    assert.equal(value("count(//@*)"), 2);
  });

  it("document order: after its element, before the element's attributes and children", () => {
    assert.deepEqual(
      (value("/* | /*/namespace::* | /*/@* | /*/*[1]") as XNode[]).map((n) => ("name" in n ? n.name : "?")),
      ["a", "xml", "", "p", "p:x", "b"],
    );
    assert.equal(value("count(/*/namespace::* | /*/namespace::*)"), 3);
    // Following: as for an attribute, the element's descendants and what comes after.
    assert.equal(value("count(/*/namespace::xml/following::*)"), 3);
    assert.equal(value("count(//*[local-name() = 'c']/namespace::q/preceding::*)"), 0);
    assert.equal(value("name((/*/namespace::*)[last()])"), "p");
  });

  it("is charged to the evaluation budget", () => {
    const wide = parse(`<r xmlns:a="urn:a" xmlns:b="urn:b">${'<x xmlns:c="urn:c"/>'.repeat(5000)}</r>`);
    const x = compileXPath("count(//*/namespace::*[count(//*/namespace::*) > 0])");
    assert.throws(
      () => x.evaluate(wide),
      (err: Error & { code?: string }) => err.code === "XPATH_BUDGET",
    );
    const y = compileXPath("count(//*/namespace::*)", { budget: 2_000_000 });
    assert.equal(y.evaluate(wide), 1 * 3 + 5000 * 4);
    assert.ok(y.stepsUsed >= 5000 * 4, `${y.stepsUsed} steps`);
  });

  it("agrees with lxml on our own documents", () => {
    const problems = differences(DOCS);
    assert.equal(problems.length, 0, problems.join("\n"));
  });
});

describeXPathCorpus("xpath: the namespace axis against lxml on the corpus (issue 18 point 5)", () => {
  it("agrees on every well-formed corpus packet", () => {
    const packets = wellFormedPackets();
    assert.ok(packets.length >= 60, `${packets.length} packets`);
    const problems = differences(packets.map((p) => p.text));
    assert.equal(problems.length, 0, problems.slice(0, 5).join("\n"));
  });
});
