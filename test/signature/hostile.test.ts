/**
 * Hostile signatures and keys: each refused with a clear verdict (or a KEY
 * error for a keyring), never a throw, within a bound on the work done.
 * Keys are made with OpenPGP.js here (fast); GnuPG's own keys are in gnupg.test.ts.
 */
import assert from "node:assert/strict";
import * as openpgp from "openpgp";
import { VOEventError } from "../../src/errors";
import {
  InOrder,
  Keyring,
  readEnvelope,
  refusalOf,
  type SignatureVerdict,
  Signer,
  signatureMode,
  signPacket,
  verifyPacket,
} from "../../src/signature";
import { describeCorpus, readPacket } from "../helpers/corpus";

const PACKET = "gwcelery__fermi_grb_gcn.xml";

async function makeKey(name: string, subkeys = 0): Promise<{ pub: string; priv: string }> {
  const k = await openpgp.generateKey({
    type: "ecc",
    curve: "ed25519Legacy",
    userIDs: [{ name, email: `${name.toLowerCase()}@example.org` }],
    passphrase: "pw",
    subkeys: Array.from({ length: subkeys }, () => ({ sign: true })),
    format: "armored",
  });
  return { pub: k.publicKey, priv: k.privateKey };
}

/** A signature comment the appendix's way around an armour. */
function withComment(packet: Buffer, armour: string, times = 1): Buffer {
  const end = packet.lastIndexOf(">") + 1;
  const comment = `<!--\n${armour.replaceAll("-----", "=====")}\n-->\n`;
  return Buffer.concat([packet.subarray(0, end), Buffer.from(comment.repeat(times), "latin1")]);
}

