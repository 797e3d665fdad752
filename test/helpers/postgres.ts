/**
 * A real PostgreSQL server (Debian's, installed by scripts/ensure-test-tools.sh) for the tests:
 * `initdb` in a temporary folder, `postgres` on a free loopback port with trust authentication
 * for a `voevent` user and database, stopped by stop(). start() after stop() brings it back on
 * the same port with the same data (an outage and a recovery). As root, both run as the
 * `postgres` system user (PostgreSQL refuses to run as root).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "./redis-server";

/** The newest installed major version's binaries (/usr/lib/postgresql/<ver>/bin). */
export function postgresBin(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(path.join(root, v, "bin", "postgres")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0)
    throw new Error("PostgreSQL is not installed (scripts/ensure-test-tools.sh installs it)");
  return path.join(root, versions[0], "bin");
}

function runAs(): { uid: number; gid: number } | Record<string, never> {
  if (process.getuid?.() !== 0) return {};
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
  return { uid, gid };
}

export class PostgresServer {
  readonly host = "127.0.0.1";
  readonly user = "voevent";
  readonly database = "voevent";
  readonly password = "unused-trust-auth";
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async start(): Promise<PostgresServer> {
    const dir = mkdtempSync(path.join(tmpdir(), "voevent-pg-"));
    const ids = runAs();
    if ("uid" in ids) chownSync(dir, ids.uid, ids.gid);
    const data = path.join(dir, "data");
    execFileSync(
      path.join(postgresBin(), "initdb"),
      ["-D", data, "-U", "voevent", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"],
      { stdio: "pipe", ...ids },
    );
    const server = new PostgresServer(await freePort(), dir);
    await server.start();
    execFileSync(
      path.join(postgresBin(), "createdb"),
      ["-h", server.host, "-p", String(server.port), "-U", "voevent", "voevent"],
      {
        stdio: "pipe",
        ...ids,
      },
    );
    return server;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** The openArchive config for this server. */
  config(): {
    store: "postgres";
    host: string;
    port: number;
    database: string;
    user: string;
    password: string;
  } {
    return {
      store: "postgres",
      host: this.host,
      port: this.port,
      database: this.database,
      user: this.user,
      password: this.password,
    };
  }

  async start(): Promise<void> {
    if (this.child !== undefined) return;
    const args = [
      "-D",
      path.join(this.dir, "data"),
      "-p",
      String(this.port),
      "-h",
      this.host,
      "-k",
      this.dir,
    ];
    args.push("-c", "fsync=off", "-c", "shared_buffers=32MB", "-c", "max_connections=40");
    const child = spawn(path.join(postgresBin(), "postgres"), args, {
      stdio: ["ignore", "pipe", "pipe"],
      ...runAs(),
    });
    this.child = child;
    let out = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`postgres did not start: ${out}`)), 30_000);
      const onData = (data: Buffer) => {
        out += data.toString();
        if (/ready to accept connections/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
      child.once("exit", (code) => {
        clearTimeout(timer);
        this.child = undefined;
        reject(new Error(`postgres exited (${code}): ${out}`));
      });
    });
  }

  /** Stops it at once (SIGQUIT: immediate shutdown; the data stays for start()). */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGQUIT");
    });
  }

  /** Stops it and removes its directory. */
  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
