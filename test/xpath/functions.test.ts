import assert from "node:assert/strict";
import { numberToString, stringToNumber } from "../../src/xpath";
import { ev, names, parse } from "./helpers";

const DOC = parse(
  '<?xml version="1.0"?>\n' +
    '<v:E xmlns:v="urn:v" xmlns:o="urn:o" o:flag="1" id="root">' +
    '<p xml:lang="en-GB"><q>  Hello,\n\t world  </q><q xml:lang="fr">salut</q></p>' +
    "<n>1.5</n><n>2.5</n><n>-3</n><n>x</n><?pi some data?><!--note--><o:x>ns</o:x><e/></v:E>",
);
const v = (expr: string) => ev(expr, DOC);
const nan = (expr: string) => assert.ok(Number.isNaN(v(expr) as number), `${expr} is NaN`);

describe("xpath: core functions", () => {
  it("last, position, count", () => {
    assert.equal(v("last()"), 1);
    assert.equal(v("position()"), 1);
    assert.equal(v("count(//n)"), 4);
    assert.equal(v("count(//n[position() = last()])"), 1);
    assert.equal(v("string(//n[last()])"), "x");
    assert.equal(v("string(//n[position() = 2])"), "2.5");
    assert.equal(v("count(//nothing)"), 0);
    assert.deepEqual(names(v("//n[position() = 2 and last() = 4]")), ["n"]);
    assert.equal(v("string(//n[position() = 2 and last() = 4])"), "2.5");
  });

  it("id() is always empty (no DTD, so no ID attributes)", () => {
    assert.deepEqual(names(v("id('root')")), []);
    assert.deepEqual(names(v("id(//n)")), []);
    assert.equal(v("count(id('root')/*)"), 0);
  });

  it("local-name, namespace-uri, name", () => {
    assert.equal(v("local-name(/*)"), "E");
    assert.equal(v("name(/*)"), "v:E");
    assert.equal(v("namespace-uri(/*)"), "urn:v");
    assert.equal(v("name(/*/@*[1])"), "o:flag");
    assert.equal(v("local-name(/*/@*[1])"), "flag");
    assert.equal(v("namespace-uri(/*/@*[1])"), "urn:o");
    assert.equal(v("namespace-uri(/*/@id)"), "");
    assert.equal(v("name(//p)"), "p");
    assert.equal(v("namespace-uri(//p)"), "");
    assert.equal(v("name(//processing-instruction())"), "pi");
    assert.equal(v("local-name(//processing-instruction())"), "pi");
    assert.equal(v("name(//comment())"), "");
    assert.equal(v("name(//text()[1])"), "");
    assert.equal(v("name(/)"), "");
    assert.equal(v("name(//nothing)"), "");
    assert.equal(v("local-name()"), "");
    assert.deepEqual(names(v("//*[local-name() = 'x']")), ["o:x"]);
    assert.deepEqual(names(v("//*[name() = 'q'][2]")), ["q"]);
    assert.equal(v("name(/*/*[1]/@xml:lang)"), "xml:lang");
  });

  it("string, concat, starts-with, contains", () => {
    assert.equal(v("string(//n)"), "1.5", "first node in document order");
    assert.equal(v("string(//nothing)"), "");
    assert.equal(v("string(/)"), "  Hello,\n\t world  salut1.52.5-3xns");
    assert.equal(v("string(//comment())"), "note");
    assert.equal(v("string(//processing-instruction())"), "some data");
    assert.equal(v("string(/*/@*[1])"), "1");
    assert.equal(v("string(1 div 4)"), "0.25");
    assert.equal(v("string(true())"), "true");
    assert.equal(v("string('x')"), "x");
    assert.equal(v("string(//n[1] = 1.5)"), "true");
    assert.deepEqual(names(v("//*[string() = 'ns']")), ["o:x"]);
    assert.equal(v("concat('a', 1, true(), //n)"), "a1true1.5");
    assert.equal(v("concat(//nothing, '', 'z')"), "z");
    assert.equal(v("starts-with('VOEvent', 'VO')"), true);
    assert.equal(v("starts-with('VOEvent', '')"), true);
    assert.equal(v("starts-with('VO', 'VOEvent')"), false);
    assert.equal(v("contains(//q[2], 'lu')"), true);
    assert.equal(v("contains('abc', '')"), true);
    assert.equal(v("contains('', 'a')"), false);
  });

  it("substring-before, substring-after, substring", () => {
    assert.equal(v("substring-before('1999/04/01', '/')"), "1999");
    assert.equal(v("substring-after('1999/04/01', '/')"), "04/01");
    assert.equal(v("substring-before('abc', 'x')"), "");
    assert.equal(v("substring-after('abc', 'x')"), "");
    assert.equal(v("substring-before('abc', '')"), "");
    assert.equal(v("substring-after('abc', '')"), "abc");
    assert.equal(v("substring('12345', 2, 3)"), "234");
    assert.equal(v("substring('12345', 2)"), "2345");
    assert.equal(v("substring('12345', 1.5, 2.6)"), "234");
    assert.equal(v("substring('12345', 0, 3)"), "12");
    assert.equal(v("substring('12345', 0 div 0, 3)"), "");
    assert.equal(v("substring('12345', 1, 0 div 0)"), "");
    assert.equal(v("substring('12345', -42, 1 div 0)"), "12345");
    assert.equal(v("substring('12345', -1 div 0, 1 div 0)"), "");
    assert.equal(v("substring('12345', 1 div 0)"), "");
    assert.equal(v("substring('12345', 5, -1)"), "");
    assert.equal(v("substring('12345', 6)"), "");
    assert.equal(v("substring('12345', -1)"), "12345");
  });

  it("string-length, normalize-space, translate", () => {
    assert.equal(v("string-length('VOEvent')"), 7);
    assert.equal(v("string-length('')"), 0);
    assert.equal(v("string-length(//q[1])"), 18);
    assert.equal(v("string-length(//n[1])"), 3);
    assert.equal(v("count(//n[string-length() = 3])"), 2);
    assert.equal(v("normalize-space(//q[1])"), "Hello, world");
    assert.equal(v("normalize-space('  a \r\n b\t')"), "a b");
    assert.equal(v("normalize-space('')"), "");
    assert.equal(v("normalize-space('   ')"), "");
    assert.equal(v("normalize-space('\u00a0x\u00a0')"), "\u00a0x\u00a0", "only XML white space is stripped");
    assert.equal(v("string(//q[normalize-space() = 'salut'])"), "salut");
    assert.equal(v("translate('bar', 'abc', 'ABC')"), "BAr");
    assert.equal(v("translate('--aaa--', 'abc-', 'ABC')"), "AAA");
    assert.equal(v("translate('aaa', 'aa', 'bc')"), "bbb", "the first occurrence in 'from' counts");
    assert.equal(v("translate('role', '', 'x')"), "role");
  });

  it("counts characters, not UTF-16 units", () => {
    const d = parse("<r>a\u{1F52D}b\u{1D11E}</r>");
    assert.equal(ev("string-length(/r)", d), 4);
    assert.equal(ev("substring(/r, 2, 1)", d), "\u{1F52D}");
    assert.equal(ev("substring(/r, 3)", d), "b\u{1D11E}");
    assert.equal(ev("translate(/r, '\u{1F52D}', 'T')", d), "aTb\u{1D11E}");
  });

  it("boolean, not, true, false, lang", () => {
    assert.equal(v("boolean(//n)"), true);
    assert.equal(v("boolean(//nothing)"), false);
    assert.equal(v("boolean(0)"), false);
    assert.equal(v("boolean(-0)"), false);
    assert.equal(v("boolean(0 div 0)"), false);
    assert.equal(v("boolean(0.1)"), true);
    assert.equal(v("boolean('')"), false);
    assert.equal(v("boolean('false')"), true);
    assert.equal(v("not(//nothing)"), true);
    assert.equal(v("not(1)"), false);
    assert.equal(v("true() and not(false())"), true);
    assert.deepEqual(names(v("//q[lang('en')]")), ["q"]);
    assert.equal(v("string(//q[lang('en')])"), "  Hello,\n\t world  ");
    assert.equal(v("count(//*[lang('EN')])"), 2, "p and its first q; case-insensitive");
    assert.equal(v("count(//*[lang('en-gb')])"), 2);
    assert.equal(v("count(//*[lang('en-US')])"), 0);
    assert.equal(v("count(//*[lang('fr')])"), 1);
    assert.equal(v("count(//*[lang('e')])"), 0, "'e' is not a prefix up to a '-'");
    assert.equal(v("count(//n[lang('en')])"), 0);
    assert.equal(v("count(//p/@xml:lang[lang('en')])"), 1, "an attribute takes its element's language");
    assert.equal(v("lang('en')"), false, "the document node has no language");
  });

  it("number, sum, floor, ceiling, round", () => {
    assert.equal(v("number('12.5')"), 12.5);
    assert.equal(v("number(' \n-7 ')"), -7);
    assert.equal(v("number('.5')"), 0.5);
    assert.equal(v("number('5.')"), 5);
    nan("number('')");
    // Exponents, as libxml2 (and so Comet) reads them: a deliberate departure from XPath 1.0.
    assert.equal(v("number('1e3')"), 1000);
    assert.equal(v("number(' 9.1e-14 ')"), 9.1e-14);
    assert.equal(v("number('-2.5E+2')"), -250);
    assert.equal(v("number('.5e1')"), 5);
    assert.equal(v("1e-6 * 2"), 0.000002);
    nan("number('1e')");
    nan("number('1e+')");
    nan("number('e3')");
    nan("number('1e3.5')");
    nan("number('+1')");
    nan("number('0x10')");
    nan("number('Infinity')");
    nan("number('1 2')");
    nan("number(//nothing)");
    nan("number()");
    assert.equal(v("number(true())"), 1);
    assert.equal(v("number(//n)"), 1.5);
    assert.equal(v("string(//n[number() > 2])"), "2.5");
    assert.equal(v("sum(//n[position() < 4])"), 1);
    nan("sum(//n)");
    assert.equal(v("sum(//nothing)"), 0);
    assert.equal(v("floor(2.5)"), 2);
    assert.equal(v("floor(-2.5)"), -3);
    assert.equal(v("ceiling(2.1)"), 3);
    assert.equal(v("ceiling(-2.5)"), -2);
    assert.ok(Object.is(v("ceiling(-0.5)"), -0));
    assert.equal(v("round(2.5)"), 3);
    assert.equal(v("round(-2.5)"), -2);
    assert.equal(v("round(2.4999)"), 2);
    assert.ok(Object.is(v("round(-0.5)"), -0));
    assert.ok(Object.is(v("round(-0.2)"), -0));
    nan("round(0 div 0)");
    assert.equal(v("round(1 div 0)"), Number.POSITIVE_INFINITY);
    assert.equal(v("floor(//n[1])"), 1);
  });
});

