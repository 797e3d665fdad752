/**
 * Checking and making OpenPGP signatures on VOEvents, by Comet's appendix
 * (envelope.ts finds the bytes; OpenPGP.js does the cryptography in-process,
 * no gpg process per event).
 *
 * A verdict is one of:
 * - `signed`: one signature comment, a document signature by a key of the
 *   keyring, valid over the signed bytes (keyId, userId say whose);
 * - `bad`: the signature is by a key of the keyring and does not verify (the
 *   signed bytes were changed, or the key is expired or revoked: `reason` says);
 * - `unknown-key`: a readable signature by a key not in the keyring (keyId says which);
 * - `unsigned`: no signature comment after the root element;
 * - `malformed`: a signature comment that cannot be used (over a limit, not an
 *   OpenPGP signature, more than one signature packet, not a signature over a
 *   document).
 *
 * Decisions:
 * - Only signatures of type binary (0x00, what `gpg --detach-sign` makes) or
 *   text (0x01) over a document count; a key certification or any other type
 *   inside a signature armour is `malformed`, not `bad`.
 * - One signature packet per comment (`maxSignaturePackets`, 1): a block of
 *   many packets is refused before any is checked, so a hostile packet costs
 *   at most one public-key operation.
 * - The issuer is read from the Issuer Fingerprint subpacket when present
 *   (the key ID is its last 8 bytes for a v4 key, its first 8 for a v6 key),
 *   else from the Issuer key ID subpacket.
 * - verifyPacket never throws and never rejects: every failure is a verdict.
 */
import * as openpgp from "openpgp";
import { VOEventError } from "../errors";
import { commentText, ENVELOPE_DEFAULTS, type EnvelopeLimits, readEnvelope, rootSpan } from "./envelope";
import { type Keyring, keyIdHex, type Signer } from "./keyring";

export type VerdictName = "signed" | "bad" | "unknown-key" | "unsigned" | "malformed";

/**
 * msg.signature: the verdict; the signing key's ID (16 hex digits, the subkey's
 * when a subkey signed); its user ID and its primary key's fingerprint when the
 * key is in the keyring; and why, in words.
 */
export interface SignatureVerdict {
  verdict: VerdictName;
  keyId: string | null;
  userId: string | null;
  fingerprint?: string;
  reason: string;
}

export interface VerifyLimits extends EnvelopeLimits {
  /** Signature packets in one signature comment. Default 1. */
  maxSignaturePackets: number;
}

export const VERIFY_DEFAULTS: VerifyLimits = { ...ENVELOPE_DEFAULTS, maxSignaturePackets: 1 };

/** Longest error text of OpenPGP.js quoted in a reason. */
const MAX_REASON_DETAIL = 200;

function detail(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.length > MAX_REASON_DETAIL ? `${m.slice(0, MAX_REASON_DETAIL)}…` : m;
}

function verdict(
  v: VerdictName,
  reason: string,
  keyId: string | null = null,
  userId: string | null = null,
  fingerprint?: string,
): SignatureVerdict {
  return fingerprint === undefined
    ? { verdict: v, keyId, userId, reason }
    : { verdict: v, keyId, userId, fingerprint, reason };
}

/** The 16-digit issuer key ID of a signature packet, or null when it names none. */
function issuerOf(p: openpgp.SignaturePacket): string | null {
  const fp = p.issuerFingerprint;
  if (fp instanceof Uint8Array && fp.length >= 8) {
    // A v4 key's ID is the end of its fingerprint; a v6 key's, the start.
    const id = p.issuerKeyVersion === 6 ? fp.subarray(0, 8) : fp.subarray(fp.length - 8);
    return Buffer.from(id).toString("hex").toUpperCase();
  }
  const id = p.issuerKeyID;
  if (id === undefined || id === null) return null;
  const hex = keyIdHex(id);
  return hex === "0000000000000000" ? null : hex;
}

/**
 * The verdict on a packet's signature against a keyring. `bytes` are the
 * packet's bytes exactly as received (a string is taken as its UTF-8 bytes).
 */
