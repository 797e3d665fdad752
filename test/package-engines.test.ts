/**
 * Issue 18, point 3: the Node versions the package promises (`engines.node`) are ones every
 * runtime dependency, and every dependency of theirs, supports as installed. ioredis 6 needs
 * Node 20: with `engines` still at 18 this fails.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

interface Manifest {
  name: string;
  version: string;
  engines?: { node?: string };
  dependencies?: Record<string, string>;
}

const ROOT = join(__dirname, "..");

function manifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest;
}

/** Where `name` is installed for code in `fromDir`: the nearest node_modules/<name> up the tree. */
function packageDir(name: string, fromDir: string): string {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    assert.notEqual(dirname(dir), dir, `${name} is installed (needed from ${fromDir})`);
  }
}

/**
 * The lowest Node major a range admits, for the forms packages use (">=20.0.0", ">= 16",
 * "^20.19.0 || >=22.12.0", "20.x"): the smallest major named after >=, ^, ~ or alone.
 */
function lowestMajor(range: string): number {
  const majors = range
    .split("||")
    .map((part) => /(?:>=\s*|\^|~|^\s*)v?(\d+)/.exec(part.trim())?.[1])
    .filter((m): m is string => m !== undefined)
    .map(Number);
  assert.ok(majors.length > 0, `a Node range this test can read: "${range}"`);
  return Math.min(...majors);
}

describe("package.json engines (issue 18, point 3)", () => {
  const own = manifest(ROOT);

  it("promises Node 20 or later (Node 18 is out of support)", () => {
    assert.equal(lowestMajor(own.engines?.node ?? ""), 20);
  });

  it("promises no Node version that a runtime dependency, installed, does not support", () => {
    const promised = lowestMajor(own.engines?.node ?? "");
    const seen = new Set<string>();
    const needs: string[] = [];
    const visit = (name: string, fromDir: string): void => {
      const dir = packageDir(name, fromDir);
      if (seen.has(dir)) return;
      seen.add(dir);
      const m = manifest(dir);
      const range = m.engines?.node;
      if (range !== undefined && lowestMajor(range) > promised) {
        needs.push(`${m.name}@${m.version} needs Node ${range}`);
      }
      for (const dep of Object.keys(m.dependencies ?? {})) visit(dep, dir);
    };
    for (const dep of Object.keys(own.dependencies ?? {})) visit(dep, ROOT);
    assert.ok(seen.size > 2, "the dependency tree was walked");
    assert.deepEqual(needs, [], `engines.node is "${own.engines?.node}"`);
  });
});
