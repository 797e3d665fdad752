/**
 * Issue 8 row 7: degrade, don't drop. When the dedupe node's store fails (a
 * full disk, an unwritable file) the event still leaves on the first output as
 * first-seen, its key is kept in memory (a second copy is still a duplicate),
 * and the status and log say what happened. Nothing goes to Catch: an alert
 * pipeline prefers a possible duplicate to a loss.
 *
 * The full disk is real: the store's log descriptor is swapped for one on
 * /dev/full (close it, open /dev/full, which takes the lowest free number:
 * the same one, checked), so every write gets ENOSPC from the kernel.
 */
import assert from "node:assert/strict";
import { closeSync, mkdtempSync, openSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  callsOf,
  catchNode,
  collect,
  type FlowNode,
  getNode,
  loadFlow,
  type Msg,
  sleep,
  statusHistory,
  useNodeRed,
  waitUntil,
} from "../helpers/nodered";

function flow(file: string): FlowNode[] {
  return [
    {
      id: "d",
      type: "voevent-dedupe",
      key: "property",
      keyProperty: "topic",
      ttl: 30,
      ttlUnits: "days",
      capacity: 1000,
      store: "file",
      path: file,
      wires: [["first"], ["dup"]],
    },
    { id: "first", type: "helper" },
    { id: "dup", type: "helper" },
    catchNode("c", ["caught"]),
    { id: "caught", type: "helper" },
  ];
}

/** The descriptor of this process open on `file`. */
function fdOf(file: string): number {
  const found = readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false;
    }
  });
  assert.equal(found.length, 1, `one descriptor open on ${file}`);
  return Number(found[0]);
}

/**
 * Replaces descriptor `fd` with one opened by `open`: a new descriptor takes
 * the lowest free number, so open until `fd` is taken again, then close the
 * ones that filled lower holes.
 */
function swapFd(fd: number, open: () => number): void {
  closeSync(fd);
  const fillers: number[] = [];
  for (let again = open(); again !== fd; again = open()) {
    fillers.push(again);
    assert.ok(
      again < fd && fillers.length < 1000,
      `descriptor ${fd} could not be taken again (got ${again})`,
    );
  }
  for (const f of fillers) closeSync(f);
}

describe("adversarial: dedupe on a failing store (issue 8 row 7)", () => {
  useNodeRed();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "voevent-adv-dedupe-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function outputs() {
    const first = collect("first");
    const dup = collect("dup");
    const caught = collect("caught");
    const send = async (topic: string) => {
      const before = first.length + dup.length + caught.length;
      getNode("d").receive({ topic });
      await waitUntil(() => first.length + dup.length + caught.length > before, 2000, `${topic} out`);
    };
    const topics = (msgs: Msg[]) => msgs.map((m) => m.topic);
    return { first, dup, caught, send, topics };
  }

  it("the disk fills while running: events pass as first-seen, keys kept in memory, status and log say so", async () => {
    const file = path.join(dir, "seen.log");
    await loadFlow(["voevent-dedupe"], flow(file));
    const o = outputs();
    await o.send("A");

    const fd = fdOf(file);
    swapFd(fd, () => openSync("/dev/full", "a"));
    await o.send("B");
    await o.send("B");
    await o.send("A");
    assert.deepEqual(o.topics(o.caught), [], "nothing went to Catch");
    assert.deepEqual(o.topics(o.first), ["A", "B"]);
    assert.deepEqual(o.topics(o.dup), ["B", "A"]);
    // Counts in the status are shown at most once a second (issue 16): wait for the latest.
    await waitUntil(() => statusHistory("d").at(-1)?.fill === "yellow", 3000, "the status turns yellow");
    const status = statusHistory("d").at(-1);
    assert.equal(status?.fill, "yellow");
    assert.match(String(status?.text), /memory/);
    const warned = callsOf("d", "warn").map(([w]) => String(w));
    assert.equal(warned.filter((w) => /ENOSPC/.test(w)).length, 1, `one warning naming the error: ${warned}`);

    // Space again: the next write succeeds and the status says the store is back.
    swapFd(fd, () => openSync(file, "a"));
    await o.send("C");
    await o.send("B");
    assert.deepEqual(o.topics(o.first), ["A", "B", "C"]);
    assert.deepEqual(o.topics(o.dup), ["B", "A", "B"]);
    await waitUntil(() => statusHistory("d").at(-1)?.fill === "green", 3000, "the status turns green");
    assert.equal(statusHistory("d").at(-1)?.fill, "green");
    assert.ok(
      callsOf("d", "log").some(([l]) => /1 event/.test(String(l))),
      "the log says how many events were kept in memory only",
    );
  });

  it("/dev/full as the log: the node starts on memory, forwards, dedupes and reports it", async () => {
    await loadFlow(["voevent-dedupe"], flow("/dev/full"));
    const o = outputs();
    await o.send("A");
    await o.send("A");
    await o.send("B");
    await sleep(20);
    assert.deepEqual(o.topics(o.caught), []);
    assert.deepEqual(o.topics(o.first), ["A", "B"]);
    assert.deepEqual(o.topics(o.dup), ["A"]);
    assert.ok(
      statusHistory("d").some((s) => s.fill !== "green" && /memory/.test(String(s.text))),
      "the status says memory only",
    );
    assert.ok(
      [...callsOf("d", "warn"), ...callsOf("d", "error")].some(([w]) => /ENOSPC|\/dev\/full/.test(String(w))),
      "the log names the failure",
    );
  });
});
