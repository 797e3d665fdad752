/**
 * The voevent-filter dialog's "Try" panel, runtime side: admin endpoints (Node-RED's
 * permission check on each) serving the sample packets shipped in samples/, the last few
 * events each filter node saw, and the verdict of a set of rules on one packet
 * (src/monitor/try.ts).
 *
 *   GET  /voevent/filter/samples          [{id, title}]            voevent-filter.read
 *   GET  /voevent/filter/samples/<id>     the packet (text/plain)   voevent-filter.read
 *   GET  /voevent/filter/recent/<node id> [{ivorn, receivedAt, xml}], newest first   voevent-filter.read
 *   POST /voevent/filter/try {rules, xml} {ok, event, results: [{rule, t, matches, value?, error?}]}   voevent-filter.write
 *
 * Decisions: each filter node keeps its last RECENT_EVENTS (5) events, each at most
 * RECENT_MAX_CHARS (256 KiB) of XML (longer ones are not kept); a node forgets them when it
 * closes.
 */
import type { NodeAPI } from "node-red";
import { payloadOf } from "../../src/contract";
import { readSample, SAMPLES, tryRules } from "../../src/monitor/try";

export const RECENT_EVENTS = 5;
export const RECENT_MAX_CHARS = 256 * 1024;

interface Recent {
  ivorn: string;
  receivedAt: string;
  xml: string;
}

const recent = new Map<string, Recent[]>();
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
  app.post("/voevent/filter/try", write, (req, res) => {
    const body = (req.body ?? {}) as { rules?: unknown; xml?: unknown };
    const result = tryRules(body.rules, body.xml);
    res.status(result.ok || result.results.length > 0 ? 200 : 400).json(result);
  });
}
