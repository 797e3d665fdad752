/**
 * Signed VOEvents against GnuPG, both ways, with keys gpg makes (Ed25519 and
 * RSA-3072) in a throw-away GNUPGHOME. The appendix (Comet's "OpenPGP
 * Signatures, Comet and VOEvents") is applied by hand here, with string
 * searches, independently of src/signature/envelope.ts: the covered bytes run
 * from the root element's `<` to its end tag's `>`; the armour sits in a
 * comment after it with `-----` written `=====`.
 */
import assert from "node:assert/strict";
import { VOEventError } from "../../src/errors";
import { Keyring, readEnvelope, Signer, signPacket, verifyPacket } from "../../src/signature";
import { describeCorpus, readIndex, readPacket } from "../helpers/corpus";
import { GnuPGHome, type GpgKey } from "../helpers/gnupg";

/** The root element's bytes, found by hand: the first `<` followed by a name, to the last `</name>`. */
function coveredByHand(packet: Buffer): { start: number; end: number } {
  const text = packet.toString("latin1");
  const m = /<([A-Za-z_][\w.:-]*)[\s>/]/.exec(text.replace(/<!--[\s\S]*?-->/g, (c) => " ".repeat(c.length)));
  assert.ok(m, "a root element");
  const start = m.index;
  const endTag = `</${m[1]}>`;
  const end = text.lastIndexOf(endTag) + endTag.length;
  assert.ok(end > start);
  return { start, end };
}

/** Appends gpg's armour the appendix's way, by hand. */
function appendByHand(packet: Buffer, armour: string): Buffer {
  const { end } = coveredByHand(packet);
  return Buffer.concat([
    packet.subarray(0, end),
    Buffer.from(`<!--\n${armour.split("-----").join("=====")}\n-->\n`, "latin1"),
  ]);
}

/** The armour and the covered bytes of a packet signed here, taken out by hand. */
function extractByHand(signed: Buffer): { armour: string; covered: Buffer } {
  const text = signed.toString("latin1");
  const open = text.lastIndexOf("<!--");
  const close = text.indexOf("-->", open);
  assert.ok(open > 0 && close > open, "a comment after the root element");
  const armour = text
    .slice(open + 4, close)
    .split("=====")
    .join("-----");
  const { start, end } = coveredByHand(signed.subarray(0, open));
  return { armour, covered: signed.subarray(start, end) };
}

const PACKETS = [
  "gwcelery__fermi_grb_gcn.xml", // a GCN notice
  "voevent-parse__ASASSN#2016-09-25.47_2016fvf_PTSS-16nqb_PS16ejf.xml", // non-ASCII bytes
  "voevent-parse__SWIFT_xrt_position_v1.1_example.xml", // CRLF line endings, VOEvent 1.1
  "voevent-parse__no_namespace_packet.xml", // no XML declaration
];

