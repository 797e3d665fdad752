/**
 * The namespace axis (XPath 1.0 §5.4): an element has one namespace node for every
 * namespace in scope on it, the `xml` one included, the nearest declaration of each prefix
 * winning and `xmlns=""` leaving no default namespace. A namespace node's name (name(),
 * local-name()) is its prefix ('' for the default namespace), its namespace URI is empty,
 * its string-value is the namespace URI, and its parent is the element.
 *
 * Decisions:
 * - The tree (src/xml/types.ts) keeps declarations (XElement.nsDecls), not namespace nodes,
 *   and node sets hold XNodes: a namespace node is made here, on first use, as an
 *   attribute-shaped node (name = local = prefix, ns = '', value = URI, parent = element), so
 *   that every function and axis already treats it as XPath says a namespace node behaves
 *   (the following and preceding axes start after its element, as for an attribute). Only the
 *   namespace axis yields them, so no attribute step ever sees one.
 * - Document order: after their element and before its attributes (XPath 1.0 §5), with
 *   orders between the element's and its first attribute's; among themselves (which XPath
 *   leaves to the implementation) `xml` first, then by prefix.
 * - Each element's nodes are made once per tree (a WeakMap), so that the same namespace node
 *   is the same object in every step and a union removes duplicates; making them is
 *   charged to the evaluation's budget (the ancestors walked and the nodes made).
 */
import { type XAttribute, type XElement, XNodeType } from "../xml/types";
import { charge } from "./budget";
import type { Env } from "./env";
import { XML_NS } from "./values";

const made = new WeakMap<XElement, readonly XAttribute[]>();

/** The namespace nodes of `el`, in document order. */
export function namespaceNodes(el: XElement, env: Env): readonly XAttribute[] {
  const known = made.get(el);
  if (known !== undefined) {
    charge(env, 1 + known.length);
    return known;
  }
  const inScope = new Map<string, string>();
  let walked = 0;
  for (let e: XElement | null = el; e !== null; e = e.parent.type === XNodeType.Element ? e.parent : null) {
    walked += 1 + e.nsDecls.length;
    for (const d of e.nsDecls) if (!inScope.has(d.prefix)) inScope.set(d.prefix, d.uri);
  }
  charge(env, walked + inScope.size);
  inScope.delete("xml");
  const prefixes = [...inScope.keys()].filter((p) => inScope.get(p) !== "").sort();
  const all: [string, string][] = [
    ["xml", XML_NS],
    ...prefixes.map((p): [string, string] => [p, inScope.get(p)!]),
  ];
  // Orders strictly between the element's and its first attribute's (order + 1).
  const step = 1 / (all.length + 1);
  const nodes = all.map(
    ([prefix, uri], i): XAttribute => ({
      type: XNodeType.Attribute,
      name: prefix,
      local: prefix,
      prefix: "",
      ns: "",
      value: uri,
      parent: el,
      order: el.order + (i + 1) * step,
    }),
  );
  made.set(el, nodes);
  return nodes;
}
