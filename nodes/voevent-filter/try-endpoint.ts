/**
 * The voevent-filter dialog's "Try" panel, runtime side: admin endpoints (Node-RED's
 * permission check on each) serving the sample packets shipped in samples/, the last few
 * events each filter node saw, and the verdict of a set of rules on one packet
 * (src/monitor/try.ts).
 *
 *   GET  /voevent/filter/samples          [{id, title}]            voevent-filter.read
 *   GET  /voevent/filter/samples/<id>     the packet (text/plain)   voevent-filter.read
 *   GET  /voevent/filter/recent/<node id> [{ivorn, receivedAt, xml}], newest first   voevent-filter.read
 *   POST /voevent/filter/try {rules, xml} {ok, event, results: [{rule, t, matches, value?, setting?, error?}]}   voevent-filter.write
 *   POST /voevent/filter/try/<node id> {xml}  the same for the rules of a deployed node's registry
 *                                        (its context variable as it is now), each with its `name`   voevent-filter.write
 *   GET  /voevent/filter/gcn-types       GCN's notice types [{type, name, mission}]   voevent-filter.read
 *
 * Decisions: each filter node keeps its last RECENT_EVENTS (5) events, each at most
 * RECENT_MAX_CHARS (256 KiB) of XML (longer ones are not kept); a node forgets them when it
 * closes.
 */
import type { NodeAPI } from "node-red";
import { payloadOf } from "../../src/contract";
import { readSample, SAMPLES, tryRegistry, tryRules } from "../../src/monitor/try";
import { GCN_NOTICE_TYPES } from "../../src/voevent/gcn-types";

export const RECENT_EVENTS = 5;
export const RECENT_MAX_CHARS = 256 * 1024;

interface Recent {
  ivorn: string;
  receivedAt: string;
  xml: string;
}

const recent = new Map<string, Recent[]>();
/** Filter nodes whose rules come from context: how to read their registry now. */
const registries = new Map<string, () => Promise<unknown>>();

/** A node with rules from context says how its registry is read (forgotten by forgetNode). */
export function setRegistryReader(nodeId: string, read: () => Promise<unknown>): void {
  registries.set(nodeId, read);
}
const apps = new WeakSet<object>();

/** Keeps a copy of the message's packet among the node's last few (never throws). */
export function rememberEvent(nodeId: string, msg: { payload?: unknown; voevent?: unknown }): void {
  let xml: string;
  try {
    xml = payloadOf(msg);
  } catch {
    return;
  }
  if (xml.length > RECENT_MAX_CHARS) return;
  const v = msg.voevent as { ivorn?: unknown } | undefined;
  const ivorn = typeof v?.ivorn === "string" ? v.ivorn : (/ivorn\s*=\s*"([^"]{0,300})"/.exec(xml)?.[1] ?? "");
  const list = recent.get(nodeId) ?? [];
  list.unshift({ ivorn, receivedAt: new Date().toISOString(), xml });
  if (list.length > RECENT_EVENTS) list.length = RECENT_EVENTS;
  recent.set(nodeId, list);
}

export function forgetNode(nodeId: string): void {
  recent.delete(nodeId);
  registries.delete(nodeId);
}

export function registerTryEndpoints(RED: NodeAPI): void {
  const app = RED.httpAdmin;
  if (!app || apps.has(app)) return;
  apps.add(app);
  const read = RED.auth.needsPermission("voevent-filter.read");
  const write = RED.auth.needsPermission("voevent-filter.write");
  app.get("/voevent/filter/samples", read, (_req, res) => {
    res.json(SAMPLES.map((s) => ({ id: s.id, title: s.title })));
  });
  app.get("/voevent/filter/samples/:id", read, (req, res) => {
    let xml: string | undefined;
    try {
      xml = readSample(String(req.params.id));
    } catch (err) {
      res.status(500).json({ error: err instanceof Error ? err.message : String(err) });
      return;
    }
    if (xml === undefined) res.status(404).json({ error: "no such sample" });
    else res.type("text/plain").send(xml);
  });
  app.get("/voevent/filter/recent/:id", read, (req, res) => {
    res.json(recent.get(String(req.params.id)) ?? []);
  });
  app.get("/voevent/filter/gcn-types", read, (_req, res) => {
    res.json(GCN_NOTICE_TYPES);
  });
  app.post("/voevent/filter/try", write, (req, res) => {
    const body = (req.body ?? {}) as { rules?: unknown; xml?: unknown };
    const result = tryRules(body.rules, body.xml);
    res.status(result.ok || result.results.length > 0 ? 200 : 400).json(result);
  });
  app.post("/voevent/filter/try/:id", write, (req, res) => {
    const reader = registries.get(String(req.params.id));
    if (!reader) {
      res.status(404).json({
        ok: false,
        error: "no deployed filter node with rules from context has this id (deploy first)",
        results: [],
      });
      return;
    }
    const body = (req.body ?? {}) as { xml?: unknown };
    reader().then(
      (value) => {
        const result = tryRegistry(value, body.xml);
        res.status(result.ok || result.results.length > 0 ? 200 : 400).json(result);
      },
      (err: unknown) =>
        res
          .status(500)
          .json({ ok: false, error: err instanceof Error ? err.message : String(err), results: [] }),
    );
  });
}
