import assert from "node:assert/strict";
import { compileXPath } from "../../src/xpath";
import { ev, parse } from "./helpers";

const DOC = parse(
  '<r><p name="a" value="10"/><p name="b" value="20"/><p name="c" value="x"/>' +
    "<n>1</n><n>2</n><n>3</n><s>abc</s><s>abd</s><e></e><t>10.0</t></r>",
);
const v = (expr: string) => ev(expr, DOC);

describe("xpath: operators", () => {
  it("or / and short-circuit and convert their operands to booleans", () => {
    assert.equal(v("true() or false()"), true);
    assert.equal(v("false() or 0"), false);
    assert.equal(v("1 and 'x' and //p"), true);
    assert.equal(v("1 and ''"), false);
    assert.equal(v("//nothing or //p[@name='b']"), true);
    assert.equal(v("//p and //nothing"), false);
    assert.equal(v("0 div 0 or false()"), false);
    assert.equal(v("false() and number('x') = number('x')"), false);
    // and binds tighter than or.
    assert.equal(v("true() or false() and false()"), true);
    assert.equal(v("(true() or false()) and false()"), false);
  });

  it("arithmetic, div, mod (sign of the dividend), unary minus", () => {
    assert.equal(v("1 + 2 * 3"), 7);
    assert.equal(v("(1 + 2) * 3"), 9);
    assert.equal(v("10 - 4 - 3"), 3);
    assert.equal(v("7 div 2"), 3.5);
    assert.equal(v("7 mod 3"), 1);
    assert.equal(v("-7 mod 3"), -1);
    assert.equal(v("7 mod -3"), 1);
    assert.equal(v("5.5 mod 2"), 1.5);
    assert.equal(v("1 div 0"), Number.POSITIVE_INFINITY);
    assert.equal(v("-1 div 0"), Number.NEGATIVE_INFINITY);
    assert.ok(Number.isNaN(v("0 div 0") as number));
    assert.ok(Object.is(v("-0"), -0));
    assert.equal(v("- -3"), 3);
    assert.equal(v("--3"), 3);
    assert.equal(v("-'2'"), -2);
    assert.equal(v("//p[1]/@value * 2"), 20);
    assert.equal(v("//n[1] + //n[3]"), 4);
    assert.ok(Number.isNaN(v("//nothing + 1") as number), "an empty node set is NaN as a number");
    assert.ok(Number.isNaN(v("//p[3]/@value + 1") as number));
    assert.equal(v("true() + true()"), 2);
    assert.ok(Number.isNaN(v("'' + 1") as number));
  });

  it("= and != between scalars: booleans first, then numbers, then strings", () => {
    assert.equal(v("true() = 1"), true);
    assert.equal(v("false() = ''"), true);
    assert.equal(v("'0' = false()"), false, "'0' is a non-empty string: true");
    assert.equal(v("1 = '1.0'"), true);
    assert.equal(v("'1' = '1.0'"), false);
    assert.equal(v("0 div 0 = 0 div 0"), false);
    assert.equal(v("0 div 0 != 0 div 0"), true);
    assert.equal(v("'abc' != 'abd'"), true);
  });

  it("< <= > >= always compare numbers", () => {
    assert.equal(v("1 < 2"), true);
    assert.equal(v("'10' > '9'"), true);
    assert.equal(v("'abc' < 'abd'"), false, "NaN compares false");
    assert.equal(v("'abc' >= 'abc'"), false);
    assert.equal(v("true() > false()"), true);
    assert.equal(v("1 < 2 < 3"), true);
    assert.equal(v("3 > 2 > 1"), false, "(3 > 2) is true, 1; 1 > 1 is false");
    assert.equal(v("2 >= 2 and 2 <= 2"), true);
  });

  it("node set against number, string and boolean: true when some member compares true", () => {
    assert.equal(v("//p/@value = 20"), true);
    assert.equal(v("//p/@value = 30"), false);
    assert.equal(v("//p/@value != 10"), true, "some value is not 10");
    assert.equal(v("//n != 2"), true);
    assert.equal(v("//p/@value > 15"), true);
    assert.equal(v("//p/@value > 25"), false);
    assert.equal(v("15 < //p/@value"), true);
    assert.equal(v("25 < //p/@value"), false);
    assert.equal(v("//n >= 3 and //n <= 1"), true);
    assert.equal(v("//p/@name = 'b'"), true);
    assert.equal(v("'b' = //p/@name"), true);
    assert.equal(v("//p/@name != 'b'"), true);
    assert.equal(v("//t = '10'"), false, "as strings");
    assert.equal(v("//t = 10"), true, "as numbers");
    assert.equal(v("//t < '11'"), true, "relational: as numbers");
    assert.equal(v("//s > 'a'"), false);
    assert.equal(v("//e = ''"), true);
    assert.equal(v("//nothing = ''"), false, "an empty node set has no member to compare");
    assert.equal(v("//nothing != ''"), false);
    assert.equal(v("//nothing = 0"), false);
    assert.equal(v("//nothing != 0"), false);
    // Against a boolean, the node set becomes a boolean.
    assert.equal(v("//p = true()"), true);
    assert.equal(v("//nothing = false()"), true);
    assert.equal(v("//nothing != true()"), true);
    assert.equal(v("//e = true()"), true, "a non-empty node set is true even if its string is empty");
    assert.equal(v("//p > false()"), true);
    assert.equal(v("true() > //nothing"), true);
    // A value computed per evaluation rather than a constant.
    assert.equal(v("//p/@value = count(//n) * 10 - 10"), true);
    assert.equal(v("//p/@value < count(//n)"), false);
    assert.equal(v("//p/@name = concat('', 'c')"), true);
  });

  it("node set against node set: some pair compares true", () => {
    assert.equal(v("//n = //p/@value"), false);
    assert.equal(v("//n = //n"), true);
    assert.equal(v("//p/@name = //s"), false);
    assert.equal(v("//n != //n"), true, "1 != 2");
    assert.equal(v("//n[1] != //n[1]"), false);
    assert.equal(v("//e != //e"), false);
    assert.equal(v("//nothing = //nothing"), false);
    assert.equal(v("//nothing != //n"), false);
    assert.equal(v("//n < //n"), true, "1 < 3");
    assert.equal(v("//n > //p/@value"), false, "max 3 against min 10");
    assert.equal(v("//p/@value > //n"), true);
    assert.equal(v("//n <= //n[1]"), true);
    assert.equal(v("//n[3] >= //n"), true);
    assert.equal(v("//s < //n"), false, "no member of //s is a number");
  });

  it("union merges in document order and rejects duplicates", () => {
    assert.equal(v("count(//n | //n | //n[2])"), 3);
    assert.equal(v("count(//p | //p/@name | //n)"), 9);
    assert.equal(v("string((//s | //n)[1])"), "1");
    assert.equal(v("boolean(//nothing | //e)"), true);
  });

  it("test() is boolean() of the result", () => {
    const t = (expr: string) => compileXPath(expr).test(DOC);
    assert.equal(t("//p"), true);
    assert.equal(t("//nothing"), false);
    assert.equal(t("//e"), true, "a node set with an empty element is still non-empty");
    assert.equal(t("1"), true);
    assert.equal(t("0"), false);
    assert.equal(t("-0"), false);
    assert.equal(t("0 div 0"), false);
    assert.equal(t("'x'"), true);
    assert.equal(t("''"), false);
    assert.equal(t("string(//e)"), false);
    assert.equal(t("count(//p)"), true);
    assert.equal(t("false()"), false);
  });
});
