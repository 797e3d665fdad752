/**
 * Issue 8 row 15: the file store pointed at a file it did not create (a pid
 * file, someone's notes) must refuse it and leave it as it was, never take it
 * for a torn log and truncate it. The store marks its own files with a header
 * line that it writes when it creates them.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore } from "../../src/dedupe/file";

describe("adversarial: dedupe file store on a file it did not create (issue 8 row 15)", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "voevent-adv-dedupe-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const others: Array<[string, string]> = [
    ["a pid file without a newline", "12345"],
    ["a pid file with a newline", "12345\n"],
    ["a one-line note that looks like `<number> <word>`", "4242 running\n"],
    ["a file of lines that look like entries, written by someone else", "1 a\n2 b\n3 c\n"],
  ];
  for (const [what, content] of others) {
    it(`refuses ${what} and leaves it untouched`, () => {
      const path = join(dir, "app.pid");
      writeFileSync(path, content);
      assert.throws(
        () => new FileStore({ path, ttlMs: 60_000, capacity: 10 }),
        /not a dedupe log/,
        "the store opened a file it did not create",
      );
      assert.equal(readFileSync(path, "utf8"), content);
    });
  }

  it("marks a file it creates with a header line, and opens it again", () => {
    const path = join(dir, "seen.log");
    const s = new FileStore({ path, ttlMs: 60_000, capacity: 10 });
    s.checkAndAdd("k1");
    s.close();
    const text = readFileSync(path, "utf8");
    assert.match(text.split("\n")[0] ?? "", /^# voevent-dedupe/);
    const again = new FileStore({ path, ttlMs: 60_000, capacity: 10 });
    assert.equal(again.has("k1"), true);
    again.close();
  });
});
