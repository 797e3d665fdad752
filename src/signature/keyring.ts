/**
 * Keys for signed VOEvents: a keyring of OpenPGP public keys to check
 * signatures against, and a signer (one private key, unlocked with its
 * passphrase) to sign with. Both are read once, when a flow starts, with
 * OpenPGP.js; nothing here runs per event except a look-up by key ID.
 *
 * Decisions:
 * - A keyring is indexed by the key ID of the primary key and of every
 *   subkey (GnuPG signs with a signing subkey when the key has one), upper
 *   case hex, 16 digits, as `gpg --list-keys --keyid-format long` prints them.
 * - Private key blocks pasted among the public keys are used as their public
 *   halves: the keyring never holds secret material.
 * - Bounds (KEYRING_LIMITS), checked before or right after parsing, each
 *   refused with a VOEventError "KEY" that names the limit: the armoured text
 *   (`maxKeyringBytes`, 1 MiB), the keys in it (`maxKeys`, 256), the subkeys of
 *   one key (`maxSubkeys`, 32: checking a signature walks a key's subkeys and
 *   their binding signatures, so a key with thousands of subkeys would make
 *   every check slow) and the user IDs of one key (`maxUserIds`, 64).
 * - The user ID shown for a key is its primary user ID when it has a valid
 *   one, else the first one written; null when it has none.
 */
import * as openpgp from "openpgp";
import { VOEventError } from "../errors";

export interface KeyringLimits {
  /** Armoured text of the keyring, bytes. Default 1 MiB. */
  maxKeyringBytes: number;
  /** Keys in the keyring. Default 256. */
  maxKeys: number;
  /** Subkeys of one key. Default 32. */
  maxSubkeys: number;
  /** User IDs of one key. Default 64. */
  maxUserIds: number;
}

export const KEYRING_LIMITS: KeyringLimits = {
  maxKeyringBytes: 1024 * 1024,
  maxKeys: 256,
  maxSubkeys: 32,
  maxUserIds: 64,
};

/** What a keyring says about one of its keys. */
export interface KeyInfo {
  /** The primary key's ID, 16 upper-case hex digits. */
  keyId: string;
  /** The primary key's fingerprint, upper-case hex. */
  fingerprint: string;
  userId: string | null;
  /** The IDs of its subkeys. */
  subkeyIds: string[];
}

interface Entry {
  key: openpgp.PublicKey;
  info: KeyInfo;
}

/** "ABCD…" from an OpenPGP.js KeyID. */
export function keyIdHex(id: openpgp.KeyID): string {
  return id.toHex().toUpperCase();
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function userIdOf(key: openpgp.Key): Promise<string | null> {
  try {
    const primary = await key.getPrimaryUser();
    const id = primary.user.userID?.userID;
    if (typeof id === "string" && id !== "") return id;
  } catch {
    // No valid self-certified user ID: fall back to the first one written.
  }
  return key.getUserIDs()[0] ?? null;
}

function checkKeyShape(key: openpgp.Key, limits: KeyringLimits): void {
  const id = keyIdHex(key.getKeyID());
  if (key.subkeys.length > limits.maxSubkeys)
    throw new VOEventError(
      "KEY",
      `key ${id} has ${key.subkeys.length} subkeys, more than maxSubkeys (${limits.maxSubkeys})`,
    );
  if (key.users.length > limits.maxUserIds)
    throw new VOEventError(
      "KEY",
      `key ${id} has ${key.users.length} user IDs, more than maxUserIds (${limits.maxUserIds})`,
    );
}

/** The armoured key blocks in a text, in one linear pass (text between blocks is ignored). */
function keyBlocks(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    const begin = text.indexOf("-----BEGIN PGP ", i);
    if (begin < 0) break;
    const kind = text.startsWith("PUBLIC KEY BLOCK-----", begin + 15)
      ? "PUBLIC"
      : text.startsWith("PRIVATE KEY BLOCK-----", begin + 15)
        ? "PRIVATE"
        : null;
    if (kind === null) {
      i = begin + 15;
      continue;
    }
    const endMark = `-----END PGP ${kind} KEY BLOCK-----`;
    const end = text.indexOf(endMark, begin);
    if (end < 0) throw new VOEventError("KEY", `a key block (BEGIN PGP ${kind} KEY BLOCK) is not closed`);
    out.push(text.slice(begin, end + endMark.length));
    i = end + endMark.length;
  }
  return out;
}

/** OpenPGP public keys, by key ID. */
export class Keyring {
  private readonly byId = new Map<string, Entry>();
  readonly keys: readonly KeyInfo[];

