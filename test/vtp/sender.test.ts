import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { isVOEventError } from "../../src/errors";
import { encodeFrame, FrameDecoder } from "../../src/vtp/framing";
import { VTPReceiver } from "../../src/vtp/receiver";
import { SendError, sendEvent } from "../../src/vtp/sender";
import { buildAck, buildIamalive, buildNak } from "../../src/vtp/transport";

const IVORN = "ivo://sender.test/s#1";
const EVENT = `<?xml version="1.0"?><voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" version="2.0" role="test" ivorn="${IVORN}"><Who><Date>2026-01-01T00:00:00</Date></Who></voe:VOEvent>`;

type Script = (frame: Buffer, socket: net.Socket, n: number) => void;

/** A scripted VTP peer: `script` is called with each frame received and the connection's number (1, 2, …). */
async function scripted(
  script: Script,
  onConnect?: (socket: net.Socket, n: number) => void,
): Promise<{ port: number; connections: () => number; received: Buffer[]; close: () => Promise<void> }> {
  let n = 0;
  const received: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    const k = ++n;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    const dec = new FrameDecoder({
      maxBytes: 1 << 20,
      onFrame: (p) => {
        received.push(Buffer.from(p));
        script(p, socket, k);
      },
      onError: () => socket.destroy(),
    });
    socket.on("data", (c: Buffer) => dec.push(c));
    onConnect?.(socket, k);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => n,
    received,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  s.listen(0, "127.0.0.1");
  await once(s, "listening");
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function handles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap" || r === "TCPServerWrap")
    .length;
}

