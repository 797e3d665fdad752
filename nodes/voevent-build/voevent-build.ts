/**
 * voevent-build: makes a VOEvent 2.0 packet from the node's settings merged
 * with an object msg.payload (./input.ts), and emits it as the message
 * contract: msg.payload the XML, msg.voevent its model, msg.topic its stream.
 * With `sign` (and a voevent-keyring holding a private key) the packet is
 * signed (src/signature, Comet's appendix) before it is emitted.
 */
import type { NodeAPI, NodeDef } from "node-red";
import { eventMessage } from "../../src/contract";
import type { Signer } from "../../src/signature/keyring";
import { signPacket } from "../../src/signature/verify";
import { buildVOEvent } from "../../src/voevent/build";
import { getParsed } from "../../src/voevent/cache";
import { errorStatusText } from "../shared/config";
import { asError, onClose, onInput } from "../shared/lifecycle";
import { signSetting } from "../shared/signatures";
import { StatusFlasher, statusError, statusOk } from "../shared/status";
import type { Node } from "../shared/types";
import { type BuildConfig, type BuildSettings, buildInput, settingsFromConfig } from "./input";

type BuildNodeDef = NodeDef & BuildConfig & { sign?: boolean | string; keyring?: string };

function init(RED: NodeAPI): void {
  function VOEventBuildNode(this: Node, config: BuildNodeDef) {
    RED.nodes.createNode(this, config);
    const flasher = new StatusFlasher(this);
    let settings: BuildSettings | null = null;
    let problem: Error | null = null;
    let signer: (() => Promise<Signer>) | null = null;
    try {
      settings = settingsFromConfig(config);
      try {
        signer = signSetting(RED, config);
      } catch {
        throw new Error(RED._("voevent-build.errors.keyring"));
      }
    } catch (err) {
      problem = asError(err);
      this.error(RED._("voevent-build.errors.settings", { error: problem.message }));
      flasher.set(statusError(RED._("voevent-build.status.settings")));
    }
    let built = 0;

    onInput(this, async (msg, send, done) => {
      if (settings === null) {
        done(problem ?? new Error("invalid settings"));
        return;
      }
      try {
        const now = new Date();
        let xml = buildVOEvent(buildInput(settings, msg.payload, now));
        if (signer !== null) xml = await signPacket(xml, await signer());
        Object.assign(msg, eventMessage(getParsed(xml), { receivedAt: now }));
      } catch (err) {
        flasher.flash(statusError(errorStatusText(RED, "voevent-build", err)));
        throw err;
      }
      built++;
      flasher.update(() => statusOk(RED._("voevent-build.status.built", { count: built })));
      send(msg);
      done();
    });

    onClose(this, () => flasher.close());
  }
  RED.nodes.registerType("voevent-build", VOEventBuildNode);
}

export = init;
