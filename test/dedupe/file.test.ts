import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { FileStore, type FileStoreOptions } from "../../src/dedupe/file";

const SRC = resolve(__dirname, "../../src/dedupe/file.ts");
const HEADER = "# voevent-dedupe seen keys v1\n";

describe("dedupe/file", () => {
  let dir: string;
  let path: string;
  let clock: number;
  const open: FileStore[] = [];
  const now = () => clock;

  function store(opts: Partial<FileStoreOptions> = {}): FileStore {
    const s = new FileStore({ path, ttlMs: 60_000, capacity: 1000, now, ...opts });
    open.push(s);
    return s;
  }
  /** The entry lines of the log, after its header line (checked). */
  function lines(): string[] {
    const text = readFileSync(path, "utf8");
    assert.ok(text.startsWith(HEADER), "the log starts with its header line");
    const body = text.slice(HEADER.length);
    return body === "" ? [] : body.slice(0, -1).split("\n");
  }
  /** Writes a log as the store would have: the header line, then `body`. */
  function writeLog(body: string): void {
    writeFileSync(path, HEADER + body);
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "voevent-dedupe-"));
    path = join(dir, "seen.log");
    clock = 1_700_000_000_000;
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("records keys as `<epoch-ms> <key>` lines and answers like the memory store", () => {
    const s = store();
    assert.equal(s.checkAndAdd("a"), true);
    clock += 5;
    assert.equal(s.checkAndAdd("b"), true);
    assert.equal(s.checkAndAdd("a"), false);
    assert.equal(s.has("b"), true);
    assert.equal(s.has("c"), false);
    assert.equal(s.size, 2);
    assert.deepEqual(lines(), ["1700000000000 a", "1700000000005 b"]);
    assert.equal(s.path, path);
  });

  it("creates the file on open, with only its header line", () => {
    store();
    assert.ok(existsSync(path));
    assert.equal(readFileSync(path, "utf8"), HEADER);
  });

  it("survives close and reopen (a redeploy)", () => {
    const s = store();
    for (let i = 0; i < 100; i++) s.checkAndAdd(`key${i}`);
    s.close();
    const again = store();
    assert.equal(again.size, 100);
    for (let i = 0; i < 100; i++) assert.equal(again.checkAndAdd(`key${i}`), false, `key${i}`);
    assert.equal(lines().length, 100, "a duplicate writes nothing");
    assert.equal(again.checkAndAdd("new"), true);
    again.close();
    assert.equal(store().has("new"), true);
  });

  it("drops entries that expired while closed, by the injected clock", () => {
    const s = store({ ttlMs: 1000 });
    s.checkAndAdd("old");
    clock += 600;
    s.checkAndAdd("young");
    s.close();
    clock += 500;
    const again = store({ ttlMs: 1000 });
    assert.equal(again.has("old"), false);
    assert.equal(again.has("young"), true);
    assert.equal(again.size, 1);
    assert.equal(again.checkAndAdd("old"), true);
    again.close();
    assert.equal(store({ ttlMs: 1000 }).has("old"), true, "the newer line wins on reload");
  });

  it("keeps the newest `capacity` entries on open", () => {
    const s = store({ capacity: 100 });
    for (let i = 0; i < 100; i++) {
      clock++;
      s.checkAndAdd(`k${i}`);
    }
    s.close();
    const small = store({ capacity: 10 });
    assert.equal(small.size, 10);
    assert.equal(small.has("k89"), false);
    for (let i = 90; i < 100; i++) assert.equal(small.has(`k${i}`), true);
  });

  it("evicts the oldest over capacity, across a reopen", () => {
    const s = store({ capacity: 3 });
    for (const k of ["a", "b", "c", "d"]) s.checkAndAdd(k);
    assert.equal(s.has("a"), false);
    s.close();
    const again = store({ capacity: 3 });
    assert.deepEqual(
      ["a", "b", "c", "d"].map((k) => again.has(k)),
      [false, true, true, true],
    );
  });

  it("round-trips keys with spaces, newlines, percent signs and non-ASCII", () => {
    const keys = [
      "ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_1234-567",
      "with space",
      "line\nbreak\r\n",
      "100%",
      "%20 literally",
      "tab\there",
      "Zürich ☄ 🚀",
      "",
      "\u2028",
      "x".repeat(5000),
    ];
    const s = store();
    for (const k of keys) assert.equal(s.checkAndAdd(k), true, JSON.stringify(k));
    assert.equal(lines().length, keys.length, "one line per key, whatever it holds");
    for (const l of lines()) assert.match(l, /^\d+ \S*$/);
    s.close();
    const again = store();
    for (const k of keys) assert.equal(again.has(k), true, JSON.stringify(k));
    assert.equal(again.has("with"), false);
  });

  it("ignores a torn last line (a crash mid-write) and appends cleanly after it", () => {
    writeLog(`${clock} a\n${clock} b\n${clock} 3c499e1a`);
    const s = store();
    assert.equal(s.size, 2);
    assert.equal(s.has("3c499e1a"), false);
    assert.deepEqual(lines(), [`${clock} a`, `${clock} b`], "the torn fragment is cut off");
    s.checkAndAdd("c");
    s.close();
    assert.deepEqual(lines(), [`${clock} a`, `${clock} b`, `${clock} c`]);
    const again = store();
    assert.equal(again.size, 3);
  });

  it("opens a log whose only line is torn", () => {
    writeLog("17000000");
    const s = store();
    assert.equal(s.size, 0);
    assert.deepEqual(lines(), []);
  });

  it("completes a header torn by a crash while the log was being created", () => {
    writeFileSync(path, HEADER.slice(0, 9));
    const s = store();
    assert.equal(s.checkAndAdd("a"), true);
    assert.deepEqual(lines(), [`${clock} a`]);
  });

  it("skips malformed lines anywhere", () => {
    const garbage = [
      `${clock} good1`,
      "",
      "no-time-here",
      `${clock}`,
      `${clock}  two spaces`,
      `abc key`,
      `${clock} bad%zzescape`,
      `1e5 sci`,
      `${clock} key with space`,
      `${clock} cr\r`,
      `${clock} good2`,
    ];
    writeLog(`${garbage.join("\n")}\n`);
    const s = store();
    assert.equal(s.size, 2);
    assert.equal(s.has("good1"), true);
    assert.equal(s.has("good2"), true);
    assert.equal(s.has("two spaces"), false);
  });

  it("refuses a file that is not a dedupe log, leaving it untouched", () => {
    const json = '{\n  "flows": [1, 2, 3],\n  "x": true\n}';
    writeFileSync(path, json);
    assert.throws(() => store(), /is not a dedupe log.*refusing to touch it/);
    assert.equal(readFileSync(path, "utf8"), json);
    writeFileSync(path, "no newline at all, but a lot of text that is nothing like a log");
    assert.throws(() => store(), /is not a dedupe log/);
  });

  it("ignores and removes a temp file left by a crash mid-compaction", () => {
    writeLog(`${clock} a\n${clock} b\n`);
    writeFileSync(`${path}.compact.tmp`, `${clock} a\n${clock} b\n${clock} half-writ`);
    const s = store();
    assert.equal(existsSync(`${path}.compact.tmp`), false);
    assert.equal(s.size, 2);
    assert.equal(s.has("half-writ"), false);
  });

  it("compacts automatically: the log stays within ~2× the live entries", () => {
    const s = store({ capacity: 100 });
    let maxLines = 0;
    for (let i = 0; i < 5000; i++) {
      clock++;
      s.checkAndAdd(`key${i}`);
      if (i % 100 === 99) maxLines = Math.max(maxLines, lines().length);
    }
    assert.ok(maxLines <= 2 * 100 + 1000 + 1, `log grew to ${maxLines} lines`);
    assert.ok(lines().length < 5000);
    s.close();
    const again = store({ capacity: 100 });
    assert.equal(again.size, 100);
    for (let i = 4900; i < 5000; i++) assert.equal(again.has(`key${i}`), true);
  });

  it("compact() rewrites the log with exactly the live entries, in order", () => {
    const s = store({ capacity: 10, ttlMs: 1000 });
    for (let i = 0; i < 30; i++) {
      clock += 10;
      s.checkAndAdd(`k${i}`);
    }
    const before = statSync(path).size;
    s.compact();
    assert.ok(statSync(path).size < before);
    assert.deepEqual(
      lines().map((l) => l.split(" ")[1]),
      Array.from({ length: 10 }, (_, i) => `k${20 + i}`),
    );
    assert.equal(existsSync(`${path}.compact.tmp`), false);
    s.checkAndAdd("after");
    assert.equal(lines().at(-1)!.split(" ")[1], "after", "appends go to the new file");
    clock += 5000;
    s.compact();
    assert.deepEqual(lines(), [], "expired entries are dropped");
    assert.equal(s.size, 0);
  });

  it("compacts on open when most of the log is garbage", () => {
    const old = Array.from({ length: 3000 }, (_, i) => `${clock - 100_000} stale${i}`);
    const live = Array.from({ length: 10 }, (_, i) => `${clock} live${i}`);
    writeLog(`${[...old, ...live].join("\n")}\n`);
    const s = store({ ttlMs: 50_000 });
    assert.equal(s.size, 10);
    assert.equal(lines().length, 10);
  });

  it("clear() empties the log atomically and keeps working", () => {
    const s = store();
    for (let i = 0; i < 50; i++) s.checkAndAdd(`k${i}`);
    s.clear();
    assert.equal(s.size, 0);
    assert.deepEqual(lines(), []);
    assert.equal(s.checkAndAdd("k1"), true);
    s.close();
    const again = store();
    assert.equal(again.size, 1);
    assert.equal(again.has("k1"), true);
    assert.equal(again.has("k2"), false);
  });

  it("refuses a second store on the same file in this process", () => {
    const s = store();
    assert.throws(
      () => new FileStore({ path: join(dir, ".", "seen.log"), ttlMs: 1, capacity: 1 }),
      /already open/,
    );
    s.close();
    store();
  });

  it("refuses use after close(), which is idempotent", () => {
    const s = store();
    s.close();
    s.close();
    assert.throws(() => s.checkAndAdd("a"), /closed/);
    assert.throws(() => s.has("a"), /closed/);
    assert.throws(() => s.clear(), /closed/);
  });

  it("says clearly when the directory does not exist", () => {
    assert.throws(
      () => new FileStore({ path: join(dir, "missing", "seen.log"), ttlMs: 1, capacity: 1 }),
      /^Error: FileStore: cannot open .*missing.*ENOENT/,
    );
  });

  it("validates its options", () => {
    assert.throws(() => new FileStore({ path: "", ttlMs: 1, capacity: 1 }), /path/);
    assert.throws(() => new FileStore({ path, ttlMs: -1, capacity: 1 }), /ttlMs/);
    assert.throws(() => new FileStore({ path, ttlMs: 1, capacity: 0 }), /capacity/);
    assert.equal(existsSync(path), false);
  });

  it("reports a failed automatic compaction through onError and carries on", () => {
    const errors: Error[] = [];
    const s = store({ capacity: 10, onError: (e) => errors.push(e) });
    mkdirSync(`${path}.compact.tmp`); // the temp file cannot be created
    for (let i = 0; i < 1500; i++) s.checkAndAdd(`k${i}`);
    assert.ok(errors.length >= 1);
    assert.match(errors[0]!.message, /cannot rewrite/);
    assert.ok(errors.length < 5, "retried only after more garbage accumulates");
    assert.equal(lines().length, 1500, "the log is intact");
    rmSync(`${path}.compact.tmp`, { recursive: true });
    s.compact();
    assert.equal(lines().length, 10);
  });

  it("records the key even when the onError listener throws", () => {
    const s = store({
      capacity: 10,
      onError: () => {
        throw new Error("listener failed");
      },
    });
    mkdirSync(`${path}.compact.tmp`);
    for (let i = 0; i < 1500; i++) assert.equal(s.checkAndAdd(`k${i}`), true);
    assert.equal(s.has("k1499"), true);
  });

  it("handles many keys quickly", () => {
    const s = store({ capacity: 20_000, ttlMs: 3_600_000 });
    let unique = 0;
    for (let i = 0; i < 50_000; i++) {
      clock++;
      if (s.checkAndAdd(`${i.toString(16).padStart(40, "0")}`)) unique++;
      if (i % 5 === 0) s.checkAndAdd(`${i.toString(16).padStart(40, "0")}`);
    }
    assert.equal(unique, 50_000);
    assert.equal(s.size, 20_000);
    s.close();
    assert.equal(store({ capacity: 20_000, ttlMs: 3_600_000 }).size, 20_000);
  });

  it("loses no acknowledged key when the process is killed, mid-write or mid-compaction", async function () {
    this.timeout(120_000);
    const capacity = 200;
    let next = 0;
    for (let round = 0; round < 8; round++) {
      const last = await runAndKill(path, next, capacity, 50 + round * 150);
      assert.ok(last >= next, `round ${round}: the child recorded nothing`);
      const s = new FileStore({ path, ttlMs: 1e12, capacity });
      assert.equal(existsSync(`${path}.compact.tmp`), false);
      // The child acknowledges a key only after checkAndAdd returned, so at most
      // key<last+1> was recorded beyond the last acknowledgement (and it counts
      // towards the capacity): the acknowledged window is capacity - 1 keys.
      for (let i = Math.max(next, last - capacity + 2); i <= last; i++) {
        assert.equal(s.has(`key${i}`), true, `round ${round}: key${i} (last acknowledged: ${last}) lost`);
      }
      assert.equal(
        s.has(`key${last + 2}`),
        false,
        `round ${round}: the child ran on past its acknowledgements`,
      );
      assert.ok(s.size <= capacity);
      s.close();
      for (const l of lines()) assert.match(l, /^\d+ key\d+$/);
      next = last + 2;
    }
  });
});

