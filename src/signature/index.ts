/**
 * OpenPGP signatures on VOEvents (Comet's appendix "OpenPGP Signatures, Comet
 * and VOEvents"): envelope.ts finds the signed bytes and the signature comment,
 * keyring.ts reads keys, verify.ts checks and makes signatures, policy.ts is
 * what a receiver or subscriber does with them.
 */
export { ENVELOPE_DEFAULTS, type Envelope, type EnvelopeLimits, readEnvelope, rootSpan } from "./envelope";
export { KEYRING_LIMITS, type KeyInfo, Keyring, type KeyringLimits, Signer } from "./keyring";
export {
  IN_ORDER_DEFAULTS,
  InOrder,
  refusalOf,
  SIGNATURE_MODES,
  type SignatureMode,
  signatureMode,
} from "./policy";
export {
  type SignatureVerdict,
  signPacket,
  VERIFY_DEFAULTS,
  type VerdictName,
  type VerifyLimits,
  verifyPacket,
} from "./verify";
