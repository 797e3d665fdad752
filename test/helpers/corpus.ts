/**
 * The shared corpus of real packets (../shared/corpus from the project root),
 * read in place. When it is absent, a corpus suite prints one line and registers
 * nothing, unless VOEVENT_REQUIRE_CORPUS=1 (CI), which makes the absence a failing test.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

export interface IndexRow {
  file: string;
  source_repo: string;
  source_path: string;
  license: string;
  ivorn: string;
  role: string;
  stream: string;
  size_bytes: number;
  notable_features: string;
}

export function corpusDir(): string {
  return path.resolve(__dirname, "../../../shared/corpus");
}

export function corpusAvailable(): boolean {
  return existsSync(path.join(corpusDir(), "INDEX.tsv")) && existsSync(path.join(corpusDir(), "packets"));
}

export function corpusRequired(): boolean {
  return process.env.VOEVENT_REQUIRE_CORPUS === "1";
}

export function packetPath(name: string): string {
  return path.join(corpusDir(), "packets", name);
}

export function transportPath(name: string): string {
  return path.join(corpusDir(), "transport", name);
}

export function schemaPath(name: string): string {
  return path.join(corpusDir(), "schemas", name);
}

/** A packet's bytes. */
export function readPacket(name: string): Buffer {
  return readFileSync(packetPath(name));
}

/** One TSV field: a field wrapped in double quotes has them removed and `""` turned into `"`. */
function unquote(field: string): string {
  if (field.length >= 2 && field.startsWith('"') && field.endsWith('"')) {
    return field.slice(1, -1).replace(/""/g, '"');
  }
  return field;
}

let indexCache: IndexRow[] | null = null;

/** INDEX.tsv as rows (one per packet), header names as keys. */
export function readIndex(): IndexRow[] {
  if (indexCache !== null) return indexCache;
  const text = readFileSync(path.join(corpusDir(), "INDEX.tsv"), "utf8");
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  const header = lines[0].split("\t");
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`INDEX.tsv has no column ${name}`);
    return i;
  };
  const c = {
    file: col("file"),
    source_repo: col("source_repo"),
    source_path: col("source_path"),
    license: col("license"),
    ivorn: col("ivorn"),
    role: col("role"),
    stream: col("stream"),
    size_bytes: col("size_bytes"),
    notable_features: col("notable_features"),
  };
  indexCache = lines.slice(1).map((line) => {
    const f = line.split("\t").map(unquote);
    return {
      file: f[c.file],
      source_repo: f[c.source_repo],
      source_path: f[c.source_path],
      license: f[c.license],
      ivorn: f[c.ivorn],
      role: f[c.role],
      stream: f[c.stream],
      size_bytes: Number(f[c.size_bytes]),
      notable_features: f[c.notable_features] ?? "",
    };
  });
  return indexCache;
}

/** True for packets INDEX.tsv marks as not well-formed XML. */
export function isMarkedNotWellFormed(row: IndexRow): boolean {
  return row.notable_features.includes("NOT WELL-FORMED");
}

/**
 * A mocha `describe` whose body runs only when the corpus is there. Absent: one
 * line on stdout and no tests, or (VOEVENT_REQUIRE_CORPUS=1) one failing test.
 */
export function describeCorpus(title: string, body: () => void): void {
  if (corpusAvailable()) {
    describe(title, body);
    return;
  }
  if (corpusRequired()) {
    describe(title, () => {
      it("needs the corpus (VOEVENT_REQUIRE_CORPUS=1)", () => {
        throw new Error(`corpus absent at ${corpusDir()}, and VOEVENT_REQUIRE_CORPUS=1 requires it`);
      });
    });
    return;
  }
  console.log(`corpus absent at ${corpusDir()}: corpus tests not run (${title})`);
}
