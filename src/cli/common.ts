/**
 * What the three command-line tools share: option parsing with node:util,
 * TLS files, reading stdin, and one way to fail (message on stderr, exit code).
 */
import * as fs from "node:fs";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { loadTlsFiles, type TlsOptions } from "../vtp/tls";

export const TLS_OPTIONS = {
  tls: { type: "boolean" },
  "tls-ca": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-insecure": { type: "boolean" },
} as const;

export interface TlsArgs {
  tls?: boolean;
  "tls-ca"?: string;
  "tls-cert"?: string;
  "tls-key"?: string;
  "tls-insecure"?: boolean;
}

export const TLS_HELP = `  --tls               connect with TLS (implied by the options below)
  --tls-ca FILE       CA certificate(s) to trust (PEM)
  --tls-cert FILE     client certificate (PEM)
  --tls-key FILE      client key (PEM)
  --tls-insecure      do not verify the server's certificate`;

/** TLS options from the command line, or undefined for plain TCP. */
export function tlsFromArgs(args: TlsArgs): TlsOptions | undefined {
  const any = args.tls || args["tls-ca"] || args["tls-cert"] || args["tls-key"] || args["tls-insecure"];
  if (!any) return undefined;
  const opts = loadTlsFiles({ caFile: args["tls-ca"], certFile: args["tls-cert"], keyFile: args["tls-key"] });
  if (args["tls-insecure"]) opts.rejectUnauthorized = false;
  return opts;
}

export class UsageError extends Error {}

/** node:util's parseArgs, strict; its complaints become a UsageError. */
export function parse<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs<T>({ ...config, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function port(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new UsageError(`--port must be 1–65535, not ${value}`);
  return n;
}

export function positiveNumber(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!(n >= 0) || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number ≥ 0, not ${value}`);
  return n;
}

/** Reads a whole file, or stdin when path is undefined or "-". */
export async function readInput(path: string | undefined): Promise<Buffer> {
  if (path !== undefined && path !== "-") return fs.readFileSync(path);
  if (process.stdin.isTTY) throw new UsageError("no FILE given and standard input is a terminal");
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Runs a CLI main function: usage errors exit 2 with the usage text, other errors exit 1. */
export function run(name: string, usage: string, main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof UsageError) {
        process.stderr.write(`${name}: ${err.message}\n\n${usage}`);
        process.exitCode = 2;
      } else {
        process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 1;
      }
    },
  );
}
