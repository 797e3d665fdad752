/**
 * Issue 15: the archive stores "the raw bytes exactly as received", for packets in every encoding
 * the receiver accepts, wired on the receiver's own message (one wire) and on Node-RED's copy of
 * it (a second wire, beside the broadcaster). An author sends raw frames over VTP; the packet/xml
 * endpoint must give back those bytes. Before, the archive stored msg.payload (the decoded text)
 * as UTF-8 under the packet's own declaration: an ISO-8859-1 or UTF-16 packet came back as bytes
 * that contradict it.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { NodeAPI } from "node-red";
import { readPacket } from "../helpers/corpus";
import {
  type FlowNode,
  helper,
  nodeInit,
  statusHistory,
  TAB_ID,
  useNodeRed,
  waitUntil,
} from "../helpers/nodered";
import { freePorts, identityNode, publish } from "./network-helpers";

type HttpApp = (req: http.IncomingMessage, res: http.ServerResponse) => void;
let httpNode: HttpApp | undefined;

function inits() {
  const db = nodeInit("voevent-archive-db");
  return [
    nodeInit("voevent-identity"),
    nodeInit("voevent-receiver"),
    nodeInit("voevent-broadcaster"),
    nodeInit("voevent-archive"),
    (RED: NodeAPI) => {
      httpNode = RED.httpNode as unknown as HttpApp;
      return db(RED);
    },
  ];
}

/** GET on RED.httpNode through a real loopback server: the body's bytes. */
async function httpBytes(pathAndQuery: string): Promise<{ status: number; body: Buffer }> {
  const app = httpNode;
  assert.ok(app, "the nodes saw RED.httpNode");
  const server = http.createServer((req, res) => app(req, res));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${pathAndQuery}`);
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

function receiver(id: string, port: number, wires: string[]): FlowNode {
  return {
    id,
    type: "voevent-receiver",
    host: "127.0.0.1",
    port,
    identity: "ident",
    whitelist: "127.0.0.0/8, ::1",
    validate: "well-formed",
    requireLocalId: true,
    maxBytes: 1048576,
    tls: "",
    wires: [wires],
  };
}

function flow(r1: number, r2: number, b: number): FlowNode[] {
  return [
    { id: TAB_ID, type: "tab", label: "test" },
    identityNode(),
    // The archive beside the broadcaster (it gets Node-RED's copy), and alone on a receiver.
    { ...receiver("beside", r1, ["bc", "store"]), z: TAB_ID },
    { ...receiver("alone", r2, ["store"]), z: TAB_ID },
    {
      id: "bc",
      type: "voevent-broadcaster",
      host: "127.0.0.1",
      port: b,
      identity: "ident",
      whitelist: "127.0.0.0/8, ::1",
      iamaliveInterval: 60,
      testInterval: 0,
      tls: "",
      wires: [[]],
      z: TAB_ID,
    },
    { id: "store", type: "voevent-archive", name: "", db: "db", wires: [], z: TAB_ID },
    {
      id: "db",
      type: "voevent-archive-db",
      name: "",
      store: "embedded",
      file: "archive-encodings",
      path: "/voevent/archive-enc",
      maxAge: 0,
      maxEvents: 0,
    },
  ];
}

/** A real packet (GCN's Fermi GBM notice, as pygcn's tests keep it) under another encoding. */
function packet(
  ivorn: string,
  encoding: "UTF-8" | "UTF-8-BOM" | "ISO-8859-1" | "UTF-16LE" | "UTF-16BE",
): Buffer {
  const declared = encoding === "UTF-8-BOM" ? "UTF-8" : encoding.startsWith("UTF-16") ? "UTF-16" : encoding;
  const text = readPacket("pygcn__gbm_flt_pos.xml")
    .toString("utf8")
    .replace(/^<\?xml[^?]*\?>/, `<?xml version="1.0" encoding="${declared}"?>`)
    .replace(/ivorn="[^"]*"/, `ivorn="${ivorn}"`)
    .replace("</Who>", "<Author><contactName>Café Señor</contactName></Author></Who>");
  switch (encoding) {
    case "UTF-8":
      return Buffer.from(text, "utf8");
    case "UTF-8-BOM":
      return Buffer.from(`\ufeff${text}`, "utf8");
    case "ISO-8859-1":
      return Buffer.from(text, "latin1");
    case "UTF-16LE":
      return Buffer.from(`\ufeff${text}`, "utf16le");
    case "UTF-16BE":
      return Buffer.from(`\ufeff${text}`, "utf16le").swap16();
  }
}

describe("voevent-archive stores the bytes of packets in every accepted encoding (issue 15)", () => {
  useNodeRed();

  it("packet/xml gives back what the author sent, on the receiver's message and on a copy of it", async function () {
    this.timeout(30_000);
    const [r1, r2, b] = await freePorts(3);
    await helper.load(inits(), flow(r1!, r2!, b!));
    for (const id of ["beside", "alone"])
      await waitUntil(
        () => statusHistory(id).some((s) => /listening/.test(s.text ?? "")),
        5000,
        `receiver ${id}`,
      );
    const sent: Array<[string, Buffer]> = [];
    const encodings = ["UTF-8", "UTF-8-BOM", "ISO-8859-1", "UTF-16LE", "UTF-16BE"] as const;
    for (const [port, wiring] of [
      [r1!, "beside"],
      [r2!, "alone"],
    ] as const) {
      for (const encoding of encodings) {
        const ivorn = `ivo://test.example/enc#${wiring}-${encoding}`;
        const bytes = packet(ivorn, encoding);
        const reply = await publish(port, bytes);
        assert.match(reply, /role="ack"/, `${wiring} ${encoding}: acked (${reply.slice(0, 200)})`);
        sent.push([ivorn, bytes]);
      }
    }
    await waitUntil(
      () => statusHistory("store").some((s) => /^10 stored/.test(s.text ?? "")),
      15_000,
      "all ten stored",
    );
    for (const [ivorn, bytes] of sent) {
      const got = await httpBytes(`/voevent/archive-enc/apiv1/packet/xml/${encodeURIComponent(ivorn)}`);
      assert.equal(got.status, 200, ivorn);
      assert.ok(
        got.body.equals(bytes),
        `${ivorn}: stored byte for byte (${got.body.length} bytes back, ${bytes.length} sent)`,
      );
    }
  });
});
