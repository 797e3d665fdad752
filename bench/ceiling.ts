/**
 * The broker example against the least a Node VTP broker can do (issue 16): the flow of
 * examples/01-broker.json (receiver → dedupe → broadcaster, with its debug nodes) deployed in a
 * real Node-RED runtime (the e2e harness's: the packed package installed in a temporary user
 * directory), and the shared do-nothing broker (`ceiling-broker.mjs`: frame, ack, forward the
 * same bytes), both timed from outside by the shared load tool (`vtp-load.mjs`) with the
 * arguments of the issue's table. Rounds rotate which broker goes first; each scenario prints
 * every run, then the median of the rounds for each broker and the ratio of those medians.
 *
 *   npx tsx bench/ceiling.ts                         (three scenarios, three rounds)
 *   npx tsx bench/ceiling.ts --scenario 1 --rounds 1
 *   npx tsx bench/ceiling.ts --scenario 1 --only example --profile /tmp/prof
 *
 * Options:
 *   --scenario LIST   1, 2, 3 or a comma list (default 1,2,3; see SCENARIOS)
 *   --rounds N        rounds per scenario (default 3), each started by another broker
 *   --warmup N        untimed runs of each scenario's load against each broker before its rounds
 *                     (default 3; their CPU per event is printed, to show it settled)
 *   --only WHICH      example | ceiling: time one broker only (for profiles)
 *   --profile DIR     run Node-RED with --cpu-prof, writing its profile to DIR when it stops
 *                     (read it with `npx tsx bench/profile-summary.ts DIR/<file>.cpuprofile`)
 *   --node-args="A B"  extra options for Node-RED's node binary, e.g. "--trace-gc" (its log is
 *                     shown with VOEVENT_E2E_VERBOSE=1) or "--max-semi-space-size=32"
 *   --compare TGZ     also time the broker example of another build of this package (a tarball of
 *                     `npm pack`, e.g. of the commit before a change: its own examples/01-broker.json
 *                     in a second runtime), as "before", in the same rounds
 *   --example FILE    deploy this flow file instead of examples/01-broker.json (its receiver's and
 *                     broadcaster's host and port rewritten), e.g. to time a variant of the example
 *   --tools DIR       where ceiling-broker.mjs, vtp-load.mjs and lib/vtp.mjs are (default: the
 *                     first shared/bench/ found above this checkout, or $VTP_BENCH_TOOLS)
 *
 * On a machine shared with other work the rates swing with the load average (printed before,
 * after and beside each run); the broker's CPU time per event (from /proc, user + system) swings
 * much less, so each broker's is printed too, and its ratio to the ceiling's.
 *
 * The rate is the load tool's deliveries per second (delivered / seconds until the last delivery;
 * with one subscriber, events per second), its latency publish-start → delivery at a subscriber.
 * The machine's load average is printed before and after: the figures are only as quiet as it.
 * Figures are in the README's Benchmarks section.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  type FlowNode,
  freePort,
  makeTempDir,
  NPM_QUIET,
  npmEnv,
  REPO_ROOT,
  type Runtime,
  run,
  startRuntime,
  waitForPort,
} from "../test/e2e/harness";
import { sleep } from "./procs";
import { parseArgs } from "./vtp-common";

/** The issue's table: load tool arguments per scenario. */
const SCENARIOS: Record<string, { title: string; args: string[] }> = {
  "1": { title: "1 subscriber, one connection per event", args: ["--subs", "1", "--count", "2000"] },
  "2": {
    title: "50 subscribers, 4 authors at once",
    args: ["--subs", "50", "--count", "500", "--concurrency", "4", "--settle", "20000"],
  },
  "3": {
    title: "50 subscribers, one persistent author",
    args: ["--subs", "50", "--count", "4000", "--persistent", "--settle", "20000"],
  },
};

/**
 * Untimed runs of each scenario's own load against each broker before its rounds (`--warmup`),
 * so that no broker is timed while V8 is still compiling it. One run of 2,000 one-shot events
 * was not enough for the Node-RED runtime (2026-12-07 08:05, `--trace-opt`: 30 functions still
 * compiled by TurboFan during the first timed round of scenario 1, 435 µs of CPU per event there
 * against 265 in the next two rounds); the do-nothing broker is warm after a few hundred.
 */
