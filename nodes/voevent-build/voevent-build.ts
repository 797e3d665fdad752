/**
 * voevent-build: makes a VOEvent 2.0 packet from the node's settings merged
 * with an object msg.payload (./input.ts), and emits it as the message
 * contract: msg.payload the XML, msg.voevent its model, msg.topic its stream.
 */
import type { NodeAPI, NodeDef } from "node-red";
import { eventMessage } from "../../src/contract";
import { buildVOEvent } from "../../src/voevent/build";
import { getParsed } from "../../src/voevent/cache";
import { errorStatusText } from "../shared/config";
import { asError, onClose, onInput } from "../shared/lifecycle";
import { StatusFlasher, statusError, statusOk } from "../shared/status";
import type { Node } from "../shared/types";
import { type BuildConfig, type BuildSettings, buildInput, settingsFromConfig } from "./input";

type BuildNodeDef = NodeDef & BuildConfig;

function init(RED: NodeAPI): void {
  function VOEventBuildNode(this: Node, config: BuildNodeDef) {
    RED.nodes.createNode(this, config);
    const flasher = new StatusFlasher(this);
    let settings: BuildSettings | null = null;
    let problem: Error | null = null;
    try {
      settings = settingsFromConfig(config);
    } catch (err) {
      problem = asError(err);
      this.error(RED._("voevent-build.errors.settings", { error: problem.message }));
      flasher.set(statusError(RED._("voevent-build.status.settings")));
    }
    let built = 0;

    onInput(this, (msg, send, done) => {
      if (settings === null) {
        done(problem ?? new Error("invalid settings"));
        return;
      }
      try {
        const now = new Date();
        const xml = buildVOEvent(buildInput(settings, msg.payload, now));
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
