/**
 * Real traffic for the archive's tests: the first packets of the corpus's month of the 4PiSky
 * archive (../shared/corpus/4pisky/2022-01.001.tar.bz2, a bzip2-compressed tar with one XML file
 * per packet), read with Debian's `bzip2 -dc` (scripts/ensure-test-tools.sh installs it) and a
 * small ustar reader here, stopping as soon as enough packets are read.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { corpusDir } from "./corpus";

export interface TarPacket {
  /** The file's path in the tar (`<authority>/<path>/<event>.xml`). */
  name: string;
  xml: Buffer;
}

export function tarballPath(): string {
  return path.join(corpusDir(), "4pisky", "2022-01.001.tar.bz2");
}

function field(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul < 0 ? raw.length : nul).toString("utf8");
}

/** The first `count` regular files of the tarball (deadline: 60 s). */
export async function readTarballPackets(count: number): Promise<TarPacket[]> {
  const out: TarPacket[] = [];
  if (count <= 0) return out;
  await forEachTarballPacket((p) => {
    out.push(p);
    return out.length < count;
  });
  return out;
}

/**
 * Calls `onPacket` with each regular file of the tarball in order, as it is decompressed (none
 * is kept), until it returns false; resolves with the number of packets seen. Rejects after
 * `deadlineMs` (the whole month takes about 5–10 s of bzip2).
 */
export function forEachTarballPacket(
  onPacket: (p: TarPacket) => boolean,
  deadlineMs = 60_000,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn("bzip2", ["-dc", tarballPath()], { stdio: ["ignore", "pipe", "ignore"] });
    let seen = 0;
    let buffered: Buffer = Buffer.alloc(0);
    let finished = false;
    const timer = setTimeout(
      () => finish(new Error(`reading the tarball took more than ${deadlineMs / 1000} s`)),
      deadlineMs,
    );
    function finish(err?: Error): void {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      child.stdout.destroy();
      child.kill();
      if (err) reject(err);
      else resolve(seen);
    }
    child.on("error", (err) => finish(err));
    child.stdout.on("data", (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (!finished && buffered.length >= 512) {
        const header = buffered.subarray(0, 512);
        if (header.every((b) => b === 0)) return finish();
        const size = Number.parseInt(field(header, 124, 12).trim() || "0", 8);
        const total = 512 + Math.ceil(size / 512) * 512;
        if (buffered.length < total) return;
        const type = String.fromCharCode(header[156]);
        if (type === "0" || header[156] === 0) {
          const prefix = field(header, 345, 155);
          const name = field(header, 0, 100);
          seen++;
          let more: boolean;
          try {
            more = onPacket({
              name: prefix === "" ? name : `${prefix}/${name}`,
              xml: Buffer.from(buffered.subarray(512, 512 + size)),
            });
          } catch (err) {
            return finish(err as Error);
          }
          if (!more) return finish();
        }
        buffered = buffered.subarray(total);
      }
    });
    child.stdout.on("end", () => finish());
  });
}
