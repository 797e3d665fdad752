/**
 * Node status in one style across the package: green dot = working, blue
 * ring = idle or waiting, yellow ring = running with a problem worth a look,
 * red ring = refused to start or the last message failed.
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

/**
 * Keeps a node's steady status and flashes another over it for a while (an
 * error about one message), then puts the steady one back. Owns one timer:
 * call close() from the close handler.
 */
export class StatusFlasher {
  private steady: NodeStatus = statusClear;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly node: Node,
    private readonly flashMs: number = FLASH_MS,
  ) {}

  /** Sets the steady status (shown at once unless a flash is showing). */
  set(status: NodeStatus): void {
    this.steady = status;
    if (this.timer === undefined && !this.closed) this.node.status(status);
  }

  /** Shows `status` for a while, then the steady status again. */
  flash(status: NodeStatus): void {
    if (this.closed) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.node.status(status);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.closed) this.node.status(this.steady);
    }, this.flashMs);
    this.timer.unref();
  }

  /** Stops the timer; later calls do nothing. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
