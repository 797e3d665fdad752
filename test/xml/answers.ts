/**
 * The parser's answers, recorded: for a fixed set of inputs, what parseXml returns (the whole
 * tree: every node's kind, names, namespace, value, document order and parent) or refuses (the
 * error's code and its exact message, line and column included), digested with SHA-256.
 * test/xml/answers.test.ts checks the parser against test/xml/fixtures/answers.json, recorded
 * with `npx tsx test/xml/record-answers.ts` from the parser of 2026-12-07 (before issue 16's
 * faster scan), so a rewrite for speed must give every answer the old code gave.
 *
 * Decisions:
 * - The reference is the old parser's own output, stored as digests, not a second parser kept
 *   in the tests: a second implementation would have to be kept in step with every fix, and
 *   xmllint (test/xml/differential.test.ts) gives verdicts, not trees or our messages.
 * - Inputs: every corpus packet (its bytes, and its text as the receiver passes it), seeded
 *   mutations of them, seeded XML-shaped token soups, every selected W3C suite test, the corpus
 *   packets under tight limits (each limit's message), the adversarial 1 MiB frames, and the
 *   4PiSky month (31,211 real packets). Generated here from fixed seeds, so the fixture holds
 *   no input, only digests; a digest of the inputs tells a changed input from a changed answer.
 * - Digests per corpus file, and per chunk of generated inputs, so a failure says where to look.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { isVOEventError } from "../../src/errors";
import type { ParseXmlOptions } from "../../src/xml/parse";
import { type XDocument, type XElement, XNodeType } from "../../src/xml/types";
import { selectedTests } from "../conformance/w3c";
import { packetPath } from "../helpers/corpus";
import { mutateBytes, prng } from "../helpers/prng";
import { forEachTarballPacket } from "../helpers/tarball";

export type Parse = (input: string | Uint8Array, options?: ParseXmlOptions) => XDocument;

/** Inputs per digest for the generated groups. */
export const CHUNK = 500;

export interface Recorded {
  /** Digest of the inputs, then of the answers, per chunk (or per corpus file). */
  inputs: Record<string, string>;
  answers: Record<string, string>;
}

/** Length-prefixed: unambiguous, and cheaper than JSON for 31,211 packets. */
function esc(v: string): string {
  return `${v.length}:${v}`;
}

/** Every node of the tree, one line each, in document order, parents checked. */
export function serialise(doc: XDocument): string {
  const out: string[] = [`doc ${doc.order} ${doc.children.length}`];
  if (doc.root === undefined || !doc.children.includes(doc.root)) out.push("!root");
  const stack: { n: XDocument["children"][number] | XElement["children"][number]; parent: unknown }[] = [];
  for (let i = doc.children.length - 1; i >= 0; i--) stack.push({ n: doc.children[i], parent: doc });
  while (stack.length > 0) {
    const { n, parent } = stack.pop()!;
    const p = n.parent === parent ? "" : " !parent";
    switch (n.type) {
      case XNodeType.Element: {
        out.push(`el ${n.order} ${esc(n.name)} ${esc(n.prefix)} ${esc(n.local)} ${esc(n.ns)}${p}`);
        for (const d of n.nsDecls) out.push(`ns ${esc(d.prefix)} ${esc(d.uri)}`);
        for (const a of n.attrs) {
          const ap = a.parent === n ? "" : " !parent";
          out.push(
            `at ${a.type} ${a.order} ${esc(a.name)} ${esc(a.prefix)} ${esc(a.local)} ${esc(a.ns)} ${esc(a.value)}${ap}`,
          );
        }
        out.push(`kids ${n.children.length}`);
        for (let i = n.children.length - 1; i >= 0; i--) stack.push({ n: n.children[i], parent: n });
        break;
      }
      case XNodeType.Text:
        out.push(`text ${n.order} ${esc(n.value)}${p}`);
        break;
      case XNodeType.Comment:
        out.push(`comment ${n.order} ${esc(n.value)}${p}`);
        break;
      case XNodeType.ProcessingInstruction:
        out.push(`pi ${n.order} ${esc(n.target)} ${esc(n.value)}${p}`);
        break;
      default:
        out.push(`!type ${(n as { type: number }).type}`);
    }
  }
  return out.join("\n");
}

/** What `parse` answers for this input: the tree, or the refusal's code and message. */
export function answer(parse: Parse, input: string | Uint8Array, options?: ParseXmlOptions): string {
  let doc: XDocument;
  try {
    doc = options === undefined ? parse(input) : parse(input, options);
  } catch (err) {
    if (isVOEventError(err)) return `refused ${err.code}: ${err.message}`;
    return `threw ${String(err)}`;
  }
  return serialise(doc);
}

function inputDigest(input: string | Uint8Array, options?: ParseXmlOptions): string {
  const h = createHash("sha256");
  h.update(typeof input === "string" ? `s${input}` : Buffer.from(input));
  if (options !== undefined) h.update(JSON.stringify(options));
  return h.digest("hex");
}

