/**
 * Issue 9: "the broker still relays the original bytes unchanged", for packets in every encoding
 * the parser accepts. A broker flow made of the nodes (receiver → broadcaster) on real sockets;
 * an author sends raw frames, an engine subscriber compares the bytes it gets with those sent.
 * Before, msg.payload (the decoded text) went out as UTF-8 under its original declaration: an
 * ISO-8859-1 packet arrived at subscribers as bytes that contradict it.
 */
import assert from "node:assert/strict";
import { type SubscribedEvent, VTPSubscriber } from "../../src/vtp/subscriber";
import { readPacket } from "../helpers/corpus";
import { type FlowNode, loadFlow, statusHistory, useNodeRed, waitUntil } from "../helpers/nodered";
import { broadcasterNode, freePorts, identityNode, publish, receiverNode } from "./network-helpers";

const TYPES = ["voevent-identity", "voevent-receiver", "voevent-broadcaster"];

function flow(rPort: number, bPort: number): FlowNode[] {
  return [identityNode(), receiverNode(rPort, [["bc"]]), broadcasterNode(bPort)];
}

function packetText(id: string, encoding: string): string {
  return (
    `<?xml version="1.0" encoding="${encoding}"?>\n` +
    `<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" version="2.0" role="test" ivorn="ivo://test.example/enc#${id}">\n` +
    "  <Who><Date>2026-12-05T00:00:00</Date><Author><contactName>Café Señor</contactName></Author></Who>\n" +
    "  <What><Description>Observatoire de Haute-Provence, 12° sur l'horizon</Description></What>\n" +
    "</voe:VOEvent>\n"
  );
}

describe("relay keeps the bytes of packets in every accepted encoding (issue 9)", () => {
  useNodeRed();
  let sub: VTPSubscriber | undefined;
  afterEach(async () => {
    await sub?.close();
    sub = undefined;
  });

  const cases: Array<[string, (id: string) => Buffer]> = [
    ["UTF-8", (id) => Buffer.from(packetText(id, "UTF-8"), "utf8")],
    ["ISO-8859-1", (id) => Buffer.from(packetText(id, "ISO-8859-1"), "latin1")],
    [
      "UTF-16 little-endian, with its byte-order mark",
      (id) => Buffer.from(`\ufeff${packetText(id, "UTF-16")}`, "utf16le"),
    ],
    [
      "UTF-16BE, with its byte-order mark",
      (id) => Buffer.from(`\ufeff${packetText(id, "UTF-16BE")}`, "utf16le").swap16(),
    ],
    // Found by the frame kept from the receiver (issue 16): before, the broadcaster encoded the
    // text again, and "UTF-16" (the byte-order mark says which) always came out little-endian.
    [
      "UTF-16 big-endian, declared UTF-16, with its byte-order mark",
      (id) => Buffer.from(`\ufeff${packetText(id, "UTF-16")}`, "utf16le").swap16(),
    ],
    ["UTF-8 with a byte-order mark", (id) => Buffer.from(`\ufeff${packetText(id, "UTF-8")}`, "utf8")],
  ];

  /** A real packet (GCN's Fermi GBM notice, as pygcn's tests keep it) in another encoding. */
  function corpusPacket(id: string, encoding: "UTF-16" | "ISO-8859-1", bigEndian = false): Buffer {
    const text = readPacket("pygcn__gbm_flt_pos.xml")
      .toString("utf8")
      .replace(/^<\?xml[^?]*\?>/, `<?xml version="1.0" encoding="${encoding}"?>`)
      .replace(/ivorn="[^"]*"/, `ivorn="ivo://test.example/enc#${id}"`);
    if (encoding === "ISO-8859-1") return Buffer.from(text, "latin1");
    const le = Buffer.from(`\ufeff${text}`, "utf16le");
    return bigEndian ? le.swap16() : le;
  }

  it("each packet reaches a subscriber exactly as the author sent it", async () => {
    const [rPort, bPort] = await freePorts(2);
    await loadFlow(TYPES, flow(rPort!, bPort!));
    await waitUntil(
      () => statusHistory("r").some((s) => /listening/.test(s.text ?? "")),
      5000,
      "the receiver",
    );
    const events: SubscribedEvent[] = [];
    sub = new VTPSubscriber({ host: "127.0.0.1", port: bPort!, localIvo: "ivo://test.example/sub" });
    sub.on("event", (e: SubscribedEvent) => events.push(e));
    sub.start();
    await waitUntil(() => sub!.state === "connected", 5000, "the subscriber");
    await waitUntil(
      () => statusHistory("bc").some((s) => /1 subscriber/.test(s.text ?? "")),
      5000,
      "subscribed",
    );

    const all: Array<[string, (id: string) => Buffer]> = [
      ...cases,
      ["a GCN packet from the corpus in UTF-16 big-endian", (id) => corpusPacket(id, "UTF-16", true)],
      ["a GCN packet from the corpus in ISO-8859-1", (id) => corpusPacket(id, "ISO-8859-1")],
    ];
    // One text in two byte orders (the same packet sent little- then big-endian): both decode to
    // the same string, and each must still leave as it came.
    all.push(
      ["the same GCN packet, UTF-16 little-endian", () => corpusPacket("twice", "UTF-16")],
      ["the same GCN packet, UTF-16 big-endian", () => corpusPacket("twice", "UTF-16", true)],
    );
    for (const [i, [name, make]] of all.entries()) {
      const id = name.startsWith("the same") ? "twice" : `e${i}`;
      const bytes = make(id);
      const reply = await publish(rPort!, bytes);
      assert.match(reply, /role="ack"/, `${name}: acked (${reply.slice(0, 200)})`);
      await waitUntil(() => events.length === i + 1, 5000, `${name} at the subscriber`);
      const got = events[i]!;
      assert.equal(got.voevent.ivorn, `ivo://test.example/enc#${id}`);
      if (i < cases.length)
        assert.equal(got.voevent.author.contactName, "Café Señor", `${name}: decoded as declared`);
      assert.ok(
        got.bytes.equals(bytes),
        `${name}: relayed byte for byte (${got.bytes.length} vs ${bytes.length} bytes)`,
      );
    }
  });
});
