/**
 * archive/writer: batches off the message path, a bounded queue that holds records through a
 * PostgreSQL outage and writes them when it is back, retention, close within its deadline, and an
 * embedded archive that survives SIGKILL of the process writing it.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { recordFromParsed } from "../../src/archive/ingest";
import { openArchive } from "../../src/archive/open";
import type { SqlStore } from "../../src/archive/sql-store";
import { ArchiveError, type ArchiveStore } from "../../src/archive/types";
import { ArchiveWriter } from "../../src/archive/writer";
import { parseVOEvent } from "../../src/voevent/parse";
import { describeCorpus } from "../helpers/corpus";
import { stillAlive } from "../helpers/gc";
import { PostgresServer } from "../helpers/postgres";
import { variantRecords } from "./records";

/** Enqueues n fresh records and returns only weak references to them. */
function enqueueAll(writer: ArchiveWriter, n: number): Array<WeakRef<object>> {
  return variantRecords(n, new Date(), 90_000).map((r) => {
    assert.equal(writer.enqueue(r), true);
    return new WeakRef(r);
  });
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describeCorpus("archive/writer", function (this: Mocha.Suite) {
  this.timeout(180_000);
  let dir: string;
  let pg: PostgresServer;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "voevent-writer-"));
    pg = await PostgresServer.start();
  });

  after(async () => {
    await pg?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("enqueue returns at once; batches write everything, repeats counted", async () => {
    const store = await openArchive({ store: "embedded", file: path.join(dir, "w1.sqlite") });
    try {
      const writer = new ArchiveWriter(store, { batchSize: 64 });
      const records = variantRecords(500);
      for (const r of records) assert.equal(writer.enqueue(r), true);
      for (const r of records.slice(0, 20)) writer.enqueue(r);
      // Nothing was written on the caller's turn: the writes come later, off the message path.
      assert.equal(writer.counters.stored, 0);
      assert.equal(writer.counters.pending, 520);
      await until("the queue to drain", () => writer.counters.pending === 0);
      assert.deepEqual(
        { ...writer.counters },
        { stored: 500, duplicates: 20, pending: 0, dropped: 0, pruned: 0 },
      );
      assert.equal(await store.count({}), 500);
      assert.equal(writer.state, "idle");
      await writer.close();
    } finally {
      await store.close();
    }
  });

  it("lets go of each record once it is written (its packet and positions can be collected)", async () => {
    const store = await openArchive({ store: "embedded", file: path.join(dir, "w-release.sqlite") });
    try {
      const writer = new ArchiveWriter(store, { batchSize: 64 });
      const refs = enqueueAll(writer, 300);
      await until("the queue to drain", () => writer.counters.pending === 0);
      assert.equal(writer.counters.stored, 300);
      assert.equal(await stillAlive(refs), 0, "records kept after they were written");
      await writer.close();
    } finally {
      await store.close();
    }
  });

  it("under load a batch takes what is pending, within maxBatchSize records and maxBatchBytes of packets", async () => {
    const store = await openArchive({ store: "embedded", file: path.join(dir, "w-batches.sqlite") });
    try {
      const records = variantRecords(1000);
      const bytesOf = new Map(records.map((r) => [r.ivorn, Buffer.byteLength(r.xml)]));
      const largest = Math.max(...bytesOf.values());
      const maxBatchBytes = largest * 40;
      const writer = new ArchiveWriter(store, { batchSize: 10, maxBatchSize: 300, maxBatchBytes });
      const batches: string[][] = [];
      writer.on("written", (w: { ivorns: string[] }) => batches.push(w.ivorns));
      for (const r of records) writer.enqueue(r);
      await until("the queue to drain", () => writer.counters.pending === 0);
      // Everything, once, in arrival order.
      assert.deepEqual(
        batches.flat(),
        records.map((r) => r.ivorn),
      );
      for (const b of batches) {
        assert.ok(b.length <= 300, `a batch of ${b.length} records (maxBatchSize 300)`);
        const bytes = b.reduce((n, iv) => n + (bytesOf.get(iv) ?? 0), 0);
        assert.ok(bytes <= maxBatchBytes, `a batch of ${bytes} bytes (maxBatchBytes ${maxBatchBytes})`);
      }
      // 1,000 were waiting: the batches were larger than batchSize (10), at least 40 records each
      // but the last, so far fewer transactions than 100.
      assert.ok(batches.length <= 25, `${batches.length} transactions for 1,000 records`);
      for (const b of batches.slice(0, -1)) assert.ok(b.length >= 40, `a batch of ${b.length}`);
      assert.equal(await store.count({}), 1000);
      await writer.close();
      // A packet larger than maxBatchBytes is still written, alone.
      const one = new ArchiveWriter(store, { maxBatchBytes: 1 });
      const sizes: number[] = [];
      one.on("written", (w: { ivorns: string[] }) => sizes.push(w.ivorns.length));
      const more = variantRecords(10, new Date(), 1000);
      for (const r of more) one.enqueue(r);
      await until("the ten written", () => one.counters.pending === 0);
      assert.deepEqual(sizes, new Array(10).fill(1));
      assert.equal(one.counters.stored, 10);
      await one.close();
    } finally {
      await store.close();
    }
  });

  it("at a steady rate, a batch waits for batchSize records or batchDelayMs, after a write too: few transactions, not one per few records", async () => {
    const store = await openArchive({ store: "embedded", file: path.join(dir, "w-steady.sqlite") });
    try {
      const writer = new ArchiveWriter(store, { batchSize: 1000, batchDelayMs: 300 });
      const sizes: number[] = [];
      writer.on("written", (w: { ivorns: string[] }) => sizes.push(w.ivorns.length));
      // 600 records, one every 2 ms (500 a second, below batchSize per batchDelayMs): about 1.2 s.
      const records = variantRecords(600, new Date(), 3000);
      const started = Date.now();
      for (const r of records) {
        assert.equal(writer.enqueue(r), true);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      const took = Date.now() - started;
      await until("the queue to drain", () => writer.counters.pending === 0);
      assert.equal(writer.counters.stored, 600);
      // One transaction per batchDelayMs of arrivals (and the last): not a new one for every
      // record or two that arrived while the previous transaction was being written.
      const most = Math.ceil(took / 300) + 2;
      assert.ok(
        sizes.length <= most,
        `${sizes.length} transactions in ${took} ms (sizes ${sizes.join(", ")}); at most ${most}`,
      );
      await writer.close();
    } finally {
      await store.close();
    }
  });

  it("batchSize records waiting start a write at once, though the first of them set a longer wait", async () => {
    const store = await openArchive({ store: "embedded", file: path.join(dir, "w-full.sqlite") });
    try {
      const writer = new ArchiveWriter(store, { batchSize: 100, batchDelayMs: 20_000 });
      const records = variantRecords(100, new Date(), 4000);
      writer.enqueue(records[0]);
      await new Promise((resolve) => setTimeout(resolve, 50));
      for (const r of records.slice(1)) writer.enqueue(r);
      await until("the full batch written", () => writer.counters.stored === 100, 5_000);
      await writer.close();
    } finally {
      await store.close();
    }
  });

  for (const kind of ["embedded", "postgres"] as const) {
    it(`${kind}: a packet given as text (msg.payload, as the node passes it) is stored as its UTF-8 bytes, beside packets given as bytes`, async () => {
      const store: ArchiveStore =
        kind === "embedded"
          ? await openArchive({ store: "embedded", file: path.join(dir, "w-text.sqlite") })
          : await openArchive(pg.config());
      try {
        const writer = new ArchiveWriter(store);
        const base = variantRecords(30, new Date(), 2000);
        // Every other packet as text, with characters of two, three and four UTF-8 bytes.
        const records = base.map((r, i) => {
          if (i % 2 === 1) return r;
          const text = `${Buffer.from(r.xml).toString("utf8")}\n<!-- é ≥ 𝛼 ${i} -->\n`;
          return recordFromParsed(parseVOEvent(text), text, r.receivedAt);
        });
        assert.ok(records.some((r) => typeof r.xml === "string"));
        for (const r of records) writer.enqueue(r);
        await until("the queue to drain", () => writer.counters.pending === 0);
        assert.equal(writer.counters.stored, 30);
        for (const r of records) {
          const stored = await store.packetXml(r.ivorn);
          assert.ok(stored !== null, r.ivorn);
          assert.ok(stored.equals(Buffer.from(r.xml)), `${kind}: the bytes of ${r.ivorn}`);
          if (typeof r.xml === "string") assert.match(stored.toString("utf8"), /é ≥ 𝛼/);
        }
        await writer.close();
      } finally {
        // The PostgreSQL database is shared with the next tests, which count what they store.
        if (kind === "postgres") await (store as SqlStore).db.run("DELETE FROM voevent", []);
        await store.close();
      }
    });
  }

  it("PostgreSQL stopped mid-run: holds what the bound allows, counts the rest dropped, writes it all when back", async () => {
    const store = await openArchive(pg.config(), { connectTimeoutMs: 1_000 });
    const writer = new ArchiveWriter(store, {
      maxPending: 300,
      batchSize: 50,
      retryMinMs: 50,
      retryMaxMs: 400,
    });
    const errors: Error[] = [];
    writer.on("error", (e: Error) => errors.push(e));
    try {
      const records = variantRecords(600, new Date(), 10_000);
      for (const r of records.slice(0, 100)) writer.enqueue(r);
      await until("the first 100 written", () => writer.counters.stored === 100);
      await pg.stop();
      for (const r of records.slice(100, 500)) writer.enqueue(r);
      await until("a failed write", () => writer.state === "retrying");
      assert.equal(writer.counters.pending, 300);
      assert.equal(writer.counters.dropped, 100);
      assert.ok(
        writer.lastError instanceof ArchiveError && writer.lastError.code === "UNAVAILABLE",
        String(writer.lastError),
      );
      assert.ok(errors.length > 0);
      await pg.start();
      await until("the held records written", () => writer.counters.pending === 0);
      assert.equal(writer.counters.stored, 400);
      assert.equal(await store.count({}), 400);
      const held = records.slice(100, 400).map((r) => r.ivorn);
      assert.equal((await store.existing(held)).size, 300);
      assert.equal((await store.existing(records.slice(400, 500).map((r) => r.ivorn))).size, 0);
      await writer.close();
    } finally {
      await store.close();
    }
  });

  it("one store per embedded file in a process: a second open is refused until the first closes", async () => {
    const file = path.join(dir, "once.sqlite");
    const first = await openArchive({ store: "embedded", file });
    await assert.rejects(
      openArchive({ store: "embedded", file }),
      (e: unknown) => e instanceof ArchiveError && e.code === "UNAVAILABLE" && /already open/.test(e.message),
    );
    await first.close();
    const again = await openArchive({ store: "embedded", file });
    assert.equal(await again.count({}), 0);
    await again.close();
  });

  it("close() flushes what is pending; a record after close is dropped", async () => {
    const store = await openArchive({ store: "embedded", file: path.join(dir, "w2.sqlite") });
    try {
      const writer = new ArchiveWriter(store, { batchDelayMs: 10_000 });
      for (const r of variantRecords(120)) writer.enqueue(r);
      await writer.close();
      assert.equal(await store.count({}), 120);
      assert.equal(writer.enqueue(variantRecords(1, new Date(), 999)[0]), false);
      assert.equal(writer.counters.dropped, 1);
      assert.equal(writer.state, "closed");
    } finally {
      await store.close();
    }
  });

  it("close() gives up at its deadline when the database is down, counting what it could not write", async () => {
    const store: ArchiveStore = await openArchive(pg.config(), { connectTimeoutMs: 500 });
    await pg.stop();
    try {
      const writer = new ArchiveWriter(store, { closeDeadlineMs: 1_500, retryMinMs: 50 });
      for (const r of variantRecords(40, new Date(), 20_000)) writer.enqueue(r);
      await writer.close();
      assert.equal(writer.counters.pending, 0);
      assert.equal(writer.counters.stored + writer.counters.dropped, 40);
      assert.equal(writer.counters.dropped, 40);
    } finally {
      await pg.start();
      await store.close();
    }
  });

  it("retention: maxEvents keeps the newest, maxAge removes what was received too long ago", async () => {
    const store = await openArchive({ store: "embedded", file: path.join(dir, "w3.sqlite") });
    try {
      const old = variantRecords(30, new Date(Date.now() - 3_600_000), 0);
      const fresh = variantRecords(50, new Date(), 30);
      await store.insertBatch(old);
      const writer = new ArchiveWriter(store, {
        retention: { maxAge: 60_000, maxEvents: 40 },
        pruneIntervalMs: 50,
      });
      for (const r of fresh) writer.enqueue(r);
      await until(
        "retention applied",
        async () => writer.counters.pending === 0 && (await store.count({})) === 40,
      );
      const kept = await store.existing([...old, ...fresh].map((r) => r.ivorn));
      assert.deepEqual(
        [...kept].sort(),
        fresh
          .slice(10)
          .map((r) => r.ivorn)
          .sort(),
      );
      await writer.close();
    } finally {
      await store.close();
    }
  });

  it("SIGKILL of a process writing an embedded archive: the file opens with every acknowledged event", async () => {
    const file = path.join(dir, "killed.sqlite");
    const child = spawn(
      process.execPath,
      ["--require", "tsx/cjs", path.join(__dirname, "fixtures", "writer-child.ts"), file],
      {
        cwd: path.resolve(__dirname, "../.."),
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const acked: string[] = [];
    let buffered = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      buffered += d.toString();
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        acked.push(...(JSON.parse(buffered.slice(0, nl)) as string[]));
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf("\n");
      }
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    try {
      await until(`1,000 acknowledged events (${stderr})`, () => acked.length >= 1_000, 120_000);
      // While it lives, the file is its: another process cannot open it.
      await assert.rejects(
        openArchive({ store: "embedded", file }),
        (e: unknown) =>
          e instanceof ArchiveError && e.code === "UNAVAILABLE" && /in use by process/.test(e.message),
      );
    } finally {
      child.kill("SIGKILL");
      await exited;
    }
    const store = await openArchive({ store: "embedded", file });
    try {
      const found = await store.existing(acked);
      assert.equal(found.size, acked.length, "every acknowledged event is in the file");
      assert.ok((await store.count({})) >= acked.length);
      // And the file takes writes again.
      assert.equal((await store.insertBatch(variantRecords(1, new Date(), 5_000_000))).stored, 1);
    } finally {
      await store.close();
    }
  });
});
