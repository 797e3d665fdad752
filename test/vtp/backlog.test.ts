/**
 * The receiver's backlog (src/vtp/backlog.ts, VTPReceiver's awaitFinish / maxBacklog): events
 * handed over and not finished are counted; at an author address's share (half the bound) that
 * author stops being read, at the bound every author does, and reading starts again as events
 * finish. Real authors over loopback sockets, real packets from the corpus.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { Backlog, type BacklogChange, type Finish } from "../../src/vtp/backlog";
import { encodeFrame, FrameDecoder } from "../../src/vtp/framing";
import { type ReceivedEvent, VTPReceiver } from "../../src/vtp/receiver";
import { describeCorpus, readPacket } from "../helpers/corpus";

const LOCAL = "ivo://receiver.test/vtp";

describe("Backlog", () => {
  it("pauses every author at maxBacklog and resumes at half of it", () => {
    const changes: BacklogChange[] = [];
    const b = new Backlog({ maxBacklog: 8, backlogTimeoutMs: 60_000 }, (c) => changes.push(c));
    const finishes: Finish[] = [];
    // Four authors, two each: nobody reaches its share (4), all together reach the bound.
    for (const a of ["a", "b", "c", "d"]) for (let i = 0; i < 2; i++) finishes.push(b.add(a));
    assert.equal(b.pending, 8);
    assert.ok(b.paused);
    assert.ok(b.holds("e"), "an author with nothing pending waits too");
    assert.deepEqual(changes, [{ paused: true, pending: 8 }]);
    for (let i = 0; i < 3; i++) finishes[i]!();
    assert.ok(b.paused, "5 pending: still above half");
    finishes[3]!();
    assert.equal(b.pending, 4);
    assert.ok(!b.paused && !b.holds("e"));
    assert.deepEqual(changes.at(-1), { paused: false, pending: 4 });
    b.close();
  });

  it("one author address holds at most half the bound: it alone is paused, down to a quarter", () => {
    const changes: BacklogChange[] = [];
    const b = new Backlog({ maxBacklog: 8, backlogTimeoutMs: 60_000 }, (c) => changes.push(c));
    const mine = [b.add("a"), b.add("a"), b.add("a"), b.add("a")];
    assert.ok(b.holds("a"), "at its share");
    assert.ok(!b.holds("b"), "another author is still read");
    assert.deepEqual(changes, [{ author: "a", authorPaused: true, pending: 4 }]);
    mine[0]!();
    assert.ok(b.holds("a"), "3 pending: above a quarter");
    mine[1]!();
    assert.ok(!b.holds("a"), "2 pending: a quarter");
    assert.deepEqual(changes.at(-1), { author: "a", authorPaused: false, pending: 2 });
    b.close();
  });

  it("a finish counts once, however often it is called", () => {
    const b = new Backlog({ maxBacklog: 4, backlogTimeoutMs: 60_000 }, () => {});
    const f = b.add("a");
    b.add("a");
    f();
    f();
    f();
    assert.equal(b.pending, 1);
    assert.equal(b.pendingFrom("a"), 1);
    b.close();
  });

  it("an event unfinished after backlogTimeoutMs stops counting, reported as expired", async () => {
    const changes: BacklogChange[] = [];
    const b = new Backlog({ maxBacklog: 2, backlogTimeoutMs: 30 }, (c) => changes.push(c));
    b.add("a");
    b.add("b");
    assert.ok(b.paused);
    const deadline = Date.now() + 5000;
    while (b.pending > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(b.pending, 0);
    assert.ok(!b.paused, "reading again");
    assert.deepEqual(changes.at(-1), { pending: 0, expired: 2 });
    b.close();
  });

  it("refuses a bound that is not a whole number ≥ 0, naming it", () => {
    assert.throws(() => new Backlog({ maxBacklog: -1, backlogTimeoutMs: 1000 }, () => {}), /maxBacklog/);
    assert.throws(() => new Backlog({ maxBacklog: 1.5, backlogTimeoutMs: 1000 }, () => {}), /maxBacklog/);
    assert.throws(() => new Backlog({ maxBacklog: 10, backlogTimeoutMs: 0 }, () => {}), /backlogTimeoutMs/);
    assert.throws(
      () => new VTPReceiver({ port: 0, localIvo: LOCAL, awaitFinish: true, maxBacklog: Number.NaN }),
      /VTPReceiver: maxBacklog must be a whole number/,
    );
  });
});

/** An author on one connection from `localAddress`: sends frames when told, counts acks. */
class Author {
  readonly socket: net.Socket;
  acks = 0;
  naks = 0;
  closed = false;
  private readonly decoder = new FrameDecoder({
    maxBytes: 1 << 20,
    onFrame: (p) => {
      if (/role="ack"/.test(p.toString("utf8"))) this.acks++;
      else this.naks++;
    },
    onError: () => this.socket.destroy(),
  });

  constructor(port: number, localAddress: string) {
    this.socket = net.connect({ port, host: "127.0.0.1", localAddress });
    this.socket.on("data", (c: Buffer) => this.decoder.push(c));
    this.socket.on("error", () => {});
    this.socket.on("close", () => {
      this.closed = true;
    });
  }