describeCorpus("signature: hostile input", function (this: Mocha.Suite) {
  this.timeout(60_000);
  let alice: { pub: string; priv: string };
  let keyring: Keyring;
  let signer: Signer;
  let packet: Buffer;
  let signed: Buffer;

  before(async () => {
    alice = await makeKey("Alice");
    keyring = await Keyring.fromArmour(alice.pub);
    signer = await Signer.fromArmour(alice.priv, "pw");
    packet = readPacket(PACKET);
    signed = await signPacket(packet, signer);
  });

  it("signs and verifies its own packets; the keyring indexes the primary key and its subkeys", async () => {
    const v = await verifyPacket(signed, keyring);
    assert.equal(v.verdict, "signed", v.reason);
    assert.equal(v.keyId, signer.info.subkeyIds.length > 0 ? v.keyId : signer.info.keyId);
    assert.equal(v.userId, "Alice <alice@example.org>");
    assert.equal((await verifyPacket(signed.toString("utf8"), keyring)).verdict, "signed");
    assert.equal((await verifyPacket(packet, keyring)).verdict, "unsigned");
    assert.equal((await verifyPacket(signed, Keyring.empty())).verdict, "unknown-key");
  });

  it("signing again replaces the earlier signature (one signature comment, still verifies)", async () => {
    const again = await signPacket(signed, signer);
    assert.equal(readEnvelope(again).armours.length, 1);
    assert.equal((await verifyPacket(again, keyring)).verdict, "signed");
  });

  it("a huge armour is refused before decoding: malformed, naming maxArmourBytes", async () => {
    const huge = withComment(
      packet,
      `-----BEGIN PGP SIGNATURE-----\n\n${"A".repeat(4 * 1024 * 1024)}\n-----END PGP SIGNATURE-----`,
    );
    const before = process.memoryUsage().heapUsed;
    const v = await verifyPacket(huge, keyring);
    assert.equal(v.verdict, "malformed");
    assert.match(v.reason, /maxArmourBytes/);
    // Nothing the size of the armour was decoded or copied as text.
    assert.ok(process.memoryUsage().heapUsed - before < 2 * 1024 * 1024);
  });

  it("many signature comments: refused at the second, without decoding any (maxSignatures)", async () => {
    const armour = readEnvelope(signed).armours[0];
    const many = withComment(packet, armour, 10_000);
    const env = readEnvelope(many);
    assert.deepEqual(env.armours, []);
    assert.match(env.problem ?? "", /more than 1 signature comment .*maxSignatures/);
    const v = await verifyPacket(many, keyring);
    assert.equal(v.verdict, "malformed");
    // Allowing them: each is found, then the first one is checked.
    assert.equal(readEnvelope(many, { maxSignatures: 20_000 }).armours.length, 10_000);
  });

  it("a signature armour that holds a key, or a key certification: malformed, not bad", async () => {
    const key = await openpgp.readKey({ armoredKey: alice.pub });
    const keyInSigArmour = openpgp.armor(openpgp.enums.armor.signature, key.toPacketList().write());
    let v = await verifyPacket(withComment(packet, keyInSigArmour), keyring);
    assert.equal(v.verdict, "malformed");
    assert.match(v.reason, /not an OpenPGP signature|not signatures/);
    // The key's own self-certification (type 0x13) as the "signature".
    const cert = key.users[0].selfCertifications[0];
    const certList = new openpgp.PacketList<openpgp.SignaturePacket>();
    certList.push(cert);
    v = await verifyPacket(
      withComment(packet, openpgp.armor(openpgp.enums.armor.signature, certList.write())),
      keyring,
    );
    assert.deepEqual(
      [v.verdict, v.reason],
      ["malformed", "malformed signature: a signature of type 0x13, not a signature over a document"],
    );
  });

  it("two signature packets in one armour: malformed (maxSignaturePackets), none checked", async () => {
    const sig = await openpgp.readSignature({ armoredSignature: readEnvelope(signed).armours[0] });
    const two = new openpgp.PacketList<openpgp.SignaturePacket>();
    two.push(sig.packets[0]);
    two.push(sig.packets[0]);
    const v = await verifyPacket(
      withComment(packet, openpgp.armor(openpgp.enums.armor.signature, two.write())),
      keyring,
    );
    assert.equal(v.verdict, "malformed");
    assert.match(v.reason, /2 signature packets, more than maxSignaturePackets \(1\)/);
  });

  it("junk in the armour, no end line, a truncated packet, an unclosed comment: malformed; a comment inside the root: unsigned", async () => {
    for (const armour of [
      "-----BEGIN PGP SIGNATURE-----\n\n!!!!\n-----END PGP SIGNATURE-----",
      "-----BEGIN PGP SIGNATURE-----\n",
      "-----BEGIN PGP SIGNATURE-----\n\nwx4EAAAA\n-----END PGP SIGNATURE-----",
    ]) {
      const v = await verifyPacket(withComment(packet, armour), keyring);
      assert.equal(v.verdict, "malformed", armour);
    }
    const unclosed = Buffer.concat([packet, Buffer.from("<!--\n=====BEGIN PGP SIGNATURE=====\nabc")]);
    assert.equal((await verifyPacket(unclosed, keyring)).verdict, "malformed");
    const armour = readEnvelope(signed).armours[0];
    const end = packet.lastIndexOf("</");
    const inside = Buffer.concat([
      packet.subarray(0, end),
      Buffer.from(`<!--\n${armour.replaceAll("-----", "=====")}-->`),
      packet.subarray(end),
    ]);
    assert.equal((await verifyPacket(inside, keyring)).verdict, "unsigned");
  });

  it("a key with many subkeys is refused when the keyring is read (maxSubkeys)", async () => {
    const many = await makeKey("Many", 40);
    await assert.rejects(Keyring.fromArmour(many.pub), (err: unknown) => {
      assert.ok(err instanceof VOEventError);
      assert.equal(err.code, "KEY");
      assert.match(err.message, /has 40 subkeys, more than maxSubkeys \(32\)/);
      return true;
    });
    // Within a raised limit it is read, and its subkeys are looked up too.
    const ring = await Keyring.fromArmour(many.pub, { maxSubkeys: 64 });
    assert.equal(ring.keys[0].subkeyIds.length, 40);
    assert.ok(ring.lookup(ring.keys[0].subkeyIds[39]));
  });

  it("keyring text: blank is empty, junk and an unclosed block are KEY errors, size and count are bounded", async () => {
    assert.equal((await Keyring.fromArmour("  \n")).size, 0);
    await assert.rejects(Keyring.fromArmour("not a key"), /no armoured key block/);
    await assert.rejects(Keyring.fromArmour("-----BEGIN PGP PUBLIC KEY BLOCK-----\nabc"), /not closed/);
    await assert.rejects(Keyring.fromArmour(alice.pub, { maxKeyringBytes: 100 }), /maxKeyringBytes \(100\)/);
    const bob = await makeKey("Bob");
    await assert.rejects(Keyring.fromArmour(alice.pub + bob.pub, { maxKeys: 1 }), /maxKeys \(1\)/);
    // A pasted private key is used as its public half.
    const ring = await Keyring.fromArmour(alice.priv);
    assert.equal(ring.size, 1);
    assert.equal((await verifyPacket(signed, ring)).verdict, "signed");
  });

  it("signatures: require refuses everything but signed; modes read from settings", () => {
    const v = (verdict: SignatureVerdict["verdict"]): SignatureVerdict => ({
      verdict,
      keyId: null,
      userId: null,
      reason: verdict,
    });
    assert.equal(refusalOf("require", v("signed")), null);
    assert.equal(refusalOf("require", v("unsigned")), "signature required: unsigned");
    assert.equal(refusalOf("check", v("bad")), null);
    assert.deepEqual(["check", "require", "x", undefined].map(signatureMode), [
      "check",
      "require",
      "ignore",
      "ignore",
    ]);
  });

  it("InOrder delivers in arrival order whatever each check costs, and bounds its backlog", async () => {
    const got: Array<[number, string]> = [];
    const gate = new InOrder<number>(
      () => keyring,
      (i, v) => got.push([i, v.verdict]),
      { maxBacklog: 4 },
    );
    const inputs = [signed, packet, signed, Buffer.from("junk")];
    for (const [i, b] of inputs.entries()) assert.equal(gate.push(i, b), true);
    assert.equal(gate.push(99, packet), false, "the fifth waits beyond maxBacklog: refused");
    for (let i = 0; i < 200 && got.length < 4; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(got, [
      [0, "signed"],
      [1, "unsigned"],
      [2, "signed"],
      [3, "unsigned"],
    ]);
    gate.close();
    assert.equal(gate.push(5, packet), false);
  });
});
