/**
 * The package as npm publishes it, from a clean checkout: `git clone` of this repository's
 * HEAD, `npm ci` there (the lock file must match package.json, every platform's optional
 * binaries included), `npm pack` (prepack builds dist/), then the tarball installed into a
 * fresh folder. From that folder:
 * - the library entry loads from plain Node (require and import) and does its job;
 * - Node-RED loads every node set of the package, with its icons, and no error.
 * Only what is committed is checked here: the other e2e suites pack the working tree.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  declaredNodeSets,
  httpRequest,
  INSTALL_TIMEOUT_MS,
  makeTempDir,
  NPM_QUIET,
  npmEnv,
  PACKAGE_NAME,
  REPO_ROOT,
  type Runtime,
  run,
  startRuntime,
} from "./harness";

describe("e2e: npm pack of a clean checkout, installed into a fresh folder", function () {
  this.timeout(60_000);
  let tarball = "";
  let files: string[] = [];
  let fresh = "";
  let rt: Runtime | undefined;

  before(async function () {
    this.timeout(3 * INSTALL_TIMEOUT_MS);
    const work = makeTempDir("pack-clean");
    const clone = path.join(work, "clone");
    await run("git", ["clone", "--quiet", "--no-hardlinks", REPO_ROOT, clone]);
    await run("npm", ["ci", "--prefer-offline", ...NPM_QUIET], {
      cwd: clone,
      env: npmEnv(),
      timeoutMs: INSTALL_TIMEOUT_MS,
    });
    const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", work, ...NPM_QUIET], {
      cwd: clone,
      env: npmEnv(),
    });
    const info = JSON.parse(stdout.slice(stdout.indexOf("["))) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    tarball = path.join(work, info[0]!.filename);
    files = info[0]!.files.map((f) => f.path);
    fresh = path.join(work, "fresh");
    fs.mkdirSync(fresh);
    fs.writeFileSync(
      path.join(fresh, "package.json"),
      `${JSON.stringify({ name: "fresh-folder", version: "0.0.1", private: true }, null, 2)}\n`,
    );
    await run("npm", ["install", "--prefer-offline", ...NPM_QUIET, tarball], { cwd: fresh, env: npmEnv() });
  });

  after(async () => {
    await rt?.stop();
  });

  it("packs the built library, every node, the pages' files, the icons, examples and the README's images", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as {
      main: string;
      types: string;
      "node-red": { nodes: Record<string, string> };
    };
    const wanted = [pkg.main, pkg.types];
    for (const file of Object.values(pkg["node-red"].nodes))
      wanted.push(file, file.replace(/\.js$/, ".html"));
    const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
    const images = [...readme.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]!);
    assert.ok(images.length > 0, "the README shows images");
    for (const image of images) {
      assert.doesNotMatch(image, /^https?:/, `${image}: a path inside the package`);
      wanted.push(image);
    }
    for (const f of wanted) assert.ok(files.includes(f), `the tarball holds ${f}`);
    assert.ok(
      files.some((f) => /^icons\/.+\.svg$/.test(f)),
      "the tarball holds icons/",
    );
    assert.ok(files.some((f) => /^examples\/08-parse-mqtt\.json$/.test(f)));
    for (const page of ["voevent-monitor", "voevent-archive-db"]) {
      for (const f of ["index.html", "app.js", "app.css"]) {
        assert.ok(files.includes(`dist/nodes/${page}/page/${f}`), `the tarball holds ${page}'s ${f}`);
      }
    }
    for (const f of ["common.js", "common.css"]) {
      assert.ok(files.includes(`dist/nodes/shared/page/${f}`), `the tarball holds the pages' shared ${f}`);
    }
    assert.ok(!files.some((f) => /^(src|test|nodes|bench)\//.test(f)), "no sources or tests");
  });

  it("loads the library entry from plain Node, with require and with import", async () => {
    const script = `
      const assert = require("node:assert/strict");
      const lib = require(${JSON.stringify(PACKAGE_NAME)});
      const xml = lib.testAlert({ contactName: "KSK" });
      const parsed = lib.parseVOEvent(xml);
      assert.equal(parsed.voevent.author.contactName, "KSK");
      assert.equal(lib.compileXPath('//Who/Author[contactName="KSK"]').test(parsed.doc), true);
      assert.throws(() => lib.checkXPath("//Who["), (e) => e.code === "BAD_XPATH");
      assert.equal(lib.parseIvorn(parsed.voevent.ivorn).authority, "voevent.example");
      for (const name of ["VTPReceiver", "VTPBroadcaster", "VTPSubscriber", "sendEvent", "MemoryStore", "FileStore", "compileRules", "buildVOEvent"]) {
        assert.equal(typeof lib[name], "function", name);
      }
      import(${JSON.stringify(PACKAGE_NAME)}).then((esm) => {
        assert.equal(esm.default.parseVOEvent, lib.parseVOEvent);
        process.stdout.write("library ok");
      });
    `;
    const { stdout } = await run(process.execPath, ["-e", script], { cwd: fresh, timeoutMs: 30_000 });
    assert.equal(stdout, "library ok");
    const types = path.join(fresh, "node_modules", ...PACKAGE_NAME.split("/"), "dist", "src", "index.d.ts");
    assert.match(fs.readFileSync(types, "utf8"), /export \{ .*compileXPath/s);
  });

  it("Node-RED loads every node set from the installed tarball, with its icons", async function () {
    this.timeout(120_000);
    rt = await startRuntime({ userDirTemplate: fresh });
    const sets = (await rt.nodes()).filter((s) => s.module === PACKAGE_NAME);
    assert.deepEqual(sets.map((s) => s.name).sort(), [...declaredNodeSets()].sort());
    for (const set of sets) assert.equal(set.err, undefined, `${set.name} loaded without error`);
    const icons = fs.readdirSync(path.join(REPO_ROOT, "icons"));
    assert.ok(icons.length >= 8);
    for (const icon of icons) {
      const res = await httpRequest(`${rt.url}icons/${PACKAGE_NAME}/${icon}`);
      assert.equal(res.status, 200, icon);
      assert.match(res.body, /^<svg /, icon);
    }
  });
});
