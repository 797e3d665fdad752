/**
 * The signature settings every node shares: reading `signatures` (ignore /
 * check / require), `sign` and `keyring` (the id of a voevent-keyring config
 * node), and what a node needs from that config node. The keyring node reads
 * its keys once (OpenPGP.js is asynchronous); users await the same promise.
 */
import type { NodeAPI } from "node-red";
import type { Keyring, Signer } from "../../src/signature/keyring";
import { type SignatureMode, signatureMode } from "../../src/signature/policy";
import { SettingError } from "./net-config";
import type { Node } from "./types";

/** What a voevent-keyring config node offers its users. */
export interface KeyringConfigNode extends Node {
  /** The public keys, read once; rejects with a VOEventError "KEY" when they cannot be used. */
  keyring(): Promise<Keyring>;
  /** The private key, unlocked, read once; rejects when there is none or it cannot be used. */
  signer(): Promise<Signer>;
}

/** The keyring config node a setting names; SettingError `errors.keyring` when it is missing. */
export function keyringNode(RED: NodeAPI, id: unknown): KeyringConfigNode {
  const node = typeof id === "string" && id !== "" ? RED.nodes.getNode(id) : null;
  const k = node as KeyringConfigNode | null;
  if (k === null || typeof k.keyring !== "function") throw new SettingError("errors.keyring");
  return k;
}

/**
 * The `signatures` setting with its keyring: null for ignore (nothing to do per
 * event), else the mode and the keyring's loader. A missing keyring is a
 * SettingError (`errors.keyring`).
 */
export function signatureSetting(
  RED: NodeAPI,
  config: { signatures?: unknown; keyring?: unknown },
): { mode: Exclude<SignatureMode, "ignore">; keyring: () => Promise<Keyring> } | null {
  const mode = signatureMode(config.signatures);
  if (mode === "ignore") return null;
  const node = keyringNode(RED, config.keyring);
  return { mode, keyring: () => node.keyring() };
}

/** The `sign` setting with its keyring: null when off, else the signer's loader. */
export function signSetting(
  RED: NodeAPI,
  config: { sign?: unknown; keyring?: unknown },
): (() => Promise<Signer>) | null {
  if (!(config.sign === true || config.sign === "true")) return null;
  const node = keyringNode(RED, config.keyring);
  return () => node.signer();
}
