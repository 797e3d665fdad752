/**
 * The monitor page links to the archives this runtime serves: /api/state lists them with links
 * relative to the monitor's own page, so they work under any httpNodeRoot.
 */
import assert from "node:assert/strict";
import { archivePaths } from "../../src/archive/registry";
import { archiveLinks } from "../../src/monitor/server";

describe("monitor: links to the archives", () => {
  afterEach(() => archivePaths.clear());

  it("none without an archive", () => {
    assert.deepEqual(archiveLinks("/voevent/monitor"), []);
  });

  it("relative to the monitor's page (served at <path>, so from its parent)", () => {
    archivePaths.add("/voevent/archive");
    archivePaths.add("/archives/gcn");
    archivePaths.add("/voevent");
    assert.deepEqual(archiveLinks("/voevent/monitor"), [
      { path: "/archives/gcn", href: "../archives/gcn/" },
      { path: "/voevent", href: "./" },
      { path: "/voevent/archive", href: "archive/" },
    ]);
    for (const { path, href } of archiveLinks("/voevent/monitor")) {
      assert.equal(new URL(href, "http://h/root/voevent/monitor").pathname, `/root${path}/`);
    }
  });
});
