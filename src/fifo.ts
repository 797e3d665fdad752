/**
 * A first-in, first-out queue that lets go of what leaves it: an array with a moving head whose
 * taken slots are cleared at once, so that a queue which has handed an item on no longer keeps it
 * (or what it holds: a message, a packet, a parsed tree) alive until the next compaction.
 *
 * Decisions:
 * - The array is emptied outright whenever the queue runs empty (the usual case of a queue that
 *   is answered at once), and otherwise compacted once the head is past 1024 slots and past half
 *   of the array, so that the cost of compacting stays proportional to what was taken.
 */
const COMPACT_AFTER = 1024;

export class Fifo<T> {
  private readonly items: Array<T | undefined> = [];
  private head = 0;

  /** Items in the queue. */
  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** The item `i` places from the front (0: the oldest), or undefined past the end. */
  at(i: number): T | undefined {
    return i < 0 ? undefined : this.items[this.head + i];
  }

  /** The items from `start` up to `end` places from the front, as a new array. */
  slice(start: number, end: number): T[] {
    const out: T[] = [];
    const last = Math.min(this.items.length, this.head + end);
    for (let i = this.head + Math.max(0, start); i < last; i++) out.push(this.items[i] as T);
    return out;
  }

  /** Takes the oldest item out, or undefined when the queue is empty. */
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    this.compact();
    return item;
  }

  /** Takes the `n` oldest items out. */
  drop(n: number): void {
    const end = Math.min(this.items.length, this.head + Math.max(0, n));
    for (; this.head < end; this.head++) this.items[this.head] = undefined;
    this.compact();
  }

  /** Keeps the `n` oldest items, lets go of the rest. */
  truncate(n: number): void {
    if (n < this.length) this.items.length = this.head + Math.max(0, n);
    this.compact();
  }

  private compact(): void {
    if (this.head >= this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head > COMPACT_AFTER && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
  }
}
