/**
 * VTP sender (comet-sendvo's job): connect to a broker's receiver, send one
 * event, wait for its ack or nak, close.
 *
 * - No receipt (connection refused, timed out, closed before a reply, a frame
 *   error, a reply that is not a Transport ack/nak) is a temporary failure
 *   (VTP 2.0 §7): retried up to `retries` times with doubling, jittered
 *   backoff, then rejected with a SendError saying what happened and how
 *   many attempts were made.
 * - A nak is a permanent answer: it resolves (reply "nak", with the reason)
 *   and is never retried.
 * - The reply is matched to the event by Origin = the event's IVORN when both
 *   are known; as one event is sent per connection, a peer whose Origin is
 *   something else (eSTAR's clients put their own IVORN there) is tolerated:
 *   `originMatches` says which it was.
 * - Each attempt is bounded by `timeoutMs` (connect, TLS handshake and reply
 *   together), so the whole call is bounded too. Abortable with `signal`.
 */
import { isVOEventError, VOEventError } from "../errors";
import { attr, parseXml } from "../xml/parse";
import { Backoff } from "./backoff";
import { DEFAULT_MAX_FRAME_BYTES, FramedConnection } from "./connection";
import { abortError, openSocket, type TlsOptions } from "./tls";
import { parseTransport, type TransportMessage } from "./transport";

export interface SendOptions {
  host: string;
  port: number;
  /** The VOEvent, as XML text or its exact bytes (sent unchanged). */
  payload: string | Buffer;
  /** Per attempt: connect + reply. Default 20000 ms. */
  timeoutMs?: number;
  /** Further attempts after the first when there is no receipt. Default 3. */
  retries?: number;
  /** First delay between attempts; doubles each time, less up to 25 % jitter. Default 1000 ms. */
  backoffMs?: number;
  tls?: TlsOptions;
  /** Largest reply accepted, bytes. Default 1 MiB. */
  maxBytes?: number;
  signal?: AbortSignal;
}

export interface SendResult {
  reply: "ack" | "nak";
  /** Meta/Result of the reply (a nak's reason), or null. */
  reason: string | null;
  transport: TransportMessage;
  /** Whether the reply's Origin is the event's IVORN (true when either is unknown). */
  originMatches: boolean;
  attempts: number;
  elapsedMs: number;
}

export type SendFailure = "ECONNREFUSED" | "ETIMEDOUT" | "ECLOSED" | "EFRAME" | "EREPLY" | "ECONNECT";

/** Why sendEvent gave up: `code` is the last attempt's failure. */
export class SendError extends Error {
  readonly code: SendFailure;
  readonly attempts: number;
  readonly elapsedMs: number;
  constructor(code: SendFailure, message: string, attempts: number, elapsedMs: number, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "SendError";
    this.code = code;
    this.attempts = attempts;
    this.elapsedMs = elapsedMs;
  }
}

interface AttemptFailure {
  code: SendFailure | "EABORT";
  message: string;
  cause?: unknown;
}

export async function sendEvent(opts: SendOptions): Promise<SendResult> {
  const start = performance.now();
  const timeoutMs = opts.timeoutMs ?? 20000;
  const retries = opts.retries ?? 3;
  const backoffMs = opts.backoffMs ?? 1000;
  if (!(timeoutMs > 0)) throw new RangeError(`sendEvent: timeoutMs must be > 0, not ${timeoutMs}`);
  if (!Number.isInteger(retries) || retries < 0) {
    throw new RangeError(`sendEvent: retries must be a whole number ≥ 0, not ${retries}`);
  }
  const size = typeof opts.payload === "string" ? Buffer.byteLength(opts.payload) : opts.payload.length;
  if (size === 0) throw new VOEventError("BAD_FRAME", "sendEvent: the payload is empty");
  const ivorn = eventIvorn(opts.payload);
  const backoff = new Backoff({
    initialMs: backoffMs,
    maxMs: Math.max(backoffMs, backoffMs * 2 ** Math.min(retries, 20)),
    factor: 2,
    jitter: 0.25,
  });
  const where = `${opts.host}:${opts.port}`;
  for (let attempt = 1; ; attempt++) {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    const outcome = await attemptOnce(opts, timeoutMs, ivorn);
    if ("reply" in outcome) {
      return { ...outcome, attempts: attempt, elapsedMs: performance.now() - start };
    }
    if (outcome.code === "EABORT") throw abortError(opts.signal);
    if (attempt > retries) {
      const elapsed = performance.now() - start;
      throw new SendError(
        outcome.code,
        `sending the event to ${where} failed after ${attempt} attempt${attempt === 1 ? "" : "s"}: ${outcome.message}`,
        attempt,
        elapsed,
        outcome.cause,
      );
    }
    await sleep(backoff.next(), opts.signal);
  }
}

