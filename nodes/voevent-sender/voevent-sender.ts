/**
 * voevent-sender: publishes msg.payload to a remote VTP receiver (what
 * comet-sendvo does). Adapts sendEvent (src/vtp/sender.ts): one connection
 * per message, retried when no receipt comes, bounded by a timeout.
 *
 * - ack: the message goes on with msg.vtp.reply "ack";
 * - nak: done(err) with the broker's reason (a Catch node gets the message,
 *   msg.vtp.reply "nak" and msg.vtp.reason included); nothing goes on;
 * - no receipt after the retries: done(err), msg.vtp.reply null, msg.vtp.error the code.
 * - at most `maxInFlight` sends at once and `maxWaiting` more in a queue
 *   (src/vtp/send-queue.ts); one more is refused at once: done(err) naming
 *   the limit, msg.vtp.error "LIMIT", so a burst while the receiver is down
 *   holds a bounded number of sockets and payloads.
 * - `sign` (with a voevent-keyring holding a private key): the packet is signed
 *   (src/signature, Comet's appendix) before it is sent, and msg.payload
 *   becomes the signed packet; a key that cannot sign is done(err).
 */
import type { NodeAPI, NodeDef } from "node-red";
import { rawPayloadOf } from "../../src/contract";
import { isVOEventError } from "../../src/errors";
import type { Signer } from "../../src/signature/keyring";
import { signPacket } from "../../src/signature/verify";
import { SEND_QUEUE_DEFAULTS, SendQueue } from "../../src/vtp/send-queue";
import { SendError, type SendResult, sendEvent } from "../../src/vtp/sender";
import { errorStatusText } from "../shared/config";
import { onClose, onInput } from "../shared/lifecycle";
import { intSetting, portSetting, SettingError, secondsSetting, settingMessage } from "../shared/net-config";
import { tlsFromConfig } from "../shared/net-tls";
import { signSetting } from "../shared/signatures";
import { StatusFlasher, statusError, statusIdle, statusOk } from "../shared/status";
import type { Node, NodeMessageInFlow } from "../shared/types";

interface SenderNodeDef extends NodeDef {
  sign?: boolean | string;
  keyring?: string;
  host?: string;
  hostType?: string;
  port?: number | string;
  portType?: string;
  timeout?: number | string;
  retries?: number | string;
  maxInFlight?: number | string;
  maxWaiting?: number | string;
  tls?: string;
}

const TYPE = "voevent-sender";
const DEFAULTS = { port: 8098, timeout: 20, retries: 3, ...SEND_QUEUE_DEFAULTS } as const;
/** Where host and port may come from (TypedInput types). */
const HOST_TYPES = ["str", "msg", "env"];
const PORT_TYPES = ["num", "msg", "env"];

