/**
 * Scripted hostile peers for the network rows of issue 8 (test/adversarial/net-*.test.ts):
 * raw sockets over loopback that write exactly what the test says and read
 * only when told to.
 */
import { once } from "node:events";
import net from "node:net";
import { encodeFrame } from "../../src/vtp/framing";

/** A VOEvent 2.0 packet whose IVORN (and so its ack) is about `ivornLength` characters long. */
export function longIvornEvent(n: number, ivornLength = 2000): string {
  const stream = "ivo://adversarial.test/net";
  const id = `${n}-${"x".repeat(Math.max(1, ivornLength - stream.length - 12))}`;
  return (
    "<?xml version='1.0' encoding='UTF-8'?>\n" +
    `<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" version="2.0" role="test" ivorn="${stream}#${id}">\n` +
    `  <Who><AuthorIVORN>${stream}</AuthorIVORN><Date>2026-01-01T00:00:00</Date></Who>\n` +
    "</voe:VOEvent>\n"
  );
}

/** Opens a raw TCP connection (optionally from another loopback address); resolves once connected. */
export async function rawConnect(port: number, localAddress = "127.0.0.1"): Promise<net.Socket> {
  const socket = net.connect({ host: "127.0.0.1", port, localAddress });
  socket.on("error", () => {});
  await once(socket, "connect");
  return socket;
}

/** Resolves with ms from now until `socket` closes, or rejects after `capMs` (the bound was not kept). */
export function closesWithin(socket: net.Socket, capMs: number, what: string): Promise<number> {
  const t0 = Date.now();
  if (socket.destroyed && socket.closed) return Promise.resolve(0);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: still open after ${capMs} ms`)), capMs);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(Date.now() - t0);
    });
  });
}

/** Polls `check` every 20 ms until it is true; rejects after `capMs` with `what`. */
export async function until(check: () => boolean, capMs: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > capMs) throw new Error(`${what} (not within ${capMs} ms)`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A frame's bytes, for writing in pieces. */
export function frameOf(xml: string | Buffer): Buffer {
  return encodeFrame(xml);
}
