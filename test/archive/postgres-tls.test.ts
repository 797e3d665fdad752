/**
 * The PostgreSQL store over TLS (src/archive/postgres.ts, issue 15's loose end), against real
 * servers of the test's own (test/helpers/postgres.ts): one with `ssl=on`, a certificate signed
 * by a throw-away CA and `hostssl` lines only in pg_hba.conf; one without TLS. What a user sets
 * (the options the voevent-archive-db node makes from a core tls-config node: the CA, "verify
 * server certificate", a server name) and what they read when it is wrong: every refusal is
 * UNAVAILABLE (503 to the API; the writer holds the records and retries, never drops them as
 * refused) with a message that says what to change.
 */
import assert from "node:assert/strict";
import { recordFromPacket } from "../../src/archive/ingest";
import { openArchive } from "../../src/archive/open";
import type { PostgresConfig } from "../../src/archive/postgres";
import type { SqlStore } from "../../src/archive/sql-store";
import { ArchiveError, type ArchiveRecord } from "../../src/archive/types";
import { ArchiveWriter } from "../../src/archive/writer";
import { describeCorpus } from "../helpers/corpus";
import { CLIENT_CERT_DATABASE, PostgresServer } from "../helpers/postgres";
import { readTarballPackets } from "../helpers/tarball";

describeCorpus("archive: the PostgreSQL store over TLS", () => {
  let tlsServer: PostgresServer;
  let plainServer: PostgresServer;
  let records: ArchiveRecord[] = [];
  const open: SqlStore[] = [];

  before(async function () {
    this.timeout(120_000);
    [tlsServer, plainServer] = await Promise.all([
      PostgresServer.start({ tls: true }),
      PostgresServer.start(),
    ]);
    const seen = new Set<string>();
    for (const p of await readTarballPackets(20)) {
      const r = recordFromPacket(p.xml, new Date());
      if (!seen.has(r.ivorn)) records.push(r);
      seen.add(r.ivorn);
    }
    records = records.slice(0, 10);
  });

  after(async () => {
    await tlsServer?.close();
    await plainServer?.close();
  });

  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
  });

  const files = () => {
    const f = tlsServer.tlsFiles;
    assert.ok(f, "the TLS server has its certificates");
    return f;
  };

  async function store(
    server: PostgresServer,
    tls: PostgresConfig["tls"],
    host = server.host,
  ): Promise<SqlStore> {
    const s = (await openArchive({ ...server.config(), host, tls }, { connectTimeoutMs: 5_000 })) as SqlStore;
    open.push(s);
    return s;
  }

  /** The store's request rejects with UNAVAILABLE and a message matching `words`. */
  async function refused(p: Promise<unknown>, words: RegExp): Promise<string> {
    try {
      await p;
    } catch (err) {
      assert.ok(err instanceof ArchiveError, `an ArchiveError, not ${String(err)}`);
      assert.equal(err.code, "UNAVAILABLE", err.message);
      assert.match(err.message, words);
      return err.message;
    }
    assert.fail("the request was answered");
  }

  it("the test server refuses a plain connection (hostssl only), and says to turn TLS on", async () => {
    const s = await store(tlsServer, undefined);
    const message = await refused(s.count({}), /no encryption.*turn TLS on/);
    assert.match(message, /pg_hba\.conf/);
  });

  it("TLS with the CA that signed the server's certificate: stores and reads, over an encrypted connection", async () => {
    for (const host of ["127.0.0.1", "localhost"]) {
      const s = await store(tlsServer, { ca: files().ca, rejectUnauthorized: true }, host);
      const ssl = await s.db.all("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()", []);
      assert.equal(ssl[0]?.ssl, true, `${host}: the session is encrypted`);
      assert.match(String(ssl[0]?.version), /^TLSv1\.[23]$/);
      await s.insertBatch(records);
      assert.equal(await s.count({}), records.length);
      assert.deepEqual(await s.packetXml(records[3].ivorn), records[3].xml);
    }
  });

  it("a certificate from another CA is refused, clearly; with verification off it connects", async () => {
    const s = await store(tlsServer, { ca: files().otherCa, rejectUnauthorized: true });
    const message = await refused(s.count({}), /TLS: the server's certificate was refused/);
    // Node's code for it: the chain the server sends ends at a CA the client does not trust.
    assert.match(message, /\((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)\)/);
    assert.match(message, /CA of the archive's TLS configuration/);
    // tls: true trusts the system's CAs only: the test CA is none of them.
    await refused((await store(tlsServer, true)).count({}), /certificate was refused/);
    const unverified = await store(tlsServer, { ca: files().otherCa, rejectUnauthorized: false });
    assert.equal(typeof (await unverified.count({})), "number");
  });

  it("a server name the certificate does not name is refused", async () => {
    const s = await store(tlsServer, {
      ca: files().ca,
      rejectUnauthorized: true,
      servername: "db.example.org",
    });
    await refused(s.count({}), /certificate was refused.*db\.example\.org.*ERR_TLS_CERT_ALTNAME_INVALID/);
  });

  it("a client certificate (mutual TLS) where the server asks for one: refused without, accepted with", async () => {
    const config = { ...tlsServer.config(), database: CLIENT_CERT_DATABASE };
    const without = (await openArchive({ ...config, tls: { ca: files().ca } })) as SqlStore;
    open.push(without);
    await refused(without.count({}), /requires a valid client certificate/);
    const withCert = (await openArchive({
      ...config,
      tls: { ca: files().ca, cert: files().clientCert, key: files().clientKey },
    })) as SqlStore;
    open.push(withCert);
    await withCert.insertBatch(records.slice(0, 2));
    assert.equal(await withCert.count({}), 2);
  });

  it("a handshake that cannot succeed (TLS 1.1 only; the server takes 1.2 and later) says so", async () => {
    const s = await store(tlsServer, { ca: files().ca, minVersion: "TLSv1.1", maxVersion: "TLSv1.1" });
    await refused(s.count({}), /TLS: the handshake failed: .*\((ERR_SSL_[A-Z_]+|EPROTO)\)$/);
  });

  it("TLS on against a server without TLS is refused, and says so", async () => {
    const s = await store(plainServer, { ca: files().ca, rejectUnauthorized: true });
    await refused(s.count({}), /TLS is on but the server does not offer it/);
    await refused(s.insertBatch(records), /does not offer it/);
  });

  it("the writer holds and retries records while TLS is refused: none dropped", async () => {
    const s = await store(tlsServer, { ca: files().otherCa, rejectUnauthorized: true });
    const writer = new ArchiveWriter(s, { retryMinMs: 50, retryMaxMs: 200, closeDeadlineMs: 100 });
    const errors: Error[] = [];
    writer.on("error", (e: Error) => errors.push(e));
    for (const r of records) assert.equal(writer.enqueue(r), true);
    const deadline = Date.now() + 15_000;
    while (errors.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(errors.length >= 2, "retried");
    assert.equal(writer.state, "retrying");
    assert.deepEqual(
      { pending: writer.counters.pending, dropped: writer.counters.dropped, stored: writer.counters.stored },
      { pending: records.length, dropped: 0, stored: 0 },
    );
    assert.match(String(writer.lastError?.message), /certificate was refused/);
    await writer.close();
  });
});
