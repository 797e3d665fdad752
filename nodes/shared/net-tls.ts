/**
 * TLS for the network nodes from Node-RED's core `tls-config` node, the one
 * the core MQTT and TCP nodes use: certificate, key and CA (uploaded or read
 * from files by that node), "verify server certificate", server name and a
 * key passphrase.
 *
 * - Server (receiver, broadcaster): needs a certificate and a key. Clients are
 *   not asked for certificates (as the core TCP-in node).
 * - Client (subscriber, sender; voevent-archive-db to PostgreSQL): the CA to trust (system CAs when none),
 *   verification as the checkbox says, an optional client certificate and key
 *   (mutual TLS), the server name to check.
 *
 * A key with a passphrase is decrypted here, once, as the VTP engine takes
 * plain PEM.
 */
import { createPrivateKey } from "node:crypto";
import type { Node, NodeAPI } from "node-red";
import type { TlsOptions } from "../../src/vtp/tls";
import { SettingError } from "./net-config";

/** The runtime side of a core `tls-config` node (node-red/nodes/core/network/05-tls.js). */
export interface TlsConfigNode extends Node<{ passphrase?: string }> {
  valid?: boolean;
  cert?: string | Buffer;
  key?: string | Buffer;
  ca?: string | Buffer;
  verifyservercert?: boolean | string;
  servername?: string;
}

/**
 * TlsOptions from the `tls` property of a node's config (a tls-config node's
 * id), or undefined when it is blank (plain TCP). Throws SettingError
 * ("errors.tls-missing", "errors.tls-invalid", "errors.tls-server",
 * "errors.tls-passphrase").
 */
export function tlsFromConfig(RED: NodeAPI, id: unknown, role: "server" | "client"): TlsOptions | undefined {
  if (typeof id !== "string" || id === "") return undefined;
  const found = RED.nodes.getNode(id) as TlsConfigNode | null;
  if (found === null || found === undefined || found.type !== "tls-config") {
    throw new SettingError("errors.tls-missing", { id });
  }
  if (found.valid === false) throw new SettingError("errors.tls-invalid");
  const passphrase = found.credentials?.passphrase;
  let key = found.key;
  if (key !== undefined && typeof passphrase === "string" && passphrase !== "") {
    try {
      key = createPrivateKey({ key, passphrase, format: "pem" }).export({ type: "pkcs8", format: "pem" });
    } catch (err) {
      throw new SettingError("errors.tls-passphrase", { error: err instanceof Error ? err.message : "" });
    }
  }
  const out: TlsOptions = {};
  if (found.cert !== undefined) out.cert = found.cert;
  if (key !== undefined) out.key = key;
  if (found.ca !== undefined) out.ca = found.ca;
  if (role === "server") {
    if (out.cert === undefined || out.key === undefined) throw new SettingError("errors.tls-server");
    return out;
  }
  out.rejectUnauthorized = !(found.verifyservercert === false || found.verifyservercert === "false");
  const servername = typeof found.servername === "string" ? found.servername.trim() : "";
  if (servername !== "") out.servername = servername;
  return out;
}
