/**
 * What a receiver or subscriber does with signatures (its `signatures`
 * setting), apart from any node:
 * - `ignore` (the default): nothing, not even a look at the bytes: a node
 *   with this setting never calls into this module per event;
 * - `check`: every event goes on, with its verdict (msg.signature);
 * - `require`: only events signed by a key of the keyring go on; the others
 *   are refused with the verdict's reason.
 *
 * InOrder keeps a subscriber's events in the order they arrived while their
 * checks (asynchronous, of different costs) run: each event is delivered once
 * its own check and those of all events before it have finished.
 *
 * Decisions:
 * - A keyring that cannot be loaded gives every event the verdict
 *   "unknown-key" ("no keyring: …"), so `require` refuses them all.
 * - InOrder holds at most `maxBacklog` events (default 1024) whose checks have
 *   not finished; a broker that sends faster than they can be checked gets
 *   the extra events dropped and counted (`push` returns false), rather than
 *   growing memory without bound.
 */
import type { Keyring } from "./keyring";
import { type SignatureVerdict, type VerifyLimits, verifyPacket } from "./verify";

export type SignatureMode = "ignore" | "check" | "require";

export const SIGNATURE_MODES: readonly SignatureMode[] = ["ignore", "check", "require"];

/** The mode from a setting: "ignore" when blank or unknown. */
export function signatureMode(value: unknown): SignatureMode {
  return typeof value === "string" && (SIGNATURE_MODES as readonly string[]).includes(value)
    ? (value as SignatureMode)
    : "ignore";
}

/** Under `require`, why an event with this verdict is refused; null when it may go on. */
export function refusalOf(mode: SignatureMode, v: SignatureVerdict): string | null {
  if (mode !== "require" || v.verdict === "signed") return null;
  return `signature required: ${v.reason}`;
}

export const IN_ORDER_DEFAULTS = { maxBacklog: 1024 } as const;

interface Pending<T> {
  item: T;
  result: SignatureVerdict | null;
}

/** Checks events' signatures concurrently and delivers them in arrival order. */
export class InOrder<T> {
  private readonly queue: Pending<T>[] = [];
  private closed = false;
  private readonly maxBacklog: number;
  private readonly limits: Partial<VerifyLimits>;

  constructor(
    private readonly keyring: () => Keyring | Promise<Keyring>,
    private readonly deliver: (item: T, verdict: SignatureVerdict) => void,
    options: { maxBacklog?: number; limits?: Partial<VerifyLimits> } = {},
  ) {
    this.maxBacklog = options.maxBacklog ?? IN_ORDER_DEFAULTS.maxBacklog;
    this.limits = options.limits ?? {};
  }

  /** Events whose turn has not come yet. */
  get backlog(): number {
    return this.queue.length;
  }

  /** Starts checking `bytes`; false (and nothing delivered) when the backlog is full. */
  push(item: T, bytes: Uint8Array): boolean {
    if (this.closed || this.queue.length >= this.maxBacklog) return false;
    const pending: Pending<T> = { item, result: null };
    this.queue.push(pending);
    void Promise.resolve()
      .then(() => this.keyring())
      .then(
        (keyring) => verifyPacket(bytes, keyring, this.limits),
        (err: unknown): SignatureVerdict => ({
          verdict: "unknown-key",
          keyId: null,
          userId: null,
          reason: `no keyring: ${err instanceof Error ? err.message : String(err)}`,
        }),
      )
      .then((v) => {
        pending.result = v;
        this.flush();
      });
    return true;
  }

  /** Delivers nothing more. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
  }

  private flush(): void {
    while (!this.closed && this.queue.length > 0) {
      const head = this.queue[0];
      if (head.result === null) return;
      this.queue.shift();
      try {
        this.deliver(head.item, head.result);
      } catch {
        // A delivery that throws must not stop the next ones; the caller reports its own errors.
      }
    }
  }
}
