/**
 * voevent-broadcaster: a VTP server that subscribers connect to (Comet's
 * --broadcast). Adapts src/vtp/broadcaster.ts: each input event is written to
 * every subscriber whose own XPath filters accept it; the input message goes
 * on through the first output with `msg.broadcast` {sent, subscribers}. With
 * `monitor` on, a second output reports subscribers connecting, leaving,
 * acking and naking.
 */
import type { NodeAPI, NodeDef, NodeMessage } from "node-red";
import { eventOf, rawPayloadOf } from "../../src/contract";
import { FILTER_LIMIT_DEFAULTS } from "../../src/filter/limits";
import { frameOf } from "../../src/message-frame";
import { feeds } from "../../src/monitor/feeds";
import { BROADCASTER_DEFAULTS, VTPBroadcaster } from "../../src/vtp/broadcaster";
import { EVENT_FILTER_DEFAULTS } from "../../src/vtp/filter-runs";
import { quoteXPath } from "../../src/xpath";
import { errorStatusText, flag } from "../shared/config";
import { getLocalIvo } from "../shared/identity";
import { onClose, onInput } from "../shared/lifecycle";
import {
  errnoCode,
  hostSetting,
  intSetting,
  portSetting,
  secondsSetting,
  settingMessage,
  whitelistSetting,
} from "../shared/net-config";
import { tlsFromConfig } from "../shared/net-tls";
import { PeerWarnings } from "../shared/peer-warnings";
import { StatusFlasher, statusError, statusIdle, statusOk, statusWarn } from "../shared/status";
import type { Node } from "../shared/types";

interface BroadcasterNodeDef extends NodeDef {
  host?: string;
  port?: number | string;
  identity?: string;
  whitelist?: string;
  iamaliveInterval?: number | string;
  testInterval?: number | string;
  maxQueue?: number | string;
  maxConnections?: number | string;
  maxPerAddress?: number | string;
  /** Limits on subscribers' filters (src/filter/limits.ts). */
  maxFilters?: number | string;
  maxFilterLength?: number | string;
  xpathBudget?: number | string;
  maxBudgetOverruns?: number | string;
  /** One event's filtering, all subscribers together (src/vtp/filter-runs.ts). */
  eventFilterBudget?: number | string;
  tls?: string;
  monitor?: boolean | string;
}

const TYPE = "voevent-broadcaster";
const DEFAULTS = {
  host: "0.0.0.0",
  port: 8099,
  whitelist: "127.0.0.0/8, ::1",
  iamaliveInterval: 60,
  testInterval: 0,
  maxQueue: 4 * 1024 * 1024,
  maxConnections: BROADCASTER_DEFAULTS.maxConnections,
  maxPerAddress: BROADCASTER_DEFAULTS.maxConnectionsPerAddress,
} as const;

/** Names of the monitor output's events (msg.topic and msg.payload.event). */
type MonitorEvent = "subscribe" | "unsubscribe" | "ack" | "nak" | "overflow" | "rejected" | "filter-drop";

