/**
 * Issue 15: the archive stores "the raw bytes exactly as received", for packets in every encoding
 * the receiver accepts, wired on the receiver's own message (one wire) and on Node-RED's copy of
 * it (a second wire, beside the broadcaster). An author sends raw frames over VTP; the packet/xml
 * endpoint must give back those bytes. Before, the archive stored msg.payload (the decoded text)
 * as UTF-8 under the packet's own declaration: an ISO-8859-1 or UTF-16 packet came back as bytes
 * that contradict it.
 */
import assert from "node:assert/strict";
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
import { httpNodeGet, keepingHttpNode } from "./http-node";
import { broadcasterNode, freePorts, identityNode, publish, receiverNode } from "./network-helpers";

function inits() {
  return [
    nodeInit("voevent-identity"),
    nodeInit("voevent-receiver"),
    nodeInit("voevent-broadcaster"),
    nodeInit("voevent-archive"),
    keepingHttpNode(nodeInit("voevent-archive-db")),
  ];
}

function flow(r1: number, r2: number, b: number): FlowNode[] {
  return [
    { id: TAB_ID, type: "tab", label: "test" },
    identityNode(),
    // The archive beside the broadcaster (it gets Node-RED's copy), and alone on a receiver.
    receiverNode(r1, [["bc", "store"]], { id: "beside", z: TAB_ID }),
    receiverNode(r2, [["store"]], { id: "alone", z: TAB_ID }),
    broadcasterNode(b, { z: TAB_ID }),
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
      const got = await httpNodeGet(`/voevent/archive-enc/apiv1/packet/xml/${encodeURIComponent(ivorn)}`);
      assert.equal(got.status, 200, ivorn);
      assert.ok(
        got.body.equals(bytes),
        `${ivorn}: stored byte for byte (${got.body.length} bytes back, ${bytes.length} sent)`,
      );
    }
  });
});
