/**
 * A SeenStore that survives restarts and redeploys: the keys live in memory
 * (as in MemoryStore) and in an append-only log file, one line per recorded
 * key: `<epoch-ms> <key>\n`, after a header line (`# voevent-dedupe seen keys v1`)
 * that marks the file as one this store created.
 *
 * Durability: the log is opened once; each new key is one writeSync of one
 * whole line on that fd, so a crash loses at most the line being written
 * (there is no fsync per key: a power cut may lose the last few seconds of
 * keys, never the file). A line that could not be written completely is cut
 * off again at once.
 *
 * Opening refuses a file that does not start with the header (a file the
 * store did not create is never truncated or appended to), reads the log, drops a torn last line (a crash mid-write) by
 * truncating the file to its last complete line, skips malformed lines,
 * forgets expired entries and keeps the newest `capacity`.
 *
 * Compaction rewrites the live entries to `<path>.compact.tmp` in the same
 * directory, fsyncs it, renames it over the log (atomic) and reopens the log.
 * It is synchronous: 100k live keys take some tens of ms.
 * It runs when the log holds more than twice as many lines as live entries
 * (and at least 1000 lines of garbage), on open when worthwhile, on compact().
 * A crash mid-compaction leaves the old log intact and a temp file that the
 * next open deletes. clear() swaps in an empty file the same way.
 *
 * One store per file: opening a path already open in this process throws.
 * Nothing guards against two processes sharing a file; don't.
 */
