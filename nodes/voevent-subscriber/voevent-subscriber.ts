/**
 * voevent-subscriber: a VTP client of one remote broker (Comet's --remote,
 * pygcn). Adapts src/vtp/subscriber.ts: connects, answers the broker (acks,
 * iamalive, authenticate with our XPath filters), sends each event on as the
 * message contract, and reconnects with backoff for as long as it is deployed.
 *
 * Signatures (`signatures`: ignore / check / require, with a voevent-keyring):
 * under ignore, events go straight on, as before. Otherwise each event's
 * signature is checked (src/signature, InOrder keeps arrival order) and it goes
 * on with msg.signature; under require, one not signed by a key of the keyring
 * is dropped (it was acked: the broker delivered it), counted in the status and
 * warned about. At most IN_ORDER_DEFAULTS.maxBacklog events wait for their
 * checks; more are dropped the same way.
 */
import type { NodeAPI, NodeDef } from "node-red";
import { carryTree, eventMessage } from "../../src/contract";
import { keepFrame } from "../../src/message-frame";
import { feeds } from "../../src/monitor/feeds";
import { ago, FeedHealth, type HealthReport } from "../../src/monitor/health";
import { IN_ORDER_DEFAULTS, InOrder, refusalOf } from "../../src/signature/policy";
import type { SignatureVerdict } from "../../src/signature/verify";
import { type SubscribedEvent, VTPSubscriber } from "../../src/vtp/subscriber";
import { compileXPath } from "../../src/xpath";
import { getLocalIvo } from "../shared/identity";
import { onClose } from "../shared/lifecycle";
import {
  hostSetting,
  portSetting,
  SettingError,
  secondsSetting,
  settingMessage,
  shortReason,
} from "../shared/net-config";
import { tlsFromConfig } from "../shared/net-tls";
import { PeerWarnings } from "../shared/peer-warnings";
import { signatureSetting } from "../shared/signatures";
import { StatusFlasher, statusError, statusIdle, statusOk, statusWarn } from "../shared/status";
import type { Node } from "../shared/types";
import { registerXPathCheck } from "../shared/xpath-check";

interface SubscriberNodeDef extends NodeDef {
  host?: string;
  port?: number | string;
  identity?: string;
  brokerFilters?: unknown;
  tls?: string;
  watchdog?: number | string;
  maxBackoff?: number | string;
  /** A second output for health reports (msg.topic "voevent/health"). */
  health?: boolean | string;
  /** Report "silent" after this long without an event (0 = never), in silenceUnits. */
  silence?: number | string;
  silenceUnits?: "seconds" | "minutes" | "hours";
  signatures?: string;
  keyring?: string;
}

const UNIT_MS = { seconds: 1000, minutes: 60_000, hours: 3_600_000 } as const;
/** How often the status line's "last … ago" is refreshed. */
const STATUS_REFRESH_MS = 30_000;

/** The silence limit in ms: 0 (off) when health reports are off or the value is 0/blank. */
function silenceMs(config: SubscriberNodeDef): number {
  if (!(config.health === true || config.health === "true")) return 0;
  const value = config.silence === undefined || config.silence === "" ? 6 : Number(config.silence);
  const unit = UNIT_MS[config.silenceUnits ?? "hours"] ?? UNIT_MS.hours;
  if (!Number.isFinite(value) || value < 0)
    throw new SettingError("errors.silence", { value: String(config.silence) });
  return Math.round(value * unit);
}

const TYPE = "voevent-subscriber";
const DEFAULTS = { port: 8099, watchdog: 150, maxBackoff: 60 } as const;

/** The filters as saved: an array of strings (or, written by hand, one per line). Blank ones dropped. */
function filtersSetting(value: unknown): string[] {
  const list: unknown[] = Array.isArray(value)
    ? value
    : typeof value === "string"
      ? value.split(/\r?\n/)
      : [];
  const out: string[] = [];
  for (const item of list) {
    if (typeof item !== "string") throw new SettingError("errors.filterType");
    const f = item.trim();
    if (f === "") continue;
    try {
      compileXPath(f);
    } catch (err) {
      throw new SettingError("errors.filter", {
        filter: f,
        error: err instanceof Error ? err.message : String(err),
      });
    }
    out.push(f);
  }
  return out;
}

