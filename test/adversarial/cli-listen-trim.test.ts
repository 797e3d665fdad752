/**
 * Issue 8, row 12: `voevent-listen --xml` trimmed each packet with replace(/\s+$/, ""),
 * which is quadratic in a run of white space inside the packet (tried at every start of the
 * run): a 100 000-space run took ~20 s here before it printed anything. The CLI now trims
 * without a regular expression. Measured: from the broadcast to the packet on the CLI's
 * stdout (the CLI is connected before the clock starts), with a generous margin; the output
 * is the packet exactly, trailing white space removed.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { VTPBroadcaster } from "../../src/vtp/broadcaster";
import { packetPath } from "../helpers/corpus";

const ROOT = path.resolve(__dirname, "../..");
const TSX = require.resolve("tsx/cjs");

describe("adversarial: voevent-listen --xml on a packet with a long run of white space (issue 8 row 12)", function () {
  this.timeout(120_000);

  it("prints it at once", async () => {
    const broadcaster = new VTPBroadcaster({
      host: "127.0.0.1",
      port: 0,
      localIvo: "ivo://adversarial.test/cli",
    });
    const { port } = await broadcaster.listen();
    const child = spawn(
      process.execPath,
      [
        "--require",
        TSX,
        path.join(ROOT, "src/cli/listen.ts"),
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
      ].concat(["--xml", "-n", "1"]),
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    let printedAt = 0;
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (printedAt === 0) printedAt = performance.now();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    try {
      const end = Date.now() + 60_000;
      while (broadcaster.count === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      assert.equal(broadcaster.count, 1, `the CLI did not connect: ${stderr}`);
      const text = readFileSync(packetPath("gwcelery__swift_grb_gcn.xml"), "utf8");
      const packet = text.replace("</What>", `<Description>a${" ".repeat(100_000)}b</Description></What>`);
      assert.ok(packet !== text);
      const sentAt = performance.now();
      assert.equal(broadcaster.broadcast(packet), 1);
      const code = await exited;
      assert.equal(code, 0, stderr);
      const ms = printedAt - sentAt;
      assert.ok(ms < 5000, `printed ${ms.toFixed(0)} ms after the broadcast`);
      assert.equal(stdout, `${packet.trimEnd()}\n\n`);
    } finally {
      child.kill();
      await broadcaster.close();
    }
  });
});
