/**
 * A throw-away GnuPG home for tests: keys made by gpg itself (the kinds it
 * makes: Ed25519 and RSA-3072), exported armoured, and gpg run on files in it.
 * gpg is installed by scripts/ensure-test-tools.sh (Debian's gnupg).
 * close() stops the gpg-agent it started and removes the directory.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export const GPG = "/usr/bin/gpg";

export interface GpgKey {
  /** The user ID given to gpg, used to pick the key. */
  uid: string;
  /** Key ID as gpg prints it (16 upper-case hex digits). */
  keyId: string;
  publicArmour: string;
  /** Exported protected by `passphrase`. */
  privateArmour: string;
  passphrase: string;
}

export class GnuPGHome {
  readonly dir: string;

  constructor() {
    // A short path: gpg-agent's socket lives in it.
    this.dir = mkdtempSync(path.join(os.tmpdir(), "gpg-"));
  }

  /** Runs gpg with this home; throws with gpg's stderr when it fails. */
  run(args: string[], input?: Buffer | string): { stdout: Buffer; stderr: string; status: number } {
    const r = spawnSync(GPG, ["--homedir", this.dir, "--batch", "--no-tty", ...args], {
      input,
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    if (r.error) throw r.error;
    return { stdout: r.stdout, stderr: r.stderr.toString("utf8"), status: r.status ?? -1 };
  }

  /** Makes a signing key ("ed25519" or "rsa3072") with a passphrase, as `gpg --quick-gen-key` does. */
  makeKey(uid: string, algo: "ed25519" | "rsa3072", passphrase = "correct horse"): GpgKey {
    const gen = this.run([
      "--pinentry-mode",
      "loopback",
      "--passphrase",
      passphrase,
      "--quick-gen-key",
      uid,
      algo,
      "sign",
      "never",
    ]);
    if (gen.status !== 0) throw new Error(`gpg --quick-gen-key failed: ${gen.stderr}`);
    const list = this.run(["--with-colons", "--list-keys", uid]).stdout.toString("utf8");
    const pub = list.split("\n").find((l) => l.startsWith("pub:"));
    if (pub === undefined) throw new Error(`gpg made no key for ${uid}`);
    const keyId = pub.split(":")[4];
    const publicArmour = this.run(["--armor", "--export", uid]).stdout.toString("utf8");
    const privateArmour = this.run([
      "--pinentry-mode",
      "loopback",
      "--passphrase",
      passphrase,
      "--armor",
      "--export-secret-keys",
      uid,
    ]).stdout.toString("utf8");
    return { uid, keyId, publicArmour, privateArmour, passphrase };
  }

  /** `gpg --detach-sign --armor` of these bytes with this key. */
  detachSign(key: GpgKey, data: Buffer): string {
    const r = this.run(
      [
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        key.passphrase,
        "-u",
        key.uid,
        "--detach-sign",
        "--armor",
        "-o",
        "-",
        "-",
      ],
      data,
    );
    if (r.status !== 0) throw new Error(`gpg --detach-sign failed: ${r.stderr}`);
    return r.stdout.toString("latin1");
  }

  /** `gpg --verify sig data` on files; its exit status and what it said. */
  verify(signature: string, data: Buffer): { status: number; stderr: string } {
    const sigFile = path.join(this.dir, "check.asc");
    const dataFile = path.join(this.dir, "check.bin");
    writeFileSync(sigFile, signature, "latin1");
    writeFileSync(dataFile, data);
    const r = this.run(["--status-fd", "2", "--verify", sigFile, dataFile]);
    return { status: r.status, stderr: r.stderr };
  }

  close(): void {
    try {
      execFileSync("gpgconf", ["--homedir", this.dir, "--kill", "gpg-agent"], {
        stdio: "ignore",
        timeout: 10_000,
      });
    } catch {
      // No agent was started.
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