describeCorpus("signature: interoperability with GnuPG", function (this: Mocha.Suite) {
  this.timeout(120_000);
  let gpg: GnuPGHome;
  let ed: GpgKey;
  let rsa: GpgKey;
  let keyring: Keyring;

  before(() => {
    gpg = new GnuPGHome();
    ed = gpg.makeKey("Ed25519 Author <ed@example.org>", "ed25519");
    rsa = gpg.makeKey("RSA Author <rsa@example.org>", "rsa3072");
  });
  before(async () => {
    keyring = await Keyring.fromArmour(ed.publicArmour + rsa.publicArmour);
  });
  after(() => gpg.close());

  it("reads gpg's exported public keys, by gpg's long key IDs and user IDs", () => {
    assert.deepEqual(
      keyring.keys.map((k) => [k.keyId, k.userId]),
      [
        [ed.keyId, ed.uid],
        [rsa.keyId, rsa.uid],
      ],
    );
  });

  for (const kind of ["ed25519", "rsa3072"] as const) {
    describe(kind, () => {
      const key = (): GpgKey => (kind === "ed25519" ? ed : rsa);

      for (const name of PACKETS) {
        it(`gpg --detach-sign --armor, appended by hand, verifies here: ${name}`, async () => {
          const packet = readPacket(name);
          const armour = gpg.detachSign(
            key(),
            packet.subarray(coveredByHand(packet).start, coveredByHand(packet).end),
          );
          const signed = appendByHand(packet, armour);
          const v = await verifyPacket(signed, keyring);
          assert.deepEqual(v, {
            verdict: "signed",
            keyId: key().keyId,
            userId: key().uid,
            fingerprint: keyring.lookup(key().keyId)?.info.fingerprint,
            reason: `signed by ${key().keyId} (${key().uid})`,
          });
          assert.ok(v.fingerprint?.endsWith(key().keyId));
        });

        it(`signed here with gpg's exported private key, gpg --verify accepts it: ${name}`, async () => {
          const signer = await Signer.fromArmour(key().privateArmour, key().passphrase);
          const packet = readPacket(name);
          const signed = await signPacket(packet, signer);
          // The packet up to its root element's end is unchanged.
          const { end } = coveredByHand(packet);
          assert.deepEqual(signed.subarray(0, end), packet.subarray(0, end));
          const { armour, covered } = extractByHand(signed);
          assert.ok(armour.trim().startsWith("-----BEGIN PGP SIGNATURE-----"));
          const r = gpg.verify(armour, covered);
          assert.equal(r.status, 0, r.stderr);
          assert.match(r.stderr, new RegExp(`\\[GNUPG:\\] GOODSIG ${key().keyId} `));
          // And the same bytes with one byte of the covered part changed: gpg says BADSIG.
          const tampered = Buffer.from(covered);
          tampered[Math.floor(tampered.length / 2)] ^= 0x01;
          const bad = gpg.verify(armour, tampered);
          assert.notEqual(bad.status, 0);
          assert.match(bad.stderr, /\[GNUPG:\] BADSIG /);
        });
      }

      it("one byte changed anywhere in the covered bytes → bad; outside them → still signed", async () => {
        const packet = readPacket(PACKETS[0]);
        const { start, end } = coveredByHand(packet);
        const signed = appendByHand(packet, gpg.detachSign(key(), packet.subarray(start, end)));
        // The first byte after `<`, the middle, the `>` before the end tag's last `>`... and the last byte.
        for (const at of [
          start + 1,
          start + Math.floor((end - start) / 3),
          Math.floor((start + end) / 2),
          end - 2,
          end - 1,
        ]) {
          const t = Buffer.from(signed);
          t[at] = t[at] === 0x41 ? 0x42 : 0x41;
          const v = await verifyPacket(t, keyring);
          // A change that breaks the root element's shape may hide the comment: never "signed".
          assert.ok(v.verdict === "bad" || v.verdict === "unsigned", `byte ${at}: ${v.verdict}`);
          if (at !== start + 1 && at !== end - 1 && at !== end - 2)
            assert.equal(v.verdict, "bad", `byte ${at}`);
        }
        // Outside: the XML declaration rewritten, a comment before the root element, spaces after it.
        const head = signed.subarray(0, start).toString("latin1");
        const outside = Buffer.concat([
          Buffer.from(`${head.replace("UTF-8", "utf-8")}<!-- relayed by a test -->\n`, "latin1"),
          signed.subarray(start, end),
          Buffer.from("\n\n   "),
          signed.subarray(end),
          Buffer.from("<!-- a trailing note -->\n"),
        ]);
        const v = await verifyPacket(outside, keyring);
        assert.equal(v.verdict, "signed", v.reason);
      });

      it("a key that is not in the keyring → unknown-key, with the signer's key ID", async () => {
        const other = kind === "ed25519" ? rsa : ed;
        const only = await Keyring.fromArmour(other.publicArmour);
        const packet = readPacket(PACKETS[0]);
        const { start, end } = coveredByHand(packet);
        const signed = appendByHand(packet, gpg.detachSign(key(), packet.subarray(start, end)));
        const v = await verifyPacket(signed, only);
        assert.deepEqual(v, {
          verdict: "unknown-key",
          keyId: key().keyId,
          userId: null,
          reason: `unknown key ${key().keyId}`,
        });
      });
    });
  }

  it("a wrong passphrase or none is refused with a KEY error that says so", async () => {
    await assert.rejects(Signer.fromArmour(ed.privateArmour, "wrong"), (err: unknown) => {
      assert.ok(err instanceof VOEventError);
      assert.equal(err.code, "KEY");
      assert.match(err.message, /passphrase does not unlock/);
      return true;
    });
    await assert.rejects(
      Signer.fromArmour(ed.privateArmour, ""),
      /protected by a passphrase, and none is set/,
    );
  });

  it("every corpus packet: the signed range found by the scan is the one found by hand", () => {
    for (const row of readIndex()) {
      const packet = readPacket(row.file);
      const env = readEnvelope(packet);
      if (row.notable_features.includes("LEADING NON-XML TEXT")) {
        assert.equal(env.covered, null, row.file);
        continue;
      }
      if (row.notable_features.includes("NOT WELL-FORMED")) continue;
      assert.deepEqual(env.covered, coveredByHand(packet), row.file);
      assert.deepEqual(env.armours, [], row.file);
    }
  });
});
