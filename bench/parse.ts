/**
 * Parse throughput over the corpus, one core: `npx tsx bench/parse.ts [seconds]`.
 *
 * Packets: every corpus packet our XML parser accepts (the deliberately broken
 * ones are left out). Rows: our parseXml alone; readVOEvent on an already-parsed
 * tree; parseVOEvent (XML + model: what a node pays on a cache miss); getParsed
 * on a hit (what the second node pays); and @xmldom/xmldom's DOMParser for comparison
 * (fast-xml-parser is not installed). Each row runs for `seconds` (default 2)
 * after a warm-up, three times; the best and the median rate (per second of CPU time, not of
 * the clock: steadier on a shared machine) are printed.
 * Also: parseXml of the packets' bytes (strict decoding first, as the receiver does), parseVOEvent
 * plus the three typical XPath rules of bench/xpath, and the time to parse or refuse each of
 * the adversarial 1 MiB frames of test/adversarial/xml-parser.test.ts (best of five); and
 * parseXml over the first 5,000 packets of the 4PiSky month (../shared/corpus/4pisky, real
 * traffic: mostly Swift and Fermi notices), when bzip2 is there to read it. Each row also says
 * the median's µs per packet. For a before/after, run this in a checkout of each commit, in
 * turns, in the same minutes (the machine may be shared).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DOMParser } from "@xmldom/xmldom";
import { ParseCache } from "../src/voevent/cache";
import { parseVOEvent, readVOEvent } from "../src/voevent/parse";
import { parseXml } from "../src/xml/parse";
import type { XDocument } from "../src/xml/types";
import { compileXPath } from "../src/xpath";
import { readTarballPackets } from "../test/helpers/tarball";

const seconds = Number(process.argv[2] ?? 2);
const packetsDir = path.resolve(__dirname, "../../shared/corpus/packets");

function load(): { texts: string[]; docs: XDocument[]; bytes: number; usable: number } {
  const texts: string[] = [];
  const docs: XDocument[] = [];
  let bytes = 0;
  let usable = 0;
  for (const f of readdirSync(packetsDir).sort()) {
    const buf = readFileSync(path.join(packetsDir, f));
    const text = buf.toString("utf8");
    let doc: XDocument;
    try {
      doc = parseXml(text);
    } catch {
      continue; // not well-formed: not part of the throughput set
    }
    texts.push(text);
    docs.push(doc);
    bytes += buf.length;
    try {
      readVOEvent(doc);
      usable++;
    } catch {
      // well-formed but refused (e.g. BAD_IVORN): still parsed, and timed, like the rest
    }
  }
  return { texts, docs, bytes, usable };
}

/**
 * Runs `fn` over the items for about `secs` seconds; returns items per second of this process's
 * CPU time (user + system): on a shared machine, time spent waiting for a core is not counted.
 */
function rate<T>(items: T[], fn: (item: T) => unknown, secs: number): number {
  let n = 0;
  const cpu = process.cpuUsage();
  const until = performance.now() + secs * 1000;
  while (performance.now() < until) {
    for (const it of items) fn(it);
    n += items.length;
  }
  const used = process.cpuUsage(cpu);
  return n / ((used.user + used.system) / 1e6);
}

function swallow<T>(fn: (item: T) => unknown): (item: T) => unknown {
  return (item: T) => {
    try {
      return fn(item);
    } catch {
      return null; // the refused packet (BAD_IVORN) costs its parse, as in real use
    }
  };
}

function measure<T>(name: string, items: T[], fn: (item: T) => unknown): void {
  rate(items, fn, Math.min(0.5, seconds)); // warm-up
  const runs = [rate(items, fn, seconds), rate(items, fn, seconds), rate(items, fn, seconds)].sort(
    (a, b) => a - b,
  );
  const fmt = (r: number) => Math.round(r).toLocaleString("en-US").padStart(9);
  console.log(
    `${name.padEnd(44)} ${fmt(runs[2])} /s best  ${fmt(runs[1])} /s median  ${(1e6 / runs[1]).toFixed(2).padStart(7)} µs`,
  );
}

