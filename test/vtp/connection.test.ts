import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { isVOEventError } from "../../src/errors";
import { FramedConnection, formatPeer, normaliseAddress } from "../../src/vtp/connection";
import { encodeFrame } from "../../src/vtp/framing";
import { createServer, openSocket } from "../../src/vtp/tls";
import { testCertificate } from "../helpers/tls";

/** A server whose accepted sockets are wrapped in FramedConnections and handed to `onConn`. */
async function serve(
  onConn: (c: FramedConnection) => void,
  tlsOpts?: { cert: string; key: string },
): Promise<{ server: net.Server; port: number }> {
  const server = createServer(tlsOpts, {
    onSocket: (s) => onConn(new FramedConnection(s, { maxBytes: 1000 })),
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, port: (server.address() as net.AddressInfo).port };
}

async function closeServer(server: net.Server): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe("vtp/connection", () => {
  it("formats peers: IPv6 in brackets, IPv4-mapped shown as IPv4", () => {
    assert.equal(formatPeer("127.0.0.1", 8098), "127.0.0.1:8098");
    assert.equal(formatPeer("::1", 8098), "[::1]:8098");
    assert.equal(normaliseAddress("::ffff:10.1.2.3"), "10.1.2.3");
    assert.equal(normaliseAddress("::FFFF:10.1.2.3"), "10.1.2.3");
    for (const plain of ["127.0.0.1", "10.1.2.3", "::1", "::", "::ffff:1", "2001:db8::ffff:10.1.2.3", ""]) {
      assert.equal(normaliseAddress(plain), plain);
    }
    assert.equal(normaliseAddress(undefined), "");
  });

  it("delivers frames sent byte at a time and several in one write, and sends framed replies", async () => {
    const got: string[] = [];
    const { server, port } = await serve((c) => {
      c.on("frame", (p: Buffer) => {
        got.push(p.toString());
        c.send(`echo:${p.toString()}`);
      });
    });
    const sock = await openSocket({ host: "127.0.0.1", port });
    const client = new FramedConnection(sock);
    const replies: string[] = [];
    client.on("frame", (p: Buffer) => replies.push(p.toString()));
    assert.match(client.remote, /^127\.0\.0\.1:\d+$/);
    const one = encodeFrame("hello");
    for (const b of one) {
      sock.write(Buffer.from([b]));
      await new Promise((r) => setImmediate(r));
    }
    sock.write(Buffer.concat([encodeFrame("a"), encodeFrame("bb"), encodeFrame("ccc")]));
    while (replies.length < 4) await once(client, "frame");
    assert.deepEqual(got, ["hello", "a", "bb", "ccc"]);
    assert.deepEqual(replies, ["echo:hello", "echo:a", "echo:bb", "echo:ccc"]);
    client.close();
    await once(client, "close");
    await closeServer(server);
  });

  it("a hostile length (0xFFFFFFFF) is an error, then the connection is destroyed", async () => {
    let serverSide: FramedConnection | undefined;
    const errors: unknown[] = [];
    const closed = new Promise<string>((resolve) => {
      void serve((c) => {
        serverSide = c;
        c.on("error", (e) => errors.push(e));
        c.on("close", resolve);
      }).then(({ server, port }) => {
        const s = net.connect(port, "127.0.0.1", () => s.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2])));
        s.on("error", () => {});
        s.on("close", () => server.close());
      });
    });
    const reason = await closed;
    assert.ok(serverSide?.closed);
    assert.equal(errors.length, 1);
    assert.ok(isVOEventError(errors[0]) && errors[0].code === "TOO_LARGE");
    assert.match(reason, /frame error/);
  });

  it("an error nobody listens for does not throw; a throwing frame listener ends only that connection", async () => {
    const closes: string[] = [];
    const { server, port } = await serve((c) => {
      c.on("frame", () => {
        throw new Error("listener bug");
      });
      c.on("close", (r: string) => closes.push(r));
    });
    const s1 = net.connect(port, "127.0.0.1");
    s1.on("error", () => {});
    await once(s1, "connect");
    s1.write(encodeFrame("x"));
    await once(s1, "close");
    const s2 = net.connect(port, "127.0.0.1");
    s2.on("error", () => {});
    await once(s2, "connect");
    s2.write(Buffer.from([0, 0, 0, 0])); // zero length: BAD_FRAME, no error listener
    await once(s2, "close");
    await closeServer(server);
    assert.equal(closes.length, 2);
    assert.match(closes[0] ?? "", /listener bug/);
    assert.match(closes[1] ?? "", /frame error/);
  });

  it("send returns false once closed, close() is idempotent and flushes what was sent", async () => {
    const received: string[] = [];
    const { server, port } = await serve((c) => {
      c.send("bye");
      c.close("done");
      assert.equal(c.send("late"), false);
      c.close();
    });
    const client = new FramedConnection(await openSocket({ host: "127.0.0.1", port }));
    client.on("frame", (p: Buffer) => received.push(p.toString()));
    await once(client, "close");
    assert.deepEqual(received, ["bye"]);
    await closeServer(server);
  });

  it("works over TLS", async () => {
    const cert = testCertificate();
    const { server, port } = await serve((c) => c.on("frame", (p: Buffer) => c.send(p)), cert);
    const sock = await openSocket({
      host: "127.0.0.1",
      port,
      tls: { ca: cert.cert, servername: "localhost" },
    });
    const client = new FramedConnection(sock);
    client.send("over tls");
    const [p] = (await once(client, "frame")) as [Buffer];
    assert.equal(p.toString(), "over tls");
    client.close();
    await once(client, "close");
    await closeServer(server);
  });

  it("openSocket: refused, timed out and aborted connections reject and leave nothing open", async () => {
    const probe = net.createServer();
    probe.listen(0, "127.0.0.1");
    await once(probe, "listening");
    const port = (probe.address() as net.AddressInfo).port;
    await closeServer(probe);
    await assert.rejects(openSocket({ host: "127.0.0.1", port }), /ECONNREFUSED/);
    const ac = new AbortController();
    ac.abort(new Error("stop"));
    await assert.rejects(openSocket({ host: "127.0.0.1", port, signal: ac.signal }), /stop/);
    // A TLS client to a plain server that never answers the handshake times out.
    const silent = net.createServer((s) => s.on("error", () => {}).resume());
    silent.listen(0, "127.0.0.1");
    await once(silent, "listening");
    const sport = (silent.address() as net.AddressInfo).port;
    await assert.rejects(
      openSocket({ host: "127.0.0.1", port: sport, tls: { rejectUnauthorized: false }, timeoutMs: 50 }),
      /timed out after 50 ms/,
    );
    await closeServer(silent);
  });
});
