/**
 * The packed package, installed with npm into a Node-RED 4 user directory, loads in a real
 * runtime: GET /nodes lists it with every node set of package.json's "node-red"."nodes" map
 * registered and enabled, and a flow deployed through the admin API reads back the same.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  declaredNodeSets,
  type FlowNode,
  INSTALL_TIMEOUT_MS,
  PACKAGE_JSON,
  PACKAGE_NAME,
  type Runtime,
  startRuntime,
} from "./harness";

describe("e2e: Node-RED runtime with the packed package", function () {
  this.timeout(60_000);
  let rt: Runtime | undefined;

  before(async function () {
    this.timeout(INSTALL_TIMEOUT_MS + 60_000);
    rt = await startRuntime();
  });

  after(async () => {
    await rt?.stop();
  });

  it("installs the package from its tarball into the user directory", () => {
    const installed = path.join(rt!.userDir, "node_modules", ...PACKAGE_NAME.split("/"));
    assert.ok(!fs.lstatSync(installed).isSymbolicLink(), "installed as files, not linked");
    const manifest = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8")) as {
      version: string;
    };
    assert.equal(manifest.version, PACKAGE_JSON.version);
    for (const file of Object.values(PACKAGE_JSON["node-red"]?.nodes ?? {})) {
      assert.ok(fs.existsSync(path.join(installed, file)), `${file} is in the package`);
    }
  });

  it("registers every node set of package.json with Node-RED, enabled and without error", async () => {
    const sets = (await rt!.nodes()).filter((s) => s.module === PACKAGE_NAME);
    const declared = declaredNodeSets();
    if (declared.length === 0) {
      // No nodes yet: Node-RED lists a module only through its node sets.
      assert.deepEqual(sets, []);
      return;
    }
    assert.deepEqual(sets.map((s) => s.name).sort(), [...declared].sort(), "the module's node sets");
    for (const set of sets) {
      assert.equal(set.err, undefined, `${set.name} loaded without error`);
      assert.equal(set.enabled, true, `${set.name} enabled`);
      assert.notEqual(set.loaded, false, `${set.name} loaded`);
      assert.equal(set.version, PACKAGE_JSON.version);
      assert.equal(set.local, true, `${set.name} comes from the user directory`);
      assert.ok(set.types.includes(set.name), `${set.name} registers the type ${set.name}: ${set.types}`);
    }
    assert.doesNotMatch(rt!.logs(), /\[(error|warn)\].*voevent/i);
  });

  it("deploys a flow through the admin API and reads it back", async () => {
    const flows: FlowNode[] = [
      { id: "e2e-tab", type: "tab", label: "e2e" },
      {
        id: "e2e-inject",
        type: "inject",
        z: "e2e-tab",
        name: "tick",
        props: [{ p: "payload" }],
        payload: "hello",
        payloadType: "str",
        repeat: "",
        once: true,
        onceDelay: 0.1,
        topic: "",
        wires: [["e2e-debug"]],
      },
      {
        id: "e2e-debug",
        type: "debug",
        z: "e2e-tab",
        name: "out",
        active: true,
        tosidebar: true,
        console: true,
        complete: "payload",
        targetType: "msg",
        wires: [],
      },
    ];
    const since = rt!.logs().length;
    const rev = await rt!.deploy(flows);
    assert.match(rev, /^[0-9a-f]+$/);
    const back = await rt!.getFlows();
    assert.deepEqual(back.map((n) => n.id).sort(), flows.map((n) => n.id).sort());
    const debug = back.find((n) => n.id === "e2e-debug");
    assert.deepEqual(debug?.wires, []);
    assert.deepEqual(back.find((n) => n.id === "e2e-inject")?.wires, [["e2e-debug"]]);
    // The debug node logs to the console: the flow really ran.
    await rt!.waitForLog(/\[debug:out\][\s\S]*hello/, 10_000, since);
  });
});
