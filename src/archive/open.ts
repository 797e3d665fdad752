/**
 * Opens an archive store from its configuration (the `voevent-archive-db` config node and the
 * import CLI call this; nothing else picks a store).
 *
 * Decisions:
 * - `embedded`: the file is created when missing and opened before this resolves (a file that
 *   cannot be opened rejects). `postgres`: resolves at once; the server is reached, and the schema
 *   created, by the first request (a server that is down is UNAVAILABLE per request, never fatal).
 */
import { type EmbeddedOptions, openEmbeddedStore } from "./embedded";
import { openPostgresStore, type PostgresConfig, type PostgresOptions } from "./postgres";
import type { ArchiveStore } from "./types";

export type ArchiveConfig = { store: "embedded"; file: string } | ({ store: "postgres" } & PostgresConfig);

export type OpenOptions = EmbeddedOptions & PostgresOptions;

export async function openArchive(config: ArchiveConfig, options: OpenOptions = {}): Promise<ArchiveStore> {
  if (config.store === "embedded") return openEmbeddedStore(config.file, options);
  return openPostgresStore(config, options);
}
