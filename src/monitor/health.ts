/**
 * Feed health for a subscriber: counts, a one-line status, and health reports for an
 * optional second output (`msg.topic = "voevent/health"`), so that a feed that goes
 * quiet can be chained to e-mail like any alert.
 *
 * Reports (`HealthReport.reason`): "connect", "disconnect", "silent" (no event for
 * `silenceMs`; iamalive does not count), "resumed" (the first event after a "silent").
 *
 * Decisions:
 * - Silence is measured from the last event, or from start() when none came yet, whether
 *   or not the link is up: a feed that is down is silent too. "silent" is reported once
 *   per silence, "resumed" once when it ends.
 * - `silenceMs` 0 turns the alarm off. One timer, unref'd, freed by close().
 */
import { EventEmitter } from "node:events";

export interface HealthCounts {
  events: number;
  reconnects: number;
  disconnects: number;
}

export interface HealthReport {
  reason: "connect" | "disconnect" | "silent" | "resumed";
  state: "connected" | "disconnected";
  /** The broker, host:port. */
  peer: string;
  /** When the current link state began (ISO 8601). */
  since: string;
  counts: HealthCounts;
  /** The last event's arrival (ISO 8601), or null. */
  lastEvent: string | null;
  /** For "silent" and "resumed": how long the feed had been silent, ms. */
  silentMs?: number;
  /** For "disconnect": why. */
  detail?: string;
}

export class FeedHealth extends EventEmitter {
  private state: "connected" | "disconnected" = "disconnected";
  private since = Date.now();
  private lastEvent: number | null = null;
  private quietFrom = Date.now();
  private silent = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  readonly counts: HealthCounts = { events: 0, reconnects: 0, disconnects: 0 };

  constructor(
    readonly peer: string,
    readonly silenceMs: number,
  ) {
    super();
  }

  start(): void {
    this.quietFrom = Date.now();
    this.arm();
  }

  connected(): void {
    if (this.closed) return;
    if (this.counts.disconnects > 0) this.counts.reconnects++;
    this.state = "connected";
    this.since = Date.now();
    this.report("connect");
  }

  disconnected(detail: string): void {
    if (this.closed || this.state !== "connected") return;
    this.counts.disconnects++;
    this.state = "disconnected";
    this.since = Date.now();
    this.report("disconnect", { detail });
  }

  event(): void {
    if (this.closed) return;
    const now = Date.now();
    this.counts.events++;
    this.lastEvent = now;
    if (this.silent) {
      this.silent = false;
      this.report("resumed", { silentMs: now - this.quietFrom });
    }
    this.quietFrom = now;
    this.arm();
  }

  /** "connected · 42 events · last 3 min ago" style facts for a status line. */
  get lastEventAt(): number | null {
    return this.lastEvent;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    if (this.silenceMs <= 0 || this.closed) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.closed || this.silent) return;
      this.silent = true;
      this.report("silent", { silentMs: Date.now() - this.quietFrom });
    }, this.silenceMs);
    this.timer.unref();
  }

  private report(reason: HealthReport["reason"], extra: Partial<HealthReport> = {}): void {
    const report: HealthReport = {
      reason,
      state: this.state,
      peer: this.peer,
      since: new Date(this.since).toISOString(),
      counts: { ...this.counts },
      lastEvent: this.lastEvent === null ? null : new Date(this.lastEvent).toISOString(),
      ...extra,
    };
    this.emit("report", report);
  }
}

/** "3 min ago", "12 s ago", "2 h ago", "4 d ago". */
export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.round(h / 24)} d ago`;
}
