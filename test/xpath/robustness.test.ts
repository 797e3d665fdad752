/**
 * Evaluation never throws and never hangs: deep and wide documents, random documents
 * against the oracle, trees built by hand.
 */
import assert from "node:assert/strict";
import { parseXml } from "../../src/xml/parse";
import { type XDocument, type XElement, XNodeType } from "../../src/xml/types";
import { compileXPath, stringValue } from "../../src/xpath";
import { EXPRESSIONS } from "./expressions";
import { ev, names, parse } from "./helpers";
import { normaliseOurs, oracleEvaluate, oracleParse } from "./oracle";

const DEPTH = 100_000;
/**
 * The deep and wide documents below are far larger than the evaluation budget is sized for:
 * what they check (linear time, no stack overflow) is measured without it. The budget has
 * its own tests in test/adversarial/xpath-budget.test.ts.
 */
const UNLIMITED = { budget: Number.POSITIVE_INFINITY };

describe("xpath: robustness", function () {
  this.timeout(60_000);

  describe(`a chain ${DEPTH} elements deep`, () => {
    let doc: XDocument;
    before(() => {
      doc = parseXml(`${'<a k="v">'.repeat(DEPTH)}x${"</a>".repeat(DEPTH)}`, {
        maxBytes: 4 << 20,
        maxDepth: DEPTH,
        maxElements: DEPTH,
      });
    });

    const cases: [string, unknown][] = [
      ["count(//a)", DEPTH],
      ["count(//*//*)", DEPTH - 1],
      ["count(//a/a/a)", DEPTH - 2],
      ["count(//a[not(a)])", 1],
      ["string-length(string(/))", 1],
      ["count(//a/ancestor::*)", DEPTH - 1],
      ["count(//a/ancestor-or-self::a)", DEPTH],
      ["count(//a/..)", DEPTH],
      ["count(//@k/..)", DEPTH],
      ["count(//a/preceding::*)", 0],
      ["count(//a/following::node())", 0],
      ["count(//a/following-sibling::*)", 0],
      ["count(//a[ancestor::a[1]])", DEPTH - 1],
      ["count(//a[parent::a])", DEPTH - 1],
      ["count((//a)[last()]/ancestor::a[position() = 50000])", 1],
      ["count(//text()[ancestor::a[last()]])", 1],
      ["boolean(//a[@k = 'v'][a/a/a])", true],
      ["count(//a[last()])", DEPTH],
      ["count(//*[self::a][1])", DEPTH],
      ["count(/descendant::a[last()])", 1],
      ["count(//a[count(*) = 0])", 1],
      ["count(//*[. = 'x'])", DEPTH],
      ["count(//a[lang('en')])", 0],
      ["string-length(string((//a)[50000]))", 1],
    ];
    for (const [expr, want] of cases) {
      it(`${expr} = ${want}`, () => assert.equal(ev(expr, doc, UNLIMITED), want));
    }

    it("every differential expression evaluates, none of them quadratic", () => {
      for (const e of EXPRESSIONS) compileXPath(e, UNLIMITED).evaluate(doc);
    });
  });

  describe("100 000 siblings", () => {
    let doc: XDocument;
    before(() => {
      doc = parseXml(`<r>${'<x v="1"/><y/>'.repeat(50_000)}</r>`, {
        maxBytes: 4 << 20,
        maxElements: 100_001,
      });
    });
    const cases: [string, unknown][] = [
      ["count(/r/*)", 100_000],
      ["count(//x/following-sibling::y)", 50_000],
      ["count(//y/preceding-sibling::x)", 50_000],
      ["count(//x[following-sibling::*[1][self::y]])", 50_000],
      ["count(//y[preceding-sibling::*[1][self::x]])", 50_000],
      ["count(//x/following::*)", 99_999],
      ["count(//y/preceding::*)", 99_999],
      ["count(//x[last()])", 1],
      ["count(/r/x[last()])", 1],
      ["sum(//@v)", 50_000],
      ["count(//x | //y | //x)", 100_000],
      ["//x/@v = //y", false],
      ["//x/@v != //x/@v", false],
    ];
    for (const [expr, want] of cases) {
      it(`${expr} = ${want}`, () => assert.equal(ev(expr, doc, UNLIMITED), want));
    }

    it("every differential expression evaluates, none of them quadratic", () => {
      for (const e of EXPRESSIONS) compileXPath(e, UNLIMITED).evaluate(doc);
    });
  });

  describe("random documents against the oracle", () => {
    // A small seeded generator, so that a failure can be reproduced.
    let seed = 0x5eed;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const NAMES = ["a", "b", "c"];
    const randomXml = (): string => {
      let budget = 10 + rnd(40);
      const element = (depth: number): string => {
        budget--;
        const name = NAMES[rnd(3)];
        const attrs = rnd(3) === 0 ? ` n="${rnd(5)}"` : rnd(4) === 0 ? ` n="${rnd(5)}" m="t${rnd(3)}"` : "";
        let inner = "";
        const kids = depth > 6 ? 0 : rnd(4);
        for (let i = 0; i < kids && budget > 0; i++) {
          const k = rnd(8);
          if (k === 0) inner += `t${rnd(9)}`;
          else if (k === 1) inner += `<!--c${rnd(9)}-->`;
          else if (k === 2) inner += `<?p ${rnd(9)}?>`;
          else inner += element(depth + 1);
        }
        return `<${name}${attrs}>${inner}</${name}>`;
      };
      return element(0);
    };
    const EXPRS = [
      "//a",
      "//b/c",
      "//*[2]",
      "//*[last()]",
      "(//*)[3]",
      "//a[b]",
      "//*[@n > 2]",
      "//*[@n = //@n[1]]",
      "//b/ancestor::*[1]",
      "//c/ancestor-or-self::*[2]",
      "//a/descendant::*[2]",
      "//b/descendant-or-self::node()[3]",
      "//a/following-sibling::*[1]",
      "//c/preceding-sibling::node()[1]",
      "//a/following-sibling::node()",
      "//b/preceding-sibling::*",
      "//@n/..",
      "//node()[self::text() or self::comment()]",
      "//processing-instruction('p')",
      "//*[not(*)][position() mod 2 = 0]",
      "count(//*[count(*) > 1])",
      "sum(//@n)",
      "string(//*[@m][last()]/@m)",
      "//*[@m = 't1' or @n = '3']/@*",
      "//a | //c[1]",
      "(//a | //b)[position() > 1][2]",
      "//*[starts-with(name(), 'b')][1]/text()",
      "normalize-space(/)",
      "string-length(string(//a[last()]))",
      "//*[. = 't1']",
      "//b[../a]",
      "//*[parent::a and following-sibling::b]",
      "//*[preceding-sibling::*[2][self::c]]",
      "//text()[1]",
      "//comment()/..",
    ];
    it("agree on 300 random documents", () => {
      const compiledExprs = EXPRS.map((e) => compileXPath(e));
      for (let round = 0; round < 300; round++) {
        const xml = randomXml();
        const doc = parse(xml);
        const od = oracleParse(xml);
        EXPRS.forEach((e, i) => {
          const ours = normaliseOurs(compiledExprs[i].evaluate(doc), stringValue);
          const theirs = oracleEvaluate(od, e);
          assert.deepEqual(ours, theirs, `${e} on ${xml}`);
        });
      }
    });
  });

  describe("trees built by hand", () => {
    const build = (badOrders: boolean): XDocument => {
      const doc: XDocument = {
        type: XNodeType.Document,
        children: [],
        root: undefined as unknown as XElement,
        order: 0,
      };
      let order = 1;
      const el = (name: string, parent: XElement | XDocument): XElement => {
        const e: XElement = {
          type: XNodeType.Element,
          name,
          local: name,
          prefix: "",
          ns: "",
          attrs: [],
          nsDecls: [],
          children: [],
          parent,
          order: badOrders ? 0 : order++,
        };
        (parent.children as XElement[]).push(e);
        return e;
      };
      const root = el("VOEvent", doc);
      doc.root = root;
      root.attrs.push({
        type: XNodeType.Attribute,
        name: "role",
        local: "role",
        prefix: "",
        ns: "",
        value: "test",
        parent: root,
        order: badOrders ? 0 : order++,
      });
      const what = el("What", root);
      for (const v of ["1", "2"]) {
        const p = el("Param", what);
        p.children.push({ type: XNodeType.Text, value: v, parent: p, order: badOrders ? 0 : order++ });
      }
      return doc;
    };

    it("evaluate like parsed ones when their orders follow the document", () => {
      const doc = build(false);
      assert.equal(ev("string(//Param[2])", doc), "2");
      assert.equal(ev("/voe:VOEvent[@role = 'test']/What/Param[last()] = 2", doc), true);
      assert.deepEqual(names(ev("//Param/preceding::*", doc)), ["Param"]);
    });

    it("do not throw even when their orders are wrong", () => {
      const doc = build(true);
      for (const e of EXPRESSIONS) compileXPath(e).evaluate(doc);
      assert.equal(ev("count(//Param)", doc), 2);
    });
  });
});