import {
  closeSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { dirname, resolve } from "node:path";
import { checkKey, SeenIndex, timeOf } from "./seen-index";
import type { SeenStore, SeenStoreOptions } from "./store";

export interface FileStoreOptions extends SeenStoreOptions {
  /** The log file; created if missing (its directory must exist). */
  path: string;
  /**
   * Called when automatic compaction fails (disk full, permissions). The store
   * carries on with the log as it is and tries again later. Ignored by default.
   */
  onError?: (err: Error) => void;
}

/** Garbage lines tolerated before compaction is worth its cost. */
const MIN_GARBAGE_LINES = 1000;
/** Compaction writes in batches of about this many characters. */
const WRITE_BATCH = 1 << 20;
const TEMP_SUFFIX = ".compact.tmp";
/**
 * The first line of every log this store writes. A file without it was not
 * made by this store (a pid file, someone's notes, a path typed wrong): it is
 * refused and left as it is.
 */
const HEADER = "# voevent-dedupe seen keys v1\n";
const HEADER_BYTES = Buffer.from(HEADER, "latin1");
const OWNER = "FileStore";

/** Paths of the stores open in this process. */
const openPaths = new Set<string>();

export class FileStore implements SeenStore {
  readonly path: string;
  private readonly tempPath: string;
  private readonly index: SeenIndex;
  private readonly clock: () => number;
  private readonly onError: (err: Error) => void;
  private fd: number | undefined;
  private closed = false;
  /** Lines in the log, valid or not. */
  private lines = 0;
  /** Bytes in the log, as far as this store wrote it. */
  private fileBytes = 0;
  /** A failed write could not be undone: rewrite the log before appending again. */
  private mustCompact = false;
  /** After a failed automatic compaction, wait for this many lines before retrying. */
  private retryCompactionAt = 0;

  constructor(opts: FileStoreOptions) {
    this.index = new SeenIndex(opts, OWNER);
    if (typeof opts.path !== "string" || opts.path === "") {
      throw new TypeError(`${OWNER}: path must be a non-empty string`);
    }
    this.clock = opts.now ?? Date.now;
    this.onError = opts.onError ?? (() => {});
    this.path = resolve(opts.path);
    this.tempPath = this.path + TEMP_SUFFIX;
    if (openPaths.has(this.path)) {
      throw new Error(
        `${OWNER}: ${this.path} is already open in this process (two stores on one file would lose each other's keys)`,
      );
    }
    this.load();
    openPaths.add(this.path);
  }

  checkAndAdd(key: string, now?: number): boolean {
    const t = this.time(now);
    checkKey(key, OWNER);
    if (this.index.lookup(key, t)) return false;
    if (this.mustCompact) this.compactAt(t);
    this.append(formatLine(t, key));
    this.lines++;
    this.index.record(key, t);
    this.index.prune(t);
    if (this.lines >= this.retryCompactionAt && this.worthCompacting()) {
      try {
        this.compactAt(t);
      } catch (err) {
        this.compactionFailed(err);
      }
    }
    return true;
  }

  has(key: string, now?: number): boolean {
    const t = this.time(now);
    checkKey(key, OWNER);
    return this.index.lookup(key, t);
  }

  get size(): number {
    if (!this.closed) this.index.prune(timeOf(undefined, this.clock, OWNER));
    return this.index.size;
  }

  /** Forgets every key: an empty log replaces the old one atomically. */
  clear(): void {
    this.ensureOpen();
    this.rewrite([]);
    this.index.clear();
  }

  /** Rewrites the log with only the live entries (atomic; normally automatic). */
  compact(now?: number): void {
    this.compactAt(this.time(now));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    openPaths.delete(this.path);
    this.index.clear();
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) closeSync(fd);
  }

  private ensureOpen(): void {
    if (this.closed) throw new Error(`${OWNER}: the store for ${this.path} is closed`);
  }

  private time(now: number | undefined): number {
    this.ensureOpen();
    return timeOf(now, this.clock, OWNER);
  }

  private compactionFailed(err: unknown): void {
    this.retryCompactionAt = this.lines + MIN_GARBAGE_LINES;
    try {
      this.onError(asError(err));
    } catch {
      // a failing listener must not turn a recorded key into an exception
    }
  }

  private worthCompacting(): boolean {
    const live = this.index.size;
    return this.lines > 2 * live && this.lines - live >= MIN_GARBAGE_LINES;
  }

  /** Reads the log into memory, repairing a torn tail; compacts it if worthwhile. */
  private load(): void {
    removeQuietly(this.tempPath); // left by a crash mid-compaction: the log itself is intact
    let fd: number;
    try {
      fd = openSync(this.path, "a+");
    } catch (err) {
      throw new Error(`${OWNER}: cannot open ${this.path}: ${asError(err).message}`, { cause: err });
    }
    try {
      let data = readAll(fd);
      if (isTornHeader(data)) {
        // Empty, or a crash while the header of a new log was being written.
        ftruncateSync(fd, 0);
        writeAll(fd, HEADER_BYTES);
        data = HEADER_BYTES;
      } else if (!data.subarray(0, HEADER_BYTES.length).equals(HEADER_BYTES)) {
        throw new Error(
          `${this.path} is not a dedupe log (it does not start with the line "${HEADER.trim()}" that this store writes); refusing to touch it`,
        );
      }
      const end = data.lastIndexOf(0x0a) + 1; // complete lines end with "\n"
      if (end < data.length) ftruncateSync(fd, end); // a torn last line: never written completely
      this.fd = fd;
      this.fileBytes = end;
      const now = timeOf(undefined, this.clock, OWNER);
      this.lines = 0;
      const text = data.toString("utf8", HEADER_BYTES.length, end);
      for (let start = 0; start < text.length; ) {
        const stop = text.indexOf("\n", start);
        const entry = parseLine(text.slice(start, stop));
        start = stop + 1;
        this.lines++;
        if (entry === undefined) continue;
        if (this.index.isLive(entry.time, now)) this.index.record(entry.key, entry.time);
        else this.index.remove(entry.key);
      }
      this.index.prune(now);
    } catch (err) {
      this.fd = undefined;
      closeSync(fd);
      throw new Error(`${OWNER}: cannot read ${this.path}: ${asError(err).message}`, { cause: err });
    }
    if (this.worthCompacting()) {
      try {
        this.compactAt(timeOf(undefined, this.clock, OWNER));
      } catch (err) {
        this.compactionFailed(err);
      }
    }
  }

  private compactAt(now: number): void {
    this.index.sweep(now);
    this.rewrite(this.index.entries());
  }

  /**
   * Replaces the log with `entries`: temp file, fsync, rename, reopen. When it
   * throws, the log is as it was.
   */
  private rewrite(entries: Iterable<[string, number]>): void {
    let tempFd: number | undefined;
    let bytes = 0;
    let count = 0;
    try {
      tempFd = openSync(this.tempPath, "w");
      bytes += writeAll(tempFd, HEADER_BYTES);
      let batch = "";
      for (const [key, recordedAt] of entries) {
        batch += formatLine(recordedAt, key);
        count++;
        if (batch.length >= WRITE_BATCH) {
          bytes += writeAll(tempFd, Buffer.from(batch, "utf8"));
          batch = "";
        }
      }
      if (batch !== "") bytes += writeAll(tempFd, Buffer.from(batch, "utf8"));
      fsyncSync(tempFd);
      closeSync(tempFd);
      tempFd = undefined;
      // Close the log before replacing it (Windows refuses to rename over an
      // open file); if the rename fails, the next append reopens the old log.
      const old = this.fd;
      this.fd = undefined;
      if (old !== undefined) closeSync(old);
      renameSync(this.tempPath, this.path);
    } catch (err) {
      if (tempFd !== undefined) closeSync(tempFd);
      removeQuietly(this.tempPath);
      throw new Error(`${OWNER}: cannot rewrite ${this.path}: ${asError(err).message}`, { cause: err });
    }
    syncDirectory(dirname(this.path));
    this.lines = count;
    this.fileBytes = bytes;
    this.mustCompact = false;
    this.retryCompactionAt = 0;
    try {
      this.openForAppend();
    } catch {
      // The new log is in place; the next append opens it again (and reports a failure).
    }
  }

  private openForAppend(): number {
    if (this.fd === undefined) {
      try {
        this.fd = openSync(this.path, "a");
      } catch (err) {
        throw new Error(`${OWNER}: cannot open ${this.path}: ${asError(err).message}`, { cause: err });
      }
    }
    return this.fd;
  }

  /** Appends one line with one write; undoes a partial write. */
  private append(line: string): void {
    const fd = this.openForAppend();
    const bytes = Buffer.from(line, "utf8");
    let written = 0;
    try {
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    } catch (err) {
      if (written > 0) {
        try {
          ftruncateSync(fd, this.fileBytes);
        } catch {
          this.mustCompact = true;
        }
      }
      throw new Error(`${OWNER}: cannot write to ${this.path}: ${asError(err).message}`, { cause: err });
    }
    this.fileBytes += bytes.length;
  }
}

