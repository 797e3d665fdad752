/**
 * Node-RED 5 leg: Node 22 and Node-RED 5 from the npm registry, kept in .nr5/ by
 * scripts/ensure-nr5.sh (run here if missing); the packed package loads there too.
 */
import assert from "node:assert/strict";
import {
  declaredNodeSets,
  ensureNodeRed5,
  INSTALL_TIMEOUT_MS,
  PACKAGE_JSON,
  PACKAGE_NAME,
  type Runtime,
  run,
  startRuntime,
} from "./harness";

describe("e2e: Node-RED 5 (Node 22) with the packed package", function () {
  this.timeout(60_000);
  let rt: Runtime | undefined;

  before(async function () {
    this.timeout(2 * INSTALL_TIMEOUT_MS + 60_000);
    const nr5 = await ensureNodeRed5();
    const { stdout } = await run(nr5.nodeBinary, ["--version"]);
    assert.match(stdout.trim(), /^v22\./, "the .nr5 node is Node 22");
    rt = await startRuntime(nr5);
  });

  after(async () => {
    await rt?.stop();
  });

  it("runs Node-RED 5.x on Node 22", async () => {
    const settings = await rt!.settings();
    assert.match(String(settings.version), /^5\./);
    assert.match(rt!.logs(), /Node\.js\s+version: v22\./);
  });

  it("loads every node set of the package", async () => {
    const sets = (await rt!.nodes()).filter((s) => s.module === PACKAGE_NAME);
    const declared = declaredNodeSets();
    assert.deepEqual(sets.map((s) => s.name).sort(), [...declared].sort());
    for (const set of sets) {
      assert.equal(set.err, undefined, `${set.name} loaded without error`);
      assert.equal(set.enabled, true, `${set.name} enabled`);
      assert.equal(set.version, PACKAGE_JSON.version);
    }
  });

  it("deploys and reads back a flow", async () => {
    const flows = [
      { id: "nr5-tab", type: "tab", label: "nr5" },
      { id: "nr5-inject", type: "inject", z: "nr5-tab", wires: [["nr5-debug"]] },
      { id: "nr5-debug", type: "debug", z: "nr5-tab", wires: [] },
    ];
    await rt!.deploy(flows);
    assert.deepEqual((await rt!.getFlows()).map((n) => n.id).sort(), ["nr5-debug", "nr5-inject", "nr5-tab"]);
  });
});
