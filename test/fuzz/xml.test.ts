/**
 * Property-based fuzzing of the XML parser (fast-check): every input either parses or is refused
 * with a typed VOEventError, within a time bound, and never throws anything else. Inputs: random
 * strings and bytes, XML-shaped token soup, and mutations of real corpus packets. Seed and run
 * count from config.ts (`npm run fuzz` for a long run).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { isVOEventError } from "../../src/errors";
import { parseXml } from "../../src/xml/parse";
import { XNodeType } from "../../src/xml/types";
import { FUZZ_SEED, fuzzRuns, fuzzTimeout } from "./config";

/** Generous: these inputs are at most a few kB; the bound catches a hang, not a slow machine. */
const MAX_MS = 250;

function parsesOrRefuses(input: string | Uint8Array): boolean {
  const t = performance.now();
  let ok = false;
  try {
    const doc = parseXml(input);
    assert.equal(doc.type, XNodeType.Document);
    assert.equal(doc.root.type, XNodeType.Element);
    ok = true;
  } catch (err) {
    if (!isVOEventError(err)) throw err;
    assert.ok(err.message.length > 0);
  }
  const ms = performance.now() - t;
  assert.ok(ms < MAX_MS, `took ${ms.toFixed(1)} ms`);
  return ok;
}

const corpusDir = path.resolve(__dirname, "../../../shared/corpus/packets");
const corpus = readdirSync(corpusDir)
  .sort()
  .map((f) => readFileSync(path.join(corpusDir, f)))
  .filter((b) => b.length < 20_000);

const TOKENS = [
  "<",
  ">",
  "/>",
  "</",
  "<a",
  "</a>",
  "<p:a",
  "</p:a>",
  " ",
  "\r\n",
  "=",
  '"',
  "'",
  ' x="1"',
  ' p:x="1"',
  ' xmlns="urn:d"',
  ' xmlns:p="urn:p"',
  ' xmlns:xml="urn:x"',
  "&amp;",
  "&lt;",
  "&#x41;",
  "&#65;",
  "&#x0000000041;",
  "&constructor;",
  "&",
  ";",
  "#",
  "<!--",
  "-->",
  "--",
  "<![CDATA[",
  "]]>",
  "<?pi ",
  "?>",
  '<?xml version="1.0"?>',
  '<?xml version="1.0" encoding="ISO-8859-1"?>',
  "<!DOCTYPE a>",
  "text",
  "é",
  "\ufffe",
  "\u0000",
  "\ud800",
  "\ud834\udd1e",
  "\u0301",
  ":",
];

/** Tokens that keep a document well-formed inside an element, so soup reaches deep states. */
const SAFE = [
  "text",
  " ",
  "\r\n",
  "<a/>",
  '<p:a p:x="1" y="&lt;"/>',
  "<b>x</b>",
  '<q:c xmlns:q="urn:q">&#x41;</q:c>',
  "&amp;",
  "&#x000000000041;",
  "<!-- c -->",
  "<?pi data?>",
  "<![CDATA[<&]]>",
  "é𝄞",
];

describe("fuzz: XML parser", function () {
  this.timeout(fuzzTimeout(2000, 10));

  it("any string parses or is refused with a VOEventError", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (s) => {
        parsesOrRefuses(s);
      }),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(2000) },
    );
  });

  it("any bytes parse or are refused with a VOEventError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        parsesOrRefuses(b);
      }),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(2000) },
    );
  });

  it("XML-shaped token soup parses or is refused with a VOEventError", () => {
    let accepted = 0;
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            { arbitrary: fc.constantFrom(...SAFE), weight: 20 },
            { arbitrary: fc.constantFrom(...TOKENS), weight: 1 },
          ),
          { maxLength: 30 },
        ),
        (parts) => {
          if (parsesOrRefuses(`<r xmlns:p="urn:p">${parts.join("")}</r>`)) accepted++;
        },
      ),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(3000) },
    );
    assert.ok(accepted > 0, "some soup is well-formed: the property reaches the parser's depths");
  });

  it("mutated corpus packets (bytes replaced, inserted, deleted) parse or are refused", () => {
    const mutation = fc.record({
      packet: fc.integer({ min: 0, max: corpus.length - 1 }),
      edits: fc.array(
        fc.record({
          at: fc.double({ min: 0, max: 1, noNaN: true }),
          kind: fc.constantFrom("replace", "insert", "delete"),
          byte: fc.oneof(
            fc.integer({ min: 0, max: 255 }),
            fc.constantFrom(0x3c, 0x3e, 0x26, 0x22, 0x3a, 0x2f),
          ),
        }),
        { minLength: 1, maxLength: 4 },
      ),
    });
    fc.assert(
      fc.property(mutation, ({ packet, edits }) => {
        let b = Buffer.from(corpus[packet]);
        for (const e of edits) {
          const i = Math.min(b.length - 1, Math.floor(e.at * b.length));
          if (e.kind === "replace") b[i] = e.byte;
          else if (e.kind === "insert")
            b = Buffer.concat([b.subarray(0, i), Buffer.from([e.byte]), b.subarray(i)]);
          else b = Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]);
        }
        const fromBytes = parsesOrRefuses(b);
        // A string and its UTF-8 bytes get the same answer when the bytes are valid UTF-8
        // and declare nothing else.
        const s = b.toString("utf8");
        if (Buffer.from(s).equals(b) && !/encoding=["'](?!utf-?8)/i.test(s)) {
          assert.equal(parsesOrRefuses(s), fromBytes);
        }
      }),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(3000) },
    );
  });
});
