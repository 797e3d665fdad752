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

/** A command-line word that is a negative number ("-28.9", "-5", "-.5", "-1e3"). */
const NEGATIVE_NUMBER = /^-(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/**
 * `--dec -28.9` as the user wrote it: node:util's parseArgs takes a word that starts with "-"
 * for an option ("argument is ambiguous"), so a negative number after an option that takes a
 * value is joined to it (`--dec=-28.9`) first.
 */
export function joinNegativeNumbers(args: readonly string[], config: ParseArgsConfig): string[] {
  const options = config.options ?? {};
  const takesValue = (word: string): boolean => {
    if (word.startsWith("--") && !word.includes("=")) return options[word.slice(2)]?.type === "string";
    if (/^-[^-]$/.test(word))
      return Object.values(options).some((o) => o.short === word.slice(1) && o.type === "string");
    return false;
  };
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const word = args[i] as string;
    const next = args[i + 1];
    if (word === "--") {
      out.push(...args.slice(i));
      break;
    }
    if (next !== undefined && NEGATIVE_NUMBER.test(next) && takesValue(word)) {
      out.push(word.startsWith("--") ? `${word}=${next}` : `${word}${next}`);
      i++;
    } else out.push(word);
  }
  return out;
}

/** node:util's parseArgs, strict; its complaints become a UsageError. Negative numbers work as
 * option values (joinNegativeNumbers). */
export function parse<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    const args = config.args === undefined ? undefined : joinNegativeNumbers(config.args, config);
    return parseArgs<T>({ ...config, args, strict: true });
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

/** Nothing came on standard input (the command before the pipe failed, most often): said
 * alone, without the usage text. */
export class NoInputError extends Error {}

/** Reads a whole file, or stdin when path is undefined or "-"; empty stdin is a NoInputError. */
export async function readInput(path: string | undefined): Promise<Buffer> {
  if (path !== undefined && path !== "-") return fs.readFileSync(path);
  if (process.stdin.isTTY) throw new UsageError("no FILE given and standard input is a terminal");
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const input = Buffer.concat(chunks);
  if (input.length === 0) throw new NoInputError("no packet arrived on standard input");
  return input;
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
