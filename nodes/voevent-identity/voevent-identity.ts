/**
 * voevent-identity: a config node carrying this system's IVOA identifier
 * (`localIvo`), used as Origin / Response in VTP Transport messages by the
 * network nodes that reference it through their `identity` property.
 */
import type { NodeAPI, NodeDef } from "node-red";
import { DEFAULT_LOCAL_IVO, type IdentityNode, localIvoProblem } from "../shared/identity";

interface IdentityNodeDef extends NodeDef {
  localIvo: string;
}

/** The runtime node: the identity, checked once when the flows start. */
interface MutableIdentityNode extends IdentityNode {
  localIvo: string;
  problem: string | null;
}

function init(RED: NodeAPI): void {
  function VOEventIdentityNode(this: MutableIdentityNode, config: IdentityNodeDef) {
    RED.nodes.createNode(this, config);
    const value = typeof config.localIvo === "string" ? config.localIvo.trim() : "";
    this.localIvo = value === "" ? DEFAULT_LOCAL_IVO : value;
    this.problem = localIvoProblem(this.localIvo);
    if (this.problem !== null) {
      this.error(RED._("voevent-identity.errors.invalid", { error: this.problem }));
    }
  }
  RED.nodes.registerType("voevent-identity", VOEventIdentityNode);
}

export = init;
