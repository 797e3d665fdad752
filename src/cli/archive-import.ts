#!/usr/bin/env node
/**
 * voevent-archive-import: loads VOEvent packets into an archive (embedded file or PostgreSQL) from
 * folders of XML files or from the 4PiSky archive's month files (bzip2-compressed tar, one packet
 * per file, as github:timstaley/voevent-tarballs publishes them; `.tar.gz` and `.tar` too).
 *
 * Decisions:
 * - Streaming: a tarball is decompressed and read entry by entry (never whole in memory); an
 *   entry larger than --max-bytes is skipped unread and reported. Reading pauses while a batch is
 *   written, so memory stays at about one batch.
 * - Resumable: each batch asks the archive which of its IVORNs are stored and skips them
 *   (reported as "already stored"); a run stopped half-way is finished by running it again.
 * - Refused packets (not XML, not a VOEvent, bad IVORN, too large) are counted by reason and the
 *   first --show-refused of them listed with their file and message; the run goes on.
 * - The received time of every imported packet is the time of the import (as voeventdb's own
 *   tarball ingest does).
 * - The PostgreSQL password comes from the PGPASSWORD environment variable, never the command line.
 * - Progress (cli-progress) on stderr when it is a terminal: bytes of the source read.
 */
import { createReadStream, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { Transform } from "node:stream";
import { createGunzip } from "node:zlib";
import cliProgress from "cli-progress";
import * as tar from "tar-stream";
import bz2 from "unbzip2-stream";
import { recordFromPacket } from "../archive/ingest";
import { type ArchiveConfig, openArchive } from "../archive/open";
import type { ArchiveRecord, ArchiveStore } from "../archive/types";
import { VOEventError } from "../errors";
import { DEFAULT_MAX_BYTES } from "../xml/parse";
import { parse, port, run, UsageError } from "./common";

const USAGE = `Usage: voevent-archive-import [archive options] SOURCE...

Loads VOEvent packets into an archive: each SOURCE is a folder (its .xml files, recursively)
or a tarball of packets (.tar.bz2 as the 4PiSky archive publishes them, .tar.gz, .tar).
Packets whose IVORN is already stored are skipped, so an interrupted import is resumed by
running it again. Packets that are not VOEvents are reported and skipped. A PostgreSQL
archive is vacuumed (VACUUM (ANALYZE)) at the end, so that counts are fast at once.

Archive (one of):
  --file FILE          embedded archive file (created when missing)
  --pg-host H          PostgreSQL server (password from the PGPASSWORD environment variable)
  --pg-port P          (default 5432)
  --pg-database D      (default voevent)
  --pg-user U          (default voevent)
  --pg-tls             connect with TLS

  --batch N            packets per transaction (default 1000)
  --max-bytes N        largest packet accepted (default ${DEFAULT_MAX_BYTES})
  --show-refused N     list the first N refused packets (default 20)
  --quiet              no progress bar
  --help               this text

Example: voevent-archive-import --file archive.sqlite 2022-01.001.tar.bz2
`;

export interface ImportReport {
  read: number;
  imported: number;
  alreadyStored: number;
  /** Packets repeated within the sources (same IVORN twice). */
  repeated: number;
  refused: number;
  refusedByReason: Record<string, number>;
  refusedExamples: Array<{ source: string; reason: string; message: string }>;
  seconds: number;
}

interface Packet {
  source: string;
  bytes: Buffer | null;
  /** Why it was not read (too large). */
  problem?: { reason: string; message: string };
}

/** The packets of a folder, recursively (files ending .xml). */
async function* folderPackets(
  dir: string,
  maxBytes: number,
  progress: (n: number) => void,
): AsyncGenerator<Packet> {
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop() as string;
    const entries = readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile() && e.name.toLowerCase().endsWith(".xml")) {
        const size = statSync(p).size;
        progress(size);
        if (size > maxBytes) {
          yield {
            source: p,
            bytes: null,
            problem: { reason: "TOO_LARGE", message: `${size} bytes (--max-bytes ${maxBytes})` },
          };
        } else yield { source: p, bytes: readFileSync(p) };
      }
    }
  }
}

