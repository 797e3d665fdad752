/**
 * The engine's errors, and how a message quotes an expression: whole when short, else a
 * readable prefix and its length (`'//Who[@a = 'x' or …' (99,012 characters)`), so that a
 * 99 kB filter does not make a 99 kB error, warning or log line (issue 18).
 */
import { VOEventError } from "../errors";

/** Expressions up to this long are quoted whole. */
export const QUOTE_WHOLE = 120;
/** Characters of a longer expression quoted before the "…". */
export const QUOTE_PREFIX = 60;

/** An expression as a message quotes it: `'…'`, cut to a prefix with its length when long. */
export function quoteXPath(source: string): string {
  if (source.length <= QUOTE_WHOLE) return `'${source}'`;
  return `'${source.slice(0, QUOTE_PREFIX)}…' (${source.length.toLocaleString("en-US")} characters)`;
}

/** A BAD_XPATH error naming the problem, the 1-based column and the expression. */
export function syntaxError(source: string, offset: number, what: string): VOEventError {
  return new VOEventError(
    "BAD_XPATH",
    `XPath syntax error at column ${offset + 1} in ${quoteXPath(source)}: ${what}`,
  );
}

/** A BAD_XPATH error for an expression that parses but cannot be evaluated (unknown function, …). */
export function compileError(source: string, offset: number, what: string): VOEventError {
  return new VOEventError(
    "BAD_XPATH",
    `XPath error at column ${offset + 1} in ${quoteXPath(source)}: ${what}`,
  );
}
