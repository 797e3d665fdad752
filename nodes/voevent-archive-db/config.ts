/** What the archive and query nodes see of a voevent-archive-db config node (see voevent-archive-db.ts). */

import type { ArchiveRecord, ArchiveStore } from "../../src/archive/types";
import type { WriterCounters } from "../../src/archive/writer";
import type { Node } from "../shared/types";

export interface ArchiveCredentials {
  password?: string;
}

export interface ArchiveDbNode extends Node<ArchiveCredentials> {
  /** Where the archive is, for logs and status: the embedded file or user@host:port/database. */
  readonly where: string;
  /** The API's path under httpNodeRoot (e.g. /voevent/archive); null when it serves no HTTP. */
  readonly apiPath: string | null;
  /** The shared store, opened on first use; `user` is the node that uses it. Rejects when it cannot open. */
  register(user: Node): Promise<ArchiveStore>;
  /** Releases the store; the writer flushes and the store closes when `user` was the last one. */
  deregister(user: Node): Promise<void>;
  /** Queues a record on the archive's one batching writer; false when it was dropped (queue full). */
  enqueue(record: ArchiveRecord): boolean;
  /** The writer's counters (zeros before the first record). */
  counters(): WriterCounters;
  /** The last write failure, null once a write succeeded. */
  lastError(): Error | null;
}
