#!/usr/bin/env node
// Build: compile src/ and nodes/ with tsc into dist/, then copy each node's
// .html and locales/ (and the SVGs of icons/) beside its compiled .js, as Node-RED loads them
// from there. `npm pack` and `npm publish` run it (prepack), so the tarball always has dist/.

const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const dist = path.join(root, "dist");
fs.rmSync(dist, { recursive: true, force: true });
// TypeScript 7 exports none of its files but package.json: find tsc from its "bin" entry.
const tsPackage = require.resolve("typescript/package.json");
const tsc = path.join(path.dirname(tsPackage), require(tsPackage).bin.tsc);
execFileSync(process.execPath, [tsc, "-p", path.join(root, "tsconfig.build.json")], {
  stdio: "inherit",
});

function copyAssets(srcDir, outDir) {
  for (const entry of fs.readdirSync(srcDir, { withFileTypes: true })) {
    const from = path.join(srcDir, entry.name);
    const to = path.join(outDir, entry.name);
    if (entry.isDirectory()) {
      copyAssets(from, to);
    } else if (!entry.name.endsWith(".ts")) {
      fs.mkdirSync(outDir, { recursive: true });
      fs.copyFileSync(from, to);
    }
  }
}
const nodesDir = path.join(root, "nodes");
if (fs.existsSync(nodesDir)) copyAssets(nodesDir, path.join(dist, "nodes"));
// Node-RED finds a module's icons in an icons/ folder beside each node's .js: the SVGs of
// icons/ go beside every node (any node of the module may use any of them).
const iconsDir = path.join(root, "icons");
if (fs.existsSync(iconsDir) && fs.existsSync(nodesDir)) {
  for (const entry of fs.readdirSync(nodesDir, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name !== "shared") {
      copyAssets(iconsDir, path.join(dist, "nodes", entry.name, "icons"));
    }
  }
}
// CLI entry points must be executable.
const cliDir = path.join(dist, "src", "cli");
if (fs.existsSync(cliDir)) {
  for (const f of fs.readdirSync(cliDir)) if (f.endsWith(".js")) fs.chmodSync(path.join(cliDir, f), 0o755);
}
