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
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { validateXML } from "xmllint-wasm";
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

export interface SchemaResult {
  valid: boolean;
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

interface Job {
  name: string;
  contents: string | Uint8Array;
  bytes: number;
  resolve: (v: { error: string | null; line: number | null }) => void;
}

let running = 0;
let counter = 0;
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
  try {
    const r = await validateXML({
      xml: batch.map((j) => ({ fileName: j.name, contents: j.contents })),
      schema: [{ fileName: SCHEMA_FILE, contents: xsd }],
      maxMemoryPages: 2048, // 128 MiB at most; the default (32 MiB) is tight for a full batch
    });
    const lines = r.rawOutput.split("\n");
    for (const j of batch) j.resolve(r.valid ? { error: null, line: null } : verdict(j.name, lines));
  } catch (err) {
    if (batch.length === 1) {
      batch[0]!.resolve({ error: `schema validation could not run: ${messageOf(err)}`, line: null });
      return;
    }
    // One packet spoiled the run (xmllint exits with an unexpected code): take them one by one.
    for (const j of batch) await runBatch([j]);
  }
}

/** One packet's result from xmllint's output for a batch: "<name> validates", or its first "<name>:<line>: …" error. */
function verdict(name: string, lines: string[]): { error: string | null; line: number | null } {
  if (lines.includes(`${name} validates`)) return { error: null, line: null };
  const prefix = `${name}:`;
  for (const l of lines) {
    if (!l.startsWith(prefix)) continue;
    const m = /^(\d+):\s*(.*)$/.exec(l.slice(prefix.length));
    const text = (m === null ? l.slice(prefix.length) : m[2]!)
      .replace(/^.*?Schemas validity error\s*:\s*/, "")
      .trim();
    const line = m === null ? null : Number(m[1]);
    return { error: line === null ? text : `${text} (line ${line})`, line };
  }
  return { error: "fails to validate (xmllint gave no message)", line: null };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Validates a VOEvent packet against VOEvent-v2.0.xsd. Never throws: a
 * validator that cannot run is reported as invalid, with the reason.
 * Pass `doc` when the packet is already parsed, to save parsing it again.
 */
export async function validateVOEventSchema(xml: string | Buffer, doc?: XDocument): Promise<SchemaResult> {
  const t0 = performance.now();
  const done = (error: string | null, line: number | null = null): SchemaResult => ({
    valid: error === null,
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
  counter = (counter + 1) % 1_000_000_000;
  const v = await new Promise<{ error: string | null; line: number | null }>((resolve) => {
    pending.push({ name: `event-${counter}.xml`, contents, bytes, resolve });
    pump();
  });
  return done(v.error, v.line);
}
