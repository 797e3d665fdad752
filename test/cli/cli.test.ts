/**
 * The command-line tools, run as child processes the way a user runs them,
 * against a real receiver and broadcaster on loopback.
 */
import * as assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import * as net from "node:net";
import * as path from "node:path";
import { parseVOEvent } from "../../src/voevent/parse";
import { VTPBroadcaster } from "../../src/vtp/broadcaster";
import { VTPReceiver } from "../../src/vtp/receiver";

const ROOT = path.resolve(__dirname, "../..");
const TSX = require.resolve("tsx/cjs");

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(
  name: "send" | "alert" | "listen",
  args: string[],
  input?: string,
): { child: ChildProcess; done: Promise<Ran> } {
  const child = spawn(
    process.execPath,
    ["--require", TSX, path.join(ROOT, "src/cli", `${name}.ts`), ...args],
    {
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  if (input !== undefined) child.stdin?.end(input);
  else child.stdin?.end();
  const done = new Promise<Ran>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

const LOCAL = "ivo://cli.test/broker";

describe("CLI", function () {
  this.timeout(30000);
  let receiver: VTPReceiver;
  let broadcaster: VTPBroadcaster;
  let rport: number;
  let bport: number;
  const received: string[] = [];

  before(async () => {
    broadcaster = new VTPBroadcaster({ host: "127.0.0.1", port: 0, localIvo: LOCAL });
    bport = (await broadcaster.listen()).port;
    receiver = new VTPReceiver({
      host: "127.0.0.1",
      port: 0,
      localIvo: LOCAL,
      handler: (ev) => {
        received.push(ev.xml);
        broadcaster.broadcast(ev.bytes, ev);
      },
    });
    rport = (await receiver.listen()).port;
  });
  after(async () => {
    await receiver.close();
    await broadcaster.close();
  });

  it("voevent-alert prints a valid test packet with the contact, role and a fresh IVORN each time", async () => {
    const a = await cli("alert", ["--contact", "KSK"]).done;
    const b = await cli("alert", [
      "--contact",
      "KSK",
      "--role",
      "observation",
      "--stream",
      "ivo://my.obs/alerts",
    ]).done;
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const va = parseVOEvent(a.stdout).voevent;
    const vb = parseVOEvent(b.stdout).voevent;
    assert.equal(va.author.contactName, "KSK");
    assert.equal(va.role, "test");
    assert.equal(vb.role, "observation");
    assert.equal(vb.stream, "ivo://my.obs/alerts");
    assert.notEqual(va.ivorn, vb.ivorn);
    assert.ok(va.position, "the test alert has a position");
  });

  it("voevent-alert refuses a bad role with a usage error (exit 2)", async () => {
    const r = await cli("alert", ["--role", "retraction"]).done;
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--role must be one of/);
  });

  it("voevent-alert takes negative coordinates as written (--dec -28.9), and its help shows one", async () => {
    const r = await cli("alert", ["--ra", "266.4", "--dec", "-28.9", "--error", "0.5"]).done;
    assert.equal(r.code, 0, r.stderr);
    const position = parseVOEvent(r.stdout).voevent.position;
    assert.equal(position?.ra, 266.4);
    assert.equal(position?.dec, -28.9);
    const short = await cli("alert", ["-c", "KSK", "--dec", "-5"]).done;
    assert.equal(short.code, 0, short.stderr);
    assert.equal(parseVOEvent(short.stdout).voevent.position?.dec, -5);
    const outOfRange = await cli("alert", ["--dec", "-95"]).done;
    assert.equal(outOfRange.code, 2);
    assert.match(outOfRange.stderr, /--dec must be -90–90, not -95/);
    const help = await cli("alert", ["--help"]).done;
    assert.match(help.stdout, /--dec -28\.9/);
  });

  it("voevent-send says only that no packet arrived when standard input is empty (a failed pipe)", async () => {
    const r = await cli("send", ["--port", String(rport)], "").done;
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "voevent-send: no packet arrived on standard input\n");
  });

  it("voevent-send publishes from stdin and exits 0 on ack; the receiver got the exact bytes", async () => {
    const alert = (await cli("alert", ["--contact", "KSK"]).done).stdout;
    const r = await cli("send", ["--host", "127.0.0.1", "--port", String(rport)], alert).done;
    assert.equal(r.code, 0, r.stderr);
    const ivorn = parseVOEvent(alert).voevent.ivorn;
    assert.equal(r.stdout.trim(), `ack ${ivorn} from 127.0.0.1:${rport}`);
    assert.equal(received[received.length - 1], alert);
  });

  it("voevent-send exits 1 with the receiver's reason on nak", async () => {
    const noLocalId = (await cli("alert", []).done).stdout.replace(/ivorn="([^"#]+)#[^"]*"/, 'ivorn="$1"');
    const r = await cli("send", ["--host", "127.0.0.1", "--port", String(rport)], noLocalId).done;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nak from 127\.0\.0\.1:\d+: .*local/i);
  });

  it("voevent-send refuses to send what is not a VOEvent unless told to", async () => {
    const r = await cli("send", ["--port", String(rport)], "<html/>").done;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not sent: .*VOEvent/);
  });

  it("voevent-send exits 1 after its retries when the port refuses", async () => {
    const srv = net.createServer();
    await new Promise<void>((res) => srv.listen(0, "127.0.0.1", () => res()));
    const closedPort = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((res) => srv.close(() => res()));
    const alert = (await cli("alert", []).done).stdout;
    const r = await cli(
      "send",
      ["--host", "127.0.0.1", "--port", String(closedPort), "--retries", "1"],
      alert,
    ).done;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /failed after 2 attempts: .*refused/i);
  });

  it("voevent-send gives up after --timeout when the receiver never answers", async () => {
    const silent = net.createServer((s) => s.on("data", () => {}));
    await new Promise<void>((res) => silent.listen(0, "127.0.0.1", () => res()));
    const p = (silent.address() as net.AddressInfo).port;
    const alert = (await cli("alert", []).done).stdout;
    const started = Date.now();
    const r = await cli(
      "send",
      ["--host", "127.0.0.1", "--port", String(p), "--timeout", "0.5", "--retries", "0"],
      alert,
    ).done;
    silent.close();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /timed out|no reply/i);
    assert.ok(Date.now() - started < 15000, "it does not wait for ever");
  });

  it("voevent-listen prints the IVORNs of events matching its broker filter, and exits after --count", async () => {
    const listener = cli("listen", [
      "--host",
      "127.0.0.1",
      "--port",
      String(bport),
      "--filter",
      '//Who/Author[contactName="KSK"]',
      "--count",
      "1",
    ]);
    // Wait until the broadcaster has the subscriber and its filter.
    for (let i = 0; i < 100 && !(broadcaster.subscribers[0]?.filters.length > 0); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const other = (await cli("alert", ["--contact", "BOB"]).done).stdout;
    const ksk = (await cli("alert", ["--contact", "KSK"]).done).stdout;
    assert.equal((await cli("send", ["--port", String(rport), "--host", "127.0.0.1"], other).done).code, 0);
    assert.equal((await cli("send", ["--port", String(rport), "--host", "127.0.0.1"], ksk).done).code, 0);
    const r = await listener.done;
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines.length, 1);
    assert.match(
      lines[0],
      new RegExp(` test ${parseVOEvent(ksk).voevent.ivorn.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`),
    );
  });

  it("voevent-listen --xml prints the packet exactly", async () => {
    const listener = cli("listen", ["--host", "127.0.0.1", "--port", String(bport), "--xml", "-n", "1"]);
    for (let i = 0; i < 100 && broadcaster.count === 0; i++) await new Promise((r) => setTimeout(r, 50));
    const alert = (await cli("alert", []).done).stdout;
    assert.equal((await cli("send", ["--port", String(rport), "--host", "127.0.0.1"], alert).done).code, 0);
    const r = await listener.done;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${alert.replace(/\s+$/, "")}\n\n`);
  });
});