/** Digests a sequence of inputs and answers, chunk by chunk, under `group`. */
export class Recorder {
  readonly inputs: Record<string, string> = {};
  readonly answers: Record<string, string> = {};
  private i = 0;
  private hIn = createHash("sha256");
  private hOut = createHash("sha256");

  constructor(
    private readonly parse: Parse,
    private readonly group: string,
  ) {}

  /** One input under its own key (corpus files). */
  one(key: string, input: string | Uint8Array, options?: ParseXmlOptions): void {
    this.inputs[`${this.group} ${key}`] = inputDigest(input, options).slice(0, 16);
    this.answers[`${this.group} ${key}`] = digest(answer(this.parse, input, options));
  }

  /** The next input of a chunked group. */
  add(input: string | Uint8Array, options?: ParseXmlOptions): void {
    this.hIn.update(inputDigest(input, options));
    this.hOut.update(digest(answer(this.parse, input, options)));
    if (++this.i % CHUNK === 0) this.flush();
  }

  /** Closes the last chunk; returns the number of inputs added. */
  end(): number {
    if (this.i % CHUNK !== 0) this.flush();
    return this.i;
  }

  private flush(): void {
    const first = Math.floor((this.i - 1) / CHUNK) * CHUNK;
    const key = `${this.group} ${first}-${this.i - 1}`;
    this.inputs[key] = this.hIn.digest("hex").slice(0, 16);
    this.answers[key] = this.hOut.digest("hex").slice(0, 16);
    this.hIn = createHash("sha256");
    this.hOut = createHash("sha256");
  }
}

function digest(v: string): string {
  return createHash("sha256").update(v).digest("hex").slice(0, 16);
}

export function corpusPackets(): { name: string; bytes: Buffer }[] {
  const dir = path.dirname(packetPath("x"));
  return readdirSync(dir)
    .sort()
    .map((name) => ({ name, bytes: readFileSync(path.join(dir, name)) }));
}

/** Insertions aimed at the parser's checks. */
const SNIPPETS: Buffer[] = [
  Buffer.from([0xff]),
  Buffer.from([0xc0, 0xaf]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xef, 0xbf, 0xbe]),
  Buffer.from([0xf0, 0x9f, 0x98, 0x80]),
  Buffer.from([0x0c]),
  Buffer.from([0x00]),
  ...[
    "&#xFFFE;",
    "&#x000000000041;",
    "&#65;",
    "&#x1F600;",
    "&#0;",
    "&lt;",
    "&amp;",
    "&quot;",
    "&apos;",
    "&gt;",
    "&lt",
    "&#x;",
    ' xmlns:p=""',
    ' xmlns:p="urn:p"',
    ' xmlns="urn:d"',
    ' xmlns:xml="urn:x"',
    ' xmlns:xmlns="urn:x"',
    ' xmlns:q="a b"',
    ' xmlns:q="%zz"',
    "<?xml version='1.0'?>",
    " p:a='1'",
    " xml:lang='en'",
    ' a="1" b="2"',
    "]]>",
    "]]",
    "--",
    "\uffff",
    "\u00b7",
    "\u0301",
    "\u037e",
    "\u2190",
    "\u00e9",
    ":",
    "<",
    ">",
    "/>",
    "</a>",
    "<a>",
    "<p:a>",
    "&",
    "'",
    '"',
    "=",
    " ",
    "\t",
    "\n",
    "\r\n",
    "\r",
    ' encoding="UTF-16"',
    ' encoding="bogus"',
    ' encoding="ISO-8859-1"',
    ' standalone="maybe"',
    ' version="2.0"',
    "<?a:b x?>",
    "<?pi data?>",
    "<?xml?>",
    "<!-- a -- b -->",
    "<!-- c -->",
    "<![CDATA[x\r\n]]>",
    "<![CDATA[",
    "<!DOCTYPE a>",
    "<!ENTITY a 'b'>",
    "&constructor;",
    ' x="1" x="2"',
  ].map((s) => Buffer.from(s)),
];

/** `count` seeded mutations (insertions, deletions, byte changes) of the corpus packets. */
export function* mutants(seed: number, count: number): Generator<Buffer> {
  const corpus = corpusPackets()
    .map((p) => p.bytes)
    .filter((b) => b.length < 20_000 && (b[0] === 0x3c || b[0] === 0xef)); // FRB samples open with prose
  const rnd = prng(seed);
  for (let k = 0; k < count; k++) {
    const source = corpus[Math.floor(rnd() * corpus.length)];
    yield mutateBytes(source, rnd, SNIPPETS, { maxEdits: 3, insertBelow: 0.6, deleteBelow: 0.8 });
  }
}

