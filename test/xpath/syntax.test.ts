import assert from "node:assert/strict";
import { isVOEventError } from "../../src/errors";
import { compileXPath, MAX_DEPTH, MAX_NESTING } from "../../src/xpath";
import { assertBadXPath, ev, names, parse } from "./helpers";

describe("xpath: syntax", () => {
  describe("syntax errors are BAD_XPATH at compile time, with column and problem", () => {
    it("names the column, the expression and what was expected", () => {
      assert.throws(
        () => compileXPath("//Who["),
        (err: unknown) =>
          isVOEventError(err) &&
          err.code === "BAD_XPATH" &&
          err.message ===
            "XPath syntax error at column 7 in '//Who[': expected an expression, found end of expression",
      );
    });

    const cases: [string, string][] = [
      ["", "column 1 in '': empty expression"],
      ["   ", "empty expression"],
      ["//Who[1", "column 8 in '//Who[1': expected ']', found end of expression"],
      ['/*[@role="test"', "expected ']', found end of expression"],
      ["//Who[1)", "column 8 in '//Who[1)': expected ']', found ')'"],
      ["count(//Param", "expected ',' or ')' in the arguments of count(), found end of expression"],
      ["(1 + 2", "expected ')', found end of expression"],
      ["1 +", "column 4 in '1 +': expected an expression, found end of expression"],
      ["1 = = 2", "column 5 in '1 = = 2': expected an expression, found '='"],
      ["//", "expected a location step after '//', found end of expression"],
      ["/Who/", "expected a location step after '/', found end of expression"],
      ["/Who//[1]", "expected a location step after '//', found '['"],
      ["@", "expected a node test"],
      ["child::", "column 8 in 'child::': expected a node test"],
      ["foo::bar", "column 1 in 'foo::bar': unknown axis 'foo'"],
      ["'abc", "column 1 in ''abc': unterminated string literal (no closing single quote)"],
      ['"abc', "unterminated string literal (no closing double quote)"],
      ["//a b", "column 5 in '//a b': expected an operator or the end of the expression, found 'b'"],
      ["1 2", "expected an operator or the end of the expression, found '2'"],
      ["!//a", "column 1 in '!//a': unexpected character '!'"],
      ["//a # 1", "column 5 in '//a # 1': unexpected '#'"],
      ["voe:", "column 5 in 'voe:': expected a local name or '*' after 'voe:'"],
      ["a :b", "unexpected ':'"],
      ["text(1)", "expected ')' (text() takes no argument), found '1'"],
      ["processing-instruction(1)", "expected a string literal or ')', found '1'"],
      ["//Param[]", "expected an expression inside '[]', found ']'"],
      [")", "column 1 in ')': expected an expression, found ')'"],
      ["..[1]", "expected an operator or the end of the expression, found '['"],
      ["//Param/count(x)", "'count(' is not a node test"],
      [
        "$threshold",
        "column 1 in '$threshold': variable reference '$threshold': variables are not supported",
      ],
      ["//Param[@value > $min]", "column 18 in '//Param[@value > $min]': variable reference '$min'"],
      ["$", "expected a variable name after '$'"],
    ];
    for (const [expr, part] of cases) {
      it(`${JSON.stringify(expr)} → ${part}`, () => assertBadXPath(expr, part));
    }

    it("bounds nesting so that no expression can overflow the stack", () => {
      const deep = `${"(".repeat(MAX_NESTING + 1)}1${")".repeat(MAX_NESTING + 1)}`;
      assertBadXPath(deep, `nested more than ${MAX_NESTING} levels deep`);
      const ok = `${"(".repeat(MAX_NESTING - 2)}1${")".repeat(MAX_NESTING - 2)}`;
      assert.equal(ev(ok, parse("<r/>")), 1);
      const preds = `/*${"[*".repeat(MAX_NESTING + 1)}${"]".repeat(MAX_NESTING + 1)}`;
      assertBadXPath(preds, "nested more than");
    });

    it("bounds the depth of operator chains and paths", () => {
      assertBadXPath(`1${" + 1".repeat(MAX_DEPTH + 5)}`, `syntax tree deeper than ${MAX_DEPTH}`);
      assertBadXPath(`/a${"/a".repeat(MAX_DEPTH + 5)}`, "expression too complex");
      // Flat operators are not chains: a long list of alternatives compiles.
      const alternatives = Array.from({ length: 2000 }, (_, i) => `@value=${i}`).join(" or ");
      assert.equal(
        compileXPath(`//Param[${alternatives}]`).test(parse('<r><Param value="1999"/></r>')),
        true,
      );
    });
  });

  describe("compile-time name and type errors", () => {
    const cases: [string, string][] = [
      ["foo()", "XPath error at column 1 in 'foo()': unknown function 'foo()'"],
      ["//Param[fn:matches(@name, 'x')]", "unknown function 'fn:matches()'"],
      ["stc:AstroCoords", "column 1 in 'stc:AstroCoords': namespace prefix 'stc' is not bound"],
      ["//crd:*", "namespace prefix 'crd' is not bound"],
      ["/*/@xsi:schemaLocation", "namespace prefix 'xsi' is not bound"],
      ["count(1)", "count() needs a node set as argument 1, not a number"],
      ["sum('1')", "sum() needs a node set as argument 1, not a string"],
      ["local-name(true())", "local-name() needs a node set as argument 1, not a boolean"],
      ["concat('a')", "concat() takes at least 2 arguments, got 1"],
      ["true(1)", "true() takes no arguments, got 1"],
      ["substring('a')", "substring() takes 2 to 3 arguments, got 1"],
      ["count()", "count() takes exactly 1 argument, got 0"],
      ["translate('a', 'b')", "translate() takes exactly 3 arguments, got 2"],
      ["'Who'/Author", "a location step can only follow a node set, not a string"],
      ["1 | //Who", "the operands of '|' must be node sets, not a number"],
      ["//Who | 'x'", "column 9 in '//Who | 'x'': the operands of '|' must be node sets, not a string"],
      ["'x'[1]", "a predicate can only filter a node set, not a string"],
    ];
    for (const [expr, part] of cases) {
      it(`${expr} → ${part}`, () => assertBadXPath(expr, part));
    }

    it("accepts prefixes given at compile time, and checks them", () => {
      const doc = parse('<r xmlns:s="urn:s"><s:a/><a/></r>');
      assert.deepEqual(names(ev("//s:a", doc, { namespaces: { s: "urn:s" } })), ["s:a"]);
      assertBadXPath("//a", "not an NCName", { namespaces: { "1s": "urn:s" } });
      assertBadXPath("//a", "is not a string", { namespaces: { s: 1 as unknown as string } });
    });

    it("refuses an expression that is not a string", () => {
      assertBadXPath(42 as unknown as string, "must be a string");
    });
  });

  describe("lexical disambiguation (XPath 1.0 §3.7)", () => {
    const doc = parse(
      "<r><div>6</div><mod>4</mod><and>1</and><or/><a-b>7</a-b><text>t</text><node>n</node><child>c</child><count>9</count></r>",
    );

    it("reads operator names as names where an operand is expected, as operators after one", () => {
      assert.equal(ev("/r/div div /r/mod", doc), 1.5);
      assert.equal(ev("/r/div mod /r/mod", doc), 2);
      assert.equal(ev("/r/and and /r/div", doc), true);
      assert.equal(ev("boolean(/r/or or /r/nothing)", doc), true);
      assert.equal(ev("count(/r/*[self::div or self::mod])", doc), 2);
    });

    it("reads * as a name test or as multiplication", () => {
      assert.equal(ev("/r/div * 2", doc), 12);
      assert.equal(ev("/r/div*2", doc), 12);
      assert.equal(ev("2*/r/div", doc), 12);
      assert.equal(ev("count(/r/*)", doc), 9);
      assert.equal(ev("count(/*/*) * count(/*)", doc), 9);
    });

    it("keeps '-' inside names and reads it as minus elsewhere", () => {
      assert.equal(ev("string(//a-b)", doc), "7");
      assert.equal(ev("//a-b - 1", doc), 6);
      assert.equal(ev("3-1", doc), 2);
      assert.equal(ev("/r/div -1", doc), 5);
      assert.equal(ev("- - /r/div", doc), 6);
      assert.equal(ev("---/r/div", doc), -6);
    });

    it("tells node types, functions and axes from element names of the same spelling", () => {
      assert.deepEqual(names(ev("//text", doc)), ["text"]);
      assert.equal(ev("string(//text/text())", doc), "t");
      assert.deepEqual(names(ev("/r/node", doc)), ["node"]);
      assert.equal(ev("count(/r/node())", doc), 9);
      assert.deepEqual(names(ev("/r/child", doc)), ["child"]);
      assert.deepEqual(names(ev("/r/child::child", doc)), ["child"]);
      assert.equal(ev("count(/r/count)", doc), 1);
    });

    it("reads numbers with and without leading or trailing digits", () => {
      assert.equal(ev(".5 + .5", doc), 1);
      assert.equal(ev("1. + 1", doc), 2);
      assert.equal(ev("007", doc), 7);
      assert.deepEqual(names(ev("/r/div/..", doc)), ["r"]);
    });

    it("allows white space between tokens", () => {
      assert.deepEqual(names(ev(" / r / div ", doc)), ["div"]);
      assert.deepEqual(names(ev("/ child :: r / @ * ", doc)), []);
      assert.equal(ev("count ( / r / * [ 1 ] )", doc), 1);
      assert.equal(ev("\t\r\n/r/div\n=\n6", doc), true);
    });

    it("accepts non-ASCII names", () => {
      const d = parse("<r><élan>1</élan><日本>2</日本></r>");
      assert.equal(ev("//élan + //日本", d), 3);
    });
  });
});
