/**
 * The local identity: this system's IVOA identifier (`localIvo`), carried by a
 * voevent-identity config node that the network nodes reference through their
 * `identity` property.
 */
import type { NodeAPI } from "node-red";
import { VOEventError } from "../../src/errors";
import { parseIvorn } from "../../src/voevent/ivorn";
import type { Node } from "./types";

/** Used when a node references no identity. */
export const DEFAULT_LOCAL_IVO = "ivo://node-red.local/voevent";

/** The runtime side of a voevent-identity config node. */
export interface IdentityNode extends Node {
  readonly localIvo: string;
  /** Why localIvo is unusable, or null. */
  readonly problem: string | null;
}

/** Why `value` cannot be a local identity, or null when it can. */
export function localIvoProblem(value: unknown): string | null {
  if (typeof value !== "string" || value.trim() === "") return "the local IVORN is empty";
  try {
    parseIvorn(value.trim());
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * The localIvo for a node whose config has an `identity` property (the id of a
 * voevent-identity node): that node's localIvo, or DEFAULT_LOCAL_IVO when none
 * is set. Throws VOEventError("BAD_IVORN") when the referenced identity is
 * missing or its IVORN is invalid; call it from the constructor and refuse to
 * start (red status, node.error) when it throws.
 */
export function getLocalIvo(RED: NodeAPI, config: { identity?: unknown }): string {
  const id = config.identity;
  if (typeof id !== "string" || id === "") return DEFAULT_LOCAL_IVO;
  const found = RED.nodes.getNode(id) as IdentityNode | null;
  if (found === null || found === undefined || found.type !== "voevent-identity") {
    throw new VOEventError("BAD_IVORN", `the identity node ${id} is missing (was it deleted?)`);
  }
  if (found.problem !== null) throw new VOEventError("BAD_IVORN", found.problem);
  return found.localIvo;
}