/** The root's ivorn attribute, when the payload is well-formed XML with one. */
function eventIvorn(payload: string | Buffer): string | null {
  try {
    const v = attr(parseXml(payload, { maxBytes: Number.MAX_SAFE_INTEGER }).root, "ivorn");
    return v === null ? null : v.trim();
  } catch {
    return null;
  }
}

async function attemptOnce(
  opts: SendOptions,
  timeoutMs: number,
  ivorn: string | null,
): Promise<Omit<SendResult, "attempts" | "elapsedMs"> | AttemptFailure> {
  const t0 = performance.now();
  let socket: Awaited<ReturnType<typeof openSocket>>;
  try {
    socket = await openSocket({
      host: opts.host,
      port: opts.port,
      timeoutMs,
      ...(opts.tls === undefined ? {} : { tls: opts.tls }),
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (opts.signal?.aborted) return { code: "EABORT", message: e.message, cause: err };
    if (e.code === "ECONNREFUSED")
      return { code: "ECONNREFUSED", message: `ECONNREFUSED: ${e.message}`, cause: err };
    if (e.code === "ETIMEDOUT")
      return { code: "ETIMEDOUT", message: `timed out after ${timeoutMs} ms (connecting)`, cause: err };
    return { code: "ECONNECT", message: `${e.code ?? "error"}: ${e.message}`, cause: err };
  }
  const remaining = Math.max(1, timeoutMs - (performance.now() - t0));
  const conn = new FramedConnection(socket, { maxBytes: opts.maxBytes ?? DEFAULT_MAX_FRAME_BYTES });
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: Omit<SendResult, "attempts" | "elapsedMs"> | AttemptFailure): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      conn.removeAllListeners("frame");
      if (conn.closed && conn.socket.destroyed) {
        resolve(r);
        return;
      }
      conn.once("close", () => resolve(r));
      conn.destroy("done");
    };
    const onAbort = (): void => {
      finish({ code: "EABORT", message: "aborted" });
    };
    const timer = setTimeout(
      () => finish({ code: "ETIMEDOUT", message: `timed out after ${timeoutMs} ms without a reply` }),
      remaining,
    );
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    conn.on("frame", (payload: Buffer) => {
      let t: TransportMessage;
      try {
        t = parseTransport(payload, { maxBytes: opts.maxBytes ?? DEFAULT_MAX_FRAME_BYTES });
      } catch (err) {
        finish({ code: "EREPLY", message: `unparsable reply: ${(err as Error).message}`, cause: err });
        return;
      }
      const role = t.role === "ack" ? "ack" : t.role === "nak" ? "nak" : null;
      if (role === null) return; // iamalive and the like: not our answer, keep waiting
      const originMatches = ivorn === null || t.origin === null || t.origin === "" || t.origin === ivorn;
      finish({ reply: role, reason: t.result, transport: t, originMatches });
    });
    conn.on("error", (err: Error) => {
      if (isVOEventError(err)) finish({ code: "EFRAME", message: `frame error: ${err.message}`, cause: err });
      else {
        const code = (err as NodeJS.ErrnoException).code ?? "error";
        finish({
          code: "ECLOSED",
          message: `connection failed before a reply (${code}: ${err.message})`,
          cause: err,
        });
      }
    });
    conn.on("close", () => finish({ code: "ECLOSED", message: "connection closed without a reply" }));
    conn.send(opts.payload);
  });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
