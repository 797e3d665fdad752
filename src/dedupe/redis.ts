/**
 * A seen-key store on Redis, shared by every Node-RED instance that uses the
 * same server, database and prefix: the check is one atomic round trip,
 * `SET <prefix><key> 1 NX PX <ttl>`, which answers OK only to the first
 * instance that sets the key while it lives. Capacity is Redis's business
 * (its maxmemory policy), not this store's.
 *
 * After an outage, the Deduper writes back the keys that passed on memory
 * alone meanwhile (`writeBack`: the same `SET NX`, with the TTL they have
 * left), so that other instances find them.
 *
 * The store does not own the connection: a client made by createRedisClient
 * is shared by the stores that use it and closed by its owner (the
 * voevent-redis config node). Commands fail at once while the client is not
 * connected (no offline queue), and after `commandTimeout` when the server
 * stops answering, so a caller (the Deduper) can fall back to memory at once.
 */
import { Redis, type RedisOptions } from "ioredis";
import type { TlsOptions } from "../vtp/tls";
import type { PrimaryStore } from "./deduper";

export const REDIS_DEFAULTS = {
  host: "127.0.0.1",
  port: 6379,
  db: 0,
  prefix: "voevent:dedupe:",
  /** Deadline of one command, ms. */
  commandTimeoutMs: 2000,
  /** Deadline of one connection attempt, ms. */
  connectTimeoutMs: 5000,
  /** Reconnect backoff: first delay and ceiling, ms (doubling, with jitter). */
  retryMinMs: 100,
  retryMaxMs: 10_000,
} as const;

export interface RedisClientOptions {
  host?: string;
  port?: number;
  db?: number;
  username?: string;
  password?: string;
  tls?: TlsOptions;
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  /** A name for the connection (CLIENT SETNAME), shown by `redis-cli client list`. */
  connectionName?: string;
}

/** The reconnect delay after `attempt` failures: doubling from min to max, with ±20% jitter. */
export function backoffMs(attempt: number, minMs: number, maxMs: number, random = Math.random): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** An ioredis client set up for dedupe: connects at once, reconnects for ever with backoff, no offline queue. */
export function createRedisClient(opts: RedisClientOptions = {}): Redis {
  const min = opts.retryMinMs ?? REDIS_DEFAULTS.retryMinMs;
  const max = opts.retryMaxMs ?? REDIS_DEFAULTS.retryMaxMs;
  const options: RedisOptions = {
    host: opts.host ?? REDIS_DEFAULTS.host,
    port: opts.port ?? REDIS_DEFAULTS.port,
    db: opts.db ?? REDIS_DEFAULTS.db,
    commandTimeout: opts.commandTimeoutMs ?? REDIS_DEFAULTS.commandTimeoutMs,
    connectTimeout: opts.connectTimeoutMs ?? REDIS_DEFAULTS.connectTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (times) => backoffMs(times, min, max),
  };
  if (opts.username !== undefined && opts.username !== "") options.username = opts.username;
  if (opts.password !== undefined && opts.password !== "") options.password = opts.password;
  if (opts.tls !== undefined) options.tls = { ...opts.tls };
  if (opts.connectionName !== undefined) options.connectionName = opts.connectionName;
  return new Redis(options);
}

export interface RedisStoreOptions {
  client: Redis;
  /** How long a key stays seen, in ms (> 0; Infinity: until deleted). */
  ttlMs: number;
  /** Put before every key (default "voevent:dedupe:"). */
  prefix?: string;
  /** Longest wait of a check for the first connection, ms (default the connect deadline). */
  connectWaitMs?: number;
}

export class RedisStore implements PrimaryStore {
  readonly prefix: string;
  private readonly client: Redis;
  private readonly ttlMs: number;
  private readonly connectWaitMs: number;
  private readonly listeners = new Set<() => void>();
  private readonly changeListeners = new Set<(available: boolean) => void>();
  /** The first connection attempt has ended (ready, or failed): until then checks wait for it. */
  private started: boolean;
  private startWaiters: Array<() => void> = [];
  private readonly onReady = () => {
    this.markStarted();
    for (const l of [...this.listeners]) l();
    for (const l of [...this.changeListeners]) l(true);
  };
  private readonly onClose = () => {
    this.markStarted();
    for (const l of [...this.changeListeners]) l(false);
  };
  private closed = false;

