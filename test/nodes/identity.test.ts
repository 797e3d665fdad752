import assert from "node:assert/strict";
import type { Node, NodeAPI, NodeDef } from "node-red";
import {
  DEFAULT_LOCAL_IVO,
  getLocalIvo,
  type IdentityNode,
  localIvoProblem,
} from "../../nodes/shared/identity";
import { getNode, helper, nodeInit, useNodeRed } from "../helpers/nodered";

/** A stand-in for a network node: resolves its identity as they do, at start. */
interface UserNode extends Node {
  localIvo?: string;
  problem?: string;
}
function userNodeInit(RED: NodeAPI): void {
  function IdentityUser(this: UserNode, config: NodeDef & { identity?: string }) {
    RED.nodes.createNode(this, config);
    try {
      this.localIvo = getLocalIvo(RED, config);
    } catch (err) {
      this.problem = (err as Error).message;
    }
  }
  RED.nodes.registerType("identity-user", IdentityUser);
}

describe("voevent-identity config node", () => {
  useNodeRed();

  it("carries the local IVORN for the nodes that reference it", async () => {
    await helper.load(
      [nodeInit("voevent-identity"), userNodeInit],
      [
        { id: "id1", type: "voevent-identity", name: "", localIvo: " ivo://astro.example.edu/node-red " },
        { id: "u1", type: "identity-user", identity: "id1" },
        { id: "u2", type: "identity-user", identity: "" },
      ],
    );
    const identity = getNode("id1") as IdentityNode;
    assert.equal(identity.localIvo, "ivo://astro.example.edu/node-red");
    assert.equal(identity.problem, null);
    assert.equal((getNode("u1") as UserNode).localIvo, "ivo://astro.example.edu/node-red");
    assert.equal((getNode("u2") as UserNode).localIvo, DEFAULT_LOCAL_IVO, "no identity: the default");
  });

  it("an invalid IVORN is logged at start, and the nodes using it refuse it", async () => {
    await helper.load(
      [nodeInit("voevent-identity"), userNodeInit],
      [
        { id: "id1", type: "voevent-identity", name: "", localIvo: "http://example.org" },
        { id: "u1", type: "identity-user", identity: "id1" },
      ],
    );
    const identity = getNode("id1") as IdentityNode;
    assert.match(String(identity.problem), /does not start with 'ivo:\/\/'/);
    assert.match(String((getNode("u1") as UserNode).problem), /does not start with 'ivo:\/\/'/);
  });

  it("a reference to a missing identity is refused", async () => {
    await helper.load(
      [nodeInit("voevent-identity"), userNodeInit],
      [{ id: "u1", type: "identity-user", identity: "gone" }],
    );
    assert.match(String((getNode("u1") as UserNode).problem), /identity node gone is missing/);
  });

  it("localIvoProblem", () => {
    assert.equal(localIvoProblem(DEFAULT_LOCAL_IVO), null);
    assert.equal(localIvoProblem("ivo://example.org"), null);
    assert.match(String(localIvoProblem("")), /empty/);
    assert.match(String(localIvoProblem("ivo://[x]/y")), /not a valid IVORN/);
  });
});
