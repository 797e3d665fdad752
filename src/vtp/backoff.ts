/**
 * Reconnection delays: exponential backoff with jitter, capped, reset only
 * when the caller says a connection was healthy.
 *
 * Delay n (0-based) is `min(maxMs, initialMs × factorⁿ)`, then shortened by a
 * random fraction of at most `jitter` of itself, so that many clients cut off
 * at once do not all come back at the same instant, and no delay ever exceeds
 * the cap.
 */

export interface BackoffOptions {
  /** First delay, ms. Default 1000. */
  initialMs?: number;
  /** Largest delay, ms. Default 60000. */
  maxMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** 0..1: each delay is shortened by up to this fraction of itself, at random. Default 0.25. */
  jitter?: number;
}

export const BACKOFF_DEFAULTS: Readonly<Required<BackoffOptions>> = {
  initialMs: 1000,
  maxMs: 60000,
  factor: 2,
  jitter: 0.25,
};

export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  readonly jitter: number;
  private attempts = 0;
  private readonly random: () => number;

  /** Throws RangeError for a negative or non-finite value, a factor below 1 or a jitter outside 0..1. */
  constructor(options: BackoffOptions = {}, random: () => number = Math.random) {
    this.initialMs = options.initialMs ?? BACKOFF_DEFAULTS.initialMs;
    this.maxMs = options.maxMs ?? Math.max(BACKOFF_DEFAULTS.maxMs, this.initialMs);
    this.factor = options.factor ?? BACKOFF_DEFAULTS.factor;
    this.jitter = options.jitter ?? BACKOFF_DEFAULTS.jitter;
    this.random = random;
    if (!Number.isFinite(this.initialMs) || this.initialMs < 0) {
      throw new RangeError(`backoff initialMs must be a number ≥ 0, not ${this.initialMs}`);
    }
    if (!Number.isFinite(this.maxMs) || this.maxMs < this.initialMs) {
      throw new RangeError(
        `backoff maxMs must be a number ≥ initialMs (${this.initialMs}), not ${this.maxMs}`,
      );
    }
    if (!Number.isFinite(this.factor) || this.factor < 1) {
      throw new RangeError(`backoff factor must be a number ≥ 1, not ${this.factor}`);
    }
    if (!Number.isFinite(this.jitter) || this.jitter < 0 || this.jitter > 1) {
      throw new RangeError(`backoff jitter must be between 0 and 1, not ${this.jitter}`);
    }
  }

  /** How many delays have been handed out since the last reset. */
  get attempt(): number {
    return this.attempts;
  }

  /** The delay before the next attempt, ms (whole); advances the sequence. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * this.factor ** Math.min(this.attempts, 1000));
    this.attempts++;
    const cut = base * this.jitter * this.random();
    return Math.max(0, Math.round(base - cut));
  }

  /** Back to the first delay (after a connection that stayed up long enough). */
  reset(): void {
    this.attempts = 0;
  }
}