/** The packets of a tarball, streamed. */
async function* tarPackets(
  file: string,
  maxBytes: number,
  progress: (n: number) => void,
): AsyncGenerator<Packet> {
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      progress(chunk.length);
      cb(null, chunk);
    },
  });
  const raw = createReadStream(file).pipe(counter);
  const lower = file.toLowerCase();
  const decompressed =
    lower.endsWith(".bz2") || lower.endsWith(".tbz2")
      ? raw.pipe(bz2())
      : lower.endsWith("gz")
        ? raw.pipe(createGunzip())
        : raw;
  const extract = tar.extract();
  decompressed.on("error", (err: Error) => extract.destroy(err));
  decompressed.pipe(extract);
  for await (const entry of extract) {
    const name = `${file}:${entry.header.name}`;
    if (entry.header.type !== "file" || !entry.header.name.toLowerCase().endsWith(".xml")) {
      entry.resume();
      continue;
    }
    const size = entry.header.size ?? 0;
    if (size > maxBytes) {
      entry.resume();
      yield {
        source: name,
        bytes: null,
        problem: { reason: "TOO_LARGE", message: `${size} bytes (--max-bytes ${maxBytes})` },
      };
      continue;
    }
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    yield { source: name, bytes: Buffer.concat(chunks) };
  }
}

function isTarball(p: string): boolean {
  return /\.(tar|tar\.bz2|tbz2|tar\.gz|tgz)$/i.test(p);
}

export interface ImportOptions {
  batch?: number;
  maxBytes?: number;
  showRefused?: number;
  /** Called with bytes read from the sources (for a progress bar). */
  onProgress?: (bytes: number) => void;
}

/** Imports the sources into the store; the report of what happened. */
export async function importSources(
  store: ArchiveStore,
  sources: string[],
  options: ImportOptions = {},
): Promise<ImportReport> {
  const batchSize = options.batch ?? 1000;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const showRefused = options.showRefused ?? 20;
  const progress = options.onProgress ?? (() => undefined);
  const started = Date.now();
  const report: ImportReport = {
    read: 0,
    imported: 0,
    alreadyStored: 0,
    repeated: 0,
    refused: 0,
    refusedByReason: {},
    refusedExamples: [],
    seconds: 0,
  };
  const refuse = (source: string, reason: string, message: string) => {
    report.refused++;
    report.refusedByReason[reason] = (report.refusedByReason[reason] ?? 0) + 1;
    if (report.refusedExamples.length < showRefused) report.refusedExamples.push({ source, reason, message });
  };
  let batch: ArchiveRecord[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const stored = await store.existing(batch.map((r) => r.ivorn));
    const fresh = batch.filter((r) => !stored.has(r.ivorn));
    report.alreadyStored += batch.length - fresh.length;
    const result = await store.insertBatch(fresh);
    report.imported += result.stored;
    report.repeated += result.duplicates;
    batch = [];
  };
  const receivedAt = new Date();
  for (const source of sources) {
    const st = statSync(source);
    const packets = st.isDirectory()
      ? folderPackets(source, maxBytes, progress)
      : isTarball(source)
        ? tarPackets(source, maxBytes, progress)
        : folderPacketsOfFile(source, progress);
    for await (const p of packets) {
      report.read++;
      if (p.bytes === null) {
        refuse(p.source, p.problem?.reason ?? "UNREADABLE", p.problem?.message ?? "not read");
        continue;
      }
      try {
        batch.push(recordFromPacket(p.bytes, receivedAt, { maxBytes }));
      } catch (err) {
        if (!(err instanceof VOEventError)) throw err;
        refuse(p.source, err.code, err.message);
        continue;
      }
      if (batch.length >= batchSize) await flush();
    }
  }
  await flush();
  // A bulk load leaves PostgreSQL's visibility map and statistics behind (counts read the table).
  if (report.imported > 0) await store.settle();
  report.seconds = (Date.now() - started) / 1000;
  return report;
}

