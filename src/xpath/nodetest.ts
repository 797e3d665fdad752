/**
 * Node tests (XPath 1.0 §2.3) as closures. A name test matches the axis' principal node
 * type (attributes on the attribute axis, namespace nodes on the namespace axis, elements
 * elsewhere) with that expanded name:
 * an unprefixed name means "no namespace", as XPath 1.0 says; `voe:` means whatever
 * namespace the document's root is in (resolved per evaluation, so `ns` is `null`).
 */
import { type XNode, XNodeType } from "../xml/types";
import type { Axis, NodeTest } from "./ast";
import type { Env } from "./env";

export type NodeTestFn = (n: XNode, env: Env) => boolean;

const ANY: NodeTestFn = () => true;
const IS_ELEMENT: NodeTestFn = (n) => n.type === XNodeType.Element;
const IS_ATTRIBUTE: NodeTestFn = (n) => n.type === XNodeType.Attribute;
const IS_TEXT: NodeTestFn = (n) => n.type === XNodeType.Text;
const IS_COMMENT: NodeTestFn = (n) => n.type === XNodeType.Comment;
const IS_PI: NodeTestFn = (n) => n.type === XNodeType.ProcessingInstruction;
const NOTHING: NodeTestFn = () => false;

/**
 * `ns` is the namespace URI a name test's prefix stands for ('' when unprefixed), or null
 * when it is the `voe` prefix bound per document.
 */
export function nodeTestFn(axis: Axis, test: NodeTest, ns: string | null): NodeTestFn {
  switch (test.kind) {
    case "node":
      return ANY;
    case "text":
      return IS_TEXT;
    case "comment":
      return IS_COMMENT;
    case "pi": {
      const target = test.target;
      if (target === null) return IS_PI;
      return (n) => n.type === XNodeType.ProcessingInstruction && n.target === target;
    }
    default:
      break;
  }
  // Name tests.
  if (axis === "namespace") {
    // Only namespace nodes come on this axis (./namespaces.ts): a name test matches their
    // prefix; their namespace URI is empty, so a prefixed name never matches.
    if (test.prefix !== "") return NOTHING;
    if (test.local === "*") return ANY;
    const prefix = test.local;
    return (n) => n.type === XNodeType.Attribute && n.local === prefix;
  }
  const local = test.local;
  if (axis === "attribute") {
    if (local === "*") {
      if (test.prefix === "") return IS_ATTRIBUTE;
      if (ns === null) return (n, env) => n.type === XNodeType.Attribute && n.ns === env.voeNs;
      return (n) => n.type === XNodeType.Attribute && n.ns === ns;
    }
    if (ns === null)
      return (n, env) => n.type === XNodeType.Attribute && n.local === local && n.ns === env.voeNs;
    return (n) => n.type === XNodeType.Attribute && n.local === local && n.ns === ns;
  }
  if (local === "*") {
    if (test.prefix === "") return IS_ELEMENT;
    if (ns === null) return (n, env) => n.type === XNodeType.Element && n.ns === env.voeNs;
    return (n) => n.type === XNodeType.Element && n.ns === ns;
  }
  if (ns === null) return (n, env) => n.type === XNodeType.Element && n.local === local && n.ns === env.voeNs;
  return (n) => n.type === XNodeType.Element && n.local === local && n.ns === ns;
}
