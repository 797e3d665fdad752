/**
 * The examples as the editor's Import > Examples menu lists them: each file's tab is named with
 * the file's own number ("09 Monitor" in 09-monitor.json), so that the tab a user imports is
 * the one the README and the menu call by that number.
 */
import { strict as assert } from "node:assert";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const EXAMPLES = join(__dirname, "../../examples");

describe("examples' tab names", () => {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith(".json"));

  it("there are numbered examples", () => {
    assert.ok(files.length >= 11, files.join(", "));
  });

  for (const file of files) {
    it(`${file}: its tab starts with the file's number`, () => {
      const number = /^(\d\d)-/.exec(file)?.[1];
      assert.ok(number, `${file} is numbered`);
      const flows = JSON.parse(readFileSync(join(EXAMPLES, file), "utf8")) as {
        type: string;
        label?: string;
      }[];
      const tabs = flows.filter((n) => n.type === "tab").map((n) => String(n.label));
      assert.equal(tabs.length, 1, `${file} has one tab`);
      assert.match(tabs[0] as string, new RegExp(`^${number} \\S`), `${file}: tab "${tabs[0]}"`);
    });
  }
});
