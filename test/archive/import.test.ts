/**
 * voevent-archive-import, run as a child process the way a user runs it: the corpus folder
 * (refusals reported by reason, a second run resumes and skips everything), and the real 4PiSky
 * month file (31,211 packets; the per-stream figures its README states) into an embedded archive;
 * a folder into PostgreSQL.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { openArchive } from "../../src/archive/open";
import type { SqlStore } from "../../src/archive/sql-store";
import { corpusDir, describeCorpus, isMarkedNotWellFormed, readIndex } from "../helpers/corpus";
import { PostgresServer } from "../helpers/postgres";

const ROOT = path.resolve(__dirname, "../..");
const TSX = require.resolve("tsx/cjs");
const MONTH = path.join(corpusDir(), "4pisky", "2022-01.001.tar.bz2");

function importCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    ["--require", TSX, path.join(ROOT, "src/cli/archive-import.ts"), ...args],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

function figure(out: string, label: string): number {
  const m = new RegExp(`${label} (\\d+)`).exec(out);
  assert.ok(m !== null, `no "${label}" in ${out}`);
  return Number(m[1]);
}

describeCorpus("voevent-archive-import", function (this: Mocha.Suite) {
  this.timeout(600_000);
  let dir: string;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "voevent-import-"));
  });

  after(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("a folder: imports the VOEvents, reports the refused by reason, and a second run skips what is stored", async () => {
    const file = path.join(dir, "folder.sqlite");
    const packets = path.join(corpusDir(), "packets");
    const rows = readIndex();
    const notXml = rows.filter(isMarkedNotWellFormed).length;
    const first = await importCli(["--file", file, "--quiet", packets]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(figure(first.stdout, "read"), rows.length);
    assert.equal(figure(first.stdout, "refused"), notXml + 1);
    assert.match(first.stdout, /refused BAD_IVORN: 1/);
    assert.match(first.stdout, /rta-dummy__DUMMY_VOEVENT_INTEGRAL\.xml: BAD_IVORN/);
    const imported = figure(first.stdout, "imported");
    const store = await openArchive({ store: "embedded", file });
    const unique = new Set(
      rows.filter((r) => !isMarkedNotWellFormed(r) && r.ivorn.startsWith("ivo://")).map((r) => r.ivorn),
    );
    try {
      assert.equal(await store.count({}), unique.size);
      assert.equal(imported, unique.size);
    } finally {
      await store.close();
    }
    const again = await importCli(["--file", file, "--quiet", packets]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(figure(again.stdout, "imported"), 0);
    // Every VOEvent read is stored now, the repeats within the folder too.
    assert.equal(figure(again.stdout, "already stored"), rows.length - notXml - 1);
  });

  it("a folder into PostgreSQL (password from PGPASSWORD), resumed by a second run", async () => {
    const pg = await PostgresServer.start();
    try {
      const args = [
        "--pg-host",
        pg.host,
        "--pg-port",
        String(pg.port),
        "--pg-user",
        pg.user,
        "--pg-database",
        pg.database,
      ];
      const packets = path.join(corpusDir(), "packets");
      const first = await importCli([...args, "--quiet", packets], { PGPASSWORD: pg.password });
      assert.equal(first.code, 0, first.stderr);
      const again = await importCli([...args, "--quiet", packets], { PGPASSWORD: pg.password });
      assert.equal(figure(again.stdout, "imported"), 0);
      const store = await openArchive(pg.config());
      try {
        assert.equal(await store.count({}), figure(first.stdout, "imported"));
        assert.equal(
          figure(again.stdout, "already stored"),
          figure(first.stdout, "imported") + figure(first.stdout, "repeated"),
        );
        // The import ends with VACUUM (ANALYZE): counts are index-only scans at once.
        const vacuumed = await (store as SqlStore).db.all(
          "SELECT relname, last_vacuum, last_analyze FROM pg_stat_user_tables WHERE relname IN ('voevent', 'coord', 'cite') ORDER BY relname",
          [],
        );
        assert.deepEqual(
          vacuumed.map((r) => [r.relname, r.last_vacuum !== null, r.last_analyze !== null]),
          [
            ["cite", true, true],
            ["coord", true, true],
            ["voevent", true, true],
          ],
        );
      } finally {
        await store.close();
      }
    } finally {
      await pg.close();
    }
  });

  it("usage errors exit 2 and name the problem", async () => {
    const r = await importCli(["--quiet", MONTH]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--file FILE or --pg-host/);
    const missing = await importCli(["--file", path.join(dir, "x.sqlite"), path.join(dir, "nothing-here")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no such file or folder/);
  });

  it("the 4PiSky month file, streamed into an embedded archive: every packet, per stream as its README says", async () => {
    const file = path.join(dir, "month.sqlite");
    const run = await importCli(["--file", file, "--quiet", "--batch", "2000", MONTH]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(figure(run.stdout, "imported"), 31_211);
    assert.equal(figure(run.stdout, "refused"), 0);
    const store = await openArchive({ store: "embedded", file });
    try {
      assert.equal(await store.count({}), 31_211);
      const streams = await store.mapStreamCount({});
      // The README's figures: Swift 23,540, Fermi 1,514, INTEGRAL 1,027, LVK 2,230, Gaia 264.
      assert.equal(streams["nasa.gsfc.gcn/SWIFT"], 23_540);
      assert.equal(streams["nasa.gsfc.gcn/Fermi"], 1_514);
      assert.equal(streams["gwnet/LVC"], 2_230);
      assert.equal(streams["nasa.gsfc.gcn/INTEGRAL"], 1_027);
      assert.equal(streams["gaia.cam.uk/alerts"], 264);
      assert.deepEqual(await store.mapAuthoredMonthCount({}), { "2022-01": 31_211 });
    } finally {
      await store.close();
    }
  });
});
