/**
 * The script and style the monitor's page and the archive's search page share
 * (nodes/shared/page, src/monitor/page.ts): what a page server must answer for them.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

/** Where the shared files are in the source tree. */
export const SHARED_PAGE_DIR = path.join(__dirname, "../../nodes/shared/page");

/**
 * The page (`html`) names the shared style and script, by URLs relative to it (`prefix`),
 * before its own; the server at `pageBase` (the page's path, no trailing slash) answers
 * `<pageBase>/common.css` and `/common.js` with the shipped files, their types and a
 * Content-Security-Policy that allows only this origin's script and no inline script.
 */
export async function assertServesSharedFiles(html: string, prefix: string, pageBase: string): Promise<void> {
  const files = [
    { shared: "common.css", own: "app.css", type: /^text\/css; charset=utf-8$/ },
    { shared: "common.js", own: "app.js", type: /^text\/javascript; charset=utf-8$/ },
  ];
  for (const { shared, own, type } of files) {
    const sharedAt = html.indexOf(`"${prefix}${shared}"`);
    assert.ok(sharedAt > 0, `the page names ${prefix}${shared}`);
    assert.ok(sharedAt < html.indexOf(`"${prefix}${own}"`), `${shared} comes before the page's ${own}`);
    const res = await fetch(`${pageBase}/${shared}`);
    assert.equal(res.status, 200, shared);
    assert.match(res.headers.get("content-type") ?? "", type);
    const csp = res.headers.get("content-security-policy") ?? "";
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.equal(await res.text(), fs.readFileSync(path.join(SHARED_PAGE_DIR, shared), "utf8"));
  }
}
