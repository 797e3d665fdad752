/**
 * The embedded store's indexes (issue 15's ingest at 1M packets): cones and declination bounds
 * read coord_zone_seq_idx (zone, voevent_id, ran), whose keys a batch appends at the end of each
 * zone. An archive made before it, with coord_zone_ran_idx (zone, ran), has its index replaced
 * when it opens, and answers every query as an archive made new with the same packets does.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Database } from "node-sqlite3-wasm";
import { FILTERS, parseArchiveQuery, whereClause } from "../../src/archive/filters";
import { openArchive } from "../../src/archive/open";
import { SqlBuilder } from "../../src/archive/sql";
import type { SqlStore } from "../../src/archive/sql-store";
import type { ArchiveOrder, ArchiveRecord, ArchiveStore } from "../../src/archive/types";
import { describeCorpus } from "../helpers/corpus";
import { variantRecords } from "./records";

/** The embedded archive's indexes as the version before this one made them (its sql.ts INDEXES). */
const OLD_INDEXES = [
  "cite_ref_idx",
  "cite_voevent_idx",
  "coord_voevent_idx",
  "coord_zone_ran_idx",
  "voevent_author_datetime_idx",
  "voevent_received_idx",
  "voevent_role_idx",
  "voevent_stream_idx",
];

/** The file's indexes (made by CREATE INDEX), read without the store. */
function indexes(file: string): string[] {
  const db = new Database(file);
  try {
    db.exec("PRAGMA locking_mode=EXCLUSIVE");
    return (
      db.all(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
      ) as Array<{
        name: string;
      }>
    ).map((r) => r.name);
  } finally {
    db.close();
  }
}

/** Turns a file made by this version into one with the previous version's indexes (the tables are the same). */
function makeOld(file: string): void {
  const db = new Database(file);
  try {
    db.exec("PRAGMA locking_mode=EXCLUSIVE");
    db.exec("DROP INDEX coord_zone_seq_idx");
    db.exec("CREATE INDEX coord_zone_ran_idx ON coord (zone, ran)");
  } finally {
    db.close();
  }
}

/** xorshift: the same positions on every run. */
function positions(seed: number): () => number {
  let s = seed;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) % 1_000_000) / 1_000_000;
  };
}

/** Real corpus packets under new IVORNs, each with a position somewhere on the sky (uniform). */
function records(n: number): ArchiveRecord[] {
  const random = positions(15);
  return variantRecords(n, new Date("2026-12-07T03:00:00Z")).map((r) =>
    r.coords.length === 0
      ? r
      : {
          ...r,
          coords: [
            { ...r.coords[0], ra: random() * 360, dec: (Math.asin(2 * random() - 1) * 180) / Math.PI },
            ...r.coords.slice(1),
          ],
        },
  );
}

describeCorpus(
  "archive: the embedded store's indexes, and an archive made before them",
  function (this: Mocha.Suite) {
    this.timeout(120_000);
    let dir = "";
    let fresh: ArchiveStore | undefined;
    let migrated: ArchiveStore | undefined;
    const recs = records(1500);

    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), "voevent-embedded-schema-"));
      const oldFile = path.join(dir, "old.sqlite");
      const made = await openArchive({ store: "embedded", file: oldFile });
      for (let i = 0; i < recs.length; i += 500) await made.insertBatch(recs.slice(i, i + 500));
      await made.close();
      makeOld(oldFile);
      assert.deepEqual(indexes(oldFile), OLD_INDEXES, "the file has the previous version's indexes");
      migrated = await openArchive({ store: "embedded", file: oldFile });
      fresh = await openArchive({ store: "embedded", file: path.join(dir, "new.sqlite") });
      for (let i = 0; i < recs.length; i += 500) await fresh.insertBatch(recs.slice(i, i + 500));
    });

    after(async () => {
      await fresh?.close();
      await migrated?.close();
      if (dir !== "") rmSync(dir, { recursive: true, force: true });
    });

    it("opening the old file replaces (zone, ran) by (zone, voevent_id, ran); a new file has the same indexes", async () => {
      assert.ok(fresh && migrated);
      await migrated.close();
      await fresh.close();
      const want = [...OLD_INDEXES.filter((n) => n !== "coord_zone_ran_idx"), "coord_zone_seq_idx"].sort();
      assert.deepEqual(indexes(path.join(dir, "old.sqlite")), want);
      assert.deepEqual(indexes(path.join(dir, "new.sqlite")), want);
      migrated = await openArchive({ store: "embedded", file: path.join(dir, "old.sqlite") });
      fresh = await openArchive({ store: "embedded", file: path.join(dir, "new.sqlite") });
      assert.equal(await migrated.count({}), recs.length);
    });

    it("every filter's examples, cones across the sky and every order: the same answers from both", async () => {
      assert.ok(fresh && migrated);
      const random = positions(42);
      const queries: Array<Record<string, string>> = [{}];
      for (const def of FILTERS) for (const example of def.examples) queries.push({ [def.key]: example });
      for (let i = 0; i < 40; i++) {
        const r = [0.5, 1, 3, 10, 45][i % 5];
        queries.push({ cone: JSON.stringify([random() * 360, random() * 180 - 90, r]) });
      }
      queries.push({ cone: "[0,90,2]" }, { cone: "[359.9,-89.5,1]" }, { dec_gt: "60", dec_lt: "61" });
      let nonEmpty = 0;
      for (const raw of queries) {
        const q = parseArchiveQuery(raw);
        const n = await fresh.count(q.filters);
        assert.equal(await migrated.count(q.filters), n, JSON.stringify(raw));
        if (n > 0 && (raw.cone !== undefined || raw.dec_gt !== undefined)) nonEmpty++;
        const all = { ...q, pagination: { limit: 10_000, offset: 0, order: "id" as ArchiveOrder } };
        assert.deepEqual(await migrated.listIvorn(all), await fresh.listIvorn(all), JSON.stringify(raw));
      }
      assert.ok(nonEmpty >= 25, `only ${nonEmpty} position queries matched packets`);
      for (const order of ["id", "-id", "ivorn", "-ivorn", "author_datetime", "-author_datetime"] as const) {
        const q = { filters: {}, pagination: { limit: 200, offset: 100, order } };
        assert.deepEqual(await migrated.listIvorn(q), await fresh.listIvorn(q), order);
      }
      for (const r of recs.slice(0, 100)) {
        assert.deepEqual(await migrated.synopsis(r.ivorn), await fresh.synopsis(r.ivorn), r.ivorn);
        assert.deepEqual(await migrated.packetXml(r.ivorn), await fresh.packetXml(r.ivorn), r.ivorn);
      }
    });

    it("cones and declination bounds read the appended index (query plans)", async () => {
      assert.ok(fresh);
      const db = (fresh as SqlStore).db;
      for (const raw of [{ cone: "[10,20,1]" }, { cone: "[10,89.5,1]" }, { dec_gt: "10" }]) {
        const q = new SqlBuilder("sqlite");
        const where = whereClause(parseArchiveQuery(raw).filters, q);
        const plan = await db.all(`EXPLAIN QUERY PLAN SELECT count(*) FROM voevent v ${where}`, q.params);
        const text = plan.map((p) => String(p.detail)).join(" | ");
        assert.match(text, /USING INDEX coord_zone_seq_idx \(zone/, `${JSON.stringify(raw)}: ${text}`);
      }
    });
  },
);