async function* folderPacketsOfFile(file: string, progress: (n: number) => void): AsyncGenerator<Packet> {
  const bytes = readFileSync(file);
  progress(bytes.length);
  yield { source: file, bytes };
}

function positiveInt(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a whole number ≥ 1, not ${v}`);
  return n;
}

async function main(): Promise<number> {
  const { values, positionals } = parse({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      file: { type: "string" },
      "pg-host": { type: "string" },
      "pg-port": { type: "string" },
      "pg-database": { type: "string" },
      "pg-user": { type: "string" },
      "pg-tls": { type: "boolean" },
      batch: { type: "string" },
      "max-bytes": { type: "string" },
      "show-refused": { type: "string" },
      quiet: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError("no SOURCE given");
  if ((values.file === undefined) === (values["pg-host"] === undefined)) {
    throw new UsageError("give one archive: --file FILE or --pg-host H");
  }
  for (const s of positionals) {
    try {
      statSync(s);
    } catch {
      throw new UsageError(`no such file or folder: ${s}`);
    }
  }
  const config: ArchiveConfig =
    values.file !== undefined
      ? { store: "embedded", file: values.file }
      : {
          store: "postgres",
          host: values["pg-host"] as string,
          port: port(values["pg-port"], 5432),
          database: values["pg-database"] ?? "voevent",
          user: values["pg-user"] ?? "voevent",
          password: process.env.PGPASSWORD ?? "",
          tls: values["pg-tls"] === true,
        };
  const total = positionals.reduce((n, s) => n + sourceBytes(s), 0);
  const bar =
    values.quiet || !process.stderr.isTTY
      ? null
      : new cliProgress.SingleBar(
          { format: "{bar} {percentage}% | {value}/{total} MB | ETA {eta}s", stream: process.stderr },
          cliProgress.Presets.shades_classic,
        );
  const mb = (n: number) => Math.round(n / 1e5) / 10;
  let readBytes = 0;
  bar?.start(mb(total), 0);
  const store = await openArchive(config);
  let report: ImportReport;
  try {
    report = await importSources(store, positionals, {
      batch: positiveInt("batch", values.batch, 1000),
      maxBytes: positiveInt("max-bytes", values["max-bytes"], DEFAULT_MAX_BYTES),
      showRefused: values["show-refused"] === undefined ? 20 : Number(values["show-refused"]),
      onProgress: (n) => {
        readBytes += n;
        bar?.update(mb(readBytes));
      },
    });
  } finally {
    bar?.stop();
    await store.close();
  }
  const rate = report.seconds > 0 ? Math.round(report.read / report.seconds) : report.read;
  process.stdout.write(
    `read ${report.read} packets in ${report.seconds.toFixed(1)} s (${rate}/s): imported ${report.imported}, ` +
      `already stored ${report.alreadyStored}, repeated ${report.repeated}, refused ${report.refused}\n`,
  );
  for (const [reason, n] of Object.entries(report.refusedByReason))
    process.stdout.write(`  refused ${reason}: ${n}\n`);
  for (const r of report.refusedExamples) process.stdout.write(`  ${r.source}: ${r.reason}: ${r.message}\n`);
  return 0;
}

/** Bytes a source will be read as (for the progress bar). */
function sourceBytes(source: string): number {
  const st = statSync(source);
  if (!st.isDirectory()) return st.size;
  let n = 0;
  for (const e of readdirSync(source, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.toLowerCase().endsWith(".xml"))
      n += statSync(path.join(e.parentPath, e.name)).size;
  }
  return n;
}

if (require.main === module) run("voevent-archive-import", USAGE, main);
