import { createHash } from "node:crypto";

/**
 * The dedupe key of a packet's bytes: the hex SHA-1 of exactly what was
 * received (a string is taken as UTF-8), as Comet's event database and VTP 2.0
 * §8 do. Two packets differing in any byte (a re-serialised copy, the 1.1 and
 * 2.0 renderings of one event) get different keys; key on the IVORN to catch
 * those.
 */
export function sha1Key(payload: string | Buffer): string {
  const hash = createHash("sha1");
  if (typeof payload === "string") hash.update(payload, "utf8");
  else if (Buffer.isBuffer(payload)) hash.update(payload);
  else throw new TypeError("sha1Key: payload must be a string or a Buffer");
  return hash.digest("hex");
}
