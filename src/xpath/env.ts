/**
 * What one evaluation carries besides its context node: the document, the `voe` binding,
 * the document's index (built on first use) and the budget left. Its own file so that
 * budget.ts and the evaluator's parts can all use it without importing one another.
 */
import type { XDocument } from "../xml/types";
import { type DocIndex, docIndex } from "./docindex";

/** What one evaluation needs besides the context: the document and the `voe` binding. */
export interface Env {
  readonly doc: XDocument;
  /** Namespace the `voe` prefix stands for in this evaluation. */
  readonly voeNs: string;
  index: DocIndex | null;
  /** Units of work left (budget.ts); evaluation stops when it goes below zero. */
  budget: number;
}

export function indexFor(env: Env): DocIndex {
  let ix = env.index;
  if (ix === null) {
    ix = docIndex(env.doc);
    env.index = ix;
  }
  return ix;
}
