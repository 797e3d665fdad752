/**
 * The archives this process serves over HTTP (their paths under httpNodeRoot), so that the
 * monitor page can link to them. The voevent-archive-db node adds its path when it serves one
 * and removes it when it closes; nothing else writes here.
 */
export const archivePaths = new Set<string>();