  private constructor(entries: Entry[]) {
    for (const e of entries) {
      this.byId.set(e.info.keyId, e);
      for (const sub of e.info.subkeyIds) if (!this.byId.has(sub)) this.byId.set(sub, e);
    }
    this.keys = entries.map((e) => e.info);
  }

  /** An empty keyring: every signature is from an unknown key. */
  static empty(): Keyring {
    return new Keyring([]);
  }

  /**
   * Reads one or more armoured public key blocks (concatenated, as `gpg --export --armor`
   * writes several keys). Blank text gives an empty keyring. Throws VOEventError "KEY".
   */
  static async fromArmour(text: string, limits: Partial<KeyringLimits> = {}): Promise<Keyring> {
    const lim: KeyringLimits = { ...KEYRING_LIMITS, ...limits };
    if (Buffer.byteLength(text, "utf8") > lim.maxKeyringBytes)
      throw new VOEventError(
        "KEY",
        `the public keys are ${Buffer.byteLength(text, "utf8")} bytes, more than maxKeyringBytes (${lim.maxKeyringBytes})`,
      );
    const blocks = keyBlocks(text);
    if (blocks.length === 0) {
      if (text.trim() === "") return Keyring.empty();
      throw new VOEventError(
        "KEY",
        "no armoured key block (-----BEGIN PGP PUBLIC KEY BLOCK-----) in the public keys",
      );
    }
    const entries: Entry[] = [];
    for (const block of blocks) {
      let keys: openpgp.Key[];
      try {
        keys = await openpgp.readKeys({ armoredKeys: block });
      } catch (err) {
        throw new VOEventError("KEY", `a key block cannot be read: ${messageOf(err)}`);
      }
      for (const k of keys) {
        if (entries.length >= lim.maxKeys)
          throw new VOEventError("KEY", `more than maxKeys (${lim.maxKeys}) keys in the keyring`);
        checkKeyShape(k, lim);
        const key = k.isPrivate() ? k.toPublic() : (k as openpgp.PublicKey);
        entries.push({
          key,
          info: {
            keyId: keyIdHex(key.getKeyID()),
            fingerprint: key.getFingerprint().toUpperCase(),
            userId: await userIdOf(key),
            subkeyIds: key.subkeys.map((s) => keyIdHex(s.getKeyID())),
          },
        });
      }
    }
    return new Keyring(entries);
  }

  get size(): number {
    return this.keys.length;
  }

  /** The key holding this (primary or subkey) ID, 16 hex digits in any case. */
  lookup(keyId: string): { key: openpgp.PublicKey; info: KeyInfo } | undefined {
    return this.byId.get(keyId.toUpperCase());
  }
}

/** One private key, unlocked, to sign with. */
export class Signer {
  private constructor(
    readonly key: openpgp.PrivateKey,
    readonly info: KeyInfo,
  ) {}

  /** Reads an armoured private key and unlocks it with the passphrase. Throws VOEventError "KEY". */
  static async fromArmour(
    armouredKey: string,
    passphrase = "",
    limits: Partial<KeyringLimits> = {},
  ): Promise<Signer> {
    const lim: KeyringLimits = { ...KEYRING_LIMITS, ...limits };
    if (armouredKey.trim() === "") throw new VOEventError("KEY", "no private key to sign with");
    if (Buffer.byteLength(armouredKey, "utf8") > lim.maxKeyringBytes)
      throw new VOEventError(
        "KEY",
        `the private key is more than maxKeyringBytes (${lim.maxKeyringBytes}) bytes`,
      );
    let key: openpgp.PrivateKey;
    try {
      key = await openpgp.readPrivateKey({ armoredKey: armouredKey.trim() });
    } catch (err) {
      throw new VOEventError("KEY", `the private key cannot be read: ${messageOf(err)}`);
    }
    checkKeyShape(key, lim);
    if (!key.isDecrypted()) {
      if (passphrase === "")
        throw new VOEventError("KEY", "the private key is protected by a passphrase, and none is set");
      try {
        key = await openpgp.decryptKey({ privateKey: key, passphrase });
      } catch {
        throw new VOEventError("KEY", "the passphrase does not unlock the private key");
      }
    }
    try {
      await key.getSigningKey();
    } catch (err) {
      throw new VOEventError("KEY", `the private key cannot sign: ${messageOf(err)}`);
    }
    const info: KeyInfo = {
      keyId: keyIdHex(key.getKeyID()),
      fingerprint: key.getFingerprint().toUpperCase(),
      userId: await userIdOf(key),
      subkeyIds: key.subkeys.map((s) => keyIdHex(s.getKeyID())),
    };
    return new Signer(key, info);
  }
}
