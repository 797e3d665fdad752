/**
 * Signed VOEvents through the nodes, on real sockets: the voevent-keyring
 * config node; the receiver's and subscriber's `signatures` (ignore / check /
 * require); the sender's and build node's `sign`; the broadcaster relaying the
 * signed bytes unchanged; the filter's `signed` rule; the monitor's verdict.
 * Keys are made with OpenPGP.js (GnuPG's own keys: test/signature/gnupg.test.ts).
 */
import assert from "node:assert/strict";
import * as openpgp from "openpgp";
import { MonitorStore } from "../../src/monitor/events";
import { Keyring, readEnvelope, Signer, signPacket, verifyPacket } from "../../src/signature";
import { parseVOEvent } from "../../src/voevent/parse";
import { sendEvent } from "../../src/vtp/sender";
import {
  catchNode,
  caughtError,
  collect,
  type FlowNode,
  getNode,
  loadFlow,
  type Msg,
  nextMessage,
  noMessage,
  statusHistory,
  useNodeRed,
  waitUntil,
} from "../helpers/nodered";
import { freePort, freePorts, identityNode, packet, receiverNode } from "./network-helpers";

interface TestKey {
  pub: string;
  priv: string;
  signer: Signer;
}

async function makeKey(name: string): Promise<TestKey> {
  const k = await openpgp.generateKey({
    type: "ecc",
    curve: "ed25519Legacy",
    userIDs: [{ name, email: `${name.toLowerCase()}@example.org` }],
    passphrase: "secret words",
    format: "armored",
  });
  return {
    pub: k.publicKey,
    priv: k.privateKey,
    signer: await Signer.fromArmour(k.privateKey, "secret words"),
  };
}

const keyringNode = (id: string, publicKeys: string): FlowNode => ({
  id,
  type: "voevent-keyring",
  name: "",
  publicKeys,
  file: "",
});

function receiver(port: number, props: Record<string, unknown>, wires: string[] = ["out"]): FlowNode {
  return receiverNode(port, [wires], props);
}

function send(port: number, payload: string | Buffer) {
  return sendEvent({ host: "127.0.0.1", port, payload, timeoutMs: 5000, retries: 0 });
}

const texts = (id: string) => statusHistory(id).map((s) => s.text ?? "");
const listening = (id = "r") =>
  waitUntil(() => texts(id).some((t) => t.startsWith("listening on port")), 5000, `${id} listening`);

