/**
 * Where a process's time went, from a V8 CPU profile (`node --cpu-prof`, as bench/ceiling.ts
 * --profile writes for Node-RED): self time by function and by where the code lives, as a share
 * of the busy time (everything but "(idle)"), and the total (self + callees) time of the
 * functions that matter most.
 *
 *   npx tsx bench/profile-summary.ts /tmp/prof/CPU.*.cpuprofile [--top 25] [--from answer]
 *
 * Samples before the first one whose stack holds a function named by --from (default "answer",
 * the VTP receiver's per-frame work) are left out: the runtime's start is not the broker's work.
 * `--from ""` keeps them all.
 */
import fs from "node:fs";
import { parseArgs } from "./vtp-common";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The part of a script's URL that says whose code it is. */
function whereOf(url: string): string {
  if (url === "") return "(native / V8)";
  if (url.startsWith("node:")) return url;
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "node_modules/".length).split("/");
    const pkg = rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
    if (pkg === "@voevent/node-red-voevent" || pkg === "@node-red/runtime" || pkg === "@node-red/util")
      return `${pkg}/${rest.slice(pkg.includes("/") ? 2 : 1).join("/")}`;
    return pkg;
  }
  return url.replace(/^file:\/\//, "");
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const files = process.argv
    .slice(2)
    .filter((a, i, all) => !a.startsWith("--") && !all[i - 1]?.startsWith("--"));
  const top = Number(args.get("top") ?? 25);
  const from = args.get("from") ?? "answer";
  for (const file of files) {
    const profile = JSON.parse(fs.readFileSync(file, "utf8")) as Profile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const stackHas = (id: number, name: string): boolean => {
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        if (byId.get(at)?.callFrame.functionName === name) return true;
      }
      return false;
    };
    let first = 0;
    if (from !== "" && from !== "true") {
      while (first < profile.samples.length && !stackHas(profile.samples[first], from)) first++;
    }
    const self = new Map<number, number>();
    for (let i = first; i < profile.samples.length; i++) {
      const id = profile.samples[i];
      self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
    }
    let idle = 0;
    let all = 0;
    const fnSelf = new Map<string, number>();
    const whereSelf = new Map<string, number>();
    const fnTotal = new Map<string, number>();
    for (const [id, us] of self) {
      const n = byId.get(id);
      if (n === undefined) continue;
      all += us;
      if (n.callFrame.functionName === "(idle)") {
        idle += us;
        continue;
      }
      const key = `${n.callFrame.functionName || "(anonymous)"} ${whereOf(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
      fnSelf.set(key, (fnSelf.get(key) ?? 0) + us);
      const where = whereOf(n.callFrame.url);
      whereSelf.set(where, (whereSelf.get(where) ?? 0) + us);
      // Total: each function on the stack once.
      const seen = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const f = byId.get(at);
        if (f === undefined) break;
        const k = `${f.callFrame.functionName || "(anonymous)"} ${whereOf(f.callFrame.url)}:${f.callFrame.lineNumber + 1}`;
        if (seen.has(k)) continue;
        seen.add(k);
        fnTotal.set(k, (fnTotal.get(k) ?? 0) + us);
      }
    }
    const busy = all - idle;
    const pct = (us: number): string => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
    const list = (m: Map<string, number>, n: number): string[] =>
      [...m.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, n)
        .map(([k, us]) => `  ${pct(us)}  ${k}`);
    console.log(`${file}: ${(all / 1e6).toFixed(1)} s sampled, busy ${(busy / 1e6).toFixed(1)} s`);
    console.log("self time by where the code lives:");
    for (const l of list(whereSelf, top)) console.log(l);
    console.log("self time by function:");
    for (const l of list(fnSelf, top)) console.log(l);
    console.log("total time (self + callees) by function:");
    for (const l of list(fnTotal, top * 2)) console.log(l);
  }
}

main();