export async function verifyPacket(
  bytes: Uint8Array | string,
  keyring: Keyring,
  limits: Partial<VerifyLimits> = {},
): Promise<SignatureVerdict> {
  const lim: VerifyLimits = { ...VERIFY_DEFAULTS, ...limits };
  const buf =
    typeof bytes === "string"
      ? Buffer.from(bytes, "utf8")
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const env = readEnvelope(buf, lim);
  if (env.problem !== null) return verdict("malformed", `malformed signature: ${env.problem}`);
  if (env.covered === null || env.armours.length === 0) return verdict("unsigned", "unsigned");
  let sig: openpgp.Signature;
  try {
    sig = await openpgp.readSignature({ armoredSignature: env.armours[0] });
  } catch (err) {
    return verdict("malformed", `malformed signature: not an OpenPGP signature (${detail(err)})`);
  }
  const packets = sig.packets.filterByTag(openpgp.enums.packet.signature);
  if (packets.length !== sig.packets.length || packets.length === 0)
    return verdict("malformed", "malformed signature: the armour holds packets that are not signatures");
  if (packets.length > lim.maxSignaturePackets)
    return verdict(
      "malformed",
      `malformed signature: ${packets.length} signature packets, more than maxSignaturePackets (${lim.maxSignaturePackets})`,
    );
  const packet = packets[0] as openpgp.SignaturePacket;
  const type = packet.signatureType;
  if (type !== openpgp.enums.signature.binary && type !== openpgp.enums.signature.text)
    return verdict(
      "malformed",
      `malformed signature: a signature of type 0x${(type ?? 0).toString(16).padStart(2, "0")}, not a signature over a document`,
    );
  const keyId = issuerOf(packet);
  if (keyId === null) return verdict("malformed", "malformed signature: it names no issuer key");
  const entry = keyring.lookup(keyId);
  if (entry === undefined) return verdict("unknown-key", `unknown key ${keyId}`, keyId);
  const userId = entry.info.userId;
  const fingerprint = entry.info.fingerprint;
  try {
    const message = await openpgp.createMessage({ binary: buf.subarray(env.covered.start, env.covered.end) });
    const result = await openpgp.verify({
      message,
      signature: sig,
      verificationKeys: entry.key,
      format: "binary",
    });
    const first = result.signatures[0];
    if (first === undefined)
      return verdict("bad", `bad signature by ${keyId}: nothing verified`, keyId, userId, fingerprint);
    await first.verified;
    const who = `${keyId}${userId === null ? "" : ` (${userId})`}`;
    return verdict("signed", `signed by ${who}`, keyId, userId, fingerprint);
  } catch (err) {
    return verdict("bad", `bad signature by ${keyId}: ${detail(err)}`, keyId, userId, fingerprint);
  }
}

/**
 * Signs a packet: the bytes up to the end of its root element, then the
 * detached armoured signature in a comment (`=====` for `-----`), then a line
 * end. Whatever followed the root element (an earlier signature) is replaced.
 * A string is signed as UTF-8 and returned as a string; bytes are returned as
 * bytes. Throws VOEventError "MALFORMED" when there is no root element.
 */
export async function signPacket(packet: string, signer: Signer): Promise<string>;
export async function signPacket(packet: Buffer, signer: Signer): Promise<Buffer>;
export async function signPacket(packet: string | Buffer, signer: Signer): Promise<string | Buffer> {
  const buf = typeof packet === "string" ? Buffer.from(packet, "utf8") : packet;
  const span = rootSpan(buf);
  if (typeof span === "string") throw new VOEventError("MALFORMED", `cannot sign: ${span}`);
  const covered = buf.subarray(span.start, span.end);
  const message = await openpgp.createMessage({ binary: covered });
  const armour = await openpgp.sign({ message, signingKeys: signer.key, detached: true, format: "armored" });
  const comment = `<!--\n${commentText(armour.endsWith("\n") ? armour : `${armour}\n`)}-->\n`;
  const out = Buffer.concat([buf.subarray(0, span.end), Buffer.from(comment, "latin1")]);
  return typeof packet === "string" ? out.toString("utf8") : out;
}
