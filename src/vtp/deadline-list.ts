/**
 * Deadlines of many connections kept with one timer: the receiver's idle deadline
 * (idleTimeoutMs), which every author connection has from its first moment.
 *
 * Decisions:
 * - One Node.js timer for the whole list, armed for the earliest deadline. A timer per
 *   connection cost a one-shot author's connection ~4 µs (setTimeout, and clearTimeout when it
 *   closed, each time creating and removing the timer list of that duration): more than the rest
 *   of its deadlines together.
 * - Entries are kept in order of their deadline, in a doubly linked list: adding at the tail (the
 *   usual case: a later deadline than any before) and removing are O(1); a deadline earlier than
 *   the tail's is put in its place walking back from the tail (at most the list's length, which the
 *   connection limits bound).
 * - When the timer fires, every entry whose deadline has passed is taken off the list and its
 *   `expire` is called with the time: it returns a new deadline to be put back with, or null to
 *   stay off (the connection was dropped, or needs no more timing). The timer is left armed when
 *   the list empties: it fires once more for nothing, rather than being cleared and armed again
 *   for every short-lived connection.
 * - The clock is performance.now(): monotonic, so that a change of the wall clock neither drops
 *   every connection nor keeps them for ever.
 */
import { performance } from "node:perf_hooks";

export interface DeadlineEntry {
  /** When it is due (performance.now() ms); read only. */
  due: number;
  /** @internal */ prev: DeadlineEntry | null;
  /** @internal */ next: DeadlineEntry | null;
  /** @internal */ listed: boolean;
  /** Called when `due` has passed, off the list: a new deadline to be put back with, or null. */
  expire(now: number): number | null;
}

/** The longest delay a Node.js timer keeps (a longer one fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class DeadlineList {
  private head: DeadlineEntry | null = null;
  private tail: DeadlineEntry | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** When the armed timer fires (performance.now() ms). */
  private timerAt = Number.POSITIVE_INFINITY;
  private closed = false;
  /** While fire() runs: entries put back then do not arm the timer (fire arms it for the head). */
  private firing = false;
  private count = 0;

  /** Entries on the list. */
  get size(): number {
    return this.count;
  }

  /** The clock the deadlines are in. */
  now(): number {
    return performance.now();
  }

  /** Puts `entry` on the list, due at `due`. An entry already on it is moved. */
  add(entry: DeadlineEntry, due: number): void {
    if (this.closed) return;
    if (entry.listed) this.remove(entry);
    entry.due = due;
    entry.listed = true;
    this.count++;
    let after = this.tail;
    while (after !== null && after.due > due) after = after.prev;
    entry.prev = after;
    entry.next = after === null ? this.head : after.next;
    if (entry.next === null) this.tail = entry;
    else entry.next.prev = entry;
    if (after === null) this.head = entry;
    else after.next = entry;
    if (due < this.timerAt && !this.firing) this.arm(due);
  }

  /** Takes `entry` off the list (nothing if it is not on it). */
  remove(entry: DeadlineEntry): void {
    if (!entry.listed) return;
    entry.listed = false;
    this.count--;
    if (entry.prev === null) this.head = entry.next;
    else entry.prev.next = entry.next;
    if (entry.next === null) this.tail = entry.prev;
    else entry.next.prev = entry.prev;
    entry.prev = null;
    entry.next = null;
  }

  /** Forgets every entry and stops the timer. */
  close(): void {
    this.closed = true;
    while (this.head !== null) this.remove(this.head);
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private arm(at: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerAt = at;
    const ms = Math.min(MAX_TIMER_MS, Math.max(1, Math.ceil(at - performance.now())));
    this.timer = setTimeout(() => this.fire(), ms);
  }

  private fire(): void {
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    this.firing = true;
    try {
      // Entries put back while expiring are due later than now: the loop stops before them.
      for (let entry = this.head; entry !== null && entry.due <= now; entry = this.head) {
        this.remove(entry);
        let next: number | null = null;
        try {
          next = entry.expire(now);
        } catch {
          // An entry's expire must not throw; one that does is not timed any more.
        }
        if (next !== null && !this.closed) this.add(entry, Math.max(next, now + 1));
      }
    } finally {
      this.firing = false;
    }
    // The earliest deadline left, whether an entry put back or one that was already waiting.
    if (this.head !== null && !this.closed) this.arm(this.head.due);
  }
}