// Keys are written raw when they are printable ASCII other than "%" (SHA-1
// hex, IVORNs); otherwise "%", whitespace and control characters are
// percent-encoded, so a line is always `<time> <one token>`.
const PLAIN_KEY = /^[\x21-\x24\x26-\x7e]*$/;
const ESCAPED = /[%\s\p{Cc}]/gu;
const RAW_FORBIDDEN = /[\s\p{Cc}]/u;
const TIME = /^-?\d+(?:\.\d+)?$/;

function formatLine(time: number, key: string): string {
  const token = PLAIN_KEY.test(key) ? key : key.replace(ESCAPED, (c) => encodeURIComponent(c));
  return `${time} ${token}\n`;
}

function parseLine(line: string): { time: number; key: string } | undefined {
  const space = line.indexOf(" ");
  if (space <= 0) return undefined;
  const timeText = line.slice(0, space);
  if (!TIME.test(timeText)) return undefined;
  const time = Number(timeText);
  if (!Number.isFinite(time)) return undefined;
  const token = line.slice(space + 1);
  if (RAW_FORBIDDEN.test(token)) return undefined;
  if (!token.includes("%")) return { time, key: token };
  try {
    return { time, key: decodeURIComponent(token) };
  } catch {
    return undefined;
  }
}

/** Whether `data` is empty or a strict prefix of the header: a log this store was creating. */
function isTornHeader(data: Buffer): boolean {
  return data.length < HEADER_BYTES.length && HEADER_BYTES.subarray(0, data.length).equals(data);
}

function readAll(fd: number): Buffer {
  const size = fstatSync(fd).size;
  const data = Buffer.allocUnsafe(size);
  let read = 0;
  while (read < size) {
    const n = readSync(fd, data, read, size - read, read);
    if (n === 0) break;
    read += n;
  }
  return read === size ? data : data.subarray(0, read);
}

function writeAll(fd: number, bytes: Buffer): number {
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
  return written;
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // absent, or not ours to remove: either way nothing to do
  }
}

/** Makes a rename durable; not possible on every platform (Windows), where it is skipped. */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // best effort
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
