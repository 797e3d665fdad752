/**
 * XPath filter throughput: packets per second for
 *   (a) parse only,
 *   (b) parse + the three typical rules (test() of each),
 *   (c) the three rules on already parsed documents,
 * over every well-formed packet of the shared corpus (and over its 4–6 kB GCN notices),
 * ours (src/xml/parse + src/xpath) against xpath + @xmldom/xmldom; then
 *   (d) the evaluation budget: hostile expressions on a packet, a document 250 deep and
 *       one 40 000 elements wide, each stopped by the default budget (or finishing under
 *       it): milliseconds and steps used, best of five.
 * Run: npx tsx bench/xpath.ts [seconds per figure, default 1.5]
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { DOMParser } from "@xmldom/xmldom";
import * as xpath from "xpath";
import { parseXml } from "../src/xml/parse";
import type { XDocument } from "../src/xml/types";
import { compileXPath, XPATH_DEFAULT_BUDGET } from "../src/xpath";

const RULES = [
  '//Who/Author[contactName="KSK"]',
  '/*[@role="observation"]',
  '//Param[@name="Sun_Distance" and @value > 40]',
];
const SECONDS = Number(process.argv[2] ?? 1.5);

function loadPackets(): { name: string; text: string }[] {
  const corpus = path.resolve(__dirname, "../../shared/corpus/packets");
  const dir = existsSync(corpus) ? corpus : path.resolve(__dirname, "../test/fixtures/xpath");
  if (dir !== corpus) console.log(`corpus absent at ${corpus}: using the fixtures of ${dir}`);
  const out: { name: string; text: string }[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith(".xml")) continue;
    const text = readFileSync(path.join(dir, name), "utf8");
    try {
      parseXml(text);
      out.push({ name, text });
    } catch {
      // the deliberately malformed packets
    }
  }
  return out;
}

/**
 * Runs `pass` (one pass over `count` packets) repeatedly for about SECONDS; packets per
 * second of this process's CPU time (so that other load on the machine does not count),
 * and of wall-clock time.
 */
function measure(count: number, pass: () => void): { cpu: number; wall: number } {
  for (let i = 0; i < 20; i++) pass(); // warm up
  let n = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < SECONDS * 1000) {
    for (let i = 0; i < 10; i++) pass();
    n += 10 * count;
    t = performance.now();
  }
  const c = process.cpuUsage(c0);
  return { cpu: (n * 1e6) / (c.user + c.system), wall: (n * 1000) / (t - t0) };
}

const fmt = (x: number): string => Math.round(x).toLocaleString("en-US").padStart(10);
const us = (x: number): string => `${(1e6 / x).toFixed(1).padStart(7)} µs`;

function benchSet(label: string, texts: string[]): void {
  const bytes = texts.reduce((s, t) => s + Buffer.byteLength(t), 0);
  console.log(`\n${label}: ${texts.length} packets, mean ${Math.round(bytes / texts.length)} bytes`);
  let sink = 0;

  // Ours.
  const rules = RULES.map((r) => compileXPath(r));
  const docs: XDocument[] = texts.map((t) => parseXml(t));
  const ourParse = measure(texts.length, () => {
    for (const t of texts) sink += parseXml(t).children.length;
  });
  const ourBoth = measure(texts.length, () => {
    for (const t of texts) {
      const d = parseXml(t);
      for (const r of rules) if (r.test(d)) sink++;
    }
  });
  const ourRules = measure(texts.length, () => {
    for (const d of docs) for (const r of rules) if (r.test(d)) sink++;
  });

  // xpath + @xmldom/xmldom, with voe bound as ours binds it.
  const parser = new DOMParser({ onError: () => {} });
  const doms = texts.map((t) => parser.parseFromString(t, "text/xml") as unknown as Node);
  const select = (expr: string, dom: Node): boolean => {
    const root = (dom as unknown as { documentElement: { namespaceURI: string | null } }).documentElement;
    const r = xpath.useNamespaces({ voe: root.namespaceURI ?? "" })(expr, dom);
    return Array.isArray(r) ? r.length > 0 : Boolean(r);
  };
  const refParse = measure(texts.length, () => {
    for (const t of texts) sink += parser.parseFromString(t, "text/xml") ? 1 : 0;
  });
  const refBoth = measure(texts.length, () => {
    for (const t of texts) {
      const d = parser.parseFromString(t, "text/xml") as unknown as Node;
      for (const r of RULES) if (select(r, d)) sink++;
    }
  });
  const refRules = measure(texts.length, () => {
    for (const d of doms) for (const r of RULES) if (select(r, d)) sink++;
  });

  console.log(
    "  packets/s of CPU time (per packet)  ours                 xpath+xmldom         speed-up   ours, wall clock",
  );
  type Rate = { cpu: number; wall: number };
  const line = (what: string, a: Rate, b: Rate) =>
    console.log(
      `  ${what.padEnd(32)} ${fmt(a.cpu)} ${us(a.cpu)}  ${fmt(b.cpu)} ${us(b.cpu)}  ${(a.cpu / b.cpu).toFixed(1).padStart(6)}×  ${fmt(a.wall)}/s`,
    );
  line("(a) parse only", ourParse, refParse);
  line("(b) parse + 3 rules", ourBoth, refBoth);
  line("(c) 3 rules, parsed document", ourRules, refRules);
  if (sink < 0) console.log(sink);
}

