/**
 * voevent-dedupe: passes an event on the first output only the first time its
 * key is seen within the TTL; repeats go to the second output. The seen keys
 * live in a src/dedupe store: memory, or a file that survives redeploys and
 * restarts. msg.reset (any value) forgets every key and sends nothing.
 */
import path from "node:path";
import type { NodeAPI, NodeDef, NodeMessage } from "node-red";
import { FileStore } from "../../src/dedupe/file";
import { MemoryStore } from "../../src/dedupe/memory";
import type { SeenStore } from "../../src/dedupe/store";
import { errorStatusText, positiveInt, positiveNumber } from "../shared/config";
import { asError, onClose, onInput } from "../shared/lifecycle";
import { StatusFlasher, statusError, statusOk } from "../shared/status";
import type { Node } from "../shared/types";
import { eventKey, type KeyMode, propertyKey } from "./key";

interface DedupeNodeDef extends NodeDef {
  key?: KeyMode;
  /** The msg property, in property mode (e.g. "topic", "voevent.ivorn"). */
  keyProperty?: string;
  ttl?: number | string;
  ttlUnits?: "seconds" | "minutes" | "hours" | "days";
  capacity?: number | string;
  store?: "memory" | "file";
  /** The file store's log; blank: <userDir>/voevent-dedupe-<node id>.log. Relative paths are under userDir. */
  path?: string;
}

const UNIT_MS = { seconds: 1000, minutes: 60_000, hours: 3_600_000, days: 86_400_000 } as const;
const DEFAULTS = { ttl: 30, ttlUnits: "days", capacity: 100_000 } as const;

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

    let store: SeenStore | null = null;
    let problem: Error | null = null;
    try {
      if (config.store === "file") {
        const userDir = RED.settings.userDir ?? process.cwd();
        const given = String(config.path ?? "").trim();
        const file =
          given === "" ? path.join(userDir, `voevent-dedupe-${this.id}.log`) : path.resolve(userDir, given);
        store = new FileStore({
          path: file,
          ttlMs,
          capacity,
          onError: (err) => this.warn(RED._("voevent-dedupe.errors.compact", { error: err.message })),
        });
      } else {
        store = new MemoryStore({ ttlMs, capacity });
      }
    } catch (err) {
      problem = asError(err);
      this.error(RED._("voevent-dedupe.errors.store", { error: problem.message }));
      flasher.set(statusError(RED._("voevent-dedupe.status.no-store")));
    }

    let seen = 0;
    let dropped = 0;
    const showCounts = () => flasher.set(statusOk(RED._("voevent-dedupe.status.counts", { seen, dropped })));
    if (store !== null) {
      const held = store.size;
      flasher.set(
        held > 0
          ? statusOk(RED._("voevent-dedupe.status.remembered", { count: held }))
          : statusOk(RED._("voevent-dedupe.status.counts", { seen, dropped })),
      );
    }

    onInput(this, (msg, send, done) => {
      if (store === null) {
        done(problem ?? new Error("no store"));
        return;
      }
      if (Object.hasOwn(msg, "reset")) {
        store.clear();
        seen = 0;
        dropped = 0;
        flasher.set(statusOk(RED._("voevent-dedupe.status.cleared")));
        done();
        return;
      }
      let first: boolean;
      try {
        const key =
          mode === "property" ? propertyKey(readProperty(msg, property), property) : eventKey(msg, mode);
        first = store.checkAndAdd(key);
      } catch (err) {
        flasher.flash(statusError(errorStatusText(RED, "voevent-dedupe", err)));
        throw err;
      }
      if (first) seen++;
      else dropped++;
      showCounts();
      send(first ? [msg, null] : [null, msg]);
      done();
    });

    onClose(this, () => {
      flasher.close();
      store?.close();
      store = null;
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

export = init;
