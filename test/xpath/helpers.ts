/** Shared bits of the XPath tests: parsing, fixtures, the corpus, result shapes. */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { isVOEventError } from "../../src/errors";
import { parseXml } from "../../src/xml/parse";
import { type XDocument, type XNode, XNodeType } from "../../src/xml/types";
import { type CompileXPathOptions, compileXPath, type XPathValue } from "../../src/xpath";
import { corpusAvailable, corpusDir, corpusRequired, describeCorpus, packetPath } from "../helpers/corpus";

export function parse(xml: string): XDocument {
  return parseXml(xml);
}

export const FIXTURE_DIR = path.resolve(__dirname, "../fixtures/xpath");

export function fixtureNames(): string[] {
  return readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith(".xml"))
    .sort();
}

export function fixtureText(name: string): string {
  return readFileSync(path.join(FIXTURE_DIR, name), "utf8");
}

export function fixture(name: string): XDocument {
  return parseXml(fixtureText(name));
}

export function packetText(name: string): string {
  return readFileSync(packetPath(name), "utf8");
}

export function packet(name: string): XDocument {
  return parseXml(packetText(name));
}

/** Corpus packets our parser accepts (the malformed ones are left out), by file name. */
export function wellFormedPackets(): { name: string; text: string; doc: XDocument }[] {
  const out: { name: string; text: string; doc: XDocument }[] = [];
  for (const name of readdirSync(path.join(corpusDir(), "packets")).sort()) {
    if (!name.endsWith(".xml")) continue;
    const text = packetText(name);
    try {
      out.push({ name, text, doc: parseXml(text) });
    } catch {
      // Deliberately malformed packets: nothing to evaluate.
    }
  }
  return out;
}

let announced = false;

/**
 * describe() for suites over the shared corpus. When it is absent, ONE line for all the
 * XPath suites together, and no failure (unless VOEVENT_REQUIRE_CORPUS=1).
 */
export function describeXPathCorpus(title: string, body: () => void): void {
  if (corpusAvailable() || corpusRequired()) {
    describeCorpus(title, body);
    return;
  }
  if (!announced) {
    announced = true;
    console.log(`corpus absent at ${corpusDir()}: XPath corpus tests skipped (the fixture tests still run)`);
  }
}

export function ev(expr: string, doc: XDocument, options?: CompileXPathOptions): XPathValue {
  return compileXPath(expr, options).evaluate(doc);
}

/** Display name of a node: element/attribute name, #text, #comment, PI target, #document. */
export function nodeName(n: XNode): string {
  switch (n.type) {
    case XNodeType.Element:
    case XNodeType.Attribute:
      return n.name;
    case XNodeType.Text:
      return "#text";
    case XNodeType.Comment:
      return "#comment";
    case XNodeType.ProcessingInstruction:
      return n.target;
    default:
      return "#document";
  }
}

/** The result as a node set (fails if it is not one). */
export function nodes(v: XPathValue): readonly XNode[] {
  if (typeof v !== "object") assert.fail(`expected a node set, got ${typeof v} ${JSON.stringify(v)}`);
  return v;
}

/** The names of a node-set result (fails if the result is not a node set). */
export function names(v: XPathValue): string[] {
  return nodes(v).map(nodeName);
}

/** Node names with the value of attributes / text: `name=value` for attributes, else the name. */
export function labels(v: XPathValue): string[] {
  return nodes(v).map((n) =>
    n.type === XNodeType.Attribute
      ? `${n.name}=${n.value}`
      : n.type === XNodeType.Text
        ? `"${n.value}"`
        : nodeName(n),
  );
}

/** Asserts that compiling `expr` throws BAD_XPATH with a message containing `part`. */
export function assertBadXPath(expr: string, part: string | RegExp, options?: CompileXPathOptions): void {
  assert.throws(
    () => compileXPath(expr, options),
    (err: unknown) => {
      assert.ok(isVOEventError(err), `not a VOEventError: ${String(err)}`);
      assert.equal(err.code, "BAD_XPATH");
      if (typeof part === "string")
        assert.ok(
          err.message.includes(part),
          `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(part)}`,
        );
      else assert.match(err.message, part);
      return true;
    },
  );
}
