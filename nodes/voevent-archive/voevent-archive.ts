/**
 * voevent-archive: stores each input event in the archive of a voevent-archive-db node, as
 * voeventdb stores it (src/archive/ingest.ts makes the record: raw bytes exactly as received,
 * IVORN, stream, role, times, positions, citations), through the archive's one batching writer
 * (src/archive/writer.ts, owned by the voevent-archive-db node) that writes in transactions off
 * the message path.
 *
 * Decisions:
 * - Parsed once per event: the record is made from the tree the flow already made, not by
 *   parsing again: the tree a receiver's message carries (src/contract.ts `treeOf`, which a copy
 *   for a second wire shares), else the process-wide cache of src/voevent/cache.ts, keyed by
 *   msg.payload (`peekDoc`). The cache alone was not enough: it keeps 256 packets, and a flow
 *   that queues (a saturated broker holds thousands of messages between its nodes) had let the
 *   packet go before the archive's turn, so the archive parsed every packet again (~14% of the
 *   main thread in bench/flow's saturated rounds, plus its garbage). Nor is the packet's model
 *   built (the receiver remembers the tree only; the model cost more than the record: ~150 µs
 *   of the ~300 µs the archive added per event in bench/flow). The tree is needed (positions, citations), so msg.voevent alone is not enough;
 *   the stored bytes are msg.payload's (a string as UTF-8), kept as the payload itself until
 *   the batch is written (no Buffer per event).
 * - done() is called as soon as the record is queued: the flow never waits for the database.
 *   A packet that is not a VOEvent goes to done(err). When the writer's bounded queue is full the
 *   record is dropped and counted (the status shows it), not held in memory without bound.
 * - The received time is msg.vtp.receivedAt when a node of this package set it (the receiver or
 *   subscriber saw the packet then), else now.
 * - msg.signature (a receiver's or subscriber's verdict, issue 17) is stored with the packet:
 *   verdict, key ID and user ID; nothing when it is absent or not a verdict (ingest.ts).
 * - The status "N stored / D duplicates / P pending" (and "X dropped" when any were) is formatted
 *   every STATUS_MS from the writer's counters (the archive's, shared by every archive node
 *   writing to it), not per message: at 10,000 events/s a status per message would cost more than
 *   the write. It turns yellow while writes fail and events wait.
 */
import type { NodeAPI, NodeDef } from "node-red";
import { recordFromParsed } from "../../src/archive/ingest";
import { isVtpInfo, rawPayloadOf, treeOf } from "../../src/contract";
import { bytesOf } from "../../src/message-frame";
import { peekDoc } from "../../src/voevent/cache";
import { asError, onClose, onInput } from "../shared/lifecycle";
import { StatusFlasher, statusError, statusIdle, statusOk, statusWarn } from "../shared/status";
import type { Node } from "../shared/types";
import type { ArchiveDbNode } from "../voevent-archive-db/config";

interface ArchiveNodeDef extends NodeDef {
  db?: string;
}

const TYPE = "voevent-archive";
/** How often the status is brought up to date. */
const STATUS_MS = 1000;

function init(RED: NodeAPI): void {
  function VOEventArchiveNode(this: Node, config: ArchiveNodeDef) {
    RED.nodes.createNode(this, config);
    const t = (key: string, subs?: Record<string, string | number>): string => RED._(`${TYPE}.${key}`, subs);
    const flasher = new StatusFlasher(this);
    const db = RED.nodes.getNode(String(config.db ?? "")) as ArchiveDbNode | null;
    if (db === null || db.type !== "voevent-archive-db") {
      const problem = t("errors.no-db");
      this.error(problem);
      flasher.set(statusError(t("status.refused")));
      onInput(this, (_msg, _send, done) => done(new Error(problem)));
      onClose(this, () => flasher.close());
      return;
    }
    // Registering says this node uses the archive: the store opens now, not on the first event.
    db.register(this).catch(() => undefined);
    flasher.set(statusIdle(t("status.waiting")));

    let shown = "";
    const statusTimer = setInterval(() => {
      const c = db.counters();
      let text = t("status.counts", { stored: c.stored, duplicates: c.duplicates, pending: c.pending });
      if (c.dropped > 0) text += t("status.dropped", { dropped: c.dropped });
      const problem = db.lastError() !== null && c.pending > 0;
      const key = `${text}|${problem}`;
      if (key === shown) return;
      shown = key;
      flasher.set(problem ? statusWarn(`${text} · ${t("status.down")}`) : statusOk(text));
    }, STATUS_MS);
    statusTimer.unref();

    onInput(this, (msg, _send, done) => {
      const vtp = (msg as { vtp?: unknown }).vtp;
      let receivedAt = new Date();
      if (isVtpInfo(vtp)) {
        const at = new Date(vtp.receivedAt);
        if (!Number.isNaN(at.getTime())) receivedAt = at;
      }
      try {
        const payload = rawPayloadOf(msg);
        // The parse the flow already made: the tree the message carries (a receiver's, even in a
        // copy for a second wire), else the process-wide cache's (keyed by the payload).
        const parsed = treeOf(msg) ?? peekDoc(payload);
        const signature = (msg as { signature?: unknown }).signature;
        // The bytes as received when a receiver or subscriber took the packet (its frame, which a
        // copy for a second wire carries too); else the payload as it is (a string is encoded as
        // UTF-8 into the batch's buffer when it is written).
        db.enqueue(recordFromParsed(parsed, bytesOf(msg) ?? payload, receivedAt, { signature }));
      } catch (err) {
        flasher.flash(statusError(t("status.refused-one")));
        done(asError(err));
        return;
      }
      done();
    });

    onClose(this, async () => {
      clearInterval(statusTimer);
      flasher.close();
      await db.deregister(this);
    });
  }
  RED.nodes.registerType(TYPE, VOEventArchiveNode);
}

export = init;
