/**
 * Optional XML Schema validation of VOEvent 2.0 packets against the IVOA's
 * VOEvent-v2.0.xsd, with libxml2's xmllint compiled to WebAssembly
 * (xmllint-wasm): no native dependency, no network, no file system access by
 * the validator.
 *
 * The schema ships in the package (`schemas/` at its root) and is found
 * relative to this module, so the package works on its own. VOEvent-v2.0.xsd
 * is self-contained: it imports neither STC nor xlink (VOEvent 1.1 did).
 *
 * Cost: xmllint-wasm starts a worker thread and compiles its WebAssembly for
 * every call: 100–250 ms per packet (measured on the development machine),
 * whatever the packet's size; the wasm itself validates in a few ms. So:
 * packets in another namespace (VOEvent 1.1, none) are refused at once,
 * without starting the validator, with the message xmllint would give; at
 * most MAX_CONCURRENT xmllint runs go at a time; and packets that arrive while
 * they run are validated together in the next run (xmllint takes several
 * files at once), so a burst costs a few runs, not one per packet, and never
 * starts a hundred workers.
 *
 * Input is expected to have been through parseVOEvent first (size limit, no
 * DTD, well-formed): xmllint is never handed a DOCTYPE by the receiver.
 *
 * Decisions (hostile packets):
 * - Unforgeable verdicts. xmllint reports each file on its error stream, and
 *   its messages quote the packet's own text (an attribute value may hold
 *   line breaks). So each run names its files with 96 random bits that no
 *   packet can know, a run whose exit status is 0 makes every file in it
 *   valid, and otherwise a file is valid only when its one line
 *   "<name> validates" is there and no error line of its own is; anything
 *   ambiguous is validated again alone, where only the exit status counts.
 * - A deadline. Each run has `timeoutMs` (default 10 s; a run takes 0.1–0.3 s):
 *   a run that takes longer is stopped (its worker terminated); a packet
 *   validated alone that times out is invalid with a "timed out" error
 *   (`timedOut`), and a batch that times out is taken again one by one, so a
 *   packet that hangs xmllint cannot spoil its batch-mates.
 * - xmllint-wasm's own validateXML cannot be stopped from outside, so this
 *   module starts the package's worker script itself and speaks its message
 *   protocol (the one validateXML speaks: options tagged "xmllint-wasm",
 *   answered with {exitCode, stderr}).
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Worker } from "node:worker_threads";
import { parseXml } from "../xml/parse";
import type { XDocument } from "../xml/types";

export const VOEVENT_20_NS = "http://www.ivoa.net/xml/VOEvent/v2.0";
const VOEVENT_11_NS = "http://www.ivoa.net/xml/VOEvent/v1.1";
const SCHEMA_FILE = "VOEvent-v2.0.xsd";

/** xmllint runs allowed at once (each a worker thread); packets arriving meanwhile wait, and are then validated together. */
export const MAX_CONCURRENT = 2;
/** Most packets validated in one xmllint run, and their total size. */
const MAX_BATCH = 32;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

/** Default deadline of one xmllint run, ms. */
export const DEFAULT_SCHEMA_TIMEOUT_MS = 10000;

export interface SchemaOptions {
  /** Stop an xmllint run that takes longer than this, ms; the packet is then invalid, `timedOut`. Default 10000. */
  timeoutMs?: number;
}

export interface SchemaResult {
  valid: boolean;
  /** True when the packet is invalid because validation did not finish within its deadline. */
  timedOut: boolean;
  /** The first error, in words, with its line when known; null when valid. */
  error: string | null;
  /** Line of the first error in the packet, when xmllint gave one. */
  line: number | null;
  /** Time spent, ms, including any wait for a free slot. */
  ms: number;
}

let schemaText: string | null = null;

/** Directory holding the package's XSDs: `schemas/` at the package root, found from this module (src/ or dist/src/). */
export function schemasDir(): string {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, "schemas");
    if (existsSync(join(candidate, SCHEMA_FILE))) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`cannot find schemas/${SCHEMA_FILE} above ${__dirname}: the package is incomplete`);
}

function schema(): string {
  schemaText ??= readFileSync(join(schemasDir(), SCHEMA_FILE), "utf8");
  return schemaText;
}

interface Verdict {
  error: string | null;
  line: number | null;
  timedOut?: boolean;
}