describe("signatures in the nodes", function (this: Mocha.Suite) {
  this.timeout(30_000);
  useNodeRed();
  let author: TestKey;
  let forger: TestKey;
  let authorRing: Keyring;

  before(async () => {
    author = await makeKey("Author");
    forger = await makeKey("Forger");
    authorRing = await Keyring.fromArmour(author.pub);
  });

  const RTYPES = ["voevent-identity", "voevent-keyring", "voevent-receiver"];

  it("receiver, signatures ignore (the default): every event goes on as before, no msg.signature, keyring not read", async () => {
    const port = await freePort();
    // A keyring that cannot be read: with ignore it is never looked at.
    await loadFlow(RTYPES, [
      identityNode(),
      keyringNode("k", "not a key"),
      receiver(port, { keyring: "k" }),
      { id: "out", type: "helper" },
    ]);
    await listening();
    const forged = await signPacket(packet(), forger.signer);
    const got = nextMessage("out");
    assert.equal((await send(port, forged)).reply, "ack");
    const msg = await got;
    assert.equal(msg.payload, forged);
    assert.equal("signature" in msg, false);
    assert.equal(
      (getNode("k") as unknown as { error: { called?: boolean } }).error.called ?? false,
      false,
      "the keyring was never read",
    );
  });

  it("receiver, check: every event goes on with msg.signature (signed, unknown-key, unsigned, bad)", async () => {
    const port = await freePort();
    await loadFlow(RTYPES, [
      identityNode(),
      keyringNode("k", author.pub),
      receiver(port, { signatures: "check", keyring: "k" }),
      { id: "out", type: "helper" },
    ]);
    await listening();
    const signed = await signPacket(packet(), author.signer);
    const tampered = signed.replace("Nobody", "Nobodx");
    const sent = [signed, await signPacket(packet(), forger.signer), packet(), tampered];
    const got = collect("out");
    for (const p of sent) assert.equal((await send(port, p)).reply, "ack");
    await waitUntil(() => got.length === 4, 5000, "four events");
    const verdicts = got.map((m) => (m.signature as { verdict: string }).verdict);
    assert.deepEqual(verdicts, ["signed", "unknown-key", "unsigned", "bad"]);
    const first = got[0].signature as { keyId: string; userId: string };
    assert.equal(first.keyId, authorRing.keys[0].keyId);
    assert.equal(first.userId, "Author <author@example.org>");
  });

  it("receiver, require: signed by the keyring → ack and on; forged, tampered, unsigned → nak with the reason", async () => {
    const port = await freePort();
    await loadFlow(RTYPES, [
      identityNode(),
      keyringNode("k", author.pub),
      receiver(port, { signatures: "require", keyring: "k" }),
      { id: "out", type: "helper" },
    ]);
    await listening();
    const signed = await signPacket(packet(), author.signer);
    const got = nextMessage("out");
    assert.equal((await send(port, signed)).reply, "ack");
    assert.equal(((await got).signature as { verdict: string }).verdict, "signed");

    const forged = await send(port, await signPacket(packet(), forger.signer));
    assert.equal(forged.reply, "nak");
    assert.match(forged.reason ?? "", /^Event rejected: signature required: unknown key [0-9A-F]{16}$/);
    const tampered = await send(port, signed.replace("Nobody", "Nobodx"));
    assert.equal(tampered.reply, "nak");
    assert.match(tampered.reason ?? "", /signature required: bad signature by [0-9A-F]{16}/);
    const unsigned = await send(port, packet());
    assert.equal(unsigned.reason, "Event rejected: signature required: unsigned");
    await noMessage("out", 200);
    await waitUntil(
      () => texts("r").some((t) => t.startsWith("nak: signature required")),
      2000,
      "nak status",
    );
  });

  it("receiver, require without a keyring: not started, says why", async () => {
    const port = await freePort();
    await loadFlow(RTYPES, [
      identityNode(),
      receiver(port, { signatures: "require", keyring: "" }),
      { id: "out", type: "helper" },
    ]);
    await waitUntil(() => texts("r").includes("invalid settings"), 2000, "settings status");
    const err = (getNode("r") as unknown as { error: { args: unknown[][] } }).error;
    assert.match(String(err.args[0][0]), /checking signatures needs a keyring/);
  });

  it("receiver, require with a keyring that cannot be read: every event refused", async () => {
    const port = await freePort();
    await loadFlow(RTYPES, [
      identityNode(),
      keyringNode(
        "k",
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot base64\n-----END PGP PUBLIC KEY BLOCK-----",
      ),
      receiver(port, { signatures: "require", keyring: "k" }),
      { id: "out", type: "helper" },
    ]);
    await listening();
    const r = await send(port, await signPacket(packet(), author.signer));
    assert.equal(r.reply, "nak");
    assert.match(r.reason ?? "", /signature required: no keyring: a key block cannot be read/);
    const keyringError = (getNode("k") as unknown as { error: { called: boolean; args: unknown[][] } }).error;
    assert.equal(keyringError.called, true, "the keyring node says why");
    assert.match(String(keyringError.args[0][0]), /the public keys cannot be used/);
  });

  it("sender with sign → broadcaster (bytes unchanged) → subscribers with require and check → filter 'signed'", async () => {
    const [rPort, bPort] = await freePorts(2);
    const subscriber = (id: string, signatures: string, wires: string[]): FlowNode => ({
      id,
      type: "voevent-subscriber",
      name: "",
      host: "127.0.0.1",
      port: bPort,
      identity: "ident",
      brokerFilters: [],
      tls: "",
      watchdog: 150,
      maxBackoff: 1,
      signatures,
      keyring: "kpub",
      wires: [wires],
    });
    const flow: FlowNode[] = [
      identityNode(),
      keyringNode("kpub", author.pub),
      { id: "ksign", type: "voevent-keyring", name: "", publicKeys: "", file: "" },
      {
        id: "snd",
        type: "voevent-sender",
        name: "",
        host: "127.0.0.1",
        hostType: "str",
        port: rPort,
        portType: "num",
        timeout: 5,
        retries: 0,
        tls: "",
        sign: true,
        keyring: "ksign",
        wires: [["acked"]],
      },
      { id: "acked", type: "helper" },
      receiver(rPort, { signatures: "require", keyring: "kpub" }, ["bc"]),
      {
        id: "bc",
        type: "voevent-broadcaster",
        name: "",
        host: "127.0.0.1",
        port: bPort,
        identity: "ident",
        whitelist: "127.0.0.0/8, ::1",
        iamaliveInterval: 60,
        testInterval: 0,
        maxQueue: 4194304,
        tls: "",
        wires: [[]],
      },
      subscriber("req", "require", ["reqout", "f"]),
      subscriber("chk", "check", ["chkout"]),
      { id: "reqout", type: "helper" },
      { id: "chkout", type: "helper" },
      {
        id: "f",
        type: "voevent-filter",
        name: "",
        rulesFrom: "node",
        rules: [
          { t: "signed", key: "" },
          { t: "signed", key: authorRing.keys[0].fingerprint },
          { t: "signed", key: "0123456789ABCDEF" },
        ],
        checkall: "true",
        otherwise: false,
        outputs: 3,
        wires: [["any"], ["byAuthor"], ["byOther"]],
      },
      { id: "any", type: "helper" },
      { id: "byAuthor", type: "helper" },
      { id: "byOther", type: "helper" },
      catchNode("c", ["caught"]),
      { id: "caught", type: "helper" },
    ];
    await loadFlow(
      [
        "voevent-identity",
        "voevent-keyring",
        "voevent-sender",
        "voevent-receiver",
        "voevent-broadcaster",
        "voevent-subscriber",
        "voevent-filter",
      ],
      flow,
      { ksign: { privateKey: author.priv, passphrase: "secret words" } },
    );
    await listening();
    await waitUntil(
      () =>
        texts("req").some((t) => t.startsWith("connected")) &&
        texts("chk").some((t) => t.startsWith("connected")),
      5000,
      "subscribers connected",
    );
    const original = packet({ contactName: "Signed Author" });
    const acked = nextMessage("acked", 5000);
    const atReq = nextMessage("reqout", 5000);
    const atChk = nextMessage("chkout", 5000);
    const anyKey = nextMessage("any", 5000);
    const byAuthor = nextMessage("byAuthor", 5000);
    getNode("snd").receive({ payload: original });
    const sent = await acked;
    assert.equal((sent.vtp as { reply: string }).reply, "ack");
    const signedPayload = String(sent.payload);
    assert.ok(
      signedPayload.startsWith(original.trimEnd()),
      "the packet itself is unchanged; the signature follows it",
    );
    assert.equal(readEnvelope(Buffer.from(signedPayload)).armours.length, 1);
    const req = await atReq;
    assert.equal(req.payload, signedPayload, "the broadcaster relayed the signed bytes unchanged");
    assert.equal((req.signature as { verdict: string }).verdict, "signed");
    assert.equal((await verifyPacket(String(req.payload), authorRing)).verdict, "signed");
    assert.equal(((await atChk).signature as { verdict: string }).verdict, "signed");
    assert.equal((await anyKey).payload, signedPayload);
    assert.equal((await byAuthor).payload, signedPayload);
    await noMessage("byOther", 100);

    // A forged event reaches the subscribers through the broadcaster's input (the receiver would nak it):
    // the subscriber with require drops it and counts it; the one with check passes it on, marked.
    const forged = await signPacket(packet({ contactName: "Forger" }), forger.signer);
    const chk = nextMessage("chkout", 5000);
    getNode("bc").receive({ payload: forged });
    const marked = await chk;
    assert.equal((marked.signature as { verdict: string }).verdict, "unknown-key");
    await noMessage("reqout", 300);
    await waitUntil(
      () => texts("req").some((t) => t.includes("1 refused (signature)")),
      5000,
      "refused count in the status",
    );
    assert.deepEqual(collect("caught"), []);
  });

  it("sender with sign and no private key: done(err) saying why, nothing sent", async () => {
    const port = await freePort();
    await loadFlow(
      ["voevent-identity", "voevent-keyring", "voevent-receiver", "voevent-sender"],
      [
        identityNode(),
        keyringNode("k", author.pub),
        receiver(port, {}),
        { id: "out", type: "helper" },
        {
          id: "snd",
          type: "voevent-sender",
          name: "",
          host: "127.0.0.1",
          hostType: "str",
          port,
          portType: "num",
          timeout: 5,
          retries: 0,
          tls: "",
          sign: true,
          keyring: "k",
          wires: [["acked"]],
        },
        { id: "acked", type: "helper" },
        catchNode("c", ["caught"]),
        { id: "caught", type: "helper" },
      ],
    );
    await listening();
    const caught = nextMessage("caught", 5000);
    getNode("snd").receive({ payload: packet() });
    assert.match(caughtError(await caught), /no private key to sign with/);
    await noMessage("out", 200);
  });

  it("filter with rules from context: a registry entry of type 'signed' reads msg.signature", async () => {
    await loadFlow(
      ["voevent-filter"],
      [
        {
          id: "f",
          type: "voevent-filter",
          name: "",
          rulesFrom: "context",
          rulesContext: "flow",
          rulesKey: "subs",
          otherwise: true,
          outputs: 2,
          wires: [["hit"], ["miss"]],
        },
        { id: "hit", type: "helper" },
        { id: "miss", type: "helper" },
      ],
    );
    getNode("f")
      .context()
      .flow.set("subs", [{ name: "ours", rule: { t: "signed", key: authorRing.keys[0].keyId } }]);
    const signed = await signPacket(packet(), author.signer);
    const verdict = await verifyPacket(signed, authorRing);
    const hit = nextMessage("hit");
    getNode("f").receive({ payload: signed, signature: verdict });
    assert.equal((await hit).subscription, "ours");
    const miss = nextMessage("miss");
    getNode("f").receive({ payload: signed });
    assert.equal((await miss).payload, signed, "no msg.signature: no match");
  });

  it("monitor: keeps each event's verdict (msg.signature) for its page; none when not checked", async () => {
    const store = new MonitorStore();
    const signed = await signPacket(packet(), author.signer);
    const verdict = await verifyPacket(signed, authorRing);
    const a = store.add(parseVOEvent(signed).voevent, signed, { signature: verdict });
    assert.deepEqual(a.signature, {
      verdict: "signed",
      keyId: verdict.keyId,
      userId: "Author <author@example.org>",
    });
    const b = store.add(parseVOEvent(packet()).voevent, packet());
    assert.equal(b.signature, null);
    const c = store.add(parseVOEvent(packet()).voevent, packet(), { signature: { verdict: 42 } });
    assert.equal(c.signature, null, "not a verdict: not shown");
  });

  it("build with sign: the packet it emits is signed, verifies, and is still the message contract", async () => {
    await loadFlow(
      ["voevent-keyring", "voevent-build"],
      [
        { id: "k", type: "voevent-keyring", name: "", publicKeys: "", file: "" },
        {
          id: "b",
          type: "voevent-build",
          name: "",
          streamIvorn: "ivo://test.example/signed",
          role: "test",
          sign: true,
          keyring: "k",
          wires: [["out"]],
        },
        { id: "out", type: "helper" },
      ],
      { k: { privateKey: author.priv, passphrase: "secret words" } },
    );
    const got = nextMessage("out", 5000);
    getNode("b").receive({ payload: {} });
    const msg: Msg = await got;
    assert.equal((msg.voevent as { stream: string }).stream, "ivo://test.example/signed");
    const v = await verifyPacket(String(msg.payload), authorRing);
    assert.equal(v.verdict, "signed", v.reason);
  });
});
