/**
 * Smoke tests of the harness's real peers: a Mosquitto broker on a free loopback port and an
 * SMTP sink, alone and driven by a Node-RED flow (core MQTT nodes, node-red-node-email).
 */
import assert from "node:assert/strict";
import mqtt from "mqtt";
import nodemailer from "nodemailer";
import {
  delay,
  type FlowNode,
  INSTALL_TIMEOUT_MS,
  type Mosquitto,
  type Runtime,
  type SmtpSink,
  startMosquitto,
  startRuntime,
  startSmtp,
} from "./harness";

describe("e2e harness: Mosquitto", function () {
  this.timeout(30_000);
  let broker: Mosquitto | undefined;

  before(async () => {
    broker = await startMosquitto();
  });

  after(async () => {
    await broker?.stop();
  });

  it("relays a published message to a subscriber", async () => {
    const sub = await mqtt.connectAsync(broker!.url, { reconnectPeriod: 0 });
    const pub = await mqtt.connectAsync(broker!.url, { reconnectPeriod: 0 });
    try {
      const received = new Promise<{ topic: string; payload: string }>((resolve) =>
        sub.on("message", (topic, payload) => resolve({ topic, payload: payload.toString() })),
      );
      await sub.subscribeAsync("voevent/#", { qos: 1 });
      await pub.publishAsync("voevent/nasa.gsfc.gcn/SWIFT", "<voe:VOEvent/>", { qos: 1 });
      assert.deepEqual(await received, { topic: "voevent/nasa.gsfc.gcn/SWIFT", payload: "<voe:VOEvent/>" });
    } finally {
      await Promise.all([sub.endAsync(), pub.endAsync()]);
    }
  });
});

describe("e2e harness: SMTP sink", function () {
  this.timeout(30_000);
  let smtp: SmtpSink | undefined;

  before(async () => {
    smtp = await startSmtp();
  });

  after(async () => {
    await smtp?.stop();
  });

  it("receives a mail with its envelope, subject and body", async () => {
    const transport = nodemailer.createTransport({
      host: "127.0.0.1",
      port: smtp!.port,
      secure: false,
      ignoreTLS: true,
    });
    try {
      await transport.sendMail({
        from: "alerts@example.org",
        to: "observer@example.org",
        subject: "GRB 241123A — Swift BAT trigger",
        text: "RA 123.4567 Dec −45.6789\nivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_1234567-890\n",
      });
    } finally {
      transport.close();
    }
    const mail = await smtp!.waitForMessage((m) => m.subject.startsWith("GRB"));
    assert.equal(mail.from, "alerts@example.org");
    assert.deepEqual(mail.to, ["observer@example.org"]);
    assert.equal(mail.subject, "GRB 241123A — Swift BAT trigger");
    assert.match(mail.body, /RA 123\.4567 Dec −45\.6789/);
    assert.match(mail.body, /ivo:\/\/nasa\.gsfc\.gcn\/SWIFT#BAT_GRB_Pos_1234567-890/);
  });
});

describe("e2e harness: Node-RED with real peers (MQTT broker, SMTP server)", function () {
  this.timeout(60_000);
  let broker: Mosquitto | undefined;
  let smtp: SmtpSink | undefined;
  let rt: Runtime | undefined;

  before(async function () {
    this.timeout(INSTALL_TIMEOUT_MS + 60_000);
    [broker, smtp] = await Promise.all([startMosquitto(), startSmtp()]);
    rt = await startRuntime({ extraModules: ["node-red-node-email"] });
  });

  after(async () => {
    await rt?.stop();
    await Promise.all([broker?.stop(), smtp?.stop()]);
  });

  it("installs node-red-node-email into the user directory when asked", async () => {
    const email = (await rt!.nodes()).find((s) => s.module === "node-red-node-email");
    assert.ok(email, "the e-mail nodes are registered");
    assert.equal(email.err, undefined);
    assert.equal(email.local, true, "loaded from the runtime's user directory");
  });

  it("publishes through Mosquitto and mails through the SMTP sink from a flow", async () => {
    const flows: FlowNode[] = [
      { id: "p-tab", type: "tab", label: "peers" },
      {
        id: "p-broker",
        type: "mqtt-broker",
        name: "local",
        broker: "127.0.0.1",
        port: String(broker!.port),
        clientid: "",
        autoConnect: true,
        usetls: false,
        protocolVersion: "4",
        keepalive: "60",
        cleansession: true,
      },
      {
        id: "p-inject",
        type: "inject",
        z: "p-tab",
        props: [{ p: "payload" }, { p: "topic", vt: "str" }],
        payload: "ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_1234567-890",
        payloadType: "str",
        topic: "GRB alert",
        repeat: "",
        once: false,
        wires: [["p-mqtt-out", "p-mail"]],
      },
      {
        id: "p-mqtt-out",
        type: "mqtt out",
        z: "p-tab",
        topic: "voevent/e2e",
        qos: "1",
        broker: "p-broker",
        wires: [],
      },
      {
        id: "p-mqtt-in",
        type: "mqtt in",
        z: "p-tab",
        topic: "voevent/#",
        qos: "1",
        datatype: "utf8",
        broker: "p-broker",
        inputs: 0,
        wires: [["p-debug"]],
      },
      {
        id: "p-debug",
        type: "debug",
        z: "p-tab",
        name: "mqtt-received",
        active: true,
        tosidebar: false,
        console: true,
        complete: "payload",
        targetType: "msg",
        wires: [],
      },
      {
        id: "p-mail",
        type: "e-mail",
        z: "p-tab",
        name: "observer@example.org",
        server: "127.0.0.1",
        port: String(smtp!.port),
        secure: false,
        tls: false,
        authtype: "NONE",
        credentials: { userid: "alerts@example.org" },
        wires: [],
      },
    ];
    const since = rt!.logs().length;
    await rt!.deploy(flows);
    await rt!.waitForLog(/Connected to broker/, 20_000, since);
    await delay(300); // the mqtt-in subscription follows the connection
    await rt!.api("POST", "/inject/p-inject");
    await rt!.waitForLog(/\[debug:mqtt-received\][\s\S]*BAT_GRB_Pos_1234567-890/, 15_000, since);
    const mail = await smtp!.waitForMessage((m) => m.subject === "GRB alert");
    assert.equal(mail.from, "alerts@example.org");
    assert.deepEqual(mail.to, ["observer@example.org"]);
    assert.match(mail.body, /ivo:\/\/nasa\.gsfc\.gcn\/SWIFT#BAT_GRB_Pos_1234567-890/);
  });
});
