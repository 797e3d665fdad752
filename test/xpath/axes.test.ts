import assert from "node:assert/strict";
import { compileXPath } from "../../src/xpath";
import { ev, labels, names, nodes, parse } from "./helpers";

/**
 * Document order: #document, pi-top, #comment(top), r, @a, @b, x(x1), @id, "one", y, "two",
 * #comment(c1), p1, "three", x(x2), @id, y, "four", z, y, "five", w.
 */
const DOC = parse(
  '<?pi-top x?><!--top--><r a="1" b="2"><x id="x1">one<y>two</y><!--c1--><?p1 data?>three</x>' +
    '<x id="x2"><y>four</y><z><y>five</y></z></x><w/></r>',
);

const l = (expr: string): string[] => labels(ev(expr, DOC));
const n = (expr: string): string[] => names(ev(expr, DOC));

describe("xpath: axes and node tests", () => {
  it("child", () => {
    assert.deepEqual(n("/node()"), ["pi-top", "#comment", "r"]);
    assert.deepEqual(n("/r/node()"), ["x", "x", "w"]);
    assert.deepEqual(l("/r/x[1]/node()"), ['"one"', "y", "#comment", "p1", '"three"']);
    assert.deepEqual(l("/r/x/child::text()"), ['"one"', '"three"']);
    assert.deepEqual(n("/r/@a/node()"), []);
  });

  it("descendant and descendant-or-self", () => {
    assert.deepEqual(l("/r/descendant::y/text()"), ['"two"', '"four"', '"five"']);
    assert.equal(ev("count(/r/descendant::node())", DOC), 14);
    assert.equal(ev("count(/descendant::node())", DOC), 17);
    assert.deepEqual(n("/r/x[2]/descendant-or-self::*"), ["x", "y", "z", "y"]);
    assert.deepEqual(n("//z/descendant-or-self::y"), ["y"]);
    assert.deepEqual(l("//y/descendant-or-self::text()"), ['"two"', '"four"', '"five"']);
    assert.deepEqual(n("/r/@a/descendant-or-self::node()"), ["a"]);
    assert.deepEqual(n("/r/@a/descendant::node()"), []);
    assert.deepEqual(n("//comment()"), ["#comment", "#comment"]);
    assert.deepEqual(n("//processing-instruction()"), ["pi-top", "p1"]);
    assert.deepEqual(n("//processing-instruction('p1')"), ["p1"]);
    assert.deepEqual(n("//processing-instruction('nope')"), []);
  });

  it("parent, ancestor, ancestor-or-self (reverse axes count backwards)", () => {
    assert.deepEqual(n("//y/parent::*"), ["x", "x", "z"]);
    assert.deepEqual(n("//y/.."), ["x", "x", "z"]);
    assert.deepEqual(n("/.."), []);
    assert.deepEqual(n("//y[.='five']/ancestor::*"), ["r", "x", "z"]);
    assert.deepEqual(n("//y[.='five']/ancestor::node()"), ["#document", "r", "x", "z"]);
    assert.deepEqual(n("//y[.='five']/ancestor::*[1]"), ["z"]);
    assert.deepEqual(n("//y[.='five']/ancestor::*[last()]"), ["r"]);
    assert.deepEqual(l("//y[.='five']/ancestor::*[2]/@id"), ["id=x2"]);
    assert.deepEqual(n("//y[.='five']/ancestor-or-self::*[1]"), ["y"]);
    assert.deepEqual(n("//y[.='five']/ancestor-or-self::*[position() > 1 and position() < 4]"), ["x", "z"]);
    // Per context node: y(two) → r; y(four) → r; y(five) → x2.
    assert.deepEqual(l("//y/ancestor::*[2]/@id | //y/ancestor::*[2][not(@id)]"), ["r", "id=x2"]);
    assert.deepEqual(n("//y/ancestor::*"), ["r", "x", "x", "z"]);
    assert.deepEqual(n("//@id/.."), ["x", "x"]);
    assert.deepEqual(n("//@id/ancestor::*"), ["r", "x", "x"]);
    assert.deepEqual(n("/ancestor::node()"), []);
  });

  it("following-sibling and preceding-sibling", () => {
    assert.deepEqual(l("/r/x[1]/following-sibling::*/@id | /r/w"), ["id=x2", "w"]);
    assert.deepEqual(l("/r/x[1]/following-sibling::*[1]/@id"), ["id=x2"]);
    assert.deepEqual(l("/r/w/preceding-sibling::*[1]/@id"), ["id=x2"]);
    assert.deepEqual(l("/r/w/preceding-sibling::*/@id"), ["id=x1", "id=x2"]);
    assert.deepEqual(l("/r/w/preceding-sibling::*[last()]/@id"), ["id=x1"]);
    assert.deepEqual(l("/r/x[1]/y/following-sibling::node()"), ["#comment", "p1", '"three"']);
    assert.deepEqual(l("/r/x[1]/y/preceding-sibling::node()"), ['"one"']);
    assert.deepEqual(n("/r/@a/following-sibling::node()"), []);
    assert.deepEqual(n("/r/@b/preceding-sibling::node()"), []);
    assert.deepEqual(n("/r/following-sibling::node()"), []);
    assert.deepEqual(n("/r/preceding-sibling::node()"), ["pi-top", "#comment"]);
    // From several context nodes.
    assert.deepEqual(n("/r/*/following-sibling::*"), ["x", "w"]);
    assert.deepEqual(l("/r/*/preceding-sibling::*[1]/@id"), ["id=x1", "id=x2"]);
  });

  it("following and preceding (no descendants, no ancestors, no attributes)", () => {
    assert.deepEqual(l("(//y)[1]/following::node()"), [
      "#comment",
      "p1",
      '"three"',
      "x",
      "y",
      '"four"',
      "z",
      "y",
      '"five"',
      "w",
    ]);
    assert.deepEqual(n("/r/x[1]/following::*"), ["x", "y", "z", "y", "w"]);
    assert.deepEqual(l("(//y)[3]/preceding::*/text()"), ['"one"', '"two"', '"three"', '"four"']);
    assert.deepEqual(n("(//y)[3]/preceding::*"), ["x", "y", "y"]);
    assert.deepEqual(l("(//y)[3]/preceding::*[1]/text()"), ['"four"']);
    assert.deepEqual(l("(//y)[3]/preceding::node()[1]"), ['"four"']);
    assert.deepEqual(l("(//y)[3]/preceding::node()[last()]"), ["pi-top"]);
    assert.deepEqual(n("/r/w/following::node()"), []);
    assert.deepEqual(n("/following::node()"), []);
    assert.deepEqual(n("/preceding::node()"), []);
    // From an attribute: its element's children follow it; what precedes the element precedes it.
    assert.deepEqual(l("/r/x[1]/@id/following::node()[1]"), ['"one"']);
    assert.deepEqual(n("/r/@b/following::*[1]"), ["x"]);
    assert.deepEqual(l("/r/x[2]/@id/preceding::*[1]/text()"), ['"two"']);
    assert.deepEqual(n("/r/@a/preceding::node()"), ["pi-top", "#comment"]);
    // Several contexts: the union.
    assert.deepEqual(n("//y/following::*"), ["x", "y", "z", "y", "w"]);
    assert.deepEqual(n("//y/preceding::*"), ["x", "y", "y"]);
    assert.deepEqual(l("//y/preceding::text()[1]"), ['"one"', '"three"', '"four"']);
  });

  it("attribute, self and namespace", () => {
    assert.deepEqual(l("/r/@*"), ["a=1", "b=2"]);
    assert.deepEqual(l("//@id"), ["id=x1", "id=x2"]);
    assert.deepEqual(l("/r/attribute::b"), ["b=2"]);
    assert.deepEqual(n("/r/@node()"), ["a", "b"]);
    assert.deepEqual(n("/r/@text()"), []);
    assert.deepEqual(n("//*[self::y or self::w]"), ["y", "y", "y", "w"]);
    assert.deepEqual(n("/self::node()"), ["#document"]);
    assert.deepEqual(n("/r/self::x"), []);
    assert.deepEqual(n("/r/@a/self::node()"), ["a"]);
    assert.deepEqual(n("/r/@a/self::*"), []);
    // The namespace axis: a node per namespace in scope, xml included (more in namespace-axis.test.ts).
    const ns = parse('<v:e xmlns:v="urn:v" xmlns="urn:d"><c/></v:e>');
    assert.deepEqual(names(ev("/*/namespace::*", ns)), ["xml", "", "v"]);
    assert.equal(ev("count(//namespace::node())", ns), 6);
    assert.deepEqual(names(ev("/*/namespace::v", ns)), ["v"]);
  });

  it("positional predicates apply per step and context, in order", () => {
    assert.deepEqual(l("//y[1]/text()"), ['"two"', '"four"', '"five"']);
    assert.deepEqual(n("//y[2]"), []);
    assert.deepEqual(l("(//y)[2]/text()"), ['"four"']);
    assert.deepEqual(l("(//y)[last()]/text()"), ['"five"']);
    assert.deepEqual(l("/r/*[2]/@id"), ["id=x2"]);
    assert.deepEqual(n("/r/*[last()]"), ["w"]);
    assert.deepEqual(l("/r/*[position() = last() - 1]/@id"), ["id=x2"]);
    assert.deepEqual(l("/r/x[@id='x2'][1]/@id"), ["id=x2"]);
    assert.deepEqual(n("/r/x[1][@id='x2']"), []);
    assert.deepEqual(n("/r/*[0]"), []);
    assert.deepEqual(n("/r/*[1.5]"), []);
    assert.deepEqual(n("/r/*[4]"), []);
    assert.deepEqual(l("/r/*[number('2')]/@id"), ["id=x2"]);
    assert.deepEqual(l("/r/*[position() mod 2 = 1][2]"), ["w"]);
    assert.deepEqual(l("/r/*[last()][1]"), ["w"]);
    assert.deepEqual(l("/r/x[y][last()]/@id"), ["id=x2"]);
    assert.deepEqual(l("(/r/x/@id)[2]"), ["id=x2"]);
    assert.deepEqual(l("(//y/text())[position() > 1]"), ['"four"', '"five"']);
    assert.deepEqual(l("(//y | //w)[last()]"), ["w"]);
    assert.deepEqual(n("(//y)[position() = 2]/following-sibling::*"), ["z"]);
  });

  it("node sets are in document order without duplicates", () => {
    assert.deepEqual(n("//w | //y/.. | /r/x"), ["x", "x", "z", "w"]);
    assert.deepEqual(n("(//z | //x)[1]"), ["x"]);
    assert.deepEqual(n("//y/ancestor-or-self::* | //y"), ["r", "x", "y", "x", "y", "z", "y"]);
    assert.deepEqual(n("//*//y"), ["y", "y", "y"]);
    assert.deepEqual(n("//x//y | //z//y"), ["y", "y", "y"]);
    const r = ev("//y/ancestor::*", DOC);
    const orders = nodes(r).map((x) => x.order);
    assert.deepEqual(
      orders,
      [...orders].sort((a, b) => a - b),
    );
  });

  it("returns a fresh array that callers may keep", () => {
    const c = compileXPath("//y");
    const a = nodes(c.evaluate(DOC)) as unknown as unknown[];
    a.length = 0;
    assert.equal(nodes(c.evaluate(DOC)).length, 3);
  });
});
