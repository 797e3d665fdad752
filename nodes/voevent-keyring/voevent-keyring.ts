/**
 * voevent-keyring: a config node holding OpenPGP keys for signed VOEvents
 * (src/signature): public keys to check signatures against, pasted as
 * armoured text or read from a file, and optionally one private key with its
 * passphrase (credentials, never in the flow JSON) to sign with.
 *
 * Decisions:
 * - Keys are read once, on first use (OpenPGP.js is asynchronous); every user
 *   awaits the same promise. A redeploy makes a new node, so edited keys apply.
 * - A keyring that cannot be read is reported once (node.error) and rejects
 *   for each user: a receiver or subscriber set to `require` then refuses
 *   every event (it never passes events it cannot check), one set to `check`
 *   marks them "unknown-key".
 * - The file, when set, is read as well as the pasted keys; its size is bounded
 *   by the keyring's own limit (maxKeyringBytes, 1 MiB) before it is read.
 */
import { readFile, stat } from "node:fs/promises";
import type { NodeAPI, NodeDef } from "node-red";
import { VOEventError } from "../../src/errors";
import { KEYRING_LIMITS, Keyring, Signer } from "../../src/signature/keyring";
import { asError } from "../shared/lifecycle";
import type { KeyringConfigNode } from "../shared/signatures";
import type { Node } from "../shared/types";

interface KeyringNodeDef extends NodeDef {
  publicKeys?: string;
  file?: string;
}

interface KeyringCredentials {
  privateKey?: string;
  passphrase?: string;
}

const TYPE = "voevent-keyring";

async function fileText(file: string): Promise<string> {
  const s = await stat(file);
  if (s.size > KEYRING_LIMITS.maxKeyringBytes)
    throw new VOEventError(
      "KEY",
      `${file} is ${s.size} bytes, more than maxKeyringBytes (${KEYRING_LIMITS.maxKeyringBytes})`,
    );
  return readFile(file, "utf8");
}

function init(RED: NodeAPI): void {
  function VOEventKeyringNode(this: Node, config: KeyringNodeDef) {
    RED.nodes.createNode(this, config);
    const self = this as KeyringConfigNode;
    const credentials = (this.credentials ?? {}) as KeyringCredentials;
    let keys: Promise<Keyring> | null = null;
    let signer: Promise<Signer> | null = null;

    self.keyring = () => {
      if (keys === null) {
        keys = (async () => {
          const file = String(config.file ?? "").trim();
          const text = `${config.publicKeys ?? ""}\n${file === "" ? "" : await fileText(file)}`;
          const ring = await Keyring.fromArmour(text);
          this.log(RED._(`${TYPE}.log.keys`, { count: ring.size }));
          return ring;
        })();
        keys.catch((err: unknown) =>
          this.error(RED._(`${TYPE}.errors.keys`, { error: asError(err).message })),
        );
      }
      return keys;
    };

    self.signer = () => {
      if (signer === null) {
        signer = Signer.fromArmour(credentials.privateKey ?? "", credentials.passphrase ?? "");
        signer.catch((err: unknown) =>
          this.error(RED._(`${TYPE}.errors.private`, { error: asError(err).message })),
        );
      }
      return signer;
    };
  }
  RED.nodes.registerType(TYPE, VOEventKeyringNode, {
    credentials: { privateKey: { type: "password" }, passphrase: { type: "password" } },
  });
}

export = init;