const TOKENS = [
  "<",
  ">",
  "/>",
  "</",
  "<a",
  "</a>",
  "<a>",
  "<p:a",
  "</p:a>",
  "<p:a>",
  "<é",
  "<\u{10000}",
  " ",
  "\r\n",
  "\r",
  "\t",
  "=",
  '"',
  "'",
  ' x="1"',
  " y='2'",
  ' p:x="1"',
  ' q:x="1"',
  ' xmlns="urn:d"',
  ' xmlns:p="urn:p"',
  ' xmlns:q="urn:p"',
  ' xmlns:xml="urn:x"',
  ' a="&amp;&#10;&#x9;"',
  ' a="x\ty\r\nz"',
  ' a="<"',
  "&amp;",
  "&lt;",
  "&#x41;",
  "&#65;",
  "&#x0000000041;",
  "&#xD800;",
  "&constructor;",
  "&",
  ";",
  "#",
  "<!--",
  "-->",
  "--",
  "<![CDATA[",
  "]]>",
  "]]",
  "<?pi ",
  "<?pi?>",
  "?>",
  '<?xml version="1.0"?>',
  '<?xml version="1.0" encoding="ISO-8859-1"?>',
  "<!DOCTYPE a>",
  "text",
  "é",
  "\u{1F600}",
  "\ud800",
  "\ufffe",
  "\u0000",
  "\u000b",
];

/** `count` seeded token soups; most are wrapped in a root element so that they get further. */
export function* soups(seed: number, count: number): Generator<string> {
  const rnd = prng(seed);
  for (let k = 0; k < count; k++) {
    const n = 1 + Math.floor(rnd() * 24);
    let s = "";
    for (let i = 0; i < n; i++) s += TOKENS[Math.floor(rnd() * TOKENS.length)];
    const r = rnd();
    if (r < 0.45) s = `<r xmlns:p="urn:p">${s}</r>`;
    else if (r < 0.7) s = `<r>${s}`;
    yield s;
  }
}

/** The hostile 1 MiB frames of bench/parse.ts and test/adversarial/xml-parser.test.ts. */
export function adversarialFrames(): string[] {
  const MiB = 1024 * 1024;
  const fill = (unit: string, head = "<r>", tail = "</r>"): string =>
    head + unit.repeat(Math.floor((MiB - head.length - tail.length) / unit.length)) + tail;
  return [
    '<p:e xmlns:p="urn:x">'.repeat(50_000).slice(0, MiB),
    `<r${Array.from({ length: 85_000 }, (_, i) => ` a${i}="v"`).join("")}/>`,
    `<r${Array.from({ length: 200 }, (_, i) => ` a${i}="v"`).join("")}/>`,
    fill("&amp;&#65;&#x000000000041;"),
    `<${"n".repeat(MiB - 10)}/>`,
    fill("<!-- - -->"),
    fill("<?pi x?>"),
    fill("<a/>"),
    `${"<a>".repeat(255)}${"<b/>".repeat(200_000)}`.slice(0, MiB),
    `${"<a>".repeat(300)}`,
    fill("<a b='1' c='2'>x</a>"),
    fill("x"),
  ];
}

/** Tight limits, one at a time, so that each limit's refusal shows up on real packets. */
export const TIGHT: ParseXmlOptions[] = [
  { maxDepth: 3 },
  { maxDepth: 5 },
  { maxAttributes: 1 },
  { maxAttributes: 3 },
  { maxNameLength: 4 },
  { maxNameLength: 9 },
  { maxElements: 5 },
  { maxElements: 40 },
  { maxBytes: 2000 },
];

export const SEED = 20261207;
export const MUTANTS = 30_000;
export const SOUPS = 30_000;

/** Every group but the 4PiSky month (test/xml/answers.test.ts reads that one from its tarball). */
export function recordFast(parse: Parse): Record<string, Recorder> {
  const corpus = new Recorder(parse, "corpus");
  for (const p of corpusPackets()) {
    corpus.one(`${p.name} bytes`, p.bytes);
    corpus.one(`${p.name} text`, p.bytes.toString("utf8"));
  }
  const limits = new Recorder(parse, "limits");
  for (const p of corpusPackets()) for (const o of TIGHT) limits.add(p.bytes.toString("utf8"), o);
  limits.end();
  const mutated = new Recorder(parse, "mutants");
  for (const m of mutants(SEED, MUTANTS)) mutated.add(m);
  mutated.end();
  const soup = new Recorder(parse, "soups");
  for (const s of soups(SEED, SOUPS)) soup.add(s);
  soup.end();
  const w3c = new Recorder(parse, "w3c");
  for (const t of selectedTests()) w3c.add(readFileSync(t.file));
  w3c.end();
  const adversarial = new Recorder(parse, "adversarial");
  const frames = adversarialFrames();
  for (let i = 0; i < frames.length; i++) adversarial.one(`frame ${i}`, frames[i]);
  return { corpus, limits, mutated, soup, w3c, adversarial };
}

/** The 4PiSky month, every packet's bytes; resolves with the packet count. */
export async function recordMonth(parse: Parse): Promise<{ recorder: Recorder; packets: number }> {
  const recorder = new Recorder(parse, "4pisky");
  const packets = await forEachTarballPacket((p) => {
    recorder.add(p.xml);
    return true;
  }, 300_000);
  recorder.end();
  return { recorder, packets };
}
