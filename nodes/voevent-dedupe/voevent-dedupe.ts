/**
 * voevent-dedupe: passes an event on the first output only the first time its
 * key is seen within the TTL; repeats go to the second output. The seen keys
 * live in a src/dedupe store: memory, a file that survives redeploys and
 * restarts, or Redis shared by several Node-RED instances (through a
 * voevent-redis config node). msg.reset (any value) forgets every key and
 * sends nothing.
 *
 * Degrade, don't drop: when the file or Redis fails, events still pass as
 * first-seen, deduped in memory meanwhile; status and log say so (see
 * src/dedupe/deduper.ts). Once Redis is back, the keys that passed on memory
 * alone are written to it in the background, and the log says how many.
 */
import path from "node:path";
import type { NodeAPI, NodeDef, NodeMessage, NodeStatus } from "node-red";
import { DEFAULT_MAX_WRITE_BACK, Deduper, type PrimaryStore, type WhenDown } from "../../src/dedupe/deduper";
import { FileStore } from "../../src/dedupe/file";
import { RedisStore } from "../../src/dedupe/redis";
import { errorStatusText, positiveInt, positiveNumber } from "../shared/config";
import { asError, onClose, onInput } from "../shared/lifecycle";
import { StatusFlasher, statusError, statusIdle, statusOk, statusWarn } from "../shared/status";
import type { Node } from "../shared/types";
import type { RedisConfigNode } from "../voevent-redis/config";
import { eventKey, type KeyMode, propertyKey } from "./key";

interface DedupeNodeDef extends NodeDef {
  key?: KeyMode;
  /** The msg property, in property mode (e.g. "topic", "voevent.ivorn"). */
  keyProperty?: string;
  ttl?: number | string;
  ttlUnits?: "seconds" | "minutes" | "hours" | "days";
  capacity?: number | string;
  store?: "memory" | "file" | "redis";
  /** The file store's log; blank: <userDir>/voevent-dedupe-<node id>.log. Relative paths are under userDir. */
  path?: string;
  /** The voevent-redis config node's id, for store = redis. */
  redis?: string;
  /** While Redis is unreachable: dedupe in memory and pass (default), or hold events until it is back. */
  whenDown?: WhenDown;
}

const UNIT_MS = { seconds: 1000, minutes: 60_000, hours: 3_600_000, days: 86_400_000 } as const;
const DEFAULTS = { ttl: 30, ttlUnits: "days", capacity: 100_000 } as const;
/** How long a close waits for checks in flight (each has Redis's command deadline anyway). */
const CLOSE_WAIT_MS = 5000;

