/**
 * voevent-redis: a config node holding one Redis connection, shared by the
 * dedupe nodes that use it (store = redis). Like core mqtt's broker node, it
 * connects when the first user registers and closes the connection when the
 * last one deregisters, so a redeploy frees it. The password is a Node-RED
 * credential, never in the flow JSON.
 */
import type { Redis } from "ioredis";
import type { NodeAPI, NodeDef } from "node-red";
import { createRedisClient, REDIS_DEFAULTS } from "../../src/dedupe/redis";
import type { TlsOptions } from "../../src/vtp/tls";
import { wholeInRange } from "../shared/config";
import { asError, onClose } from "../shared/lifecycle";
import { tlsFromConfig } from "../shared/net-tls";
import type { Node } from "../shared/types";
import type { MutableRedisConfigNode } from "./config";

interface RedisNodeDef extends NodeDef {
  host?: string;
  port?: number | string;
  db?: number | string;
  prefix?: string;
  tls?: string;
}

/** How long closing waits for Redis to answer QUIT before dropping the connection. */
const QUIT_WAIT_MS = 1000;

function init(RED: NodeAPI): void {
  function VOEventRedisNode(this: Node, config: RedisNodeDef) {
    RED.nodes.createNode(this, config);
    const self = this as MutableRedisConfigNode;
    const host = String(config.host ?? "").trim() || REDIS_DEFAULTS.host;
    const port = wholeInRange(config.port, REDIS_DEFAULTS.port, 1, 65535);
    const db = wholeInRange(config.db, REDIS_DEFAULTS.db, 0, 1_000_000);
    self.prefix =
      typeof config.prefix === "string" && config.prefix !== "" ? config.prefix : REDIS_DEFAULTS.prefix;
    self.where = `${host}:${port}/${db}`;
    let tls: TlsOptions | undefined;
    let tlsProblem: Error | undefined;
    try {
      tls = tlsFromConfig(RED, config.tls, "client");
    } catch (err) {
      tlsProblem = asError(err);
      this.error(RED._("voevent-redis.errors.tls", { error: tlsProblem.message }));
    }
    const users = new Set<Node>();
    let client: Redis | null = null;
    let lastError = "";

    self.register = (user: Node): Redis => {
      users.add(user);
      if (client === null) {
        const credentials = self.credentials ?? {};
        client = createRedisClient({
          host,
          port,
          db,
          username: credentials.username,
          password: credentials.password,
          tls,
          connectionName: `node-red-voevent-${this.id}`,
        });
        // ioredis emits "error" on every failed attempt; log a change of error once, not each retry.
        client.on("error", (err: Error) => {
          if (err.message === lastError) return;
          lastError = err.message;
          this.warn(RED._("voevent-redis.errors.connection", { where: self.where, error: err.message }));
        });
        // A connection that was ready and closed is logged when it is ready again, even when the
        // reconnection succeeded at once (no failed attempt, so no error, in between).
        let wasReady = false;
        let lost = false;
        client.on("close", () => {
          if (wasReady) lost = true;
        });
        client.on("ready", () => {
          if (lastError !== "" || lost) this.log(RED._("voevent-redis.log.connected", { where: self.where }));
          lastError = "";
          lost = false;
          wasReady = true;
        });
      }
      return client;
    };

    self.deregister = async (user: Node): Promise<void> => {
      users.delete(user);
      if (users.size > 0) return;
      await disconnect();
    };

    async function disconnect(): Promise<void> {
      const c = client;
      client = null;
      if (c === null) return;
      if (c.status === "ready") {
        try {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([c.quit(), new Promise((r) => (timer = setTimeout(r, QUIT_WAIT_MS)))]).finally(
            () => clearTimeout(timer),
          );
        } catch {
          // closing anyway
        }
      }
      c.disconnect();
    }

    onClose(this, async () => {
      users.clear();
      await disconnect();
    });
  }
  RED.nodes.registerType("voevent-redis", VOEventRedisNode, {
    credentials: { username: { type: "text" }, password: { type: "password" } },
  });
}

export = init;
