/**
 * voevent-query: reads the archive of a voevent-archive-db node. Given `msg.query` (an object with
 * the API's filter names — stream, role, cone, authored_since, … — plus limit, offset and order,
 * parsed by src/archive/filters.ts exactly as the HTTP API parses a query string), it outputs the
 * matching packets as events in the message contract: one message per event, or one message whose
 * payload is the array of events (setting `output`).
 *
 * Decisions:
 * - Each output message is a copy of the input with payload, voevent, topic and vtp set (vtp.peer
 *   and vtp.localIvo null, vtp.receivedAt when the archive received it), msg.signature
 *   { verdict, keyId, userId } when a verdict was stored with the packet (else none, whatever the
 *   input had), plus msg.archive { index, count }; in array mode msg.payload is the array of
 *   { payload, voevent, topic, vtp, signature? } and msg.archive { count }. A stored packet that no longer parses is skipped and counted in
 *   msg.archive.skipped.
 * - A bad query (unknown key, bad value, limit above the cap) goes to done(err) with the parser's
 *   message, which names the key and the value; so does a store that is down or too slow.
 * - `limit` defaults to 100 and is capped (10,000) as in the API: a digest of more pages uses offset.
 */
import type { NodeAPI, NodeDef } from "node-red";
import { parseArchiveQuery } from "../../src/archive/filters";
import type { ArchiveSignature, ArchiveStore } from "../../src/archive/types";
import { type EventMessage, eventMessage } from "../../src/contract";
import { parseVOEvent } from "../../src/voevent/parse";
import { asError, onClose, onInput } from "../shared/lifecycle";
import { StatusFlasher, statusError, statusIdle, statusOk } from "../shared/status";
import type { Node, NodeMessage, NodeMessageInFlow, SendFn } from "../shared/types";
import type { ArchiveDbNode } from "../voevent-archive-db/config";

interface QueryNodeDef extends NodeDef {
  db?: string;
  output?: string;
}

const TYPE = "voevent-query";

function init(RED: NodeAPI): void {
  function VOEventQueryNode(this: Node, config: QueryNodeDef) {
    RED.nodes.createNode(this, config);
    const t = (key: string, subs?: Record<string, string | number>): string => RED._(`${TYPE}.${key}`, subs);
    const flasher = new StatusFlasher(this);
    const asArray = config.output === "array";
    const db = RED.nodes.getNode(String(config.db ?? "")) as ArchiveDbNode | null;
    if (db === null || db.type !== "voevent-archive-db") {
      const problem = t("errors.no-db");
      this.error(problem);
      flasher.set(statusError(t("status.refused")));
      onInput(this, (_msg, _send, done) => done(new Error(problem)));
      onClose(this, () => flasher.close());
      return;
    }
    let store: Promise<ArchiveStore> = db.register(this);
    store.catch(() => undefined);
    flasher.set(statusIdle(t("status.ready")));

    const answer = async (msg: NodeMessageInFlow, send: SendFn): Promise<void> => {
      const raw = (msg as { query?: unknown }).query;
      if (raw !== undefined && (raw === null || typeof raw !== "object" || Array.isArray(raw))) {
        throw new Error(t("errors.query-type"));
      }
      const query = parseArchiveQuery((raw ?? {}) as Record<string, unknown>);
      let s: ArchiveStore;
      try {
        s = await store;
      } catch (err) {
        store = db.register(this);
        store.catch(() => undefined);
        throw asError(err);
      }
      const packets = await s.list(query);
      const events: Array<EventMessage & { signature?: ArchiveSignature }> = [];
      let skipped = 0;
      for (const packet of packets) {
        try {
          const ev = eventMessage(parseVOEvent(packet.xml), { receivedAt: packet.receivedAt });
          // The stored verdict comes back as msg.signature; none when none was stored.
          events.push(
            packet.signature === null || packet.signature === undefined
              ? ev
              : { ...ev, signature: { ...packet.signature } },
          );
        } catch {
          skipped++;
        }
      }
      if (asArray) {
        const out = RED.util.cloneMessage(msg) as NodeMessage & Record<string, unknown>;
        out.payload = events;
        out.archive = { count: events.length, skipped };
        send(out);
      } else {
        const outs = events.map((ev, index) => {
          const out = RED.util.cloneMessage(msg) as NodeMessage & Record<string, unknown>;
          // The input's own msg.signature is not this event's.
          delete out.signature;
          Object.assign(out, ev);
          out.archive = { index, count: events.length, skipped };
          return out;
        });
        if (outs.length > 0) send([outs]);
      }
      flasher.set(statusOk(t("status.found", { count: events.length })));
    };

    onInput(this, async (msg, send, done) => {
      try {
        await answer(msg, send);
      } catch (err) {
        flasher.flash(statusError(t("status.failed")));
        throw asError(err);
      }
      done();
    });

    onClose(this, async () => {
      flasher.close();
      await db.deregister(this);
    });
  }
  RED.nodes.registerType(TYPE, VOEventQueryNode);
}

export = init;
