/**
 * voevent-receiver: a VTP server that authors publish to (Comet's --receive).
 * Adapts src/vtp/receiver.ts: each valid event is sent on as the message
 * contract from inside the engine's handler, so the author's ack goes out
 * only once the event has been handed to the flow. A refused event is
 * answered with a nak and reported (warning + status), and, when the optional
 * second output is on, sent there as {payload: the frame as text, reason, code,
 * ivorn, vtp.peer}.
 *
 * The limits on peers that an operator may need to change are settings
 * (`maxConnections`, `maxPerAddress`, `frameTimeout`, `replyTimeout`,
 * `maxBacklog`, defaults those of the engine); a warning or log line caused by one of them names the
 * setting to change, in the words of the dialog.
 * Signatures (`signatures`: ignore / check / require, with a voevent-keyring):
 * the engine checks them (src/signature); each event sent on carries
 * msg.signature under check and require, and under require an event not signed
 * by a key of the keyring is naked with the verdict's reason (code SIGNATURE).
 * The backlog: each event is sent under its own _msgid and counted unfinished
 * until every node that got it (and what they sent on under its id) is done
 * (../shared/flow-completion.ts); the engine stops reading from authors while
 * `maxBacklog` events are unfinished, and the status says so.
 */
import type { NodeAPI, NodeDef, NodeMessage } from "node-red";
import { lazyEventMessage } from "../../src/contract";
import { feeds } from "../../src/monitor/feeds";
import { BACKLOG_DEFAULTS, type BacklogChange } from "../../src/vtp/backlog";
import { CONNECTION_LIMIT_DEFAULTS } from "../../src/vtp/connection-limits";
import {
  type DroppedInfo,
  type NakInfo,
  RECEIVER_DEADLINES,
  type ReceivedEvent,
  VTPReceiver,
} from "../../src/vtp/receiver";
import { flag } from "../shared/config";
import { FlowCompletion } from "../shared/flow-completion";
import { getLocalIvo } from "../shared/identity";
import { openLazyCopy } from "../shared/lazy-copy";
import { onClose } from "../shared/lifecycle";
import {
  errnoCode,
  hostSetting,
  intSetting,
  portSetting,
  secondsSetting,
  settingMessage,
  shortReason,
  whitelistSetting,
} from "../shared/net-config";
import { tlsFromConfig } from "../shared/net-tls";
import { PeerWarnings } from "../shared/peer-warnings";
import { signatureSetting } from "../shared/signatures";
import { StatusFlasher, statusError, statusIdle, statusOk, statusWarn } from "../shared/status";
import type { Node } from "../shared/types";

interface ReceiverNodeDef extends NodeDef {
  host?: string;
  port?: number | string;
  identity?: string;
  whitelist?: string;
  validate?: string;
  maxBytes?: number | string;
  tls?: string;
  requireLocalId?: boolean | string;
  refusedOutput?: boolean | string;
  /** Limits on peers: connections at once, from one address; deadlines in seconds. */
  maxConnections?: number | string;
  maxPerAddress?: number | string;
  frameTimeout?: number | string;
  replyTimeout?: number | string;
  /** Events handed to the flow and not finished by it, above which authors are paused. */
  maxBacklog?: number | string;
  signatures?: string;
  keyring?: string;
}

const TYPE = "voevent-receiver";
const RECEIVER_DEFAULTS = {
  host: "0.0.0.0",
  port: 8098,
  whitelist: "127.0.0.0/8, ::1",
  maxBytes: 1024 * 1024,
  maxConnections: CONNECTION_LIMIT_DEFAULTS.receiverMaxConnections,
  maxPerAddress: CONNECTION_LIMIT_DEFAULTS.maxConnectionsPerAddress,
  frameTimeout: RECEIVER_DEADLINES.frameTimeoutMs / 1000,
  replyTimeout: RECEIVER_DEADLINES.replyTimeoutMs / 1000,
  maxBacklog: BACKLOG_DEFAULTS.maxBacklog,
} as const;

/** Backlog pauses and resumes are logged at most this often, ms. */
const BACKLOG_LOG_MS = 10_000;

/** The catalogue key naming the dialog setting behind each engine limit a peer can hit. */
const LIMIT_LABELS: Record<string, string> = {
  maxConnections: "setting.maxConnections",
  maxConnectionsPerAddress: "setting.maxPerAddress",
  frameTimeoutMs: "setting.frameTimeout",
  replyTimeoutMs: "setting.replyTimeout",
  maxBacklog: "setting.maxBacklog",
};