  constructor(opts: RedisStoreOptions) {
    if (typeof opts.ttlMs !== "number" || Number.isNaN(opts.ttlMs) || opts.ttlMs <= 0) {
      throw new RangeError(`RedisStore: ttlMs must be a number of milliseconds above 0, not ${opts.ttlMs}`);
    }
    this.client = opts.client;
    this.ttlMs = opts.ttlMs;
    this.prefix = opts.prefix ?? REDIS_DEFAULTS.prefix;
    this.connectWaitMs = opts.connectWaitMs ?? REDIS_DEFAULTS.connectTimeoutMs;
    this.started = this.client.status === "ready" || this.client.status === "end";
    this.client.on("ready", this.onReady);
    this.client.on("close", this.onClose);
    this.client.on("error", this.onError);
  }

  private readonly onError = () => {
    this.markStarted();
  };

  private markStarted(): void {
    if (this.started) return;
    this.started = true;
    const waiters = this.startWaiters;
    this.startWaiters = [];
    for (const w of waiters) w();
  }

  /** Waits for the first connection attempt to end (at most the connect deadline). */
  private firstConnection(): Promise<void> {
    if (this.started) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.startWaiters = this.startWaiters.filter((w) => w !== done);
        resolve();
      }, this.connectWaitMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.startWaiters.push(done);
    });
  }

  /**
   * Whether checks go to Redis: the connection is up, or the first attempt is
   * still under way (checks wait for it, at most the connect deadline, so a
   * (re)deploy does not pass its first events unshared).
   */
  get available(): boolean {
    return !this.closed && (this.client.status === "ready" || !this.started);
  }

  onAvailable(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls `listener` when the connection comes up (true) or goes down (false); returns a function that stops it. */
  onChange(listener: (available: boolean) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** true the first time any user of this server, db and prefix sets the key while it lives. */
  async checkAndAdd(key: string): Promise<boolean> {
    if (typeof key !== "string")
      throw new TypeError(`RedisStore: the key must be a string, not ${typeof key}`);
    if (this.closed) throw new Error("RedisStore: the store is closed");
    if (!this.started) await this.firstConnection();
    return this.setIfAbsent(key, this.ttlMs);
  }

  /**
   * After an outage: records `key` for the `ttlMs` it has left, unless another
   * user of the prefix has it (`SET NX PX`); true when written. Fails at once
   * while the client is not connected, as every command does.
   */
  async writeBack(key: string, ttlMs: number): Promise<boolean> {
    if (typeof key !== "string")
      throw new TypeError(`RedisStore: the key must be a string, not ${typeof key}`);
    if (this.closed) throw new Error("RedisStore: the store is closed");
    if (typeof ttlMs !== "number" || Number.isNaN(ttlMs) || ttlMs <= 0) {
      throw new RangeError(`RedisStore: a write-back's ttlMs must be above 0, not ${ttlMs}`);
    }
    return this.setIfAbsent(key, Math.min(ttlMs, this.ttlMs));
  }

  private async setIfAbsent(key: string, ttlMs: number): Promise<boolean> {
    const full = this.prefix + key;
    const reply = Number.isFinite(ttlMs)
      ? await this.client.set(full, "1", "PX", Math.max(1, Math.ceil(ttlMs)), "NX")
      : await this.client.set(full, "1", "NX");
    return reply === "OK";
  }

  /** Deletes every key under the prefix (for every instance that shares it). */
  async clear(): Promise<void> {
    let cursor = "0";
    do {
      const [next, keys] = await this.client.scan(
        cursor,
        "MATCH",
        `${escapeGlob(this.prefix)}*`,
        "COUNT",
        1000,
      );
      if (keys.length > 0) await this.client.unlink(...keys);
      cursor = next;
    } while (cursor !== "0");
  }

  /** Stops listening to the client; the client itself is its owner's to close. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.changeListeners.clear();
    this.client.removeListener("ready", this.onReady);
    this.client.removeListener("close", this.onClose);
    this.client.removeListener("error", this.onError);
    this.markStarted();
  }
}

/** Escapes Redis glob characters so a prefix matches only itself. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