interface Job {
  contents: string | Uint8Array;
  bytes: number;
  timeoutMs: number;
  resolve: (v: Verdict) => void;
}

let running = 0;
const pending: Job[] = [];

/** Starts batches while slots are free: every packet waiting when a slot frees goes in one xmllint run. */
function pump(): void {
  while (running < MAX_CONCURRENT && pending.length > 0) {
    const batch: Job[] = [];
    let bytes = 0;
    while (pending.length > 0 && batch.length < MAX_BATCH) {
      const next = pending[0]!;
      if (batch.length > 0 && bytes + next.bytes > MAX_BATCH_BYTES) break;
      batch.push(next);
      bytes += next.bytes;
      pending.shift();
    }
    running++;
    void runBatch(batch).finally(() => {
      running--;
      pump();
    });
  }
}

async function runBatch(batch: Job[]): Promise<void> {
  let xsd: string;
  try {
    xsd = schema();
  } catch (err) {
    for (const j of batch)
      j.resolve({ error: `schema validation could not run: ${messageOf(err)}`, line: null });
    return;
  }
  // Names no packet can guess: 96 random bits per run.
  const run = randomBytes(12).toString("hex");
  const names = batch.map((_, i) => `v${run}-${i}.xml`);
  const timeoutMs = Math.min(...batch.map((j) => j.timeoutMs));
  let r: XmllintRun;
  try {
    r = await runXmllint(
      batch.map((j, i) => ({ fileName: names[i]!, contents: j.contents })),
      { fileName: SCHEMA_FILE, contents: xsd },
      timeoutMs,
    );
  } catch (err) {
    if (batch.length === 1) {
      batch[0]!.resolve({ error: `schema validation could not run: ${messageOf(err)}`, line: null });
      return;
    }
    // One packet spoiled the run (xmllint exits with an unexpected code): take them one by one.
    for (const j of batch) await runBatch([j]);
    return;
  }
  if (r.timedOut) {
    if (batch.length === 1) {
      batch[0]!.resolve({
        error: `schema validation timed out after ${timeoutMs} ms (limit schemaTimeoutMs = ${timeoutMs})`,
        line: null,
        timedOut: true,
      });
      return;
    }
    for (const j of batch) await runBatch([j]);
    return;
  }
  if (r.exitCode === 0) {
    for (const j of batch) j.resolve({ error: null, line: null });
    return;
  }
  const lines = r.stderr.split("\n");
  const again: Job[] = [];
  batch.forEach((j, i) => {
    const v = verdict(names[i]!, lines);
    if (batch.length === 1) {
      // Alone, the exit status is the verdict (invalid); the output only says why.
      j.resolve(
        v !== null && v.error !== null
          ? v
          : { error: "fails to validate (xmllint gave no message)", line: null },
      );
    } else if (v === null) again.push(j);
    else j.resolve(v);
  });
  for (const j of again) await runBatch([j]);
}

/**
 * One file's verdict from xmllint's output for a run that failed: invalid
 * with its first error when it has error lines or "<name> fails to
 * validate"; valid when its only word is "<name> validates"; null when the
 * output is ambiguous (both, or neither).
 */
function verdict(name: string, lines: readonly string[]): Verdict | null {
  const prefix = `${name}:`;
  let validates = false;
  let fails = false;
  let first: Verdict | null = null;
  for (const l of lines) {
    if (l === `${name} validates`) validates = true;
    else if (l === `${name} fails to validate`) fails = true;
    else if (first === null && l.startsWith(prefix)) {
      const m = /^(\d+):\s*(.*)$/.exec(l.slice(prefix.length));
      const text = (m === null ? l.slice(prefix.length) : m[2]!)
        .replace(/^.*?Schemas validity error\s*:\s*/, "")
        .trim();
      const line = m === null ? null : Number(m[1]);
      first = { error: line === null ? text : `${text} (line ${line})`, line };
    }
  }
  if (validates && !fails && first === null) return { error: null, line: null };
  if (fails && !validates)
    return first ?? { error: "fails to validate (xmllint gave no message)", line: null };
  return null;
}

interface XmllintRun {
  exitCode: number;
  stderr: string;
  timedOut: boolean;
}

/** The worker script of xmllint-wasm (the package's own, started here so that it can be stopped). */
let workerScript: string | null = null;

