import { VOEventError } from "../errors";

/** A BAD_XPATH error naming the problem, the 1-based column and the expression. */
export function syntaxError(source: string, offset: number, what: string): VOEventError {
  return new VOEventError("BAD_XPATH", `XPath syntax error at column ${offset + 1} in '${source}': ${what}`);
}

/** A BAD_XPATH error for an expression that parses but cannot be evaluated (unknown function, …). */
export function compileError(source: string, offset: number, what: string): VOEventError {
  return new VOEventError("BAD_XPATH", `XPath error at column ${offset + 1} in '${source}': ${what}`);
}
