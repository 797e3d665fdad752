/**
 * Recursive-descent parser for XPath 1.0 (the grammar of XPath 1.0 §2–3), building
 * the tree of ast.ts. Nesting is bounded (MAX_NESTING) so that a hostile expression
 * cannot overflow the stack, here or when it is evaluated.
 */
import { type ArithOp, AXES, type Axis, type CompareOp, type Expr, type NodeTest, type Step } from "./ast";
import { syntaxError } from "./errors";
import { type Token, tokenize } from "./lexer";

/** Deepest nesting of parentheses, predicates and function arguments accepted. */
export const MAX_NESTING = 64;
/**
 * Deepest syntax tree accepted (a chain like `a+b+c+…` or `a/b/c/…` is as deep as it is long;
 * `or`, `and` and `|` are kept flat and do not count). Evaluation recurses along the tree, so
 * this bounds the stack it needs, whatever the document.
 */
export const MAX_DEPTH = 1000;

const DOS_NODE: NodeTest = { kind: "node" };

class Parser {
  private readonly toks: Token[];
  private i = 0;
  private nesting = 0;

  constructor(private readonly source: string) {
    this.toks = tokenize(source);
  }

  parse(): Expr {
    if (this.peek().kind === "eof") throw syntaxError(this.source, 0, "empty expression");
    const e = this.expr();
    const t = this.peek();
    if (t.kind !== "eof") throw this.unexpected(t, "an operator or the end of the expression");
    if (depthOf(e) > MAX_DEPTH) {
      throw syntaxError(this.source, 0, `expression too complex (syntax tree deeper than ${MAX_DEPTH})`);
    }
    return e;
  }

  private peek(): Token {
    return this.toks[this.i];
  }

  private next(): Token {
    return this.toks[this.i++];
  }

  private isOp(value: string): boolean {
    const t = this.toks[this.i];
    return t.kind === "op" && t.value === value;
  }

  private describe(t: Token): string {
    switch (t.kind) {
      case "eof":
        return "end of expression";
      case "literal":
        return `string literal ${JSON.stringify(t.value)}`;
      default:
        return `'${t.value}'`;
    }
  }

  private unexpected(t: Token, expected: string): Error {
    return syntaxError(this.source, t.pos, `expected ${expected}, found ${this.describe(t)}`);
  }

  private expect(kind: Token["kind"], what: string): Token {
    const t = this.peek();
    if (t.kind !== kind) throw this.unexpected(t, what);
    this.i++;
    return t;
  }

  private enter(t: Token): void {
    if (++this.nesting > MAX_NESTING) {
      throw syntaxError(this.source, t.pos, `expression nested more than ${MAX_NESTING} levels deep`);
    }
  }

  private leave(): void {
    this.nesting--;
  }

  /** Expr ::= OrExpr */
  private expr(): Expr {
    this.enter(this.peek());
    const e = this.orExpr();
    this.leave();
    return e;
  }

  private orExpr(): Expr {
    const pos = this.peek().pos;
    const first = this.andExpr();
    if (!this.isOp("or")) return first;
    const operands = [first];
    while (this.isOp("or")) {
      this.next();
      operands.push(this.andExpr());
    }
    return { type: "or", operands, pos };
  }

  private andExpr(): Expr {
    const pos = this.peek().pos;
    const first = this.equalityExpr();
    if (!this.isOp("and")) return first;
    const operands = [first];
    while (this.isOp("and")) {
      this.next();
      operands.push(this.equalityExpr());
    }
    return { type: "and", operands, pos };
  }

  private equalityExpr(): Expr {
    let left = this.relationalExpr();
    while (this.isOp("=") || this.isOp("!=")) {
      const t = this.next();
      const right = this.relationalExpr();
      left = { type: "compare", op: t.value as CompareOp, left, right, pos: t.pos };
    }
    return left;
  }

  private relationalExpr(): Expr {
    let left = this.additiveExpr();
    while (this.isOp("<") || this.isOp("<=") || this.isOp(">") || this.isOp(">=")) {
      const t = this.next();
      const right = this.additiveExpr();
      left = { type: "compare", op: t.value as CompareOp, left, right, pos: t.pos };
    }
    return left;
  }

  private additiveExpr(): Expr {
    let left = this.multiplicativeExpr();
    while (this.isOp("+") || this.isOp("-")) {
      const t = this.next();
      const right = this.multiplicativeExpr();
      left = { type: "arith", op: t.value as ArithOp, left, right, pos: t.pos };
    }
    return left;
  }