if (!existsSync(packetsDir)) {
  console.error(`corpus absent at ${packetsDir}: nothing to measure`);
  process.exit(1);
}
const { texts, docs, bytes, usable } = load();
const cpu = os.cpus()[0]?.model ?? "unknown CPU";
console.log(`node ${process.version}, ${cpu}, one core (single thread), ${seconds} s per run`);
console.log(
  `${texts.length} well-formed corpus packets (${usable} usable VOEvents), mean size ${(bytes / texts.length / 1024).toFixed(2)} KiB (${Math.round(bytes / texts.length)} bytes)`,
);
console.log("");

const cache = new ParseCache({ capacity: texts.length * 2 });
for (const t of texts) swallow((s: string) => cache.get(s))(t);
const dom = new DOMParser({ onError: () => undefined });

measure("parseXml (our XML parser alone)", texts, (s) => parseXml(s));
measure("readVOEvent (model from a parsed tree)", docs, swallow(readVOEvent));
measure(
  "parseVOEvent (XML + model)",
  texts,
  swallow((s: string) => parseVOEvent(s)),
);
measure(
  "getParsed, cache hit (lookup + model copy)",
  texts,
  swallow((s: string) => cache.get(s)),
);
measure("@xmldom/xmldom DOMParser (XML alone)", texts, (s) => dom.parseFromString(s, "text/xml"));
const buffers = texts.map((t) => Buffer.from(t));
measure("parseXml of the bytes (strict decoding)", buffers, (b) => parseXml(b));
const rules = [
  '//Who/Author[contactName="KSK"]',
  '/*[@role="observation"]',
  '//Param[@name="Sun_Distance" and @value > 40]',
].map((r) => compileXPath(r));
let matched = 0;
measure(
  "parseVOEvent + 3 XPath rules",
  texts,
  swallow((s: string) => {
    const { doc } = parseVOEvent(s);
    for (const r of rules) if (r.test(doc)) matched++;
  }),
);

// Adversarial 1 MiB frames: parsed or refused, in ms (best of five).
const MiB = 1024 * 1024;
const fill = (unit: string, head = "<r>", tail = "</r>"): string =>
  head + unit.repeat(Math.floor((MiB - head.length - tail.length) / unit.length)) + tail;
const frames: [string, string][] = [
  ["nested fresh prefixes", '<p:e xmlns:p="urn:x">'.repeat(50_000).slice(0, MiB)],
  [
    "one tag of distinct attributes",
    `<r${Array.from({ length: 85_000 }, (_, i) => ` a${i}="v"`).join("")}/>`,
  ],
  ["text full of references", fill("&amp;&#65;&#x000000000041;")],
  ["a giant name", `<${"n".repeat(MiB - 10)}/>`],
  ["comments", fill("<!-- - -->")],
  ["processing instructions", fill("<?pi x?>")],
  ["siblings <a/>", fill("<a/>")],
  ["255 deep, then siblings", `${"<a>".repeat(255)}${"<b/>".repeat(200_000)}`.slice(0, MiB)],
];
console.log("");
console.log("adversarial 1 MiB frames (default limits): outcome, best of 5");
for (const [what, xml] of frames) {
  let outcome = "parsed";
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    try {
      parseXml(xml);
    } catch (err) {
      outcome = (err as { code?: string }).code ?? "threw";
    }
    best = Math.min(best, performance.now() - t);
  }
  console.log(`  ${what.padEnd(34)} ${outcome.padEnd(20)} ${best.toFixed(1).padStart(7)} ms`);
}
if (matched < 0) console.log(matched);

// The 4PiSky month: real traffic, read from its tarball (bzip2), the first 5,000 packets.
readTarballPackets(5000).then(
  (month) => {
    const ok = month
      .map((p) => p.xml.toString("utf8"))
      .filter((t) => {
        try {
          parseXml(t);
          return true;
        } catch {
          return false;
        }
      });
    const mean = ok.reduce((a, t) => a + Buffer.byteLength(t), 0) / ok.length;
    console.log("");
    console.log(
      `4PiSky month: ${ok.length} well-formed packets of the first 5,000, mean ${Math.round(mean)} bytes`,
    );
    measure("parseXml (4PiSky month)", ok, (t) => parseXml(t));
  },
  (err: Error) => console.log(`4PiSky month not read (${err.message})`),
);
