/**
 * A ring buffer of the last N items: what the monitor keeps of the events it has seen.
 *
 * Decisions:
 * - The capacity is fixed at construction; pushing into a full ring overwrites the oldest
 *   item, so memory is bounded by N items whatever the traffic.
 * - Each item gets a sequence number (1, 2, …) that keeps growing after overwrites: a page
 *   asks for "everything after seq S" and gets only what is still kept.
 */
export class Ring<T> {
  private readonly items: (T | undefined)[];
  private readonly seqs: number[];
  private start = 0;
  private count = 0;
  private nextSeq = 1;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError("ring capacity must be an integer >= 1");
    this.items = new Array(capacity);
    this.seqs = new Array(capacity).fill(0);
  }

  get size(): number {
    return this.count;
  }

  /** Adds an item (overwriting the oldest when full); returns its sequence number. */
  push(item: T): number {
    const seq = this.nextSeq++;
    const i = (this.start + this.count) % this.capacity;
    this.items[i] = item;
    this.seqs[i] = seq;
    if (this.count < this.capacity) this.count++;
    else this.start = (this.start + 1) % this.capacity;
    return seq;
  }

  /** Items kept, oldest first, with their sequence numbers. */
  entries(afterSeq = 0): Array<{ seq: number; item: T }> {
    const out: Array<{ seq: number; item: T }> = [];
    for (let k = 0; k < this.count; k++) {
      const i = (this.start + k) % this.capacity;
      if (this.seqs[i] > afterSeq) out.push({ seq: this.seqs[i], item: this.items[i] as T });
    }
    return out;
  }

  /** The item with this sequence number, if still kept. */
  get(seq: number): T | undefined {
    if (this.count === 0) return undefined;
    const oldest = this.seqs[this.start];
    const k = seq - oldest;
    if (!Number.isInteger(k) || k < 0 || k >= this.count) return undefined;
    return this.items[(this.start + k) % this.capacity];
  }

  clear(): void {
    this.items.fill(undefined);
    this.seqs.fill(0);
    this.start = 0;
    this.count = 0;
  }
}
