/**
 * Signed alerts end to end, in a real Node-RED runtime with the package installed from its
 * tarball: the broker example (01) and the signed-alerts example (13) deployed together, ports
 * moved to free ones, the keyring given a public key made here. A packet signed by that key,
 * published to the broker's receiver, reaches example 13's subscriber (signatures: require)
 * through the broadcaster with msg.signature "signed"; a forged one (signed by another key)
 * and an unsigned one are dropped there, and said so in the log. The receiver of example 13
 * (check) and its filter's "signed by" rule route signed and unsigned packets apart.
 */
import assert from "node:assert/strict";
import * as openpgp from "openpgp";
import { Signer, signPacket } from "../../src/signature";
import { sendEvent } from "../../src/vtp/sender";
import { readPacket } from "../helpers/corpus";
import { readExample, rewriteFlow, seen, tapDebugs } from "./flows";
import { delay, freePort, INSTALL_TIMEOUT_MS, type Runtime, startRuntime } from "./harness";

async function makeKey(name: string): Promise<{ pub: string; signer: Signer }> {
  const k = await openpgp.generateKey({
    type: "ecc",
    curve: "ed25519Legacy",
    userIDs: [{ name, email: `${name.toLowerCase()}@example.org` }],
    format: "armored",
  });
  return { pub: k.publicKey, signer: await Signer.fromArmour(k.privateKey) };
}

/** A corpus GCN notice with a fresh IVORN (the broker's dedupe passes each once). */
function gcnPacket(tag: string): string {
  const xml = readPacket("gwcelery__fermi_grb_gcn.xml").toString("utf8");
  return xml.replace(
    /ivorn="([^"#]+)#([^"]+)"/,
    (_m, stream: string, local: string) => `ivorn="${stream}#${local}-${tag}"`,
  );
}

function ivornOf(xml: string): string {
  const m = /ivorn="([^"]+)"/.exec(xml);
  if (!m?.[1]) throw new Error("no ivorn");
  return m[1];
}

describe("e2e: signed alerts through the broker example", function () {
  this.timeout(60_000);
  let rt: Runtime;

  before(async function () {
    this.timeout(INSTALL_TIMEOUT_MS + 60_000);
    rt = await startRuntime();
  });

  after(async () => {
    await rt?.stop();
  });

  it("a signed packet reaches the subscriber with require; a forged and an unsigned one are refused", async () => {
    const author = await makeKey("Author");
    const forger = await makeKey("Forger");
    const ports = { 8100: await freePort(), 8101: await freePort(), 8130: await freePort() };
    const broker = rewriteFlow(readExample("01-broker.json"), { ports });
    const signedExample = tapDebugs(rewriteFlow(readExample("13-signed-alerts.json"), { ports }), {
      "ex13-signed-in": 'voevent.ivorn & " " & signature.verdict',
      "ex13-ours": 'voevent.ivorn & " " & signature.verdict',
      "ex13-other": 'voevent.ivorn & " " & signature.verdict',
    });
    for (const n of signedExample) if (n.id === "ex13-keyring") n.publicKeys = author.pub;
    // Both examples carry the shared identity node: deploy it once.
    const flows = [...broker, ...signedExample.filter((n) => !broker.some((b) => b.id === n.id))];
    const since = rt.logs().length;
    await rt.deploy(flows);
    await rt.waitForLog("Started flows", 20_000, since);
    assert.doesNotMatch(rt.logs().slice(since), /\[error\]/);

    // The subscriber connects to the broadcaster: send signed packets until one arrives.
    let first = "";
    for (let i = 0; first === "" && i < 40; i++) {
      const p = await signPacket(gcnPacket(`probe${i}`), author.signer);
      assert.equal(
        (await sendEvent({ host: "127.0.0.1", port: ports[8100], payload: p, timeoutMs: 5000 })).reply,
        "ack",
      );
      const t = Date.now() + 500;
      while (first === "" && Date.now() < t) {
        if (rt.logs().includes(seen("ex13-signed-in", `${ivornOf(p)} signed`))) first = p;
        else await delay(50);
      }
    }
    assert.notEqual(first, "", "a signed packet reached the subscriber");

    const forged = await signPacket(gcnPacket("forged"), forger.signer);
    const unsigned = gcnPacket("unsigned");
    const signed = await signPacket(gcnPacket("signed"), author.signer);
    for (const p of [forged, unsigned, signed]) {
      // The broker example checks nothing: it acks and relays all three, bytes unchanged.
      assert.equal(
        (await sendEvent({ host: "127.0.0.1", port: ports[8100], payload: p, timeoutMs: 5000 })).reply,
        "ack",
      );
    }
    await rt.waitForLog(seen("ex13-signed-in", `${ivornOf(signed)} signed`), 15_000, since);
    const log = rt.logs().slice(since);
    assert.ok(!log.includes(seen("ex13-signed-in", ivornOf(forged))), "the forged packet was not passed on");
    assert.ok(
      !log.includes(seen("ex13-signed-in", ivornOf(unsigned))),
      "the unsigned packet was not passed on",
    );
    assert.match(
      log,
      new RegExp(
        `dropped ${ivornOf(forged).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} .*signature required: unknown key`,
      ),
    );
    assert.match(log, /signature required: unsigned/);

    // Example 13's own receiver checks: signed → "signed", the others → "unsigned or not ours".
    const mine = await signPacket(gcnPacket("check-signed"), author.signer);
    const theirs = await signPacket(gcnPacket("check-forged"), forger.signer);
    for (const p of [mine, theirs])
      assert.equal(
        (await sendEvent({ host: "127.0.0.1", port: ports[8130], payload: p, timeoutMs: 5000 })).reply,
        "ack",
      );
    await rt.waitForLog(seen("ex13-ours", `${ivornOf(mine)} signed`), 10_000, since);
    await rt.waitForLog(seen("ex13-other", `${ivornOf(theirs)} unknown-key`), 10_000, since);
  });
});
