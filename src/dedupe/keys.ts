import crypto, { createHash } from "node:crypto";

/**
 * crypto.hash (Node 20.12, 21.7 and later): one call, no Hash object per key, about twice as
 * fast for a packet of a few kB; createHash where it is missing. A string is hashed as UTF-8.
 */
const oneShot = (crypto as { hash?: (alg: string, data: string | Buffer, enc: "hex") => string }).hash;

/**
 * The dedupe key of a packet's bytes: the hex SHA-1 of exactly what was
 * received (a string is taken as UTF-8), as Comet's event database and VTP 2.0
 * §8 do. Two packets differing in any byte (a re-serialised copy, the 1.1 and
 * 2.0 renderings of one event) get different keys; key on the IVORN to catch
 * those.
 */
export function sha1Key(payload: string | Buffer): string {
  if (typeof payload !== "string" && !Buffer.isBuffer(payload)) {
    throw new TypeError("sha1Key: payload must be a string or a Buffer");
  }
  if (oneShot !== undefined) return oneShot("sha1", payload, "hex");
  const hash = createHash("sha1");
  if (typeof payload === "string") hash.update(payload, "utf8");
  else hash.update(payload);
  return hash.digest("hex");
}
