/**
 * Process plumbing shared by the benches that drive child processes
 * (bench/vtp.ts, bench/flow.ts): forking a bench child, waiting for one of its
 * IPC messages, and small formatting helpers.
 */
import { type ChildProcess, fork } from "node:child_process";
import { resolve } from "node:path";

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MB`;
}

/** Forks bench/<script> under tsx; with BENCH_PROF=<dir> each child writes a CPU profile there. */
export function child(script: string, argv: string[]): ChildProcess {
  return fork(resolve(__dirname, script), argv, {
    execArgv: [
      "--require",
      "tsx/cjs",
      ...(process.env.BENCH_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROF}`] : []),
    ],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
}

/** The child's first IPC message that satisfies `pred`, or an error naming `what` after `timeoutMs`. */
export function nextMessage<T>(
  proc: ChildProcess,
  pred: (m: T) => boolean,
  timeoutMs: number,
  what: string,
): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      proc.removeListener("message", onMessage);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const onMessage = (m: T): void => {
      if (!pred(m)) return;
      clearTimeout(timer);
      proc.removeListener("message", onMessage);
      resolvePromise(m);
    };
    proc.on("message", onMessage);
  });
}
