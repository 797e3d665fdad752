/** What a dedupe node sees of a voevent-redis config node (see voevent-redis.ts). */
import type { Redis } from "ioredis";
import type { Node } from "../shared/types";

export interface RedisCredentials {
  username?: string;
  password?: string;
}

export interface RedisConfigNode extends Node<RedisCredentials> {
  /** Put before every dedupe key. */
  readonly prefix: string;
  /** host:port/db, for logs and status. */
  readonly where: string;
  /** The shared client, connecting on first use; `user` is the dedupe node. */
  register(user: Node): Redis;
  /** Releases the client; closes it when `user` was the last one. */
  deregister(user: Node): Promise<void>;
}

export interface MutableRedisConfigNode extends RedisConfigNode {
  prefix: string;
  where: string;
}