const DEFAULT_WARMUP_RUNS = 3;

/** The do-nothing broker, the example of this checkout, and the example of the --compare package. */
type Broker = "ceiling" | "before" | "example";

interface LoadResult {
  publish: { acks: number; naks: number; errors: number; per_second: number };
  deliver: {
    delivered: number;
    expected: number;
    lost: number;
    duplicates: number;
    per_second: number;
    latency_ms: { p50: number | null; p99: number | null; max: number | null };
  } | null;
}

interface Ports {
  pub: number;
  sub: number;
}

function findTools(given: string | undefined): string {
  const candidates: string[] = [];
  if (given !== undefined) candidates.push(path.resolve(given));
  if (process.env.VTP_BENCH_TOOLS) candidates.push(path.resolve(process.env.VTP_BENCH_TOOLS));
  for (let dir = REPO_ROOT; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    candidates.push(path.join(dir, "shared", "bench"), path.join(path.dirname(dir), "shared", "bench"));
  }
  const found = candidates.find((d) => fs.existsSync(path.join(d, "vtp-load.mjs")));
  if (found === undefined)
    throw new Error("no vtp-load.mjs found: pass --tools DIR (the shared bench tools)");
  return found;
}

/** examples/01-broker.json as it is, its two servers moved to 127.0.0.1 and free ports. */
function exampleFlow(ports: Ports, file: string): FlowNode[] {
  const nodes = JSON.parse(fs.readFileSync(file, "utf8")) as FlowNode[];
  return nodes.map((n) => {
    if (n.type === "voevent-receiver") return { ...n, host: "127.0.0.1", port: ports.pub };
    if (n.type === "voevent-broadcaster") return { ...n, host: "127.0.0.1", port: ports.sub };
    return n;
  });
}

function load(tools: string, ports: Ports, args: string[]): Promise<LoadResult> {
  const argv = [
    path.join(tools, "vtp-load.mjs"),
    "--pub",
    `127.0.0.1:${ports.pub}`,
    "--sub",
    `127.0.0.1:${ports.sub}`,
    ...args,
  ];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      argv,
      { maxBuffer: 16 * 1024 * 1024, timeout: 600_000 },
      (err, stdout, stderr) => {
        const line = stdout.trim().split("\n").pop() ?? "";
        if (err || !line.startsWith("{")) {
          reject(new Error(`vtp-load failed: ${err?.message ?? "no output"}\n${stdout}${stderr}`));
          return;
        }
        resolve(JSON.parse(line) as LoadResult);
      },
    );
  });
}

/** User and system CPU time of a process, ms (Linux /proc, clock ticks of 10 ms). */
function cpuOf(pid: number | undefined): { user: number; system: number } {
  if (pid === undefined) return { user: Number.NaN, system: Number.NaN };
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(fields[11]) * 10, system: Number(fields[12]) * 10 };
}

function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

const loadAverage = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");

const fmt = (x: number, digits = 0): string =>
  Number.isFinite(x)
    ? x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "—";

interface Run {
  rate: number;
  p50: number;
  p99: number;
  cpuMsPerEvent: number;
  line: string;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const tools = findTools(args.get("tools"));
  const scenarios = (args.get("scenario") ?? "1,2,3").split(",").map((s) => s.trim());
  for (const s of scenarios) if (!(s in SCENARIOS)) throw new Error(`--scenario: no scenario ${s}`);
  const rounds = Number(args.get("rounds") ?? 3);
  const warmupRuns = Number(args.get("warmup") ?? DEFAULT_WARMUP_RUNS);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error("--rounds must be a positive integer");
  if (!Number.isInteger(warmupRuns) || warmupRuns < 0) throw new Error("--warmup must be a whole number ≥ 0");
  const only = args.get("only");
  if (only !== undefined && only !== "example" && only !== "ceiling")
    throw new Error("--only must be example or ceiling");
  const compare = args.get("compare");
  const brokers: Broker[] =
    only === undefined
      ? ["ceiling", ...(compare === undefined ? [] : ["before" as const]), "example"]
      : [only];
  const profileDir = args.get("profile");
  if (profileDir !== undefined) fs.mkdirSync(profileDir, { recursive: true });

