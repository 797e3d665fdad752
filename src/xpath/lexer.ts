/**
 * XPath 1.0 tokenizer (XPath 1.0 §3.7 "Lexical Structure"), with the spec's
 * disambiguation rules: after a token that can end an operand, `*` is the
 * multiply operator and an NCName must be one of and / or / mod / div; a name
 * followed by `(` is a function name or node type; a name followed by `::` is
 * an axis name.
 */
import { isNCNameChar, isNCNameStart } from "../xml/names";
import { syntaxError } from "./errors";

export type TokenKind =
  | "("
  | ")"
  | "["
  | "]"
  | ","
  | "@"
  | "::"
  | "."
  | ".."
  | "name" // a NameTest: `*`, `p:*`, `local`, `p:local`
  | "nodetype" // comment / text / processing-instruction / node, followed by '('
  | "function" // a FunctionName, followed by '('
  | "axis" // an AxisName, followed by '::'
  | "op" // and or mod div * / // | + - = != < <= > >=
  | "literal"
  | "number"
  | "variable"
  | "eof";

export interface Token {
  kind: TokenKind;
  /** The token's text (for literals: the content without quotes; for names: as written). */
  value: string;
  /** For names: the prefix ('' when none). */
  prefix: string;
  /** For names: the local part, or '*' for a wildcard. */
  local: string;
  /** For numbers: the value. */
  num: number;
  /** 0-based offset of the token's first character in the source. */
  pos: number;
}

const NODE_TYPES = new Set(["comment", "text", "processing-instruction", "node"]);
const OPERATOR_NAMES = new Set(["and", "or", "mod", "div"]);

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** True when `s` is an NCName (used to check prefixes given at compile time). */
export function isNCName(s: string): boolean {
  if (s.length === 0) return false;
  let i = 0;
  while (i < s.length) {
    const c = s.codePointAt(i)!;
    if (i === 0 ? !isNCNameStart(c) : !isNCNameChar(c)) return false;
    i += c > 0xffff ? 2 : 1;
  }
  return true;
}

function describeChar(s: string, i: number): string {
  const c = s.codePointAt(i)!;
  return c < 0x20 || c === 0x7f
    ? `character U+${c.toString(16).padStart(4, "0")}`
    : `'${String.fromCodePoint(c)}'`;
}

function tok(kind: TokenKind, value: string, pos: number): Token {
  return { kind, value, prefix: "", local: "", num: 0, pos };
}