function init(RED: NodeAPI): void {
  function VOEventBroadcasterNode(this: Node, config: BroadcasterNodeDef) {
    RED.nodes.createNode(this, config);
    const t = (key: string, subs?: Record<string, string | number>): string => RED._(`${TYPE}.${key}`, subs);
    const flasher = new StatusFlasher(this);
    const warnings = new PeerWarnings(this, (count, seconds, last) =>
      t("warn.suppressed", { count, seconds, last }),
    );
    const monitor = flag(config.monitor);
    let port = 0;
    let closed = false;
    let problem: Error | null = null;

    let broadcaster: VTPBroadcaster | null = null;
    try {
      const tls = tlsFromConfig(RED, config.tls, "server");
      broadcaster = new VTPBroadcaster({
        host: hostSetting(config.host, DEFAULTS.host),
        port: portSetting(config.port, DEFAULTS.port),
        localIvo: getLocalIvo(RED, config),
        whitelist: whitelistSetting(config.whitelist, DEFAULTS.whitelist),
        iamaliveIntervalMs: secondsSetting(
          "iamaliveInterval",
          config.iamaliveInterval,
          DEFAULTS.iamaliveInterval,
          {
            allowZero: false,
          },
        ),
        testIntervalMs: secondsSetting("testInterval", config.testInterval, DEFAULTS.testInterval, {
          allowZero: true,
        }),
        maxQueueBytes: intSetting("maxQueue", config.maxQueue, DEFAULTS.maxQueue, 1),
        maxConnections: intSetting("maxConnections", config.maxConnections, DEFAULTS.maxConnections, 1),
        maxConnectionsPerAddress: intSetting(
          "maxPerAddress",
          config.maxPerAddress,
          DEFAULTS.maxPerAddress,
          1,
        ),
        maxFilters: intSetting("maxFilters", config.maxFilters, FILTER_LIMIT_DEFAULTS.maxFilters, 1),
        maxFilterLength: intSetting(
          "maxFilterLength",
          config.maxFilterLength,
          FILTER_LIMIT_DEFAULTS.maxFilterLength,
          1,
        ),
        xpathBudget: intSetting("xpathBudget", config.xpathBudget, FILTER_LIMIT_DEFAULTS.xpathBudget, 1),
        maxBudgetOverruns: intSetting(
          "maxBudgetOverruns",
          config.maxBudgetOverruns,
          FILTER_LIMIT_DEFAULTS.maxBudgetOverruns,
          1,
        ),
        eventFilterBudget: intSetting(
          "eventFilterBudget",
          config.eventFilterBudget,
          EVENT_FILTER_DEFAULTS.eventFilterBudget,
          1,
        ),
        ...(tls === undefined ? {} : { tls }),
      });
    } catch (err) {
      const message = settingMessage(RED, TYPE, err);
      problem = new Error(t("errors.settings", { error: message }));
      this.error(problem.message);
      flasher.set(statusError(t("status.settings")));
    }

    // The count in the status and the monitor's feed list, once per turn of the event loop:
    // a crowd of subscribers connecting or dropped at once must not update them a thousand times.
    let countPending = false;
    let onCount = (): void => {};
    const showCountSoon = (): void => {
      if (countPending) return;
      countPending = true;
      setImmediate(() => {
        countPending = false;
        showCount();
        onCount();
      });
    };
    const showCount = (): void => {
      if (closed || broadcaster === null || port === 0) return;
      const count = broadcaster.count;
      const text = t(count === 1 ? "status.subscriber" : "status.subscribers", { count, port });
      flasher.set(count === 0 ? { ...statusOk(text), shape: "ring" } : statusOk(text));
    };
    const report = (event: MonitorEvent, info: Record<string, unknown>): void => {
      if (!monitor || closed) return;
      const msg: NodeMessage = { topic: event, payload: { event, ...info } };
      this.send([null, msg]);
    };

    let listening: Promise<void> = Promise.resolve();
    let countEvent = (): void => {};
    if (broadcaster !== null) {
      const b = broadcaster;
      b.on("subscribe", (info: { id: number; peer: string }) => {
        this.log(t("log.subscribe", { peer: info.peer }));
        showCountSoon();
        report("subscribe", { id: info.id, peer: info.peer, subscribers: b.count });
      });
      b.on("unsubscribe", (info: { id: number; peer: string; reason: string }) => {
        this.log(t("log.unsubscribe", { peer: info.peer, reason: info.reason }));
        showCountSoon();
        report("unsubscribe", { id: info.id, peer: info.peer, reason: info.reason, subscribers: b.count });
      });
      // One ack per subscriber per event: listened to only when the monitor output reports them.
      if (monitor) {
        b.on("ack", (info: { id: number; peer: string; origin: string | null }) => {
          report("ack", { id: info.id, peer: info.peer, origin: info.origin });
        });
      }
      b.on("nak", (info: { id: number; peer: string; origin: string | null; reason: string }) => {
        warnings.warn(t("warn.nak", { peer: info.peer, reason: info.reason || "-" }));
        report("nak", { id: info.id, peer: info.peer, origin: info.origin, reason: info.reason });
      });
      b.on("overflow", (info: { id: number; peer: string }) => {
        warnings.warn(t("warn.overflow", { peer: info.peer }));
        report("overflow", { id: info.id, peer: info.peer });
      });
      b.on("rejected", (info: { address: string; reason?: string; limit?: string }) => {
        const reason = info.reason ?? t("warn.notWhitelisted");
        warnings.warn(t("warn.rejected", { peer: info.address, reason }));
        report("rejected", {
          peer: info.address,
          reason,
          ...(info.limit === undefined ? {} : { limit: info.limit }),
        });
      });
      b.on("filter-error", (info: { peer: string; filter: string; message: string }) => {
        warnings.warn(
          t("warn.filter", { peer: info.peer, filter: quoteXPath(info.filter), error: info.message }),
        );
      });
      // Rate limited like the other peers' warnings: a crowd of subscribers with costly filters
      // must not flood the log (one per subscriber, twice, as they are reported and dropped).
      b.on("filter-budget", (info: { peer: string; message: string }) => {
        warnings.warn(t("warn.budget", { peer: info.peer, error: info.message }));
      });
      b.on("filter-drop", (info: { id: number; peer: string; reason: string }) => {
        warnings.warn(t("warn.filterDrop", { peer: info.peer, reason: info.reason }));
        report("filter-drop", { id: info.id, peer: info.peer, reason: info.reason });
      });
      b.on("warning", (info: { message: string }) => {
        this.log(info.message);
      });

      // The runtime's feed list (the voevent-monitor page).
      const feed = feeds.open({
        id: this.id,
        role: "broadcaster",
        name: config.name,
        where: `${config.host || "0.0.0.0"}:${config.port || 8099}`,
      });
      onCount = () => {
        if (!closed) feed.peers(b.count);
      };
      b.on("nak", () => feed.nak());
      this.on("close", () => feed.close());
      countEvent = () => feed.event();

      flasher.set(statusIdle(t("status.starting")));
      listening = b.listen().then(
        (address) => {
          port = address.port;
          showCount();
          feed.state("listening");
        },
        (err: unknown) => {
          feed.state("failed", err instanceof Error ? err.message : String(err));
          if (closed) return;
          const requested = portSetting(config.port, DEFAULTS.port);
          const code = errnoCode(err);
          problem = new Error(
            code === "EADDRINUSE"
              ? t("errors.inuse", { port: requested })
              : t("errors.listen", {
                  port: requested,
                  error: err instanceof Error ? err.message : String(err),
                }),
          );
          this.error(problem.message);
          flasher.set(
            statusError(
              code === "EADDRINUSE"
                ? t("status.inuse", { port: requested })
                : t("status.listen", { reason: code ?? t("status.error") }),
            ),
          );
        },
      );
    }

    onInput(this, (msg, send, done) => {
      if (broadcaster === null || problem !== null) {
        done(problem ?? new Error(t("errors.notListening")));
        return;
      }
      let sent: number;
      try {
        const payload = rawPayloadOf(msg);
        // A packet a receiver or subscriber of this flow took (its payload unchanged since) leaves
        // in the frame it came in, and was checked there: its model is not needed to relay it.
        const frame = frameOf(msg);
        if (broadcaster.filtering) {
          // The tree (for the subscribers' filters) is parsed on first use, through the cache.
          const event = eventOf(msg);
          sent = broadcaster.broadcast(
            payload,
            { doc: event.doc, voevent: event.voevent },
            frame ?? undefined,
          );
        } else if (frame !== null) {
          sent = broadcaster.broadcast(payload, undefined, frame);
        } else {
          eventOf(msg); // anything else must be a VOEvent: VOEventError if it is not
          sent = broadcaster.broadcast(payload);
        }
      } catch (err) {
        flasher.flash(statusWarn(errorStatusText(RED, TYPE, err)));
        throw err;
      }
      msg.broadcast = { sent, subscribers: broadcaster.count };
      countEvent();
      send(msg);
      done();
    });

    onClose(this, async () => {
      closed = true;
      flasher.close();
      warnings.close();
      if (broadcaster === null) return;
      await listening;
      await broadcaster.close();
      broadcaster.removeAllListeners();
    });
  }
  RED.nodes.registerType(TYPE, VOEventBroadcasterNode);
}

export = init;