describe("xpath: numbers as strings and strings as numbers", () => {
  const cases: [string, string][] = [
    ["string(0)", "0"],
    ["string(-0)", "0"],
    ["string(0 div 0)", "NaN"],
    ["string(1 div 0)", "Infinity"],
    ["string(-1 div 0)", "-Infinity"],
    ["string(1)", "1"],
    ["string(1.0)", "1"],
    ["string(-12)", "-12"],
    ["string(12.50)", "12.5"],
    ["string(0.1 + 0.2)", "0.30000000000000004"],
    ["string(1 div 3)", "0.3333333333333333"],
    ["string(-1 div 3)", "-0.3333333333333333"],
    ["string(1000000 * 1000000 * 1000000 * 1000000)", "1000000000000000000000000"],
    ["string(-1000000 * 1000000 * 1000000 * 1000000 * 1.5)", "-1500000000000000000000000"],
    ["string(0.000001 div 10)", "0.0000001"],
    ["string(1.5 div 100000000000)", "0.000000000015"],
    ["string(-0.0000001234)", "-0.0000001234"],
    ["string(123456789012345678)", "123456789012345680"],
    ["concat(2 * 0.5, '|', 7 div 2, '|', -0.5)", "1|3.5|-0.5"],
  ];
  for (const [expr, want] of cases) {
    it(`${expr} = "${want}"`, () => assert.equal(ev(expr, DOC), want));
  }

  it("formats every double without an exponent, and reads it back to the same value", () => {
    const samples = [
      5e-324,
      1.7976931348623157e308,
      1e21,
      1e-7,
      123.456e-20,
      9.87e25,
      Math.PI * 1e-10,
      2 ** 70,
    ];
    for (const x of samples) {
      for (const y of [x, -x]) {
        const s = numberToString(y);
        assert.doesNotMatch(s, /e/i, s);
        assert.equal(stringToNumber(s), y, s);
      }
    }
  });
});