function init(RED: NodeAPI): void {
  function VOEventReceiverNode(this: Node, config: ReceiverNodeDef) {
    RED.nodes.createNode(this, config);
    const t = (key: string, subs?: Record<string, string | number>): string => RED._(`${TYPE}.${key}`, subs);
    const flasher = new StatusFlasher(this);
    const warnings = new PeerWarnings(this, (count, seconds, last) =>
      t("warn.suppressed", { count, seconds, last }),
    );
    let received = 0;
    let port = 0;
    let closed = false;
    /** Authors paused because the flow is behind (the status says so until they resume). */
    let flowBehind = false;
    const showListening = (): void => {
      if (closed || port === 0 || flowBehind) return;
      if (received === 0) flasher.set(statusOk(t("status.listening", { port })));
      // The count changes with every event: formatted at most once per STATUS_UPDATE_MS.
      else flasher.update(() => statusOk(t("status.received", { port, count: received })));
    };

    let receiver: VTPReceiver;
    let localIvo: string;
    let completion: FlowCompletion | null = null;
    try {
      localIvo = getLocalIvo(RED, config);
      const validate = config.validate === "schema" ? "schema" : "well-formed";
      const tls = tlsFromConfig(RED, config.tls, "server");
      const signatures = signatureSetting(RED, config);
      receiver = new VTPReceiver({
        host: hostSetting(config.host, RECEIVER_DEFAULTS.host),
        port: portSetting(config.port, RECEIVER_DEFAULTS.port),
        localIvo,
        whitelist: whitelistSetting(config.whitelist, RECEIVER_DEFAULTS.whitelist),
        maxBytes: intSetting("maxBytes", config.maxBytes, RECEIVER_DEFAULTS.maxBytes, 1),
        validate,
        requireLocalId: config.requireLocalId === undefined ? true : flag(config.requireLocalId),
        maxConnections: intSetting(
          "maxConnections",
          config.maxConnections,
          RECEIVER_DEFAULTS.maxConnections,
          1,
        ),
        maxConnectionsPerAddress: intSetting(
          "maxPerAddress",
          config.maxPerAddress,
          RECEIVER_DEFAULTS.maxPerAddress,
          1,
        ),
        frameTimeoutMs: secondsSetting("frameTimeout", config.frameTimeout, RECEIVER_DEFAULTS.frameTimeout, {
          allowZero: false,
        }),
        replyTimeoutMs: secondsSetting("replyTimeout", config.replyTimeout, RECEIVER_DEFAULTS.replyTimeout, {
          allowZero: false,
        }),
        awaitFinish: true,
        maxBacklog: intSetting("maxBacklog", config.maxBacklog, RECEIVER_DEFAULTS.maxBacklog, 1),
        ...(tls === undefined ? {} : { tls }),
        ...(signatures === null ? {} : { signatures }),
        handler: (ev: ReceivedEvent, finish) => {
          // Sent before the engine writes the ack: the ack means the flow has the event.
          // The message carries the event (lazyEventMessage): its tree, which the nodes after this
          // one (filter, archive, …) take rather than parse again, and its frame, which a
          // broadcaster forwards as it came. msg.voevent is read from the tree when first used: a
          // relay that never reads it (dedupe by bytes → broadcaster) costs no model.
          const msg: NodeMessage = lazyEventMessage(ev, {
            peer: ev.peer,
            localIvo,
            receivedAt: ev.receivedAt,
          });
          if (ev.signature !== undefined) msg.signature = ev.signature;
          if (completion === null) {
            this.send(msg);
            finish();
          } else completion.send(msg, (m) => this.send(m), finish);
          received++;
          showListening();
        },
      });
      completion = FlowCompletion.open(RED);
    } catch (err) {
      const message = settingMessage(RED, TYPE, err);
      this.error(t("errors.settings", { error: message }));
      flasher.set(statusError(t("status.settings")));
      onClose(this, () => {
        flasher.close();
        warnings.close();
      });
      return;
    }

    const refusedOutput = flag(config.refusedOutput ?? false);
    receiver.on("nak", (info: NakInfo) => {
      if (refusedOutput) {
        // The second output: the refused frame as text, why, and from whom, to route or count.
        const refused: NodeMessage = {
          payload: info.bytes.toString("utf8"),
          reason: info.reason,
          code: info.code,
          ivorn: info.ivorn,
          vtp: { peer: info.peer, localIvo, receivedAt: new Date().toISOString() },
        };
        // Counted in the backlog like an accepted event: a flood of refusals waits too.
        if (completion === null) this.send([null, refused]);
        else completion.send(refused, (m) => this.send([null, m]), receiver.backlogHold(info.author));
      }
      if (info.code === "HANDLER") {
        this.error(t("errors.handler", { peer: info.peer, error: info.error?.message ?? "" }));
      } else {
        warnings.warn(t("warn.nak", { peer: info.peer, ivorn: info.ivorn ?? "-", reason: info.reason }));
      }
      flasher.flash(
        statusWarn(t("status.nak", { reason: shortReason(info.reason.replace(/^Event rejected: /, "")) })),
      );
    });
    /** ", setting: <the dialog's label>" when `limit` is an engine option behind one of the settings. */
    const settingOf = (limit: string | undefined): string => {
      const label = limit === undefined ? undefined : LIMIT_LABELS[limit];
      return label === undefined ? "" : t("log.setting", { setting: t(label) });
    };
    receiver.on("rejected", (info: { peer: string; reason: string; limit?: string }) => {
      warnings.warn(t("warn.rejected", { peer: info.peer, reason: info.reason }) + settingOf(info.limit));
    });
    receiver.on("dropped", (info: DroppedInfo) => {
      if (info.reason !== "not a VOEvent")
        this.log(t("log.dropped", { peer: info.peer, reason: info.reason }) + settingOf(info.limit));
    });
    // Pauses and resumes can come many times a second while the flow is behind: each kind of
    // line is logged at most once per BACKLOG_LOG_MS (the status always shows the state).
    const lastBacklogLog = new Map<string, number>();
    const logBacklog = (kind: string, text: string): void => {
      const now = Date.now();
      if (now - (lastBacklogLog.get(kind) ?? 0) < BACKLOG_LOG_MS) return;
      lastBacklogLog.set(kind, now);
      this.log(text);
    };
    let allPaused = false;
    const pausedAuthors = new Set<string>();
    receiver.on("backlog", (change: BacklogChange) => {
      const max = receiver.backlog.maxBacklog;
      if (change.paused === true) {
        allPaused = true;
        logBacklog("paused", t("log.paused", { pending: change.pending, max }) + settingOf("maxBacklog"));
      } else if (change.paused === false) {
        allPaused = false;
        logBacklog("resumed", t("log.resumed", { pending: change.pending }));
      }
      if (change.author !== undefined) {
        if (change.authorPaused === true) {
          pausedAuthors.add(change.author);
          logBacklog(
            "author",
            t("log.authorPaused", {
              author: change.author,
              pending: change.pending,
              share: Math.max(1, Math.floor(max / 2)),
            }) + settingOf("maxBacklog"),
          );
        } else pausedAuthors.delete(change.author);
      }
      if (allPaused || pausedAuthors.size > 0) {
        flowBehind = true;
        flasher.set(statusWarn(t("status.paused", { pending: change.pending })));
      } else if (flowBehind) {
        flowBehind = false;
        showListening();
      }
      if (change.expired !== undefined)
        this.warn(
          t("warn.expired", { count: change.expired, seconds: BACKLOG_DEFAULTS.backlogTimeoutMs / 1000 }),
        );
    });
    receiver.on("error", (err: Error) => {
      this.error(t("errors.server", { error: err.message }));
    });

    // The runtime's feed list (the voevent-monitor page).
    const feed = feeds.open({
      id: this.id,
      role: "receiver",
      name: config.name,
      where: `${config.host || "0.0.0.0"}:${config.port || 8098}`,
    });
    receiver.on("event", () => feed.event());
    receiver.on("nak", () => feed.nak());

    flasher.set(statusIdle(t("status.starting")));
    const listening = receiver.listen().then(
      (address) => {
        port = address.port;
        showListening();
      },
      (err: unknown) => {
        if (closed) return;
        const code = errnoCode(err);
        const requested = portSetting(config.port, RECEIVER_DEFAULTS.port);
        if (code === "EADDRINUSE") {
          this.error(t("errors.inuse", { port: requested }));
          flasher.set(statusError(t("status.inuse", { port: requested })));
        } else {
          this.error(
            t("errors.listen", { port: requested, error: err instanceof Error ? err.message : String(err) }),
          );
          flasher.set(statusError(t("status.listen", { reason: code ?? t("status.error") })));
        }
      },
    );

    void listening.then(() => feed.state(port !== 0 ? "listening" : "failed"));

    // A second wire gets Node-RED's copy of the message without its model being read for it.
    const closeLazyCopy = openLazyCopy(RED);

    onClose(this, async () => {
      closed = true;
      flasher.close();
      warnings.close();
      feed.close();
      await listening;
      await receiver.close();
      receiver.removeAllListeners();
      completion?.close();
      closeLazyCopy();
    });
  }
  RED.nodes.registerType(TYPE, VOEventReceiverNode);
}

export = init;
