/**
 * Seeded randomness for fuzz tests: the same inputs on every run, so a failing case can be
 * replayed, and recorded answers (test/xml/fixtures/answers.json) stay valid.
 */

/** Small, seeded, reproducible (mulberry32). */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How a packet is mutated: 1 to maxEdits edits, each an insertion, a deletion or a changed byte. */
export interface MutationShape {
  maxEdits: number;
  /** An edit is an insertion of a snippet below this draw, */
  insertBelow: number;
  /** a deletion of one byte below this one, and else a byte set at random. */
  deleteBelow: number;
}

/** A mutated copy of `source`: the draws of `rnd` in a fixed order, so a seed gives the same copy. */
export function mutateBytes(
  source: Buffer,
  rnd: () => number,
  snippets: readonly Buffer[],
  shape: MutationShape,
): Buffer {
  let b = Buffer.from(source);
  const edits = 1 + Math.floor(rnd() * shape.maxEdits);
  for (let e = 0; e < edits; e++) {
    const i = Math.floor(rnd() * b.length);
    const r = rnd();
    if (r < shape.insertBelow) {
      const snip = snippets[Math.floor(rnd() * snippets.length)]!;
      b = Buffer.concat([b.subarray(0, i), snip, b.subarray(i)]);
    } else if (r < shape.deleteBelow) b = Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]);
    else b[i] = Math.floor(rnd() * 256);
  }
  return b;
}
