/**
 * The runtime's feeds: every VTP receiver, subscriber and broadcaster of this process
 * reports its state and counts here, and the monitor page lists them. Plain TypeScript,
 * no Node-RED: a node adapter calls `feeds.open(...)` when it starts, the returned
 * handle's methods as things happen, and `close()` when it stops.
 *
 * Decisions:
 * - One registry per process (`feeds`), as there is one Node-RED runtime per process.
 * - "Events in the last hour" is counted in 60 one-minute buckets, so a feed's memory is
 *   fixed whatever its rate.
 * - Listeners are told of a change at most once per `notifyMs` (default 1 s) per registry:
 *   a feed at 10,000 events/s does not make the page redraw 10,000 times a second.
 * - Nothing here holds a timer that keeps the process alive (timers are unref'd and
 *   cleared when the last listener goes).
 */
import { EventEmitter } from "node:events";

export type FeedRole = "receiver" | "subscriber" | "broadcaster";
export type FeedStateName =
  | "starting"
  | "listening"
  | "connecting"
  | "connected"
  | "reconnecting"
  | "stopped"
  | "failed";

export interface FeedSnapshot {
  id: string;
  role: FeedRole;
  name: string;
  /** host:port listened on or connected to. */
  where: string;
  state: FeedStateName;
  /** When the current state began (ISO 8601). */
  since: string;
  /** For "reconnecting": when the next attempt is due (ISO 8601). */
  retryAt: string | null;
  /** A short reason for the state (last disconnect reason, error). */
  detail: string | null;
  events: number;
  eventsLastHour: number;
  lastEvent: string | null;
  naks: number;
  reconnects: number;
  /** Connected peers (receiver authors, broadcaster subscribers). */
  peers: number;
}

const BUCKET_MS = 60_000;
const BUCKETS = 60;

class Feed {
  state: FeedStateName = "starting";
  since = Date.now();
  retryAt: number | null = null;
  detail: string | null = null;
  events = 0;
  lastEvent: number | null = null;
  naks = 0;
  reconnects = 0;
  peers = 0;
  private readonly buckets = new Array<number>(BUCKETS).fill(0);
  private bucketStart = 0;

  constructor(
    readonly id: string,
    readonly role: FeedRole,
    readonly name: string,
    readonly where: string,
  ) {}

  countEvent(now: number): void {
    this.events++;
    this.lastEvent = now;
    this.roll(now);
    this.buckets[Math.floor(now / BUCKET_MS) % BUCKETS]++;
  }

  lastHour(now: number): number {
    this.roll(now);
    return this.buckets.reduce((a, b) => a + b, 0);
  }

  /** Empties the buckets of the minutes that passed since the last count. */
  private roll(now: number): void {
    const minute = Math.floor(now / BUCKET_MS);
    if (this.bucketStart === 0) this.bucketStart = minute;
    const gap = Math.min(BUCKETS, minute - this.bucketStart);
    for (let k = 1; k <= gap; k++) this.buckets[(this.bucketStart + k) % BUCKETS] = 0;
    if (minute > this.bucketStart) this.bucketStart = minute;
  }

  snapshot(now: number): FeedSnapshot {
    return {
      id: this.id,
      role: this.role,
      name: this.name,
      where: this.where,
      state: this.state,
      since: new Date(this.since).toISOString(),
      retryAt: this.retryAt === null ? null : new Date(this.retryAt).toISOString(),
      detail: this.detail,
      events: this.events,
      eventsLastHour: this.lastHour(now),
      lastEvent: this.lastEvent === null ? null : new Date(this.lastEvent).toISOString(),
      naks: this.naks,
      reconnects: this.reconnects,
      peers: this.peers,
    };
  }
}

/** What a node adapter holds to report into the registry. */
export interface FeedHandle {
  state(state: FeedStateName, detail?: string | null, retryInMs?: number): void;
  event(): void;
  nak(): void;
  reconnect(): void;
  peers(count: number): void;
  close(): void;
}

export class FeedRegistry extends EventEmitter {
  private readonly feeds = new Map<string, Feed>();
  private pending: NodeJS.Timeout | undefined;

  constructor(
    private readonly notifyMs = 1000,
    private readonly now: () => number = Date.now,
  ) {
    super();
  }

  /** Starts reporting a feed; a second open with the same id replaces the first. */
  open(info: { id: string; role: FeedRole; name?: string; where: string }): FeedHandle {
    const feed = new Feed(info.id, info.role, info.name ?? "", info.where);
    this.feeds.set(info.id, feed);
    this.changed();
    const live = () => this.feeds.get(info.id) === feed;
    return {
      state: (state, detail = null, retryInMs) => {
        if (!live()) return;
        if (state !== feed.state) feed.since = this.now();
        feed.state = state;
        feed.detail = detail;
        feed.retryAt = retryInMs === undefined ? null : this.now() + retryInMs;
        this.changed();
      },
      event: () => {
        if (!live()) return;
        feed.countEvent(this.now());
        this.changed();
      },
      nak: () => {
        if (!live()) return;
        feed.naks++;
        this.changed();
      },
      reconnect: () => {
        if (!live()) return;
        feed.reconnects++;
        this.changed();
      },
      peers: (count) => {
        if (!live()) return;
        feed.peers = count;
        this.changed();
      },
      close: () => {
        if (!live()) return;
        this.feeds.delete(info.id);
        this.changed();
      },
    };
  }

  list(): FeedSnapshot[] {
    const now = this.now();
    return [...this.feeds.values()].map((f) => f.snapshot(now));
  }

  /** Emits 'change' at most once per notifyMs, and only while someone listens. */
  private changed(): void {
    if (this.pending !== undefined || this.listenerCount("change") === 0) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.emit("change");
    }, this.notifyMs);
    this.pending.unref();
  }

  /** Stops a pending notification (tests). */
  cancel(): void {
    if (this.pending !== undefined) clearTimeout(this.pending);
    this.pending = undefined;
  }
}

/** The process's registry. */
export const feeds = new FeedRegistry();