  console.log(`node ${process.version}, ${os.cpus().length} cores; tools: ${tools}`);
  console.log(`load average at start: ${loadAverage()}`);

  const ports: Record<Broker, Ports> = {
    ceiling: { pub: await freePort(), sub: await freePort() },
    before: { pub: await freePort(), sub: await freePort() },
    example: { pub: await freePort(), sub: await freePort() },
  };
  const runtimes = new Map<Broker, Runtime>();
  let ceiling: ChildProcess | undefined;
  try {
    for (const b of brokers) {
      if (b === "ceiling") continue;
      let template: string | undefined;
      let flowFile = path.join(REPO_ROOT, "examples", "01-broker.json");
      if (b === "before" && compare !== undefined) {
        template = makeTempDir("compare-template");
        fs.writeFileSync(path.join(template, "package.json"), '{"name":"node-red-project","private":true}\n');
        await run("npm", ["install", "--prefer-offline", ...NPM_QUIET, path.resolve(compare)], {
          cwd: template,
          env: npmEnv(),
        });
        flowFile = path.join(
          template,
          "node_modules",
          "@voevent",
          "node-red-voevent",
          "examples",
          "01-broker.json",
        );
      } else if (args.get("example") !== undefined) {
        flowFile = path.resolve(String(args.get("example")));
      }
      const rt = await startRuntime({
        ...(template === undefined ? {} : { userDirTemplate: template }),
        nodeArgs: [
          ...(profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${path.resolve(profileDir)}`]),
          ...String(args.get("node-args") ?? "")
            .split(" ")
            .filter((a) => a !== ""),
        ],
      });
      runtimes.set(b, rt);
      console.log(
        `${b}: Node-RED ${(await rt.settings()).version ?? "?"}, pid ${rt.process.pid}, flow ${flowFile}`,
      );
      await rt.deploy(exampleFlow(ports[b], flowFile));
      await Promise.all([waitForPort(ports[b].pub, 20_000), waitForPort(ports[b].sub, 20_000)]);
    }
    if (brokers.includes("ceiling")) {
      ceiling = spawn(
        process.execPath,
        [
          path.join(tools, "ceiling-broker.mjs"),
          "--receive",
          String(ports.ceiling.pub),
          "--broadcast",
          String(ports.ceiling.sub),
        ],
        { stdio: "inherit" },
      );
      await Promise.all([waitForPort(ports.ceiling.pub, 20_000), waitForPort(ports.ceiling.sub, 20_000)]);
    }
    const pidOf = (b: Broker): number | undefined =>
      b === "ceiling" ? ceiling?.pid : runtimes.get(b)?.process.pid;

    const summary: string[] = [];
    for (const s of scenarios) {
      const { title, args: loadArgs } = SCENARIOS[s];
      console.log(`\nscenario ${s}: ${title} (${loadArgs.join(" ")})`);
      const runs: Record<Broker, Run[]> = { ceiling: [], before: [], example: [] };
      if (warmupRuns > 0) {
        const warm: Record<Broker, string[]> = { ceiling: [], before: [], example: [] };
        for (let w = 0; w < warmupRuns; w++) {
          for (const b of brokers) {
            const cpu0 = cpuOf(pidOf(b));
            const r = await load(tools, ports[b], loadArgs);
            const cpu1 = cpuOf(pidOf(b));
            const count = r.publish.acks + r.publish.naks + r.publish.errors;
            const cpuMs = cpu1.user - cpu0.user + cpu1.system - cpu0.system;
            warm[b].push(fmt((cpuMs * 1000) / Math.max(1, count)));
          }
        }
        const shown = brokers.map((b) => `${b} ${warm[b].join(", ")}`).join("; ");
        console.log(`  warm-up, ${warmupRuns} untimed runs each (broker CPU µs/event): ${shown}`);
      }
      for (let round = 0; round < rounds; round++) {
        // Each round starts with another broker (two: alternated; three: rotated).
        const k = round % brokers.length;
        const order = [...brokers.slice(k), ...brokers.slice(0, k)];
        for (const b of order) {
          const cpu0 = cpuOf(pidOf(b));
          const r = await load(tools, ports[b], loadArgs);
          const cpu1 = cpuOf(pidOf(b));
          const userMs = cpu1.user - cpu0.user;
          const cpuMs = userMs + cpu1.system - cpu0.system;
          const d = r.deliver;
          const count = r.publish.acks + r.publish.naks + r.publish.errors;
          const run: Run = {
            rate: d?.per_second ?? Number.NaN,
            p50: d?.latency_ms.p50 ?? Number.NaN,
            p99: d?.latency_ms.p99 ?? Number.NaN,
            cpuMsPerEvent: cpuMs / Math.max(1, count),
            line:
              `round ${round + 1} ${b.padEnd(7)} ${fmt(d?.per_second ?? Number.NaN).padStart(7)}/s` +
              ` p50 ${fmt(d?.latency_ms.p50 ?? Number.NaN, 2)} ms p99 ${fmt(d?.latency_ms.p99 ?? Number.NaN, 2)} ms` +
              `  acks ${r.publish.acks} naks ${r.publish.naks} errors ${r.publish.errors}` +
              `  delivered ${d?.delivered ?? 0}/${d?.expected ?? 0}${d?.duplicates ? ` dup ${d.duplicates}` : ""}` +
              `  broker CPU ${fmt((cpuMs * 1000) / Math.max(1, count))} µs/event` +
              ` (user ${fmt((userMs * 1000) / Math.max(1, count))})  load ${loadAverage()}`,
          };
          runs[b].push(run);
          console.log(`  ${run.line}`);
          await sleep(500);
        }
      }
      const med = (b: Broker, k: "rate" | "p50" | "p99" | "cpuMsPerEvent"): number =>
        median(runs[b].map((r) => r[k]));
      const rows = brokers.map(
        (b) =>
          `  ${b.padEnd(7)} median ${fmt(med(b, "rate")).padStart(7)}/s  p50 ${fmt(med(b, "p50"), 2)} ms` +
          `  p99 ${fmt(med(b, "p99"), 2)} ms  broker CPU ${fmt(med(b, "cpuMsPerEvent") * 1000)} µs/event`,
      );
      const ratios = brokers.includes("ceiling")
        ? brokers
            .filter((b) => b !== "ceiling")
            .map((b) => {
              const ratio = med(b, "rate") / med("ceiling", "rate");
              const p99x = med(b, "p99") / med("ceiling", "p99");
              const perRound = runs[b].map((r, i) => fmt(r.rate / (runs.ceiling[i]?.rate ?? Number.NaN), 2));
              const cpux = med(b, "cpuMsPerEvent") / med("ceiling", "cpuMsPerEvent");
              return (
                `  ${b.padEnd(7)} ratio ${fmt(ratio, 2)} (rounds: ${perRound.join(", ")}); p99 ${fmt(p99x, 2)}×` +
                ` and CPU per event ${fmt(cpux, 2)}× the ceiling's`
              );
            })
        : [];
      summary.push(`scenario ${s}: ${title}`, ...rows, ...ratios);
    }
    console.log(`\nload average at end: ${loadAverage()}`);
    console.log("summary (medians of the rounds; ratio = example / ceiling)");
    for (const line of summary) console.log(line);
  } finally {
    if (ceiling !== undefined && ceiling.exitCode === null) ceiling.kill();
    for (const rt of runtimes.values()) {
      if (profileDir !== undefined) {
        // --cpu-prof writes the profile as the process exits; Node-RED exits on SIGTERM.
        const exited = new Promise((r) => rt.process.once("exit", r));
        rt.process.kill("SIGTERM");
        await exited;
      }
      await rt.stop();
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