function init(RED: NodeAPI): void {
  registerXPathCheck(RED, `${TYPE}.write`);

  function VOEventSubscriberNode(this: Node, config: SubscriberNodeDef) {
    RED.nodes.createNode(this, config);
    const t = (key: string, subs?: Record<string, string | number>): string => RED._(`${TYPE}.${key}`, subs);
    const flasher = new StatusFlasher(this);
    const warnings = new PeerWarnings(this, (count, seconds, last) =>
      t("warn.suppressed", { count, seconds, last }),
    );

    let subscriber: VTPSubscriber;
    let localIvo: string;
    let where: string;
    let silence: number;
    let signatures: ReturnType<typeof signatureSetting>;
    const withHealth = config.health === true || config.health === "true";
    try {
      silence = silenceMs(config);
      signatures = signatureSetting(RED, config);
      const host = hostSetting(config.host, "");
      if (host === "") throw new SettingError("errors.host");
      const port = portSetting(config.port, DEFAULTS.port);
      where = `${host}:${port}`;
      localIvo = getLocalIvo(RED, config);
      const filters = filtersSetting(config.brokerFilters);
      const tls = tlsFromConfig(RED, config.tls, "client");
      const maxMs = secondsSetting("maxBackoff", config.maxBackoff, DEFAULTS.maxBackoff, {
        allowZero: false,
      });
      subscriber = new VTPSubscriber({
        host,
        port,
        localIvo,
        filters,
        watchdogMs: secondsSetting("watchdog", config.watchdog, DEFAULTS.watchdog, { allowZero: false }),
        backoff: { initialMs: Math.min(1000, maxMs), maxMs },
        ...(tls === undefined ? {} : { tls }),
      });
    } catch (err) {
      this.error(t("errors.settings", { error: settingMessage(RED, TYPE, err) }));
      flasher.set(
        statusError(
          t(err instanceof SettingError && err.key === "errors.filter" ? "status.filter" : "status.settings"),
        ),
      );
      onClose(this, () => {
        flasher.close();
        warnings.close();
      });
      return;
    }

    let closed = false;

    subscriber.on("connecting", () => {
      if (!closed) flasher.set(statusIdle(t("status.connecting", { where })));
    });
    subscriber.on("connect", () => {
      this.log(t("log.connected", { where }));
      flasher.set(statusOk(t("status.connected", { where })));
    });
    subscriber.on("disconnect", (info: { reason: string }) => {
      if (closed) return;
      this.log(t("log.disconnected", { where, reason: info.reason }));
    });
    subscriber.on("reconnecting", (info: { delayMs: number; reason: string }) => {
      if (closed) return;
      const seconds = Math.max(1, Math.ceil(info.delayMs / 1000));
      flasher.set(statusWarn(t("status.reconnecting", { seconds, reason: shortReason(info.reason) })));
    });
    let refused = 0;
    const emit = (ev: SubscribedEvent, signature?: SignatureVerdict): void => {
      const msg = eventMessage(ev, { peer: ev.peer, localIvo, receivedAt: ev.receivedAt });
      const out = signature === undefined ? { ...msg } : { ...msg, signature };
      keepFrame(out, out.payload, ev.frame);
      // The message carries its tree (a copy for a second wire too): the nodes after this one
      // (filter, archive, …) take it rather than parse again (src/contract.ts).
      carryTree(out, { xml: ev.xml, doc: ev.doc });
      this.send(out);
    };
    const gate =
      signatures === null
        ? null
        : new InOrder<SubscribedEvent>(signatures.keyring, (ev, verdict) => {
            const refusal = refusalOf(signatures?.mode ?? "check", verdict);
            if (refusal === null) {
              emit(ev, verdict);
              return;
            }
            refused++;
            warnings.warn(t("warn.refused", { ivorn: ev.voevent.ivorn, where, reason: refusal }));
            showConnected();
          });
    subscriber.on("event", (ev: SubscribedEvent) => {
      if (gate === null) {
        emit(ev);
        return;
      }
      if (!gate.push(ev, ev.bytes)) {
        refused++;
        warnings.warn(
          t("warn.backlog", { ivorn: ev.voevent.ivorn, where, max: IN_ORDER_DEFAULTS.maxBacklog }),
        );
      }
    });
    subscriber.on("warning", (info: { message: string }) => {
      warnings.warn(t("warn.broker", { where, message: info.message }));
    });

    // Feed health: counts for the status line, the runtime's feed list (voevent-monitor), and
    // reports on the optional second output.
    const health = new FeedHealth(where, silence);
    const feed = feeds.open({ id: this.id, role: "subscriber", name: config.name, where });
    let linkUp = false;
    const showConnected = () => {
      if (closed || !linkUp) return;
      const last = health.lastEventAt;
      flasher.set(
        statusOk(
          last === null
            ? t("status.connected", { where })
            : refused > 0
              ? t("status.countsRefused", {
                  count: health.counts.events,
                  refused,
                  ago: ago(Date.now() - last),
                })
              : t("status.counts", { count: health.counts.events, ago: ago(Date.now() - last) }),
        ),
      );
    };
    const refresh = setInterval(showConnected, STATUS_REFRESH_MS);
    refresh.unref();
    health.on("report", (report: HealthReport) => {
      if (!closed && withHealth) this.send([null, { topic: "voevent/health", payload: report }]);
    });
    subscriber.on("connecting", () => feed.state("connecting"));
    subscriber.on("connect", () => {
      linkUp = true;
      feed.state("connected");
      health.connected();
      showConnected();
    });
    subscriber.on("disconnect", (info: { reason: string }) => {
      linkUp = false;
      health.disconnected(info.reason);
    });
    subscriber.on("reconnecting", (info: { delayMs: number; reason: string }) => {
      linkUp = false;
      feed.reconnect();
      feed.state("reconnecting", info.reason, info.delayMs);
    });
    subscriber.on("event", () => {
      feed.event();
      health.event();
      showConnected();
    });

    subscriber.start();
    health.start();

    onClose(this, async () => {
      closed = true;
      gate?.close();
      clearInterval(refresh);
      health.close();
      feed.close();
      flasher.close();
      warnings.close();
      await subscriber.close();
      subscriber.removeAllListeners();
    });
  }
  RED.nodes.registerType(TYPE, VOEventSubscriberNode);
}

export = init;