function init(RED: NodeAPI): void {
  function VOEventSenderNode(this: Node, config: SenderNodeDef) {
    RED.nodes.createNode(this, config);
    const t = (key: string, subs?: Record<string, string | number>): string => RED._(`${TYPE}.${key}`, subs);
    const flasher = new StatusFlasher(this);

    const hostType = HOST_TYPES.includes(config.hostType ?? "") ? (config.hostType as string) : "str";
    const portType = PORT_TYPES.includes(config.portType ?? "") ? (config.portType as string) : "num";
    const hostValue = typeof config.host === "string" ? config.host.trim() : "";
    const portValue = config.port === undefined || config.port === null ? "" : String(config.port).trim();
    let problem: Error | null = null;
    let timeoutMs = DEFAULTS.timeout * 1000;
    let retries: number = DEFAULTS.retries;
    let tls: ReturnType<typeof tlsFromConfig>;
    let signer: (() => Promise<Signer>) | null = null;
    let queue = new SendQueue();
    try {
      if (hostType === "str" && hostValue === "") throw new SettingError("errors.host");
      if (hostType !== "str" && hostValue === "") throw new SettingError("errors.hostProperty");
      if (portType === "num") portSetting(portValue, DEFAULTS.port);
      else if (portValue === "") throw new SettingError("errors.portProperty");
      timeoutMs = secondsSetting("timeout", config.timeout, DEFAULTS.timeout, { allowZero: false });
      retries = intSetting("retries", config.retries, DEFAULTS.retries, 0);
      queue = new SendQueue({
        maxInFlight: intSetting("maxInFlight", config.maxInFlight, DEFAULTS.maxInFlight, 1),
        maxWaiting: intSetting("maxWaiting", config.maxWaiting, DEFAULTS.maxWaiting, 0),
      });
      tls = tlsFromConfig(RED, config.tls, "client");
      signer = signSetting(RED, config);
    } catch (err) {
      problem = new Error(t("errors.settings", { error: settingMessage(RED, TYPE, err) }));
      this.error(problem.message);
      flasher.set(statusError(t("status.settings")));
    }

    /** The packet as it is sent: signed when `sign` is on. */
    const outgoing = async (payload: string | Buffer): Promise<string | Buffer> => {
      if (signer === null) return payload;
      const key = await signer();
      return typeof payload === "string" ? signPacket(payload, key) : signPacket(payload, key);
    };

    /** Host and port for one message; throws an Error worded for the user. */
    const target = (msg: NodeMessageInFlow): { host: string; port: number } => {
      const host =
        hostType === "str" ? hostValue : RED.util.evaluateNodeProperty(hostValue, hostType, this, msg);
      if (typeof host !== "string" || host.trim() === "") {
        throw new Error(t("errors.noHost", { property: `${hostType}.${hostValue}` }));
      }
      const rawPort =
        portType === "num" ? portValue : RED.util.evaluateNodeProperty(portValue, portType, this, msg);
      let port: number;
      try {
        port = portSetting(typeof rawPort === "number" ? rawPort : String(rawPort ?? ""), DEFAULTS.port);
      } catch (err) {
        throw new Error(settingMessage(RED, TYPE, err));
      }
      return { host: host.trim(), port };
    };

    const inFlight = new Set<AbortController>();
    const pending = new Set<Promise<unknown>>();

    onInput(this, async (msg, send, done) => {
      if (problem !== null) {
        done(problem);
        return;
      }
      let host: string;
      let port: number;
      let payload: string | Buffer;
      try {
        ({ host, port } = target(msg));
        payload = rawPayloadOf(msg);
        if (signer !== null) {
          payload = await outgoing(payload);
          msg.payload = payload;
        }
      } catch (err) {
        flasher.flash(statusError(errorStatusText(RED, TYPE, err)));
        throw err;
      }
      const previous =
        msg.vtp !== null && typeof msg.vtp === "object" ? (msg.vtp as Record<string, unknown>) : {};
      const remote = `${host}:${port}`;
      const controller = new AbortController();
      inFlight.add(controller);
      flasher.set(statusIdle(t("status.sending", { remote })));
      const sending = queue.run(() =>
        sendEvent({
          host,
          port,
          payload,
          timeoutMs,
          retries,
          signal: controller.signal,
          ...(tls === undefined ? {} : { tls }),
        }),
      );
      pending.add(sending);
      let result: SendResult;
      try {
        result = await sending;
      } catch (err) {
        if (err instanceof SendError) {
          msg.vtp = {
            ...previous,
            reply: null,
            reason: null,
            error: err.code,
            attempts: err.attempts,
            remote,
          };
          flasher.set(statusError(t("status.failed", { code: err.code })));
          throw new Error(t("errors.failed", { remote, error: err.message }));
        }
        if (isVOEventError(err) && err.code === "LIMIT") {
          msg.vtp = { ...previous, reply: null, reason: null, error: "LIMIT", attempts: 0, remote };
          flasher.flash(statusError(t("status.full")));
          throw new Error(t("errors.full", { remote, error: err.message }));
        }
        if (controller.signal.aborted) throw new Error(t("errors.stopped", { remote }));
        flasher.set(statusError(errorStatusText(RED, TYPE, err)));
        throw err;
      } finally {
        inFlight.delete(controller);
        pending.delete(sending);
      }
      msg.vtp = {
        ...previous,
        reply: result.reply,
        reason: result.reason,
        attempts: result.attempts,
        remote,
        elapsedMs: Math.round(result.elapsedMs),
      };
      if (result.reply === "nak") {
        const reason = result.reason ?? t("status.noReason");
        flasher.set(statusError(t("status.nak", { reason })));
        done(new Error(t("errors.nak", { remote, reason })));
        return;
      }
      flasher.update(() => statusOk(t("status.ack", { remote })));
      send(msg);
      done();
    });

    onClose(this, async () => {
      flasher.close();
      queue.clear(new Error("stopped"));
      for (const controller of inFlight) controller.abort();
      await Promise.allSettled([...pending]);
    });
  }
  RED.nodes.registerType(TYPE, VOEventSenderNode);
}

export = init;
