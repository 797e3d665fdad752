/**
 * The reference implementation for differential tests: the `xpath` package over an
 * @xmldom/xmldom DOM, and one normal form for its results and ours.
 */
import { DOMParser } from "@xmldom/xmldom";
import * as xpath from "xpath";
import { type XNode, XNodeType } from "../../src/xml/types";
import type { XPathValue } from "../../src/xpath";

/** A node set as "name=string-value" lines, or a scalar. */
export type Normal = { nodes: string[] } | { scalar: boolean | number | string };

function line(name: string, value: string): string {
  return `${name}=${JSON.stringify(value)}`;
}

function ourName(n: XNode): string {
  switch (n.type) {
    case XNodeType.Element:
    case XNodeType.Attribute:
      return n.name;
    case XNodeType.Text:
      return "#text";
    case XNodeType.Comment:
      return "#comment";
    case XNodeType.ProcessingInstruction:
      return n.target;
    default:
      return "#document";
  }
}

export function normaliseOurs(v: XPathValue, stringValue: (n: XNode) => string): Normal {
  if (typeof v === "object") return { nodes: v.map((n) => line(ourName(n), stringValue(n))) };
  return { scalar: v };
}

/** The DOM node shape we read and rearrange (xmldom's nodes satisfy it). */
interface DomNode {
  nodeType: number;
  nodeName: string;
  nodeValue: string | null;
  textContent: string | null;
  documentElement?: DomNode | null;
  childNodes: ArrayLike<DomNode>;
  parentNode: DomNode | null;
  replaceChild(newChild: DomNode, oldChild: DomNode): DomNode;
  removeChild(child: DomNode): DomNode;
  normalize(): void;
}

/**
 * Brings xmldom's tree to the XPath data model, which our parser builds directly:
 * xmldom keeps the XML declaration as a processing instruction and the white space
 * around the root as text nodes at document level (neither exists in XPath's model),
 * and keeps CDATA sections as separate nodes (XPath sees them as text, merged with the
 * text around them).
 */
function toXPathModel(doc: DomNode): void {
  for (const n of Array.from(doc.childNodes)) {
    if (n.nodeType === 3 || (n.nodeType === 7 && n.nodeName === "xml")) doc.removeChild(n);
  }
  const factory = doc as unknown as { createTextNode(data: string): DomNode };
  const stack: DomNode[] = [doc];
  while (stack.length > 0) {
    const n = stack.pop()!;
    for (const c of Array.from(n.childNodes)) {
      if (c.nodeType === 4) n.replaceChild(factory.createTextNode(c.nodeValue ?? ""), c);
      else if (c.nodeType === 1) stack.push(c);
    }
  }
  doc.normalize();
}

function domName(n: DomNode): string {
  return n.nodeType === 4 ? "#text" : n.nodeName; // CDATA is text in the XPath data model
}

function domStringValue(n: DomNode): string {
  switch (n.nodeType) {
    case 9:
      return n.documentElement?.textContent ?? "";
    case 1:
      return n.textContent ?? "";
    default:
      return n.nodeValue ?? "";
  }
}

export interface OracleDoc {
  dom: unknown;
  rootNs: string;
}

export function oracleParse(text: string): OracleDoc {
  const dom = new DOMParser({ onError: () => {} }).parseFromString(text, "text/xml");
  toXPathModel(dom as unknown as DomNode);
  const root = (dom as unknown as { documentElement: { namespaceURI: string | null } }).documentElement;
  return { dom, rootNs: root.namespaceURI ?? "" };
}

export function oracleEvaluate(
  doc: OracleDoc,
  expr: string,
  namespaces: Record<string, string> = {},
): Normal {
  const select = xpath.useNamespaces({ voe: doc.rootNs, ...namespaces });
  const r = select(expr, doc.dom as Node) as unknown;
  if (Array.isArray(r)) return { nodes: (r as DomNode[]).map((n) => line(domName(n), domStringValue(n))) };
  if (typeof r === "boolean" || typeof r === "number" || typeof r === "string") return { scalar: r };
  throw new Error(`oracle returned ${typeof r} for ${expr}`);
}