describe("vtp/sender", () => {
  it("ack → resolves with the reply, sending the exact bytes once", async () => {
    const peer = await scripted((_f, s) => s.write(encodeFrame(buildAck(IVORN, "ivo://peer.test/r"))));
    const payload = Buffer.from(EVENT);
    const r = await sendEvent({ host: "127.0.0.1", port: peer.port, payload, timeoutMs: 1000 });
    assert.equal(r.reply, "ack");
    assert.equal(r.reason, null);
    assert.equal(r.attempts, 1);
    assert.equal(r.originMatches, true);
    assert.equal(r.transport.response, "ivo://peer.test/r");
    assert.ok(r.elapsedMs >= 0 && r.elapsedMs < 5000);
    assert.equal(peer.received.length, 1);
    assert.ok(peer.received[0]?.equals(payload));
    await peer.close();
  });

  it("nak → resolves with reply nak and the reason, never retried", async () => {
    const peer = await scripted((_f, s) =>
      s.write(encodeFrame(buildNak(IVORN, null, "Event rejected: nope"))),
    );
    const r = await sendEvent({
      host: "127.0.0.1",
      port: peer.port,
      payload: EVENT,
      retries: 3,
      backoffMs: 5,
    });
    assert.equal(r.reply, "nak");
    assert.equal(r.reason, "Event rejected: nope");
    assert.equal(r.attempts, 1);
    await new Promise((res) => setTimeout(res, 30));
    assert.equal(peer.connections(), 1);
    await peer.close();
  });

  it("tolerates a reply whose Origin is not the event's, and ignores an iamalive before the ack", async () => {
    const peer = await scripted((_f, s) => {
      s.write(encodeFrame(buildIamalive("ivo://peer.test/b")));
      s.write(encodeFrame(buildAck("ivo://uk.org.estar/estar.ex#", null)));
    });
    const r = await sendEvent({ host: "127.0.0.1", port: peer.port, payload: EVENT, timeoutMs: 1000 });
    assert.equal(r.reply, "ack");
    assert.equal(r.originMatches, false);
    await peer.close();
  });

  it("refused → retries with backoff, then rejects saying ECONNREFUSED and the attempt count", async () => {
    const port = await freePort();
    const t0 = Date.now();
    await assert.rejects(
      sendEvent({ host: "127.0.0.1", port, payload: EVENT, retries: 2, backoffMs: 10 }),
      (e: unknown) =>
        e instanceof SendError &&
        e.code === "ECONNREFUSED" &&
        e.attempts === 3 &&
        /ECONNREFUSED/.test(e.message) &&
        /after 3 attempts/.test(e.message),
    );
    // Delays 10 + 20 ms, each shortened by up to 25 %.
    assert.ok(Date.now() - t0 >= 20, "backed off between attempts");
  });

  it("no reply → times out after timeoutMs, retried, then rejects", async () => {
    const peer = await scripted(() => {});
    await assert.rejects(
      sendEvent({
        host: "127.0.0.1",
        port: peer.port,
        payload: EVENT,
        timeoutMs: 40,
        retries: 1,
        backoffMs: 5,
      }),
      (e: unknown) =>
        e instanceof SendError &&
        e.code === "ETIMEDOUT" &&
        e.attempts === 2 &&
        /timed out after 40 ms/.test(e.message),
    );
    assert.equal(peer.connections(), 2);
    await peer.close();
  });

  it("closed without a reply → retried; succeeds when a later attempt gets an ack", async () => {
    const peer = await scripted((_f, s, n) => {
      if (n === 1) s.destroy();
      else s.write(encodeFrame(buildAck(IVORN, null)));
    });
    const r = await sendEvent({
      host: "127.0.0.1",
      port: peer.port,
      payload: EVENT,
      retries: 2,
      backoffMs: 5,
    });
    assert.equal(r.reply, "ack");
    assert.equal(r.attempts, 2);
    await peer.close();

    const rude = await scripted(
      () => {},
      (s) => s.end(),
    );
    await assert.rejects(
      sendEvent({ host: "127.0.0.1", port: rude.port, payload: EVENT, retries: 0, timeoutMs: 1000 }),
      (e: unknown) =>
        e instanceof SendError && e.code === "ECLOSED" && /closed without a reply/.test(e.message),
    );
    await rude.close();
  });

  it("a frame error or a reply that is not Transport → no receipt, rejected", async () => {
    const huge = await scripted((_f, s) => s.write(Buffer.from([0xff, 0xff, 0xff, 0xff])));
    await assert.rejects(
      sendEvent({ host: "127.0.0.1", port: huge.port, payload: EVENT, retries: 0 }),
      (e: unknown) => e instanceof SendError && e.code === "EFRAME",
    );
    await huge.close();
    const junk = await scripted((_f, s) => s.write(encodeFrame("<html/>")));
    await assert.rejects(
      sendEvent({ host: "127.0.0.1", port: junk.port, payload: EVENT, retries: 0 }),
      (e: unknown) => e instanceof SendError && e.code === "EREPLY",
    );
    await junk.close();
  });

  it("is abortable, while waiting for a reply and between attempts", async () => {
    const peer = await scripted(() => {});
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    await assert.rejects(
      sendEvent({ host: "127.0.0.1", port: peer.port, payload: EVENT, timeoutMs: 5000, signal: ac.signal }),
      (e: unknown) => e instanceof Error && e.name === "AbortError",
    );
    const port = await freePort();
    const ac2 = new AbortController();
    setTimeout(() => ac2.abort(), 30);
    const t0 = Date.now();
    await assert.rejects(
      sendEvent({ host: "127.0.0.1", port, payload: EVENT, retries: 5, backoffMs: 5000, signal: ac2.signal }),
      (e: unknown) => e instanceof Error && e.name === "AbortError",
    );
    assert.ok(Date.now() - t0 < 4000, "aborted during the 5 s backoff, not after it");
    await peer.close();
  });

  it("refuses an empty payload without connecting", async () => {
    await assert.rejects(
      sendEvent({ host: "127.0.0.1", port: 1, payload: "" }),
      (e: unknown) => isVOEventError(e) && e.code === "BAD_FRAME",
    );
  });

  it("against our receiver: ack, and nak for an event without a local id; no socket left open", async () => {
    const before = handles();
    const rx = new VTPReceiver({ host: "127.0.0.1", port: 0, localIvo: "ivo://rx.test/r" });
    const { port } = await rx.listen();
    const ok = await sendEvent({ host: "127.0.0.1", port, payload: EVENT });
    assert.equal(ok.reply, "ack");
    const bad = await sendEvent({ host: "127.0.0.1", port, payload: EVENT.replace("#1", "") });
    assert.equal(bad.reply, "nak");
    assert.match(bad.reason ?? "", /local id/);
    await rx.close();
    assert.equal(handles(), before);
  });
});
