/**
 * Shared by the network node tests (receiver, broadcaster, subscriber,
 * sender, topology, redeploy): free ports, the core tls-config node, a test
 * identity, and packets.
 */
import { readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import type { NodeAPI } from "node-red";
import { FramedConnection } from "../../src/vtp/connection";
import { encodeFrame } from "../../src/vtp/framing";
import type { FlowNode } from "../helpers/nodered";

/** A port nothing listens on right now (bound on 127.0.0.1, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** `n` distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/** Resolves with the error code of a connection attempt to 127.0.0.1:port ("ECONNREFUSED" when nothing listens), or "connected". */
export function probe(port: number, host = "127.0.0.1"): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** The core tls-config node's module, to load beside ours. */
export const tlsConfigInit = require("@node-red/nodes/core/network/05-tls.js") as (RED: NodeAPI) => void;

/** A core tls-config node that verifies the peer, its certificates given as credentials (as its editor's upload keeps them). */
export function tlsConfigNode(id: string): FlowNode {
  return {
    id,
    type: "tls-config",
    name: "",
    cert: "",
    key: "",
    ca: "",
    verifyservercert: true,
    servername: "",
  };
}

export const LOCAL_IVO = "ivo://test.example/node-red";

export function identityNode(id = "ident", localIvo = LOCAL_IVO): FlowNode {
  return { id, type: "voevent-identity", name: "", localIvo };
}

/**
 * A voevent-receiver (id "r") on 127.0.0.1:`port` with the identity `ident` and the editor's
 * defaults; `props` set or override any property.
 */
export function receiverNode(port: number, wires: string[][], props: Record<string, unknown> = {}): FlowNode {
  return {
    id: "r",
    type: "voevent-receiver",
    name: "",
    host: "127.0.0.1",
    port,
    identity: "ident",
    whitelist: "127.0.0.0/8, ::1",
    validate: "well-formed",
    requireLocalId: true,
    maxBytes: 1048576,
    tls: "",
    ...props,
    wires,
  };
}

/** A voevent-broadcaster (id "bc") on 127.0.0.1:`port` with the identity `ident`; `props` override any property. */
export function broadcasterNode(
  port: number,
  props: Record<string, unknown> = {},
  wires: string[][] = [[]],
): FlowNode {
  return {
    id: "bc",
    type: "voevent-broadcaster",
    host: "127.0.0.1",
    port,
    identity: "ident",
    whitelist: "127.0.0.0/8, ::1",
    iamaliveInterval: 60,
    testInterval: 0,
    tls: "",
    ...props,
    wires,
  };
}

/** A test packet (test/fixtures/packets). */
export function fixture(name: string): Buffer {
  return readFileSync(path.join(__dirname, "../fixtures/packets", name));
}

let serial = 0;

/** A small, schema-valid VOEvent 2.0 packet with a fresh IVORN; `contactName` for broker filters. */
export function packet(
  opts: { contactName?: string; role?: string; id?: string; stream?: string } = {},
): string {
  const id = opts.id ?? `evt-${process.pid}-${++serial}`;
  const stream = opts.stream ?? "ivo://test.example/alerts";
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" version="2.0" role="${opts.role ?? "test"}" ivorn="${stream}#${id}">\n` +
    "  <Who>\n" +
    `    <AuthorIVORN>${stream}</AuthorIVORN>\n` +
    "    <Date>2024-03-01T12:00:00</Date>\n" +
    `    <Author><contactName>${opts.contactName ?? "Nobody"}</contactName></Author>\n` +
    "  </Who>\n" +
    '  <What><Param name="seq" value="1" dataType="int"/></What>\n' +
    "</voe:VOEvent>\n"
  );
}

/** A bare VTP peer for tests: connects, records every frame as text, sends what it is told (framed). */
export class RawPeer {
  readonly frames: string[] = [];
  readonly conn: FramedConnection;
  readonly closed: Promise<string>;

  private constructor(socket: net.Socket) {
    this.conn = new FramedConnection(socket);
    this.conn.on("frame", (payload: Buffer) => this.frames.push(payload.toString("utf8")));
    this.conn.on("error", () => {});
    this.closed = new Promise((resolve) => this.conn.once("close", (reason: string) => resolve(reason)));
  }

  static connect(port: number, host = "127.0.0.1"): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.removeListener("error", reject);
        resolve(new RawPeer(socket));
      });
    });
  }

  send(xml: string | Buffer): void {
    this.conn.send(xml);
  }

  /** Frames whose root has role="…". */
  withRole(role: string): string[] {
    return this.frames.filter((f) => new RegExp(`role="${role}"`).test(f));
  }

  async close(): Promise<void> {
    this.conn.destroy("test done");
    await this.closed;
  }
}

/** Sends one frame as an author (raw bytes, framed) and resolves with the reply's text. */
export function publish(port: number, bytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(encodeFrame(bytes)));
    let got = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 4 && got.length >= 4 + got.readUInt32BE(0)) {
        socket.end();
        resolve(got.subarray(4, 4 + got.readUInt32BE(0)).toString("utf8"));
      }
    });
    socket.on("error", reject);
    socket.setTimeout(10_000, () => {
      socket.destroy();
      reject(new Error("no reply"));
    });
  });
}
