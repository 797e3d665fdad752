/**
 * Node status in one style across the package: green dot = working, blue
 * ring = idle or waiting, yellow ring = running with a problem worth a look,
 * red ring = refused to start or the last message failed.
 *
 * Decisions:
 * - A status that changes with every message (a count) is formatted and shown
 *   at most once per STATUS_UPDATE_MS (`StatusFlasher.update`): the first
 *   change at once, later ones when the interval is up, the latest winning.
 *   Formatting it per message (i18n with plural rules) and sending it to the
 *   editor per message cost more than the broker's own work per event
 *   (issue 16's profiles: 12–17% of the runtime's busy time).
 * - A count (`update`) equal to the one shown is not sent again; a status set
 *   with `set` (a change of state: connecting, connected, cleared) always is,
 *   so that a Status node that started after the first one still hears it.
 */
import type { NodeStatus } from "node-red";
import type { Node } from "./types";

export const statusOk = (text: string): NodeStatus => ({ fill: "green", shape: "dot", text });
export const statusIdle = (text: string): NodeStatus => ({ fill: "blue", shape: "ring", text });
export const statusWarn = (text: string): NodeStatus => ({ fill: "yellow", shape: "ring", text });
export const statusError = (text: string): NodeStatus => ({ fill: "red", shape: "ring", text });
export const statusClear: NodeStatus = {};

/** How long a flashed status (an error about one message) stays before the steady one returns. */
export const FLASH_MS = 3000;

/** At most one update per this long of a status that changes with every message (counts). */
export const STATUS_UPDATE_MS = 1000;

function sameStatus(a: NodeStatus | undefined, b: NodeStatus): boolean {
  return a !== undefined && a.fill === b.fill && a.shape === b.shape && a.text === b.text;
}

/**
 * Keeps a node's steady status and flashes another over it for a while (an
 * error about one message), then puts the steady one back; formats a status
 * that changes per message (`update`) at most once per `updateMs`. Owns two
 * timers: call close() from the close handler.
 */
export class StatusFlasher {
  private steady: NodeStatus = statusClear;
  private shown: NodeStatus | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The latest steady status asked for with update() and not yet formatted. */
  private pending: (() => NodeStatus) | undefined;
  private updateTimer: NodeJS.Timeout | undefined;
  private lastUpdate = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly node: Node,
    private readonly flashMs: number = FLASH_MS,
    private readonly updateMs: number = STATUS_UPDATE_MS,
  ) {}

  /** Sets the steady status (shown at once unless a flash is showing); drops a pending update(). */
  set(status: NodeStatus): void {
    this.pending = undefined;
    this.steady = status;
    if (this.timer === undefined && !this.closed) this.show(status, true);
  }

  /**
   * Sets the steady status to what `make` returns, calling it at most once per
   * updateMs: at once when the last update is older than that, else when the
   * interval is up (only the latest `make` is called). For counts that change
   * with every message.
   */
  update(make: () => NodeStatus): void {
    if (this.closed) return;
    this.pending = make;
    if (this.updateTimer !== undefined) return;
    const wait = this.lastUpdate + this.updateMs - Date.now();
    if (wait <= 0) {
      this.applyUpdate();
      return;
    }
    this.updateTimer = setTimeout(() => {
      this.updateTimer = undefined;
      this.applyUpdate();
    }, wait);
    this.updateTimer.unref();
  }

  /** Shows `status` for a while, then the steady status again. */
  flash(status: NodeStatus): void {
    if (this.closed) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.show(status);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.closed) this.show(this.steady, true);
    }, this.flashMs);
    this.timer.unref();
  }

  /** Stops the timers; later calls do nothing. */
  close(): void {
    this.closed = true;
    this.pending = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.updateTimer !== undefined) clearTimeout(this.updateTimer);
    this.timer = undefined;
    this.updateTimer = undefined;
  }

  private applyUpdate(): void {
    const make = this.pending;
    if (make === undefined || this.closed) return;
    this.lastUpdate = Date.now();
    this.pending = undefined;
    this.steady = make();
    if (this.timer === undefined) this.show(this.steady, false);
  }

  private show(status: NodeStatus, always = false): void {
    if (!always && sameStatus(this.shown, status)) return;
    this.shown = status;
    this.node.status(status);
  }
}
