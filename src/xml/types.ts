/**
 * A small, read-only XML tree: what our own parser (src/xml/parse.ts) produces,
 * what the VOEvent model is read from, and what XPath (src/xpath) walks.
 *
 * Every node carries `order`, its position in document order (the document is 0,
 * then each element, its attributes, then its children, in the order the parser
 * met them), so node sets can be sorted and de-duplicated without walking the tree.
 */

export enum XNodeType {
  Element = 1,
  Attribute = 2,
  Text = 3,
  ProcessingInstruction = 7,
  Comment = 8,
  Document = 9,
}

export interface XNamespaceDecl {
  /** '' for the default namespace (xmlns="…"). */
  prefix: string;
  uri: string;
}

export interface XAttribute {
  type: XNodeType.Attribute;
  /** Qualified name as written, e.g. `xsi:schemaLocation`. */
  name: string;
  local: string;
  prefix: string;
  /** Namespace URI; '' for an unprefixed attribute (attributes never take the default namespace). */
  ns: string;
  /** Value with entity and character references decoded and whitespace normalised as XML 1.0 §3.3.3 says. */
  value: string;
  parent: XElement;
  order: number;
}

export interface XElement {
  type: XNodeType.Element;
  /** Qualified name as written, e.g. `voe:VOEvent`. */
  name: string;
  local: string;
  prefix: string;
  /** Resolved namespace URI; '' when the element is in no namespace. */
  ns: string;
  /** Attributes in document order, without the xmlns / xmlns:* declarations. */
  attrs: XAttribute[];
  /** Namespace declarations made on this element (xmlns, xmlns:p). */
  nsDecls: XNamespaceDecl[];
  children: XChild[];
  parent: XElement | XDocument;
  order: number;
}

export interface XText {
  type: XNodeType.Text;
  /** Decoded character data; CDATA sections become text too, adjacent text is merged. */
  value: string;
  parent: XElement;
  order: number;
}

export interface XComment {
  type: XNodeType.Comment;
  value: string;
  parent: XElement | XDocument;
  order: number;
}

export interface XProcessingInstruction {
  type: XNodeType.ProcessingInstruction;
  target: string;
  value: string;
  parent: XElement | XDocument;
  order: number;
}

export type XChild = XElement | XText | XComment | XProcessingInstruction;
export type XNode = XChild | XAttribute | XDocument;

export interface XDocument {
  type: XNodeType.Document;
  /** Top-level comments and processing instructions, and the root element. */
  children: (XElement | XComment | XProcessingInstruction)[];
  root: XElement;
  order: 0;
}
