/**
 * Warnings caused by peers (a refused connection, a nak, a junk frame), rate
 * limited per node: a scanner or a broken broker must not flood the log.
 *
 * Decisions:
 * - The first `burst` warnings (5) in each window (60 s) are logged as they
 *   come; the rest are counted, and one warning at the end of the window says
 *   how many there were, with the last one's text. So the log shows a count,
 *   not a flood, and nothing is silently lost.
 * - One helper per node, for all its peer warnings together.
 * - Owns one timer, only while warnings are being counted; close() stops it
 *   and logs the count still pending.
 */
import type { Node } from "./types";

export interface PeerWarningOptions {
  /** Warnings logged as they come in each window. Default 5. */
  burst?: number;
  /** Length of a window, ms. Default 60000. */
  windowMs?: number;
}

export const PEER_WARNING_DEFAULTS = { burst: 5, windowMs: 60000 } as const;

/** Words for the count of warnings held back: `count` of them in `seconds` s, the last one `last`. */
export type SuppressedText = (count: number, seconds: number, last: string) => string;

export class PeerWarnings {
  private readonly burst: number;
  private readonly windowMs: number;
  private windowStart = 0;
  private shown = 0;
  private held = 0;
  private last = "";
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Warnings held back since the node started (for tests and status). */
  suppressed = 0;

  constructor(
    private readonly node: Node,
    private readonly suppressedText: SuppressedText,
    options: PeerWarningOptions = {},
  ) {
    this.burst = options.burst ?? PEER_WARNING_DEFAULTS.burst;
    this.windowMs = options.windowMs ?? PEER_WARNING_DEFAULTS.windowMs;
  }

  warn(text: string): void {
    if (this.closed) return;
    const now = Date.now();
    if (now - this.windowStart >= this.windowMs) {
      this.flush();
      this.windowStart = now;
      this.shown = 0;
    }
    if (this.shown < this.burst) {
      this.shown++;
      this.node.warn(text);
      return;
    }
    this.held++;
    this.suppressed++;
    this.last = text;
    if (this.timer === null) {
      this.timer = setTimeout(
        () => {
          this.timer = null;
          this.flush();
        },
        Math.max(1, this.windowStart + this.windowMs - now),
      );
    }
  }

  /** Stops the timer, logging the count still held back. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
  }

  private flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.held === 0) return;
    const count = this.held;
    this.held = 0;
    this.node.warn(this.suppressedText(count, Math.round(this.windowMs / 1000), this.last));
  }
}