/**
 * Runs a child that records key<start>, key<start+1>, … (compacting every 20
 * keys) and acknowledges each, once checkAndAdd returned, with one writeSync
 * of a line to an acknowledgement file (synchronous, unlike stdout on a pipe,
 * which queues in the child when the parent reads slowly: the cause of an
 * earlier flaky version of this test). Kills it with SIGKILL once it has
 * acknowledged at least `count` keys. Returns the last key acknowledged.
 */
function runAndKill(path: string, start: number, capacity: number, count: number): Promise<number> {
  const ackPath = `${path}.acks`;
  writeFileSync(ackPath, "");
  const code = `
    const { openSync, writeSync } = require("node:fs");
    const { FileStore } = require(${JSON.stringify(SRC)});
    const s = new FileStore({ path: ${JSON.stringify(path)}, ttlMs: 1e12, capacity: ${capacity} });
    const acks = openSync(${JSON.stringify(ackPath)}, "a");
    for (let i = ${start}; ; i++) {
      s.checkAndAdd("key" + i);
      writeSync(acks, i + "\\n");
      if (i % 20 === 0) s.compact();
    }`;
  const acknowledged = (): string[] =>
    readFileSync(ackPath, "utf8")
      .split("\n")
      .slice(0, -1) // the last piece may be a partial line
      .filter((l) => /^\d+$/.test(l));
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["--require", require.resolve("tsx/cjs"), "-e", code], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    let killed = false;
    // Each acknowledgement is at least 2 bytes: poll the file's size until `count` may be there.
    const poll = setInterval(() => {
      if (statSync(ackPath).size >= 2 * count && acknowledged().length >= count) {
        killed = child.kill("SIGKILL");
        clearInterval(poll);
      }
    }, 2);
    child.stderr.on("data", (data: Buffer) => {
      err += data.toString();
    });
    child.on("error", reject);
    child.on("close", (_code, signal) => {
      clearInterval(poll);
      if (signal !== "SIGKILL" || !killed) {
        reject(new Error(`child ended without being killed: ${err}`));
        return;
      }
      const numbers = acknowledged();
      resolvePromise(numbers.length === 0 ? start - 1 : Number(numbers.at(-1)));
    });
  });
}