  send(xml: string): void {
    this.socket.write(encodeFrame(xml));
  }
}

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const quiet = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeCorpus("VTPReceiver with awaitFinish: authors wait while the backlog is full", () => {
  const source = () => readPacket("voevent-parse__Gaia16aac.xml").toString("utf8");
  let n = 0;
  const packet = (): string => source().replace('#Gaia16aac"', `#Gaia16aac-${++n}"`);

  let receiver: VTPReceiver;
  let authors: Author[] = [];
  let finishes: Finish[] = [];
  let events: ReceivedEvent[] = [];
  let changes: BacklogChange[] = [];

  async function start(opts: { maxBacklog: number; frameTimeoutMs?: number; idleTimeoutMs?: number }) {
    receiver = new VTPReceiver({
      host: "127.0.0.1",
      port: 0,
      localIvo: LOCAL,
      whitelist: "127.0.0.0/8",
      awaitFinish: true,
      ...opts,
      handler: (ev, finish) => {
        events.push(ev);
        finishes.push(finish);
      },
    });
    receiver.on("backlog", (c: BacklogChange) => changes.push(c));
    return (await receiver.listen()).port;
  }
  async function author(port: number, localAddress: string): Promise<Author> {
    const a = new Author(port, localAddress);
    authors.push(a);
    await once(a.socket, "connect");
    return a;
  }
  const finishFirst = (k: number) => {
    for (const f of finishes.splice(0, k)) f();
  };

  beforeEach(() => {
    authors = [];
    finishes = [];
    events = [];
    changes = [];
  });
  afterEach(async () => {
    for (const a of authors) a.socket.destroy();
    await receiver.close();
  });

  it("one author is read up to its share (half of maxBacklog), then waits; every event is acked once finishing lets it on", async () => {
    const port = await start({ maxBacklog: 10 });
    const a = await author(port, "127.0.0.1");
    for (let i = 0; i < 40; i++) a.send(packet());
    await until(() => a.acks === 5, "5 acks");
    await quiet(200);
    assert.equal(a.acks, 5, "no ack past the share while nothing is finished");
    assert.equal(receiver.backlog.pending, 5);
    assert.deepEqual(changes, [{ author: "127.0.0.1", authorPaused: true, pending: 5 }]);
    finishFirst(3); // 2 left: a quarter of the bound
    await until(() => a.acks === 8, "3 more acks");
    // Finish as they come, until all 40 are in.
    while (a.acks < 40) {
      await until(() => finishes.length > 0, "an event to finish");
      finishFirst(finishes.length);
    }
    finishFirst(finishes.length);
    assert.equal(a.naks, 0);
    assert.equal(events.length, 40, "each event handed over once");
    assert.equal(new Set(events.map((e) => e.head.ivorn)).size, 40);
    assert.equal(receiver.backlog.pending, 0);
    assert.ok(!a.closed, "the author was never dropped");
  });

  it("a second author is served while the first waits at its share; at the bound all wait, then all go on", async () => {
    const port = await start({ maxBacklog: 10 });
    const a = await author(port, "127.0.0.1");
    for (let i = 0; i < 20; i++) a.send(packet());
    await until(() => a.acks === 5, "the first author's share");
    const b = await author(port, "127.0.0.2");
    for (let i = 0; i < 20; i++) b.send(packet());
    await until(() => b.acks === 5, "the second author's share");
    assert.ok(receiver.backlog.paused, "10 unfinished: every author waits");
    assert.deepEqual(changes.at(-1), { paused: true, pending: 10 });
    const c = await author(port, "127.0.0.3");
    c.send(packet());
    await quiet(200);
    assert.equal(c.acks, 0, "a third author waits too while the bound is reached");
    finishFirst(5); // the first author's five: 5 left, half the bound
    // Woken first (nothing unfinished) and taking turns with the others: its event goes in
    // before the first two fill the room again.
    await until(() => c.acks === 1, "the third author's ack");
    while (a.acks < 20 || b.acks < 20) {
      await until(() => finishes.length > 0, "an event to finish");
      finishFirst(finishes.length);
    }
    assert.equal(events.length, 41);
    assert.ok(!a.closed && !b.closed && !c.closed);
  });

  it("a paused author is not dropped by the frame or idle deadlines: the wait is ours", async () => {
    const port = await start({ maxBacklog: 2, frameTimeoutMs: 50, idleTimeoutMs: 50 });
    const a = await author(port, "127.0.0.1");
    for (let i = 0; i < 6; i++) a.send(packet());
    await until(() => a.acks === 1, "the first ack");
    await quiet(400); // eight deadlines long
    assert.ok(!a.closed, "still connected");
    assert.equal(a.acks, 1);
    while (a.acks < 6) {
      await until(() => finishes.length > 0, "an event to finish");
      finishFirst(finishes.length);
    }
    assert.ok(!a.closed);
  });

  it("a handler that throws finishes its event: the nak does not hold the backlog", async () => {
    receiver = new VTPReceiver({
      host: "127.0.0.1",
      port: 0,
      localIvo: LOCAL,
      awaitFinish: true,
      maxBacklog: 2,
      handler: () => {
        throw new Error("flow refused");
      },
    });
    receiver.on("nak", () => {});
    const port = (await receiver.listen()).port;
    const a = await author(port, "127.0.0.1");
    for (let i = 0; i < 5; i++) a.send(packet());
    await until(() => a.naks === 5, "5 naks");
    assert.equal(receiver.backlog.pending, 0);
  });
});