/** Splits `source` into tokens, ending with an "eof" token. Throws BAD_XPATH. */
export function tokenize(source: string): Token[] {
  const s = source;
  const n = s.length;
  const out: Token[] = [];
  let i = 0;

  /** Whether the previous token lets `*` / an NCName start an operand (XPath 1.0 §3.7). */
  const operandExpected = (): boolean => {
    if (out.length === 0) return true;
    const p = out[out.length - 1];
    return (
      p.kind === "@" ||
      p.kind === "::" ||
      p.kind === "(" ||
      p.kind === "[" ||
      p.kind === "," ||
      p.kind === "op"
    );
  };

  const readNCName = (at: number): number => {
    let j = at;
    while (j < n) {
      const c = s.codePointAt(j)!;
      if (j === at ? !isNCNameStart(c) : !isNCNameChar(c)) break;
      j += c > 0xffff ? 2 : 1;
    }
    return j;
  };

  const nextNonSpace = (at: number): number => {
    let j = at;
    while (j < n && isSpace(s.charCodeAt(j))) j++;
    return j;
  };

  while (true) {
    while (i < n && isSpace(s.charCodeAt(i))) i++;
    if (i >= n) break;
    const start = i;
    const c = s.charCodeAt(i);
    switch (c) {
      case 0x28: // (
        out.push(tok("(", "(", start));
        i++;
        continue;
      case 0x29: // )
        out.push(tok(")", ")", start));
        i++;
        continue;
      case 0x5b: // [
        out.push(tok("[", "[", start));
        i++;
        continue;
      case 0x5d: // ]
        out.push(tok("]", "]", start));
        i++;
        continue;
      case 0x2c: // ,
        out.push(tok(",", ",", start));
        i++;
        continue;
      case 0x40: // @
        out.push(tok("@", "@", start));
        i++;
        continue;
      case 0x7c: // |
      case 0x2b: // +
      case 0x2d: // -
      case 0x3d: // =
        out.push(tok("op", s[i], start));
        i++;
        continue;
      case 0x2f: // / or //
        if (s.charCodeAt(i + 1) === 0x2f) {
          out.push(tok("op", "//", start));
          i += 2;
        } else {
          out.push(tok("op", "/", start));
          i++;
        }
        continue;
      case 0x21: // !=
        if (s.charCodeAt(i + 1) !== 0x3d) {
          throw syntaxError(
            source,
            start,
            "unexpected character '!' (XPath's not-equal is '!=', negation is not())",
          );
        }
        out.push(tok("op", "!=", start));
        i += 2;
        continue;
      case 0x3c: // < <=
      case 0x3e: // > >=
        if (s.charCodeAt(i + 1) === 0x3d) {
          out.push(tok("op", s.slice(i, i + 2), start));
          i += 2;
        } else {
          out.push(tok("op", s[i], start));
          i++;
        }
        continue;
      case 0x3a: // ::
        if (s.charCodeAt(i + 1) === 0x3a) {
          out.push(tok("::", "::", start));
          i += 2;
          continue;
        }
        throw syntaxError(
          source,
          start,
          "unexpected ':' (a prefix must be followed by ':' and a name, no spaces)",
        );
      case 0x22: // "
      case 0x27: {
        // '
        const end = s.indexOf(s[i], i + 1);
        if (end < 0)
          throw syntaxError(
            source,
            start,
            `unterminated string literal (no closing ${c === 0x22 ? "double" : "single"} quote)`,
          );
        const t = tok("literal", s.slice(i + 1, end), start);
        out.push(t);
        i = end + 1;
        continue;
      }
      case 0x24: {
        // $QName
        let j = readNCName(i + 1);
        if (j === i + 1) throw syntaxError(source, start, "expected a variable name after '$'");
        if (s.charCodeAt(j) === 0x3a && s.charCodeAt(j + 1) !== 0x3a) {
          const k = readNCName(j + 1);
          if (k === j + 1) throw syntaxError(source, j + 1, "expected a name after ':'");
          j = k;
        }
        out.push(tok("variable", s.slice(i + 1, j), start));
        i = j;
        continue;
      }
      case 0x2a: {
        // *
        if (operandExpected()) {
          const t = tok("name", "*", start);
          t.local = "*";
          out.push(t);
        } else {
          out.push(tok("op", "*", start));
        }
        i++;
        continue;
      }
      default:
        break;
    }
    if (c === 0x2e /* . */) {
      if (s.charCodeAt(i + 1) === 0x2e) {
        out.push(tok("..", "..", start));
        i += 2;
        continue;
      }
      if (!isDigit(s.charCodeAt(i + 1))) {
        out.push(tok(".", ".", start));
        i++;
        continue;
      }
    }
    if (isDigit(c) || c === 0x2e) {
      let j = i;
      while (j < n && isDigit(s.charCodeAt(j))) j++;
      if (s.charCodeAt(j) === 0x2e) {
        j++;
        while (j < n && isDigit(s.charCodeAt(j))) j++;
      }
      // An exponent (`1e-6`, `2.5E+3`), as libxml2 reads it: not XPath 1.0, taken for
      // compatibility with Comet's filters. Only when digits follow, so `1 eq` style
      // tokens are not swallowed.
      if ((s.charCodeAt(j) | 0x20) === 0x65) {
        let k = j + 1;
        const sign = s.charCodeAt(k);
        if (sign === 0x2b || sign === 0x2d) k++;
        if (isDigit(s.charCodeAt(k))) {
          while (k < n && isDigit(s.charCodeAt(k))) k++;
          j = k;
        }
      }
      const text = s.slice(i, j);
      const t = tok("number", text, start);
      t.num = Number(text);
      out.push(t);
      i = j;
      continue;
    }
    const cp = s.codePointAt(i)!;
    if (!isNCNameStart(cp)) throw syntaxError(source, start, `unexpected ${describeChar(s, i)}`);
    let j = readNCName(i);
    const first = s.slice(i, j);
    if (!operandExpected()) {
      if (!OPERATOR_NAMES.has(first)) {
        throw syntaxError(
          source,
          start,
          `expected an operator or the end of the expression, found '${first}'`,
        );
      }
      out.push(tok("op", first, start));
      i = j;
      continue;
    }
    let prefix = "";
    let local = first;
    if (s.charCodeAt(j) === 0x3a && s.charCodeAt(j + 1) !== 0x3a) {
      prefix = first;
      if (s.charCodeAt(j + 1) === 0x2a) {
        local = "*";
        j += 2;
      } else {
        const k = readNCName(j + 1);
        if (k === j + 1) {
          throw syntaxError(source, j + 1, `expected a local name or '*' after '${prefix}:'`);
        }
        local = s.slice(j + 1, k);
        j = k;
      }
    }
    const after = nextNonSpace(j);
    const t = tok("name", s.slice(i, j), start);
    t.prefix = prefix;
    t.local = local;
    if (s.charCodeAt(after) === 0x28 && local !== "*") {
      t.kind = prefix === "" && NODE_TYPES.has(local) ? "nodetype" : "function";
    } else if (prefix === "" && s.charCodeAt(after) === 0x3a && s.charCodeAt(after + 1) === 0x3a) {
      t.kind = "axis";
    }
    out.push(t);
    i = j;
  }
  const eof = tok("eof", "", n);
  out.push(eof);
  return out;
}
