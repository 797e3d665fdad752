/**
 * When the flows are done with a message a node sent: the runtime's message hooks (Node-RED
 * ≥ 2.0) count, per message id, the deliveries of that message not yet completed by the node
 * that got them. Clones (a second wire) keep the id, and so do the messages a node sends on
 * while handling it (Node-RED's send gives a message without an id the id of the one being
 * handled; the function node does the same), so the count follows the message down the flow.
 * The message is finished when the count falls back to zero. The receiver uses it to know how
 * many of the events it acked the flow is still working on (src/vtp/backlog.ts).
 *
 * Decisions:
 * - Three hooks: `preDeliver` (+1: a node is about to get the message); `onComplete` (−1: a
 *   node called done()); `postReceive` (−1 when the node that got it has no input handler that
 *   takes `done`: the runtime never completes a message for such a node, so it is finished once
 *   its handler returns; the runtime's own count of those handlers, `_expectedDoneCount`, tells,
 *   and when it is missing the node is taken as one without done). Once registered they run for
 *   every message of the runtime, ours or not: one Map lookup each (none while nothing is
 *   tracked). They are registered while at least one tracker is open, removed with the last.
 * - Undercounting is allowed, overcounting is not: a node that calls done() before it sends the
 *   message on, or a node reached by a link or a complete/catch node (which get the message
 *   without a delivery), may end the count early. A node that never calls done() keeps the
 *   message unfinished: the engine's backlogTimeoutMs stops counting it after a while.
 * - A message no node got (an unwired output) is finished at once.
 * - The hooks never throw and never return false (false would stop the message).
 * - A runtime without `RED.hooks` (node-red-node-test-helper gives none) gets no tracker:
 *   `FlowCompletion.open` returns null and the receiver counts nothing (no bound).
 */
import type { NodeAPI, NodeMessage } from "node-red";
import { type HookSet, holdHooks } from "./runtime-hooks";

interface HookEvent {
  msg?: { _msgid?: unknown } | null;
  /** postReceive: the node that got the message. */
  destination?: { node?: { _expectedDoneCount?: unknown } | null } | null;
}

interface Lineage {
  count: number;
  owner: FlowCompletion;
  finish: () => void;
}

/** Tracked messages by _msgid, for every tracker of the process (the hooks are the runtime's). */
const lineages = new Map<string, Lineage>();

function lineageOf(event: HookEvent): [string, Lineage] | null {
  const id = event.msg?._msgid;
  if (typeof id !== "string") return null;
  const lineage = lineages.get(id);
  return lineage === undefined ? null : [id, lineage];
}

function preDeliver(event: HookEvent): void {
  const found = lineages.size === 0 ? null : lineageOf(event);
  if (found !== null) found[1].count++;
}

function postReceive(event: HookEvent): void {
  if (lineages.size === 0) return;
  const expected = event.destination?.node?._expectedDoneCount;
  if (typeof expected === "number" && expected > 0) return; // it will call done(): onComplete
  onComplete(event);
}

function onComplete(event: HookEvent): void {
  const found = lineages.size === 0 ? null : lineageOf(event);
  if (found === null) return;
  const [id, lineage] = found;
  lineage.count--;
  if (lineage.count <= 0) {
    lineages.delete(id);
    try {
      lineage.finish();
    } catch {
      // A finish is the engine's Finish, which does not throw; nothing may escape a hook.
    }
  }
}

/** The three hooks, labelled (see ./runtime-hooks.ts). */
const HOOKS: HookSet = {
  "preDeliver.voeventFlowCompletion": preDeliver,
  "onComplete.voeventFlowCompletion": onComplete,
  "postReceive.voeventFlowCompletion": postReceive,
};

/**
 * A _msgid for a tracked message: 16 hex digits like Node-RED's own, a random prefix drawn once per
 * process and then a counter (Node-RED's generateId draws eight random numbers per message, on the
 * receiver's path to the ack). Unique among the messages in flight: the counter wraps after 2^32.
 */
const ID_PREFIX = Math.floor(Math.random() * 0x1_0000_0000)
  .toString(16)
  .padStart(8, "0");
let idCount = 0;
function nextMessageId(): string {
  idCount = (idCount + 1) >>> 0;
  return ID_PREFIX + idCount.toString(16).padStart(8, "0");
}

export class FlowCompletion {
  private closed = false;

  /** A tracker, or null when the runtime has no message hooks. */
  static open(RED: NodeAPI): FlowCompletion | null {
    const release = holdHooks(RED, HOOKS);
    return release === null ? null : new FlowCompletion(release);
  }

  private constructor(private readonly release: () => void) {}

  /**
   * Sends `msg` with `send` (the node's send) under a new _msgid; `finish` is called once every
   * node that got it, and what they sent on under its id, is done with it.
   */
  send(msg: NodeMessage, send: (msg: NodeMessage) => void, finish: () => void): void {
    if (this.closed) {
      send(msg);
      finish();
      return;
    }
    const id = nextMessageId();
    msg._msgid = id;
    const lineage: Lineage = { count: 0, owner: this, finish };
    lineages.set(id, lineage);
    try {
      send(msg);
    } finally {
      // Nobody got it (no wires), or every node that did is already done.
      if (lineage.count <= 0 && lineages.get(id) === lineage) {
        lineages.delete(id);
        finish();
      }
    }
  }

  /** Forgets this tracker's messages; the last tracker closed removes the hooks. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [id, lineage] of lineages) if (lineage.owner === this) lineages.delete(id);
    this.release();
  }
}
