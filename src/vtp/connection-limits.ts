/**
 * Connection accounting for the VTP servers (receiver, broadcaster): how many
 * connections are open in all and from each address, and whether one more may
 * come in.
 *
 * Decisions:
 * - Two limits, both named options with their defaults here: `maxConnections`
 *   (all peers together) and `maxConnectionsPerAddress` (one address), so one
 *   peer, or one scanner, can take a share of the slots but never all of them.
 * - Counted per TCP connection as soon as it is accepted, before any TLS
 *   handshake, and released when its raw socket closes: a peer that stalls in
 *   the handshake holds a slot, and is dropped by the handshake timeout.
 * - A refusal is a value ({limit, reason}) naming the limit, not an exception:
 *   the server closes the socket at once and reports it.
 * - Addresses are compared as the socket reports them after
 *   normaliseAddress (an IPv4-mapped IPv6 address counts as its IPv4 address).
 */
import type net from "node:net";

export const CONNECTION_LIMIT_DEFAULTS = {
  /** Receiver: authors connected at once. */
  receiverMaxConnections: 256,
  /** Broadcaster: subscribers connected at once. */
  broadcasterMaxConnections: 1000,
  /** Either server: connections from one address at once. */
  maxConnectionsPerAddress: 64,
} as const;

export interface ConnectionLimitOptions {
  maxConnections: number;
  maxConnectionsPerAddress: number;
}

export type ConnectionLimitName = "maxConnections" | "maxConnectionsPerAddress";

export interface ConnectionRefusal {
  limit: ConnectionLimitName;
  /** In words, naming the limit and its value: "too many connections (limit maxConnections = 256)". */
  reason: string;
}

export class ConnectionLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
  private open = 0;
  private readonly perAddress = new Map<string, number>();

  /** Throws RangeError for a limit that is not a whole number ≥ 1 (`owner` names the class in the message). */
  constructor(options: ConnectionLimitOptions, owner: string) {
    this.maxConnections = limit(owner, "maxConnections", options.maxConnections);
    this.maxConnectionsPerAddress = limit(
      owner,
      "maxConnectionsPerAddress",
      options.maxConnectionsPerAddress,
    );
  }

  /** Connections counted now. */
  get total(): number {
    return this.open;
  }

  /** Connections counted now from `address`. */
  from(address: string): number {
    return this.perAddress.get(address) ?? 0;
  }

  /** Why one more connection from `address` is refused, or null when it may come in (it is not counted yet). */
  check(address: string): ConnectionRefusal | null {
    if (this.open >= this.maxConnections) {
      return {
        limit: "maxConnections",
        reason: `too many connections (limit maxConnections = ${this.maxConnections})`,
      };
    }
    if (this.from(address) >= this.maxConnectionsPerAddress) {
      return {
        limit: "maxConnectionsPerAddress",
        reason: `too many connections from ${address} (limit maxConnectionsPerAddress = ${this.maxConnectionsPerAddress})`,
      };
    }
    return null;
  }

  /**
   * Counts one connection from `address` until the returned release is called (the caller calls
   * it when the socket closes, from the one close listener it has anyway); a second call does nothing.
   */
  hold(address: string): () => void {
    this.open++;
    this.perAddress.set(address, this.from(address) + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.open--;
      const n = this.from(address) - 1;
      if (n <= 0) this.perAddress.delete(address);
      else this.perAddress.set(address, n);
    };
  }
}

/**
 * Whether a socket's writes have stalled between two looks: bytes were waiting
 * at the last look and not one of them has reached the kernel since. For a
 * periodic check (the broadcaster's iamalive tick), at no cost per write.
 */
export class WriteProgress {
  private waitingAtLastLook = false;
  private flushedAtLastLook = 0;

  stalled(socket: net.Socket, corkedBytes = 0): boolean {
    if (socket.destroyed) return false;
    const waiting = socket.writableLength - corkedBytes > 0;
    const flushed = socket.bytesWritten - socket.writableLength;
    const stalled = waiting && this.waitingAtLastLook && flushed === this.flushedAtLastLook;
    this.waitingAtLastLook = waiting;
    this.flushedAtLastLook = flushed;
    return stalled;
  }
}

function limit(owner: string, name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${owner}: ${name} must be a whole number ≥ 1, not ${value}`);
  }
  return value;
}
