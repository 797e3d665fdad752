/**
 * Records test/xml/fixtures/answers.json: the digests of the current parser's answers (see
 * answers.ts). Run it only when an answer is meant to change, and say which in the CHANGELOG:
 *
 *   npx tsx test/xml/record-answers.ts
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseXml } from "../../src/xml/parse";
import { recordFast, recordMonth } from "./answers";

async function main(): Promise<void> {
  const inputs: Record<string, string> = {};
  const answers: Record<string, string> = {};
  const groups = Object.values(recordFast(parseXml));
  const { recorder, packets } = await recordMonth(parseXml);
  for (const r of [...groups, recorder]) {
    Object.assign(inputs, r.inputs);
    Object.assign(answers, r.answers);
  }
  const file = path.join(__dirname, "fixtures", "answers.json");
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(
    file,
    `${JSON.stringify({ recorded: new Date().toISOString().slice(0, 10), month: packets, inputs, answers }, null, 2)}\n`,
  );
  console.log(`${Object.keys(answers).length} digests (${packets} packets of the 4PiSky month) in ${file}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