  private multiplicativeExpr(): Expr {
    let left = this.unaryExpr();
    while (this.isOp("*") || this.isOp("div") || this.isOp("mod")) {
      const t = this.next();
      const right = this.unaryExpr();
      left = { type: "arith", op: t.value as ArithOp, left, right, pos: t.pos };
    }
    return left;
  }

  /** UnaryExpr ::= UnionExpr | '-' UnaryExpr (iterative: a run of minus signs is counted). */
  private unaryExpr(): Expr {
    const start = this.peek();
    let minus = 0;
    while (this.isOp("-")) {
      this.next();
      minus++;
    }
    let e = this.unionExpr();
    // --x is x converted to a number; keep one or two negations.
    if (minus > 0) {
      e = { type: "neg", operand: e, pos: start.pos };
      if (minus % 2 === 0) e = { type: "neg", operand: e, pos: start.pos };
    }
    return e;
  }

  private unionExpr(): Expr {
    const pos = this.peek().pos;
    const first = this.pathExpr();
    if (!this.isOp("|")) return first;
    const operands = [first];
    while (this.isOp("|")) {
      this.next();
      operands.push(this.pathExpr());
    }
    return { type: "union", operands, pos };
  }

  /** PathExpr ::= LocationPath | FilterExpr (('/' | '//') RelativeLocationPath)? */
  private pathExpr(): Expr {
    const t = this.peek();
    const k = t.kind;
    if (k === "literal" || k === "number" || k === "variable" || k === "(" || k === "function") {
      const filter = this.filterExpr();
      if (!this.isOp("/") && !this.isOp("//")) return filter;
      const steps: Step[] = [];
      this.relativePath(steps, true);
      return { type: "path", absolute: false, start: filter, steps, pos: t.pos };
    }
    if (k === "op" && (t.value === "/" || t.value === "//")) {
      const steps: Step[] = [];
      if (t.value === "/") {
        this.next();
        // '/' alone is the root; a step follows only if a token that can start one does.
        if (this.startsStep(this.peek())) this.relativePath(steps, false);
      } else {
        this.relativePath(steps, true);
      }
      return { type: "path", absolute: true, start: null, steps, pos: t.pos };
    }
    if (this.startsStep(t)) {
      const steps: Step[] = [];
      this.relativePath(steps, false);
      return { type: "path", absolute: false, start: null, steps, pos: t.pos };
    }
    throw this.unexpected(t, "an expression");
  }

  private startsStep(t: Token): boolean {
    const k = t.kind;
    return k === "name" || k === "nodetype" || k === "axis" || k === "@" || k === "." || k === "..";
  }

  /**
   * RelativeLocationPath; when `leadingSlash`, the next token is '/' or '//' and comes first
   * (after a filter expression, or an absolute '//').
   */
  private relativePath(steps: Step[], leadingSlash: boolean): void {
    if (!leadingSlash) steps.push(this.step());
    while (this.isOp("/") || this.isOp("//")) {
      const t = this.next();
      if (t.value === "//")
        steps.push({ axis: "descendant-or-self", test: DOS_NODE, predicates: [], pos: t.pos });
      const s = this.peek();
      if (s.kind === "function") {
        throw syntaxError(
          this.source,
          s.pos,
          `'${s.value}(' is not a node test (a function call cannot be a step)`,
        );
      }
      if (!this.startsStep(s)) throw this.unexpected(s, `a location step after '${t.value}'`);
      steps.push(this.step());
    }
  }

  /** Step ::= AxisSpecifier NodeTest Predicate* | '.' | '..' */
  private step(): Step {
    const t = this.next();
    if (t.kind === ".") return { axis: "self", test: DOS_NODE, predicates: [], pos: t.pos };
    if (t.kind === "..") return { axis: "parent", test: DOS_NODE, predicates: [], pos: t.pos };
    let axis: Axis = "child";
    let testTok = t;
    if (t.kind === "@") {
      axis = "attribute";
      testTok = this.next();
    } else if (t.kind === "axis") {
      if (!AXES.has(t.local)) throw syntaxError(this.source, t.pos, `unknown axis '${t.local}'`);
      axis = t.local as Axis;
      this.expect("::", "'::'");
      testTok = this.next();
    }
    const test = this.nodeTest(testTok);
    const predicates = this.predicates();
    return { axis, test, predicates, pos: t.pos };
  }