const packets = loadPackets();
console.log(
  `XPath bench, Node ${process.version}, load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs; rules:`,
);
for (const r of RULES) console.log(`  ${r}`);
benchSet(
  "all well-formed packets",
  packets.map((p) => p.text),
);
const gcn = packets.filter((p) => {
  const size = Buffer.byteLength(p.text);
  return size >= 4000 && size <= 6500 && p.text.includes("ivo://nasa.gsfc.gcn/");
});
if (gcn.length > 0)
  benchSet(
    "GCN notices of 4–6 kB",
    gcn.map((p) => p.text),
  );

/** (d) What the budget bounds: the costliest expressions we know of, each on three documents. */
function budgetSet(packets: { name: string; text: string }[]): void {
  const HOSTILE = [
    "//*[count(following::*[count(preceding::*[count(following::*[count(preceding::*) > 1]) > 1]) > 0]) > 0]",
    "count(//*[ancestor::*[ancestor::*[ancestor::x]]])",
    "count(//*[. = //*])",
    "count(//*/*/*)",
    "//*[contains(concat(., ., ., ., .), 'zz')]",
    "//*[string-length(translate(., 'abc', 'xyz')) < 0]",
    "count(//* | //* | //*)",
    `count(${Array(512).fill("//*").join("|")})`, // issue 18: 2,054 characters, 512 unions
    "sum(//*[not(following-sibling::*[. = preceding-sibling::*])])",
    "count(//node()[preceding::node()[1] = following::node()[1]])",
  ];
  let deep = "";
  for (let i = 0; i < 250; i++) deep += `<e a="${i}">${"<l>t</l>".repeat(20)}`;
  for (let i = 0; i < 250; i++) deep += "</e>";
  const gcn = packets.find((p) => p.name === "gwcelery__swift_grb_gcn.xml") ?? packets[0];
  const docs: [string, XDocument][] = [
    [gcn.name, parseXml(gcn.text)],
    ["250 deep × 20", parseXml(`<r>${deep}</r>`, { maxElements: Infinity })],
    [
      "40 000 wide",
      parseXml(`<r>${'<x v="1"/><y/>'.repeat(20000)}</r>`, { maxBytes: 4 << 20, maxElements: Infinity }),
    ],
  ];
  console.log(`
(d) evaluation budget ${XPATH_DEFAULT_BUDGET} steps: hostile expressions, best of 5`);
  let worst = 0;
  for (const [label, doc] of docs) {
    for (const e of HOSTILE) {
      const x = compileXPath(e);
      let ms = Number.POSITIVE_INFINITY;
      let outcome = "";
      for (let k = 0; k < 5; k++) {
        const t0 = performance.now();
        try {
          x.test(doc);
          outcome = "done";
        } catch {
          outcome = "stopped";
        }
        ms = Math.min(ms, performance.now() - t0);
      }
      worst = Math.max(worst, ms);
      console.log(
        `  ${label.padEnd(28)} ${ms.toFixed(2).padStart(7)} ms ${String(x.stepsUsed).padStart(7)} steps  ${outcome.padEnd(7)} ${e.slice(0, 60)}`,
      );
    }
  }
  console.log(`  worst: ${worst.toFixed(2)} ms`);
}
if (process.argv.includes("--no-budget") === false) budgetSet(packets);
