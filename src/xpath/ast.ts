/** The syntax tree the parser builds and the compiler turns into closures. */

export type Axis =
  | "ancestor"
  | "ancestor-or-self"
  | "attribute"
  | "child"
  | "descendant"
  | "descendant-or-self"
  | "following"
  | "following-sibling"
  | "namespace"
  | "parent"
  | "preceding"
  | "preceding-sibling"
  | "self";

export const AXES: ReadonlySet<string> = new Set<Axis>([
  "ancestor",
  "ancestor-or-self",
  "attribute",
  "child",
  "descendant",
  "descendant-or-self",
  "following",
  "following-sibling",
  "namespace",
  "parent",
  "preceding",
  "preceding-sibling",
  "self",
]);

/** Axes whose proximity order is reverse document order (XPath 1.0 §2.4). */
export function isReverseAxis(axis: Axis): boolean {
  return (
    axis === "ancestor" || axis === "ancestor-or-self" || axis === "preceding" || axis === "preceding-sibling"
  );
}

export type NodeTest =
  /** `local`, `prefix:local`, `prefix:*` or `*` (local === '*'). */
  | { kind: "name"; prefix: string; local: string }
  | { kind: "node" }
  | { kind: "text" }
  | { kind: "comment" }
  /** processing-instruction() or processing-instruction('target'). */
  | { kind: "pi"; target: string | null };

export interface Step {
  axis: Axis;
  test: NodeTest;
  predicates: Expr[];
  pos: number;
}

export type CompareOp = "=" | "!=" | "<" | "<=" | ">" | ">=";
export type ArithOp = "+" | "-" | "*" | "div" | "mod";

export type Expr =
  | { type: "or"; operands: Expr[]; pos: number }
  | { type: "and"; operands: Expr[]; pos: number }
  | { type: "compare"; op: CompareOp; left: Expr; right: Expr; pos: number }
  | { type: "arith"; op: ArithOp; left: Expr; right: Expr; pos: number }
  | { type: "neg"; operand: Expr; pos: number }
  | { type: "union"; operands: Expr[]; pos: number }
  /**
   * A location path, or a filter expression followed by steps. Starts at the root when
   * `absolute`, at the node set `start` evaluates to when it is not null, else at the
   * context node. `//` appears as a descendant-or-self::node() step.
   */
  | { type: "path"; absolute: boolean; start: Expr | null; steps: Step[]; pos: number }
  /** A primary expression with predicates: `(//Param)[1]`, `id('x')[2]`. */
  | { type: "filter"; primary: Expr; predicates: Expr[]; pos: number }
  | { type: "literal"; value: string; pos: number }
  | { type: "number"; value: number; pos: number }
  | { type: "call"; name: string; args: Expr[]; pos: number };