function init(RED: NodeAPI): void {
  function VOEventDedupeNode(this: Node, config: DedupeNodeDef) {
    RED.nodes.createNode(this, config);
    const flasher = new StatusFlasher(this);
    const mode: KeyMode = config.key === "ivorn" || config.key === "property" ? config.key : "bytes";
    const property = String(config.keyProperty ?? "").trim() || "topic";
    const units =
      config.ttlUnits !== undefined && config.ttlUnits in UNIT_MS ? config.ttlUnits : DEFAULTS.ttlUnits;
    const ttlMs = positiveNumber(config.ttl, DEFAULTS.ttl) * UNIT_MS[units];
    const capacity = positiveInt(config.capacity, DEFAULTS.capacity);

    const kind = config.store === "file" || config.store === "redis" ? config.store : "memory";
    const storeName = RED._(`voevent-dedupe.store.${kind}-short`);
    let primary: PrimaryStore | null = null;
    let file: FileStore | null = null;
    let redisStore: RedisStore | null = null;
    let redisConfig: RedisConfigNode | null = null;
    let broken = false;
    try {
      if (kind === "file") {
        const userDir = RED.settings.userDir ?? process.cwd();
        const given = String(config.path ?? "").trim();
        const where =
          given === "" ? path.join(userDir, `voevent-dedupe-${this.id}.log`) : path.resolve(userDir, given);
        file = new FileStore({
          path: where,
          ttlMs,
          capacity,
          onError: (err) => this.warn(RED._("voevent-dedupe.errors.compact", { error: err.message })),
        });
        primary = file;
      } else if (kind === "redis") {
        const found = RED.nodes.getNode(String(config.redis ?? "")) as RedisConfigNode | null;
        if (found === null || found.type !== "voevent-redis") {
          throw new Error(RED._("voevent-dedupe.errors.no-redis"));
        }
        redisConfig = found;
        redisStore = new RedisStore({ client: found.register(this), ttlMs, prefix: found.prefix });
        primary = redisStore;
      }
    } catch (err) {
      // Degrade, don't drop: without its store the node dedupes in memory.
      broken = true;
      this.error(RED._("voevent-dedupe.errors.store", { error: asError(err).message }));
    }

    let seen = 0;
    let dropped = 0;
    const whenDown: WhenDown = kind === "redis" && config.whenDown === "hold" ? "hold" : "memory";
    const deduper = new Deduper({
      primary,
      ttlMs,
      capacity,
      mirror: kind === "redis",
      whenDown,
      onDegraded: (err) => {
        this.warn(RED._("voevent-dedupe.errors.degraded", { store: storeName, error: err.message }));
        showState();
      },
      onRecovered: ({ unshared, downForMs }) => {
        this.log(
          RED._("voevent-dedupe.log.recovered", {
            store: storeName,
            seconds: Math.round(downForMs / 1000),
            count: unshared,
          }),
        );
        showState();
      },
      onWrittenBack: ({ written, present, expired, left, dropped }) => {
        this.log(
          RED._("voevent-dedupe.log.writtenBack", {
            store: storeName,
            written,
            present,
            expired,
            left,
            dropped,
            max: DEFAULT_MAX_WRITE_BACK,
          }),
        );
      },
    });

    /** The steady status: counts, or what is wrong with the store. */
    const stateStatus = (): NodeStatus => {
      const redisDown = redisStore !== null && !redisStore.available;
      if (broken) {
        return statusError(RED._("voevent-dedupe.status.no-store", { store: storeName, seen, dropped }));
      }
      if (redisDown && whenDown === "hold") {
        return statusWarn(RED._("voevent-dedupe.status.holding", { count: deduper.holding }));
      }
      if (redisStore !== null ? redisDown : deduper.degraded) {
        return statusWarn(
          RED._("voevent-dedupe.status.degraded", {
            store: storeName,
            seen,
            dropped,
            unshared: deduper.unsharedNow,
          }),
        );
      }
      return statusOk(RED._("voevent-dedupe.status.counts", { seen, dropped }));
    };
    // The counts change with every message: formatted at most once per STATUS_UPDATE_MS.
    const showState = () => flasher.update(stateStatus);
    if (file !== null && file.size > 0) {
      flasher.set(statusOk(RED._("voevent-dedupe.status.remembered", { count: file.size })));
    } else if (redisStore !== null && !redisStore.available) {
      flasher.set(statusIdle(RED._("voevent-dedupe.status.connecting", { where: redisConfig?.where ?? "" })));
    } else {
      showState();
    }
    // A change of the connection is a change of state: shown at once, even when the text is the same.
    const stopWatching = redisStore?.onChange(() => flasher.set(stateStatus()));

    // Not an async function: a message (most of them) costs no promise; only a reset waits.
    onInput(this, (msg, send, done) => {
      if (Object.hasOwn(msg, "reset")) {
        return deduper.clear().then(() => {
          seen = 0;
          dropped = 0;
          flasher.set(statusOk(RED._("voevent-dedupe.status.cleared")));
          done();
        });
      }
      let key: string;
      try {
        key = mode === "property" ? propertyKey(readProperty(msg, property), property) : eventKey(msg, mode);
      } catch (err) {
        flasher.flash(statusError(errorStatusText(RED, "voevent-dedupe", err)));
        throw err;
      }
      deduper.check(key, (err, verdict) => {
        if (err !== null || verdict === undefined) {
          flasher.flash(statusError(errorStatusText(RED, "voevent-dedupe", err)));
          done(err ?? new Error("no answer"));
          return;
        }
        if (verdict.first) seen++;
        else dropped++;
        showState();
        send(verdict.first ? [msg, null] : [null, msg]);
        done();
      });
      if (deduper.holding > 0) showState();
    });

    onClose(this, async () => {
      flasher.close();
      stopWatching?.();
      await withDeadline(deduper.drain(), CLOSE_WAIT_MS);
      deduper.close();
      file?.close();
      redisStore?.close();
      if (redisConfig !== null) await redisConfig.deregister(this);
    });
  }
  RED.nodes.registerType("voevent-dedupe", VOEventDedupeNode);

  /** A msg property, or undefined when it or an object on its path is missing. */
  function readProperty(msg: NodeMessage, property: string): unknown {
    try {
      return RED.util.getMessageProperty(msg, property);
    } catch {
      return undefined;
    }
  }
}

/** Resolves when `work` does or after `ms`, whichever is first; leaves no timer behind. */
async function withDeadline(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([work, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export = init;
