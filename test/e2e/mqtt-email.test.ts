/**
 * Examples 04 (alerts to MQTT), 05 (alerts to e-mail) and 08 (MQTT → parse → filter) end to end: a real Node-RED runtime
 * with the packed package and node-red-node-email installed, the two example flows deployed
 * through the admin API with only their hosts and ports rewritten, a VTPBroadcaster in this
 * process standing in for the VTP broker, a real Mosquitto and an SMTP sink.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { testAlert } from "../../src/voevent/alert";
import { parseVOEvent } from "../../src/voevent/parse";
import { VTPBroadcaster } from "../../src/vtp/broadcaster";
import { corpusAvailable, readPacket } from "../helpers/corpus";
import { seen, tapDebugs } from "./flows";
import {
  delay,
  type FlowNode,
  INSTALL_TIMEOUT_MS,
  type Mosquitto,
  REPO_ROOT,
  type ReceivedMail,
  type Runtime,
  type SmtpSink,
  startMosquitto,
  startRuntime,
  startSmtp,
} from "./harness";

const SWIFT_BAT = "voeventdb__BAT_GRB_Pos_655721-214.xml";
const FERMI_TEST = "fink-voevent__ivo__nasa.gsfc.gcn_FermiGBM_Test_Pos_20191201T173223.00_099999_1692.xml";

function readExample(name: string): FlowNode[] {
  return JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "examples", name), "utf8")) as FlowNode[];
}

/** The example's nodes with the peers' hosts and ports pointed at this test's servers. */
function rewrite(flows: FlowNode[], ports: { vtp: number; mqtt: number; smtp: number }): FlowNode[] {
  return flows.map((node) => {
    switch (node.type) {
      case "voevent-subscriber":
        return { ...node, host: "127.0.0.1", port: ports.vtp };
      case "mqtt-broker":
        return { ...node, broker: "127.0.0.1", port: String(ports.mqtt) };
      case "e-mail":
        return { ...node, server: "127.0.0.1", port: String(ports.smtp) };
      default:
        return node;
    }
  });
}

interface MqttMessage {
  topic: string;
  payload: string;
}

