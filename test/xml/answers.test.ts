/**
 * The parser gives the answers it gave before issue 16's faster scan, on about 95,000 inputs:
 * the corpus, mutations of it, token soups, the W3C suite, tight limits, hostile frames and the
 * 4PiSky month (see answers.ts for what is recorded and why; fixtures/answers.json holds the
 * digests). A failure names the corpus file or the chunk of generated inputs whose answers
 * differ; `answer()` on those inputs shows the new answer, and the old parser at the commit
 * that recorded the fixture the old one.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseXml } from "../../src/xml/parse";
import { describeCorpus } from "../helpers/corpus";
import { type Recorder, recordFast, recordMonth } from "./answers";

interface Fixture {
  month: number;
  inputs: Record<string, string>;
  answers: Record<string, string>;
}

const fixture = JSON.parse(readFileSync(path.join(__dirname, "fixtures", "answers.json"), "utf8")) as Fixture;

/** Keys whose inputs are as recorded but whose answers are not; throws if an input changed. */
function compare(recorders: Recorder[], prefix: (key: string) => boolean): string[] {
  const inputs: Record<string, string> = {};
  const answers: Record<string, string> = {};
  for (const r of recorders) {
    Object.assign(inputs, r.inputs);
    Object.assign(answers, r.answers);
  }
  const recorded = Object.keys(fixture.inputs).filter(prefix);
  assert.deepEqual(Object.keys(inputs).sort(), recorded.sort(), "the same inputs as recorded");
  for (const k of recorded) assert.equal(inputs[k], fixture.inputs[k], `input ${k} is the one recorded`);
  return recorded.filter((k) => answers[k] !== fixture.answers[k]);
}

describeCorpus("xml: the same answers as the parser before issue 16's faster scan", () => {
  it("corpus packets, mutants, token soups, W3C suite, tight limits, hostile frames: every tree and every error message", function () {
    this.timeout(180_000);
    const recorders = Object.values(recordFast(parseXml));
    const counts = recorders.map((r) => Object.keys(r.answers).length);
    assert.ok(counts.every((n) => n > 0));
    assert.deepEqual(
      compare(recorders, (k) => !k.startsWith("4pisky ")),
      [],
    );
  });

  it("the 4PiSky month (31,211 real packets): every tree", async function () {
    this.timeout(300_000);
    const { recorder, packets } = await recordMonth(parseXml);
    assert.equal(packets, fixture.month);
    assert.deepEqual(
      compare([recorder], (k) => k.startsWith("4pisky ")),
      [],
    );
  });
});
