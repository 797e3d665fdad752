/**
 * String-values inside an evaluation. Small elements are read directly; larger ones are
 * a slice of the document's text (docindex.ts), so that `//*[. = 'x']` costs as much as
 * the text it compares rather than the text times the depth.
 */
import { type XChild, type XElement, type XNode, XNodeType } from "../xml/types";
import { chargeText } from "./budget";
import { flatIndexOf, textAt } from "./docindex";
import { type Env, indexFor } from "./env";
import { stringToNumber } from "./values";

/** Elements with at most this many descendants are read directly. */
const DIRECT_LIMIT = 32;

function directText(el: XElement): string | null {
  let out = "";
  let budget = DIRECT_LIMIT;
  const stack: XChild[] = [];
  const kids = el.children;
  for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]);
  while (stack.length > 0) {
    if (--budget < 0) return null;
    const n = stack.pop()!;
    if (n.type === XNodeType.Text) out += n.value;
    else if (n.type === XNodeType.Element) {
      const c = n.children;
      for (let i = c.length - 1; i >= 0; i--) stack.push(c[i]);
    }
  }
  return out;
}

/**
 * Strings up to this long are not charged: every caller reaches the node by a visit that was
 * charged already, and reading a short string costs about as much as that visit.
 */
const FREE_LENGTH = 64;

/** The string-value of `n`, charged by its length when long (whoever reads it reads it all, at worst). */
export function stringValueIn(n: XNode, env: Env): string {
  const s = uncharged(n, env);
  if (s.length > FREE_LENGTH) chargeText(env, s.length);
  return s;
}

function uncharged(n: XNode, env: Env): string {
  switch (n.type) {
    case XNodeType.Element: {
      const kids = n.children;
      if (kids.length === 0) return "";
      if (kids.length === 1 && kids[0].type === XNodeType.Text) return kids[0].value;
      const direct = directText(n);
      if (direct !== null) return direct;
      const ix = indexFor(env);
      const i = flatIndexOf(ix, n);
      return i < 0 ? "" : textAt(ix, i);
    }
    case XNodeType.Document:
      return textAt(indexFor(env), 0);
    default:
      return n.value;
  }
}

export function numberValueIn(n: XNode, env: Env): number {
  return stringToNumber(stringValueIn(n, env));
}
