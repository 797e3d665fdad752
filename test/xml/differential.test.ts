/**
 * Differential test against libxml2 (Debian's xmllint, installed by scripts/ensure-test-tools.sh):
 * 2,000 mutations of real corpus packets, from a fixed seed, each accepted or refused by both
 * parsers alike. libxml2 is the parser behind Comet's lxml: a packet we ack and relay must be
 * one every lxml subscriber can parse. A "namespace error" counts as a refusal, as lxml raises it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { isVOEventError } from "../../src/errors";
import { parseXml } from "../../src/xml/parse";
import { FUZZ_SEED } from "../fuzz/config";
import { describeCorpus, packetPath } from "../helpers/corpus";
import { mutateBytes, prng } from "../helpers/prng";

const MUTANTS = 2000;

/** Insertions aimed at issue 9's classes, as bytes. */
const SNIPPETS: Buffer[] = [
  Buffer.from([0xff]),
  Buffer.from([0xc0, 0xaf]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0x0c]),
  ...[
    "&#xFFFE;",
    "&#x000000000041;",
    ' xmlns:p=""',
    ' xmlns:xml="urn:x"',
    ' xmlns:q="a b"',
    "<?xml version='1.0'?>",
    " p:a='1'",
    "]]>",
    "--",
    "\uffff",
    "\u0301",
    "\u037e",
    "\u2190",
    ":",
    "<",
    ">",
    "&",
    "'",
    '"',
    ' encoding="UTF-16"',
    ' encoding="bogus"',
    ' standalone="maybe"',
    ' version="2.0"',
    "<?a:b x?>",
    "<!-- a -- b -->",
    "<![CDATA[x]]>",
    "&constructor;",
    "\r",
    ' x="1" x="2"',
  ].map((s) => Buffer.from(s)),
];

describeCorpus("xml: same answers as libxml2 (xmllint) on mutated corpus packets", () => {
  it(`${MUTANTS} mutants, seed ${FUZZ_SEED}: no packet accepted by one and refused by the other`, function () {
    this.timeout(300_000);
    const xmllint = spawnSync("xmllint", ["--version"], { encoding: "utf8" });
    assert.equal(xmllint.error, undefined, "xmllint is installed (scripts/ensure-test-tools.sh)");
    const dir = path.dirname(packetPath("x"));
    const corpus = readdirSync(dir)
      .sort()
      .map((f) => readFileSync(path.join(dir, f)))
      .filter((b) => b[0] === 0x3c || b[0] === 0xef); // the FRB samples open with prose
    const rnd = prng(FUZZ_SEED);
    const tmp = mkdtempSync(path.join(os.tmpdir(), "voevent-xml-diff-"));
    const disagreements: string[] = [];
    let refusedByBoth = 0;
    try {
      for (let k = 0; k < MUTANTS; k++) {
        const source = corpus[Math.floor(rnd() * corpus.length)];
        const b = mutateBytes(source, rnd, SNIPPETS, { maxEdits: 2, insertBelow: 0.5, deleteBelow: 0.75 });
        const file = path.join(tmp, `m${k}.xml`);
        writeFileSync(file, b);
        let ours = "accepted";
        try {
          parseXml(b);
        } catch (err) {
          if (!isVOEventError(err)) throw err;
          ours = `refused (${err.code}: ${err.message})`;
        }
        const run = spawnSync("xmllint", ["--noout", file], { encoding: "utf8" });
        const theirs =
          run.status !== 0 || / error /.test(run.stderr)
            ? `refused (${run.stderr.split("\n")[0]})`
            : "accepted";
        if ((ours === "accepted") !== (theirs === "accepted")) {
          disagreements.push(`m${k}: ours ${ours}; libxml2 ${theirs}`);
        } else if (ours !== "accepted") refusedByBoth++;
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    assert.deepEqual(disagreements, []);
    assert.ok(refusedByBoth > MUTANTS / 2, `${refusedByBoth} mutants refused by both: the mutations bite`);
  });
});
