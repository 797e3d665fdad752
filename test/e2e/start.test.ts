/**
 * `npm start` (scripts/start.js) as a newcomer runs it: Node-RED with the demo deployed, and
 * once it is ready the editor's URL printed with the demo monitor's beside it, a page that
 * answers. Run in a temporary user directory (VOEVENT_USER_DIR) on a free port; needs the
 * package built (npm test builds first).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { freePort, httpRequest, killChild, makeTempDir, REPO_ROOT } from "./harness";

describe("e2e: npm start (scripts/start.js)", function () {
  this.timeout(180_000);

  it("deploys the demo and prints the monitor's URL beside the editor's; the monitor answers", async () => {
    assert.ok(fs.existsSync(path.join(REPO_ROOT, "dist", "nodes")), "the package is built (npm run build)");
    const port = await freePort();
    const userDir = makeTempDir("start");
    const child = spawn(process.execPath, [path.join(REPO_ROOT, "scripts", "start.js")], {
      cwd: REPO_ROOT,
      env: { ...process.env, PORT: String(port), VOEVENT_USER_DIR: userDir, NODE_OPTIONS: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d.toString();
    });
    try {
      const ready = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URLs within 150 s:\n${out}`)), 150_000);
        const check = () => {
          const m = /Node-RED editor: (\S+).*\n(VOEvent monitor: .*)\n/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[0]);
          }
        };
        child.stdout.on("data", check);
        child.once("exit", () => reject(new Error(`start.js exited:\n${out}`)));
      });
      assert.match(ready, new RegExp(`Node-RED editor: http://127\\.0\\.0\\.1:${port}/ `));
      const monitorLine = /VOEvent monitor: (\S+)(.*)/.exec(ready);
      assert.equal(monitorLine?.[1], `http://127.0.0.1:${port}/voevent/monitor`);
      assert.equal(monitorLine?.[2], "", "the page answered");
      const page = await httpRequest(monitorLine?.[1] as string);
      assert.equal(page.status, 200);
      assert.match(page.body, /<title>VOEvent monitor<\/title>/);
    } finally {
      await killChild(child, "SIGINT", 15_000);
    }
  });
});