describe("e2e: examples 04 (alerts to MQTT) and 05 (alerts to e-mail)", function () {
  this.timeout(60_000);
  let broker: Mosquitto | undefined;
  let smtp: SmtpSink | undefined;
  let rt: Runtime | undefined;
  let vtp: VTPBroadcaster | undefined;
  let client: MqttClient | undefined;
  const received: MqttMessage[] = [];
  const waiters = new Set<() => void>();

  function waitForMqtt(predicate: (m: MqttMessage) => boolean, timeoutMs = 15_000): Promise<MqttMessage> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = received.find(predicate);
        if (found) {
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no matching MQTT message in ${timeoutMs} ms (${received.length} received)`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  }

  /** Broadcasts an event to the example flows' subscribers. */
  function publish(xml: string | Buffer): void {
    const sent = vtp!.broadcast(xml);
    assert.equal(sent, 2, "both example subscribers get the event");
  }

  /** Sends a KSK alert and waits for its message and mail: everything sent before it has been handled. */
  async function flush(): Promise<void> {
    const xml = testAlert({ description: "marker" });
    const ivorn = parseVOEvent(xml).voevent.ivorn;
    publish(xml);
    await waitForMqtt((m) => m.payload.includes(ivorn));
    await smtp!.waitForMessage((m) => m.body.includes(ivorn));
  }

  before(async function () {
    this.timeout(INSTALL_TIMEOUT_MS + 60_000);
    vtp = new VTPBroadcaster({ host: "127.0.0.1", port: 0, localIvo: "ivo://voevent.example/e2e-broker" });
    const [listening, mosquitto, sink] = await Promise.all([vtp.listen(), startMosquitto(), startSmtp()]);
    broker = mosquitto;
    smtp = sink;
    rt = await startRuntime({ extraModules: ["node-red-node-email"] });
    client = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    client.on("message", (topic, payload) => {
      received.push({ topic, payload: payload.toString("utf8") });
      for (const wake of waiters) wake();
    });
    await client.subscribeAsync("voevent/#", { qos: 1 });

    const ports = { vtp: listening.port, mqtt: broker.port, smtp: smtp.port };
    const flows = [
      ...rewrite(readExample("04-mqtt.json"), ports),
      ...rewrite(readExample("05-email-needs-node-red-node-email.json"), ports),
      ...tapDebugs(rewrite(readExample("08-parse-mqtt.json"), ports), {
        "ex08-ksk": "voevent.ivorn",
        "ex08-other": "voevent.ivorn",
        "ex08-bad": "error.message",
      }),
    ];
    const since = rt.logs().length;
    await rt.deploy(flows);
    // Both MQTT examples connect: 04's mqtt out and 08's mqtt in.
    await rt.waitForLog(/Connected to broker[\s\S]*Connected to broker/, 20_000, since);
    const deadline = Date.now() + 20_000;
    while (vtp.count < 2) {
      if (Date.now() > deadline) throw new Error(`${vtp.count} of 2 subscribers connected\n${rt.logs()}`);
      await delay(50);
    }
  });

  after(async () => {
    await client?.endAsync();
    await rt?.stop();
    await Promise.all([vtp?.close(), broker?.stop(), smtp?.stop()]);
  });

  it("deploys both examples as they are, apart from hosts and ports", async () => {
    const deployed = await rt!.getFlows();
    for (const name of ["04-mqtt.json", "05-email-needs-node-red-node-email.json", "08-parse-mqtt.json"]) {
      for (const node of readExample(name)) {
        assert.ok(
          deployed.some((d) => d.id === node.id && d.type === node.type),
          `${name}: ${node.type} ${node.id} deployed`,
        );
      }
    }
    assert.doesNotMatch(rt!.logs(), /\[error\]/);
  });

  it("publishes the seed demo's alert to voevent/<authority>/<path> with the exact XML", async () => {
    const xml = testAlert();
    const ivorn = parseVOEvent(xml).voevent.ivorn;
    publish(xml);
    const message = await waitForMqtt((m) => m.payload.includes(ivorn));
    assert.equal(message.topic, "voevent/voevent.example/test");
    assert.equal(message.payload, xml);
    const reparsed = parseVOEvent(message.payload).voevent;
    assert.equal(reparsed.ivorn, ivorn);
    assert.equal(reparsed.author.contactName, "KSK");
  });

  it("mails the seed demo's alert with a readable subject, body and the XML attached", async () => {
    const xml = testAlert({ description: "Crab check" });
    const ivorn = parseVOEvent(xml).voevent.ivorn;
    publish(xml);
    const mail: ReceivedMail = await smtp!.waitForMessage((m) => m.body.includes(ivorn));
    assert.equal(mail.from, "voevent-alerts@example.org");
    assert.deepEqual(mail.to, ["observer@example.org"]);
    assert.equal(mail.subject, "[VOEvent test] ivo://voevent.example/test — RA 83.633 Dec +22.015 ±0.1°");
    assert.match(mail.body, new RegExp(`^IVORN: +${ivorn.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m"));
    assert.match(mail.body, /^Role: +test$/m);
    assert.match(mail.body, /^Author: +node-red-voevent, KSK/m);
    assert.match(mail.body, /^ {2}Sender = KSK$/m);
    assert.match(mail.body, /Crab check/);
    assert.equal(mail.html, undefined, "a plain-text mail");
    const local = ivorn.slice(ivorn.indexOf("#") + 1).replace(/[^A-Za-z0-9._-]+/g, "_");
    assert.match(mail.raw, new RegExp(`filename=.?${local.replace(/\./g, "\\.")}\\.xml`));
    assert.match(mail.raw, /Content-Type: application\/xml/i);
  });

  it("publishes and mails nothing for an event the filter drops", async () => {
    const xml = testAlert({ contactName: "someone-else" });
    const ivorn = parseVOEvent(xml).voevent.ivorn;
    publish(xml);
    await flush();
    assert.equal(
      received.some((m) => m.payload.includes(ivorn)),
      false,
      "the filtered-out event reached MQTT",
    );
    assert.equal(
      smtp!.messages.some((m) => m.raw.includes(ivorn) || m.body.includes(ivorn)),
      false,
      "the filtered-out event was mailed",
    );
  });

  it("carries real packets of the corpus: a Swift BAT notice passes, a Fermi test notice does not", async () => {
    if (!corpusAvailable()) {
      // The corpus sits beside the repository; without it, a built observation stands in.
      const xml = testAlert({
        role: "observation",
        contactName: "someone-else",
        stream: "ivo://nasa.gsfc.gcn/SWIFT",
      });
      publish(xml);
      const message = await waitForMqtt((m) => m.payload === xml);
      assert.equal(message.topic, "voevent/nasa.gsfc.gcn/SWIFT");
      return;
    }
    const fermiTest = readPacket(FERMI_TEST);
    const fermiIvorn = parseVOEvent(fermiTest).voevent.ivorn;
    assert.equal(parseVOEvent(fermiTest).voevent.role, "test");
    publish(fermiTest);

    const swift = readPacket(SWIFT_BAT);
    const ivorn = "ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_655721-214";
    publish(swift);
    const message = await waitForMqtt((m) => m.payload.includes(ivorn));
    assert.equal(message.topic, "voevent/nasa.gsfc.gcn/SWIFT");
    assert.equal(message.payload, swift.toString("utf8"));

    const mail = await smtp!.waitForMessage((m) => m.body.includes(ivorn));
    assert.match(
      mail.subject,
      /^\[VOEvent observation\] ivo:\/\/nasa\.gsfc\.gcn\/SWIFT — RA \d+\.\d{3} Dec [+-]\d+\.\d{3} ±/,
    );
    assert.match(mail.body, /^ {2}Packet_Type = 61$/m);

    await flush();
    assert.equal(
      received.some((m) => m.payload.includes(fermiIvorn)),
      false,
      "the Fermi test notice reached MQTT",
    );
    assert.equal(
      smtp!.messages.some((m) => m.body.includes(fermiIvorn)),
      false,
      "the Fermi test notice was mailed",
    );
  });

  it("08: XML from an MQTT topic is parsed and filtered; junk goes to the catch node", async () => {
    const since = rt!.logs().length;
    const ksk = testAlert();
    const kskIvorn = parseVOEvent(ksk).voevent.ivorn;
    const other = testAlert({ contactName: "someone-else" });
    const otherIvorn = parseVOEvent(other).voevent.ivorn;
    // Straight onto a topic that only 08's mqtt in reads from (04 publishes what it filters).
    await client!.publishAsync("voevent/e2e/parse", other, { qos: 1 });
    await client!.publishAsync("voevent/e2e/parse", "not a VOEvent at all", { qos: 1 });
    await client!.publishAsync("voevent/e2e/parse", ksk, { qos: 1 });
    await rt!.waitForLog(seen("ex08-ksk", kskIvorn), 15_000, since);
    await rt!.waitForLog(seen("ex08-other", otherIvorn), 15_000, since);
    await rt!.waitForLog(/SEEN ex08-bad \S/, 15_000, since);
    const log = rt!.logs().slice(since);
    assert.ok(!log.includes(seen("ex08-ksk", otherIvorn)), "someone else's alert is not KSK's");
    assert.ok(!log.includes(seen("ex08-other", kskIvorn)), "KSK's alert is not on otherwise");
  });
});