  private nodeTest(t: Token): NodeTest {
    if (t.kind === "name") return { kind: "name", prefix: t.prefix, local: t.local };
    if (t.kind === "nodetype") {
      this.expect("(", "'('");
      let target: string | null = null;
      if (t.local === "processing-instruction" && this.peek().kind === "literal") target = this.next().value;
      else if (this.peek().kind !== ")") {
        throw this.unexpected(
          this.peek(),
          t.local === "processing-instruction"
            ? "a string literal or ')'"
            : `')' (${t.local}() takes no argument)`,
        );
      }
      this.expect(")", "')'");
      switch (t.local) {
        case "node":
          return DOS_NODE;
        case "text":
          return { kind: "text" };
        case "comment":
          return { kind: "comment" };
        default:
          return { kind: "pi", target };
      }
    }
    if (t.kind === "function") {
      throw syntaxError(
        this.source,
        t.pos,
        `'${t.value}(' is not a node test (a function call cannot be a step)`,
      );
    }
    throw this.unexpected(
      t,
      "a node test (a name, '*', node(), text(), comment() or processing-instruction())",
    );
  }

  private predicates(): Expr[] {
    let preds: Expr[] | null = null;
    while (this.peek().kind === "[") {
      this.next();
      if (this.peek().kind === "]") throw this.unexpected(this.peek(), "an expression inside '[]'");
      const e = this.expr();
      if (this.peek().kind !== "]") throw this.unexpected(this.peek(), "']'");
      this.next();
      if (preds === null) preds = [];
      preds.push(e);
    }
    return preds ?? [];
  }

  /** FilterExpr ::= PrimaryExpr Predicate* */
  private filterExpr(): Expr {
    const t = this.peek();
    const primary = this.primaryExpr();
    const predicates = this.predicates();
    if (predicates.length === 0) return primary;
    return { type: "filter", primary, predicates, pos: t.pos };
  }

  private primaryExpr(): Expr {
    const t = this.next();
    switch (t.kind) {
      case "literal":
        return { type: "literal", value: t.value, pos: t.pos };
      case "number":
        return { type: "number", value: t.num, pos: t.pos };
      case "variable":
        throw syntaxError(
          this.source,
          t.pos,
          `variable reference '$${t.value}': variables are not supported`,
        );
      case "(": {
        const e = this.expr();
        this.expect(")", "')'");
        return e;
      }
      default: {
        // "function"
        this.expect("(", "'('");
        const args: Expr[] = [];
        if (this.peek().kind !== ")") {
          for (;;) {
            args.push(this.expr());
            if (this.peek().kind !== ",") break;
            this.next();
          }
        }
        if (this.peek().kind !== ")")
          throw this.unexpected(this.peek(), `',' or ')' in the arguments of ${t.value}()`);
        this.next();
        return { type: "call", name: t.value, args, pos: t.pos };
      }
    }
  }
}

/** Parses an XPath 1.0 expression into its syntax tree. Throws VOEventError("BAD_XPATH"). */
export function parseXPath(source: string): Expr {
  return new Parser(source).parse();
}

/** Depth of the syntax tree, computed without recursion. */
export function depthOf(root: Expr): number {
  let max = 0;
  const stack: { e: Expr; d: number }[] = [{ e: root, d: 1 }];
  while (stack.length > 0) {
    const { e, d } = stack.pop()!;
    if (d > max) max = d;
    switch (e.type) {
      case "or":
      case "and":
      case "union":
        for (const o of e.operands) stack.push({ e: o, d: d + 1 });
        break;
      case "compare":
      case "arith":
        stack.push({ e: e.left, d: d + 1 }, { e: e.right, d: d + 1 });
        break;
      case "neg":
        stack.push({ e: e.operand, d: d + 1 });
        break;
      case "filter":
        stack.push({ e: e.primary, d: d + 1 });
        for (const p of e.predicates) stack.push({ e: p, d: d + 1 });
        break;
      case "call":
        for (const a of e.args) stack.push({ e: a, d: d + 1 });
        break;
      case "path": {
        if (e.start !== null) stack.push({ e: e.start, d: d + 1 });
        // Each step is one level deeper than the one before it.
        e.steps.forEach((s, k) => {
          for (const p of s.predicates) stack.push({ e: p, d: d + k + 2 });
          if (d + k + 1 > max) max = d + k + 1;
        });
        break;
      }
      default:
        break;
    }
  }
  return max;
}
