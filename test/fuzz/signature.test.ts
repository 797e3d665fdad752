/**
 * Property-based fuzzing of signature checking (fast-check): whatever follows or
 * replaces a signed packet's signature comment, and whatever the bytes, the
 * verdict is one of the five, it never throws or rejects, it is never "signed"
 * unless the covered bytes and the armour are the ones signed, and it comes
 * within a time bound. Seed and run count from config.ts (`npm run fuzz` for a long run).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as openpgp from "openpgp";
import { Keyring, readEnvelope, Signer, signPacket, verifyPacket } from "../../src/signature";
import { describeCorpus, readPacket } from "../helpers/corpus";
import { FUZZ_SEED, fuzzRuns, fuzzTimeout } from "./config";

/** Generous: a check is a few ms; the bound catches a hang, not a slow machine. */
const MAX_MS = 2000;
const VERDICTS = new Set(["signed", "bad", "unknown-key", "unsigned", "malformed"]);
const RUNS = 300;

async function timedVerdict(bytes: Buffer, keyring: Keyring): Promise<string> {
  const t = performance.now();
  const v = await verifyPacket(bytes, keyring);
  const ms = performance.now() - t;
  assert.ok(ms < MAX_MS, `took ${ms.toFixed(1)} ms`);
  assert.ok(VERDICTS.has(v.verdict), v.verdict);
  assert.ok(v.reason.length > 0 && v.reason.length < 400);
  return v.verdict;
}

describeCorpus("fuzz: signature verdicts", function (this: Mocha.Suite) {
  this.timeout(fuzzTimeout(RUNS, 200));
  let keyring: Keyring;
  let packet: Buffer;
  let signed: Buffer;
  let rootEnd: number;
  let armour: string;

  before(async () => {
    const k = await openpgp.generateKey({
      type: "ecc",
      curve: "ed25519Legacy",
      userIDs: [{ name: "Fuzz", email: "fuzz@example.org" }],
      format: "armored",
    });
    keyring = await Keyring.fromArmour(k.publicKey);
    const signer = await Signer.fromArmour(k.privateKey);
    packet = readPacket("gwcelery__fermi_grb_gcn.xml");
    signed = await signPacket(packet, signer);
    const env = readEnvelope(signed);
    rootEnd = env.covered?.end ?? 0;
    armour = env.armours[0];
  });

  it("a mutated armour: one of the five verdicts, never a throw", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 1, max: 8 }),
        fc.string({ maxLength: 8 }),
        async (at, del, insert) => {
          const i = at % armour.length;
          const mutated = armour.slice(0, i) + insert + armour.slice(i + del);
          const bytes = Buffer.concat([
            signed.subarray(0, rootEnd),
            Buffer.from(`<!--\n${mutated.replaceAll("-----", "=====")}-->`, "latin1"),
          ]);
          await timedVerdict(bytes, keyring);
        },
      ),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(RUNS) },
    );
  });

  it("one covered byte changed: never 'signed'", async () => {
    const start = readEnvelope(signed).covered?.start ?? 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: start, max: rootEnd - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (at, x) => {
          const t = Buffer.from(signed);
          t[at] ^= x;
          assert.notEqual(await timedVerdict(t, keyring), "signed");
        },
      ),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(RUNS) },
    );
  });

  it("random bytes and XML-ish soup after, around or instead of the root: a verdict, never a throw", async () => {
    const soup = fc
      .array(
        fc.constantFrom(
          "<",
          ">",
          "<!--",
          "-->",
          "=====BEGIN PGP SIGNATURE=====\n",
          "=====END PGP SIGNATURE=====\n",
          "<?x ?>",
          "<![CDATA[",
          "]]>",
          "</a>",
          "<a b='>'>",
          "<a/>",
          "\n",
          "wsB",
          "=",
          armour,
        ),
        { maxLength: 30 },
      )
      .map((parts) => parts.join(""));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(soup, fc.string({ maxLength: 200 })),
        fc.uint8Array({ maxLength: 200 }),
        async (text, raw) => {
          await timedVerdict(
            Buffer.concat([signed.subarray(0, rootEnd), Buffer.from(text, "latin1")]),
            keyring,
          );
          await timedVerdict(Buffer.from(text, "latin1"), keyring);
          await timedVerdict(Buffer.from(raw), keyring);
        },
      ),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(RUNS) },
    );
  });
});