/**
 * Runs xmllint --schema on `files` in a worker thread, as xmllint-wasm's
 * validateXML does, but stops it after `timeoutMs`. Resolves with the exit
 * status and error output; rejects when the worker fails or exits with a
 * status other than 0 (valid), 3 or 4 (invalid).
 */
function runXmllint(
  files: { fileName: string; contents: string | Uint8Array }[],
  xsd: { fileName: string; contents: string },
  timeoutMs: number,
): Promise<XmllintRun> {
  workerScript ??= require.resolve("xmllint-wasm/xmllint-node.js");
  const worker = new Worker(workerScript);
  return new Promise<XmllintRun>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate().then(fn, fn);
    };
    const timer = setTimeout(
      () => finish(() => resolve({ exitCode: -1, stderr: "", timedOut: true })),
      timeoutMs,
    );
    worker.on("message", (data: unknown) => {
      if (
        data === null ||
        typeof data !== "object" ||
        (data as Record<string, unknown>)[MESSAGE_KEY] !== true
      )
        return;
      const { exitCode, stderr } = data as { exitCode: unknown; stderr: unknown };
      const code = typeof exitCode === "number" ? exitCode : -1;
      const text = typeof stderr === "string" ? stderr : "";
      if (code === 0 || code === 3 || code === 4)
        finish(() => resolve({ exitCode: code, stderr: text, timedOut: false }));
      else finish(() => reject(new Error(`xmllint exited with status ${code}: ${text.slice(0, 500)}`)));
    });
    worker.on("error", (err: Error) => finish(() => reject(err)));
    worker.on("exit", (code: number) =>
      finish(() => reject(new Error(`the xmllint worker stopped (exit ${code}) before answering`))),
    );
    worker.postMessage({
      [MESSAGE_KEY]: true,
      inputFiles: [...files, xsd],
      args: ["--schema", xsd.fileName, "--noout", ...files.map((f) => f.fileName)],
      initialMemory: 256, // 16 MiB, in 64 KiB pages
      maxMemory: 2048, // 128 MiB at most; the default (32 MiB) is tight for a full batch
    });
  });
}

/** Tags xmllint-wasm's worker messages (both directions). */
const MESSAGE_KEY = "xmllint-wasm";

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Validates a VOEvent packet against VOEvent-v2.0.xsd. Never rejects: a
 * validator that cannot run, or does not finish within `timeoutMs`, is
 * reported as invalid, with the reason (throws RangeError only for a
 * `timeoutMs` that is not above 0).
 * Pass `doc` when the packet is already parsed, to save parsing it again.
 */
export async function validateVOEventSchema(
  xml: string | Buffer,
  doc?: XDocument,
  options: SchemaOptions = {},
): Promise<SchemaResult> {
  const t0 = performance.now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_SCHEMA_TIMEOUT_MS;
  if (!(timeoutMs > 0))
    throw new RangeError(`validateVOEventSchema: timeoutMs must be above 0, not ${timeoutMs}`);
  const done = (error: string | null, line: number | null = null, timedOut = false): SchemaResult => ({
    valid: error === null,
    timedOut,
    error,
    line,
    ms: performance.now() - t0,
  });
  let root: XDocument["root"];
  try {
    root = (doc ?? parseXml(xml)).root;
  } catch (err) {
    return done(messageOf(err));
  }
  if (root.ns !== VOEVENT_20_NS || root.local !== "VOEvent") {
    const name = root.ns === "" ? root.local : `{${root.ns}}${root.local}`;
    const what =
      root.ns === VOEVENT_11_NS
        ? "a VOEvent 1.1 packet"
        : root.ns === ""
          ? "an element in no namespace"
          : `an element in namespace ${root.ns}`;
    return done(
      `Element '${name}': No matching global declaration available for the validation root ` +
        `(${what}; the VOEvent 2.0 schema takes only <VOEvent> in namespace ${VOEVENT_20_NS})`,
    );
  }
  const contents = typeof xml === "string" ? xml : new Uint8Array(xml.buffer, xml.byteOffset, xml.length);
  const bytes = typeof xml === "string" ? xml.length : xml.length;
  const v = await new Promise<Verdict>((resolve) => {
    pending.push({ contents, bytes, timeoutMs, resolve });
    pump();
  });
  return done(v.error, v.line, v.timedOut === true);
}
