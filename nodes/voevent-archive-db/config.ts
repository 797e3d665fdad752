/** What the archive and query nodes see of a voevent-archive-db config node (see voevent-archive-db.ts). */
import type { ArchiveStore } from "../../src/archive/types";
import type { Node } from "../shared/types";

export interface ArchiveCredentials {
  password?: string;
}

export interface ArchiveDbNode extends Node<ArchiveCredentials> {
  /** Where the archive is, for logs and status: the embedded file or user@host:port/database. */
  readonly where: string;
  /** The API's path under httpNodeRoot (e.g. /voevent/archive); null when the path was refused. */
  readonly apiPath: string | null;
  /** The shared store, opened on first use; `user` is the node that uses it. Rejects when it cannot open. */
  register(user: Node): Promise<ArchiveStore>;
  /** Releases the store; it closes when `user` was the last one. */
  deregister(user: Node): Promise<void>;
}
