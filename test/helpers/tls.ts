/**
 * A throw-away self-signed certificate for TLS tests (CN=localhost, SAN
 * localhost + 127.0.0.1 + ::1), made once per test process with openssl in a
 * temporary directory, which is removed at exit.
 *
 *   const cert = testCertificate();   // throws a clear Error if openssl is missing
 *   server: { cert: cert.cert, key: cert.key }
 *   client: { ca: cert.cert }          (or rejectUnauthorized: false)
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCertificate {
  /** PEM certificate; also the CA to trust, being self-signed. */
  cert: string;
  /** PEM private key (unencrypted). */
  key: string;
  certFile: string;
  keyFile: string;
}

let cached: TestCertificate | null = null;

export function testCertificate(): TestCertificate {
  if (cached !== null) return cached;
  const dir = mkdtempSync(join(tmpdir(), "voevent-tls-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  const args = [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/CN=localhost",
    "-days",
    "1",
    "-keyout",
    keyFile,
    "-out",
    certFile,
  ];
  try {
    execFileSync("openssl", [...args, "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"], {
      stdio: "pipe",
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error(
        "TLS tests need the openssl command to make a test certificate, and it is not installed",
      );
    }
    // Very old openssl without -addext: a certificate without SAN still works with servername "localhost".
    execFileSync("openssl", args, { stdio: "pipe" });
  }
  cached = { cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8"), certFile, keyFile };
  return cached;
}
