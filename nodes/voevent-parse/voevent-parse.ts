/**
 * voevent-parse: VOEvent XML arriving from elsewhere (a file, HTTP, MQTT) →
 * the message contract (src/contract.ts). The parse goes through the
 * process-wide cache, so nodes further on find the packet already parsed.
 */
import type { NodeAPI, NodeDef } from "node-red";
import { carryTree, eventMessage, isVtpInfo, parsedOf } from "../../src/contract";
import { VOEventError } from "../../src/errors";
import { validateVOEventSchema } from "../../src/vtp/schema";
import { errorStatusText, positiveInt } from "../shared/config";
import { onClose, onInput } from "../shared/lifecycle";
import { StatusFlasher, statusError } from "../shared/status";
import type { Node } from "../shared/types";

/** Values of the `validate` property. */
type ParseValidate = "well-formed" | "local-id" | "schema";

interface ParseNodeDef extends NodeDef {
  validate?: ParseValidate;
  maxBytes?: number | string;
}

const DEFAULT_MAX_BYTES = 1024 * 1024;

function init(RED: NodeAPI): void {
  function VOEventParseNode(this: Node, config: ParseNodeDef) {
    RED.nodes.createNode(this, config);
    const options = {
      maxBytes: positiveInt(config.maxBytes, DEFAULT_MAX_BYTES),
      requireLocalId: config.validate === "local-id",
    };
    const schema = config.validate === "schema";
    const flasher = new StatusFlasher(this);

    onInput(this, async (msg, send, done) => {
      try {
        // The tree the message carries (a receiver's, a subscriber's), else parsed through the cache.
        const parsed = parsedOf(msg, options);
        if (schema) {
          const result = await validateVOEventSchema(parsed.xml, parsed.doc);
          if (!result.valid) {
            throw new VOEventError("SCHEMA", result.error ?? "not valid against VOEvent-v2.0.xsd");
          }
        }
        // A msg.vtp set upstream (a receiver, a subscriber) says where the packet really came from: keep it.
        const previous = msg.vtp;
        Object.assign(msg, eventMessage(parsed));
        if (isVtpInfo(previous)) msg.vtp = previous;
        carryTree(msg, { xml: parsed.xml, doc: parsed.doc });
      } catch (err) {
        flasher.flash(statusError(errorStatusText(RED, "voevent-parse", err)));
        throw err;
      }
      send(msg);
      done();
    });

    onClose(this, () => flasher.close());
  }
  RED.nodes.registerType("voevent-parse", VOEventParseNode);
}

export = init;
