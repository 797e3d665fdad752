/**
 * Per-document data the evaluator computes once and keeps while the document lives
 * (a WeakMap keyed by the document): every non-attribute node in document order with
 * the extent of its subtree. With it the descendant, following and preceding axes are
 * slices of one array. The tree must not change once it has been evaluated.
 */
import { type XChild, type XDocument, type XNode, XNodeType } from "../xml/types";
import { XML_NS } from "./values";

export interface DocIndex {
  /** The document node, then every element, text, comment and PI, in document order. */
  readonly flat: readonly (XDocument | XChild)[];
  /** end[i] is the index in `flat` of the last node in the subtree of flat[i]. */
  readonly end: readonly number[];
  /** childIndex[i]: the position of flat[i] among its parent's children (built when first needed). */
  childIndex: Int32Array | null;
  /** All text of the document, and where the text of flat[i] onwards starts in it (when first needed). */
  text: { all: string; start: Int32Array } | null;
  /** The xml:lang in scope at flat[i], or null (built when first needed). */
  lang: (string | null)[] | null;
}

/**
 * The index lives on the document itself, under a symbol, as a non-enumerable property
 * (invisible to JSON, Object.keys and deep-clone helpers): it lives exactly as long as the
 * document. A WeakMap would do the same in principle, but V8 pays for every short-lived
 * key at each garbage collection: with one fresh document per packet that made
 * "parse + three rules" ten times slower than "parse" alone.
 */
const INDEX: unique symbol = Symbol("voevent.xpath.index");

type Indexed = XDocument & { [INDEX]?: DocIndex };

export function docIndex(doc: XDocument): DocIndex {
  const d = doc as Indexed;
  let ix = d[INDEX];
  if (ix === undefined) {
    ix = build(doc);
    // A frozen or sealed tree is indexed again by each evaluation rather than refused.
    if (Object.isExtensible(d)) {
      Object.defineProperty(d, INDEX, { value: ix, enumerable: false, writable: false, configurable: true });
    }
  }
  return ix;
}

function build(doc: XDocument): DocIndex {
  const flat: (XDocument | XChild)[] = [doc];
  const end: number[] = [0];
  // Iterative pre-order walk; frame `top` is (children, next child, index of their parent in flat).
  const kidsStack: (readonly XChild[])[] = [doc.children];
  const nextStack: number[] = [0];
  const idxStack: number[] = [0];
  let top = 0;
  while (top >= 0) {
    const kids = kidsStack[top];
    const k = nextStack[top];
    if (k >= kids.length) {
      end[idxStack[top]] = flat.length - 1;
      top--;
      continue;
    }
    nextStack[top] = k + 1;
    const child = kids[k];
    const i = flat.length;
    flat.push(child);
    end.push(i);
    if (child.type === XNodeType.Element && child.children.length > 0) {
      top++;
      kidsStack[top] = child.children;
      nextStack[top] = 0;
      idxStack[top] = i;
    }
  }
  return { flat, end, childIndex: null, text: null, lang: null };
}

/** Position of flat[i] among its siblings. */
export function childIndexAt(ix: DocIndex, i: number): number {
  let ci = ix.childIndex;
  if (ci === null) {
    ci = new Int32Array(ix.flat.length);
    const { flat, end } = ix;
    for (let p = 0; p < flat.length; p++) {
      const n = flat[p];
      if (n.type !== XNodeType.Element && n.type !== XNodeType.Document) continue;
      // The children of flat[p] start at p + 1, each after the subtree of the one before.
      for (let j = p + 1, k = 0; j <= end[p]; j = end[j] + 1, k++) ci[j] = k;
    }
    ix.childIndex = ci;
  }
  return ci[i];
}

/**
 * String-value of flat[i] (an element or the document) as a slice of the document's text,
 * so that string-values of nested elements cost no more than their length.
 */
export function textAt(ix: DocIndex, i: number): string {
  let t = ix.text;
  if (t === null) {
    const { flat } = ix;
    const start = new Int32Array(flat.length + 1);
    const parts: string[] = [];
    let len = 0;
    for (let j = 0; j < flat.length; j++) {
      start[j] = len;
      const n = flat[j];
      if (n.type === XNodeType.Text) {
        parts.push(n.value);
        len += n.value.length;
      }
    }
    start[flat.length] = len;
    t = { all: parts.join(""), start };
    ix.text = t;
  }
  return t.all.slice(t.start[i], t.start[ix.end[i] + 1]);
}

/** The xml:lang in scope at flat[i] (its own, else its nearest ancestor's), or null. */
export function langAt(ix: DocIndex, i: number): string | null {
  let langs = ix.lang;
  if (langs === null) {
    const { flat, end } = ix;
    langs = new Array<string | null>(flat.length).fill(null);
    // Open elements as (index, lang); popped once we are past their subtree.
    const open: number[] = [];
    for (let j = 0; j < flat.length; j++) {
      while (open.length > 0 && end[open[open.length - 1]] < j) open.pop();
      const inherited = open.length > 0 ? langs[open[open.length - 1]] : null;
      const n = flat[j];
      let own: string | null = null;
      if (n.type === XNodeType.Element) {
        for (const a of n.attrs) if (a.local === "lang" && a.ns === XML_NS) own = a.value;
        open.push(j);
      }
      langs[j] = own ?? inherited;
    }
    ix.lang = langs;
  }
  return langs[i];
}

/**
 * Index in `flat` of a non-attribute node, found by its `order` (binary search), or -1 for
 * an attribute or a node of another document.
 */
export function flatIndexOf(ix: DocIndex, node: XNode): number {
  if (node.type === XNodeType.Attribute) return -1;
  const flat = ix.flat;
  const order = node.order;
  let lo = 0;
  let hi = flat.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const o = flat[mid].order;
    if (o < order) lo = mid + 1;
    else if (o > order) hi = mid - 1;
    else {
      if (flat[mid] === node) return mid;
      break;
    }
  }
  // Orders not as the tree contract says: fall back to a scan rather than answer wrongly.
  return flat.indexOf(node as XDocument | XChild);
}
