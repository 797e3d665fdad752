/**
 * The files of the package's two browser pages, the monitor's (served by server.ts) and the
 * archive's search page (served by ../archive/api.ts): each page's own index.html, app.js and
 * app.css, and the script and style both share, common.js and common.css (the element helpers,
 * the formatting, the sky map's drawing, the common styles). All are read once from the package
 * and served by each page's server.
 *
 *   <page folder>/index.html, app.js, app.css     nodes/<node type>/page
 *   <shared folder>/common.js, common.css         nodes/shared/page
 *
 * Decisions:
 * - The shared files are served under each page's own path (`<path>/common.js`) rather than at
 *   one URL of their own: a page's URLs stay relative to it, so both pages keep working under
 *   any httpNodeRoot and behind httpNodeAuth, and each server keeps its own strict
 *   Content-Security-Policy (this origin's script and style only, no inline script).
 * - The shared folder defaults to `<page folder>/../../shared/page`: nodes/shared/page beside
 *   nodes/<node type>/page, both in the source tree and in dist/ (scripts/build.js copies nodes/).
 * - A missing file fails the load (the node reports it), never a page served without its script.
 */
import fs from "node:fs";
import path from "node:path";

export interface PageAssets {
  /** The page itself (the monitor's has `{{base}}` placeholders its server fills in). */
  html: string;
  /** The page's own script and style. */
  js: string;
  css: string;
  /** The script and style both pages share, loaded before their own. */
  commonJs: string;
  commonCss: string;
}

/** Reads a page's files from `dir` and the shared ones from `sharedDir`. Throws when one is missing. */
export function loadPageAssets(
  dir: string,
  sharedDir = path.join(dir, "..", "..", "shared", "page"),
): PageAssets {
  const read = (d: string, f: string) => fs.readFileSync(path.join(d, f), "utf8");
  return {
    html: read(dir, "index.html"),
    js: read(dir, "app.js"),
    css: read(dir, "app.css"),
    commonJs: read(sharedDir, "common.js"),
    commonCss: read(sharedDir, "common.css"),
  };
}

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

/**
 * The script or style at `sub` (the request's path below the page's own, e.g. `/common.js`):
 * its content type and body, or null when `sub` names none of them.
 */
export function pageFile(sub: string, assets: PageAssets): { type: string; body: string } | null {
  switch (sub) {
    case "/app.js":
      return { type: JS, body: assets.js };
    case "/app.css":
      return { type: CSS, body: assets.css };
    case "/common.js":
      return { type: JS, body: assets.commonJs };
    case "/common.css":
      return { type: CSS, body: assets.commonCss };
    default:
      return null;
  }
}
