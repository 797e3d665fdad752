/**
 * A real PostgreSQL server (Debian's, installed by scripts/ensure-test-tools.sh) for the tests:
 * `initdb` in a temporary folder, `postgres` on a free loopback port with trust authentication
 * for a `voevent` user and database, stopped by stop(). start() after stop() brings it back on
 * the same port with the same data (an outage and a recovery). As root, both run as the
 * `postgres` system user (PostgreSQL refuses to run as root).
 *
 * `start({ tls: true })`: `ssl=on` with a server certificate (CN and SAN localhost, 127.0.0.1,
 * ::1) signed by a throw-away CA made with openssl in the same folder, and pg_hba.conf with
 * `hostssl` lines only, so a plain TCP connection is refused by the server. `tlsFiles` has the
 * CA's certificate (what a client trusts), another CA's (one the server's certificate is not
 * signed by), and a client certificate and key signed by the CA, which the database
 * `CLIENT_CERT_DATABASE` requires (`clientcert=verify-ca`).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
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

/** PEM texts of a TLS server's test certificates. */
export interface PostgresTlsFiles {
  /** The CA that signed the server's certificate: what a client trusts. */
  ca: string;
  /** Another CA, which signed nothing the server has. */
  otherCa: string;
  /** A client certificate (CN=voevent) and its key, signed by `ca`. */
  clientCert: string;
  clientKey: string;
}

/** On a TLS test server: the database that takes only clients with a certificate signed by its CA. */
export const CLIENT_CERT_DATABASE = "voevent_clientcert";

function openssl(args: string[]): void {
  try {
    execFileSync("openssl", args, { stdio: "pipe" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT")
      throw new Error("PostgreSQL's TLS tests need openssl (scripts/ensure-test-tools.sh installs it)");
    throw err;
  }
}

/** A CA, a server certificate (localhost, 127.0.0.1, ::1) and a client one it signs, and another CA, in `dir`. */
function makeCertificates(dir: string): PostgresTlsFiles {
  const f = (name: string) => path.join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const caExt = [
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ];
  for (const name of ["ca", "other-ca"])
    openssl([
      "req",
      "-x509",
      ...ec,
      "-subj",
      `/CN=voevent test ${name}`,
      "-days",
      "2",
      ...caExt,
      "-keyout",
      f(`${name}.key`),
      "-out",
      f(`${name}.pem`),
    ]);
  const signed = (name: string, subject: string, ext: string) => {
    openssl(["req", ...ec, "-subj", subject, "-keyout", f(`${name}.key`), "-out", f(`${name}.csr`)]);
    writeFileSync(f(`${name}.ext`), `${ext}\nbasicConstraints=CA:FALSE\n`);
    openssl([
      "x509",
      "-req",
      "-in",
      f(`${name}.csr`),
      "-CA",
      f("ca.pem"),
      "-CAkey",
      f("ca.key"),
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      f(`${name}.ext`),
      "-out",
      f(`${name}.pem`),
    ]);
  };
  signed(
    "server",
    "/CN=localhost",
    "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth",
  );
  signed("client", "/CN=voevent", "extendedKeyUsage=clientAuth");
  return {
    ca: readFileSync(f("ca.pem"), "utf8"),
    otherCa: readFileSync(f("other-ca.pem"), "utf8"),
    clientCert: readFileSync(f("client.pem"), "utf8"),
    clientKey: readFileSync(f("client.key"), "utf8"),
  };
}

export class PostgresServer {
  readonly host = "127.0.0.1";
  readonly user = "voevent";
  readonly database = "voevent";
  readonly password = "unused-trust-auth";
  private child: ChildProcess | undefined;
  private databases = 0;

  private constructor(
    readonly port: number,
    private readonly dir: string,
    /** With start({ tls: true }): the CA to trust and another; null for a plain server. */
    readonly tlsFiles: PostgresTlsFiles | null,
  ) {}

  static async start(options: { tls?: boolean } = {}): Promise<PostgresServer> {
    const dir = mkdtempSync(path.join(tmpdir(), "voevent-pg-"));
    const ids = runAs();
    if ("uid" in ids) chownSync(dir, ids.uid, ids.gid);
    const data = path.join(dir, "data");
    execFileSync(
      path.join(postgresBin(), "initdb"),
      ["-D", data, "-U", "voevent", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"],
      { stdio: "pipe", ...ids },
    );
    let tlsFiles: PostgresTlsFiles | null = null;
    if (options.tls === true) {
      tlsFiles = makeCertificates(dir);
      // The server reads its key as the postgres user and refuses one others may read.
      for (const name of ["server.pem", "server.key"]) {
        if ("uid" in ids) chownSync(path.join(dir, name), ids.uid, ids.gid);
        chmodSync(path.join(dir, name), 0o600);
      }
      // TCP only over TLS, and one database only with a client certificate; the socket
      // (createdb) stays as initdb made it.
      writeFileSync(
        path.join(data, "pg_hba.conf"),
        "local all all trust\n" +
          `hostssl ${CLIENT_CERT_DATABASE} all 127.0.0.1/32 trust clientcert=verify-ca\n` +
          "hostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n",
      );
    }
    const server = new PostgresServer(await freePort(), dir, tlsFiles);
    await server.start();
    server.createdb("voevent");
    if (tlsFiles !== null) server.createdb(CLIENT_CERT_DATABASE);
    return server;
  }

  private createdb(name: string): void {
    // Through the server's Unix socket in its folder (a TLS server takes only TLS over TCP).
    execFileSync(
      path.join(postgresBin(), "createdb"),
      ["-h", this.dir, "-p", String(this.port), "-U", "voevent", name],
      {
        stdio: "pipe",
        ...runAs(),
      },
    );
  }

  /** A new empty database on this server (for a test that needs an archive of its own); its name. */
  async freshDatabase(): Promise<string> {
    const name = `voevent_${++this.databases}`;
    this.createdb(name);
    return name;
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
    if (this.tlsFiles !== null) {
      args.push("-c", "ssl=on", "-c", `ssl_cert_file=${path.join(this.dir, "server.pem")}`);
      args.push("-c", `ssl_key_file=${path.join(this.dir, "server.key")}`);
      args.push("-c", `ssl_ca_file=${path.join(this.dir, "ca.pem")}`);
    }
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
