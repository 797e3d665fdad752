/**
 * Redeploy leak test: a flow with every node type of the package (the eight
 * nodes, the identity config node) and a core tls-config node, deployed 50
 * times through the runtime's own deploy (a full deploy: every node closed and
 * made anew), an event sent through the whole chain each time. Afterwards the
 * process must hold what it held before: the same TCP servers, sockets and
 * timers, no port still listening, no more process listeners or open files.
 *
 *   build → sender ══TLS══▶ receiver → parse → dedupe (file store) → filter → broadcaster
 *                                                       broadcaster ──▶ subscriber s1 → got
 *                                    (no one listening) ──▶ subscriber s2 (reconnect timers)
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  catchNode,
  collect,
  type FlowNode,
  getNode,
  helper,
  nextMessage,
  nodeInit,
  sleep,
  statusHistory,
  TAB_ID,
  useNodeRed,
  waitUntil,
} from "../helpers/nodered";
import { testCertificate } from "../helpers/tls";
import { freePorts, identityNode, probe, tlsConfigInit, tlsConfigNode } from "./network-helpers";

const OUR_TYPES = [
  "voevent-identity",
  "voevent-build",
  "voevent-sender",
  "voevent-receiver",
  "voevent-parse",
  "voevent-dedupe",
  "voevent-filter",
  "voevent-broadcaster",
  "voevent-subscriber",
];

const DEPLOYS = 50;
/** Where the file dedupe of the flow keeps its log; removed after the tests. */
const leakDir = mkdtempSync(path.join(tmpdir(), "voevent-redeploy-"));
after(() => rmSync(leakDir, { recursive: true, force: true }));
/** Resource kinds counted (process.getActiveResourcesInfo()). */
const KINDS = ["TCPServerWrap", "TCPSocketWrap", "Timeout", "TTYWrap", "FSReqCallback"] as const;

function flow(generation: number, rPort: number, bPort: number, deadPort: number): FlowNode[] {
  const z = TAB_ID;
  return [
    { id: TAB_ID, type: "tab", label: `deploy ${generation}` },
    { ...identityNode(), z: undefined },
    { ...tlsConfigNode("tls1"), servername: "localhost" },
    {
      id: "bld",
      type: "voevent-build",
      z,
      name: `build ${generation}`,
      streamIvorn: "ivo://test.example/leak",
      role: "test",
      authorIvorn: "",
      shortName: "leak test",
      contactName: "KSK",
      contactEmail: "",
      description: "redeploy leak test",
      params: [],
      ra: "",
      dec: "",
      error: "",
      system: "UTC-ICRS-TOPO",
      timeNow: true,
      wires: [["snd"]],
    },
    {
      id: "snd",
      type: "voevent-sender",
      z,
      name: "",
      host: "localhost",
      hostType: "str",
      port: rPort,
      portType: "num",
      timeout: 5,
      retries: 0,
      tls: "tls1",
      wires: [[]],
    },
    {
      id: "r",
      type: "voevent-receiver",
      z,
      name: "",
      host: "127.0.0.1",
      port: rPort,
      identity: "ident",
      whitelist: "127.0.0.0/8, ::1",
      validate: "well-formed",
      requireLocalId: true,
      maxBytes: 1048576,
      tls: "tls1",
      wires: [["p"]],
    },
    {
      id: "p",
      type: "voevent-parse",
      z,
      name: "",
      validate: "well-formed",
      maxBytes: 1048576,
      wires: [["d"]],
    },
    {
      id: "d",
      type: "voevent-dedupe",
      z,
      name: "",
      key: "bytes",
      keyProperty: "topic",
      ttl: 1,
      ttlUnits: "hours",
      capacity: 1000,
      store: "file",
      // In a temporary folder, not the working directory (the test used to leave it in the clone).
      path: path.join(leakDir, "redeploy-leak-dedupe.log"),
      wires: [["f"], []],
    },
    {
      id: "f",
      type: "voevent-filter",
      z,
      name: "",
      rulesFrom: "node",
      rules: [{ t: "role", op: "is", role: "test" }],
      checkall: "true",
      otherwise: false,
      outputs: 1,
      wires: [["bc"]],
    },
    {
      id: "bc",
      type: "voevent-broadcaster",
      z,
      name: "",
      host: "127.0.0.1",
      port: bPort,
      identity: "ident",
      whitelist: "127.0.0.0/8, ::1",
      iamaliveInterval: 60,
      testInterval: 3600,
      maxQueue: 4194304,
      tls: "",
      monitor: true,
      outputs: 2,
      wires: [[], []],
    },
    {
      id: "s1",
      type: "voevent-subscriber",
      z,
      name: "",
      host: "127.0.0.1",
      port: bPort,
      identity: "ident",
      brokerFilters: ['//Who/Author[contactName="KSK"]'],
      tls: "",
      watchdog: 150,
      maxBackoff: 0.2,
      wires: [["got"]],
    },
    {
      id: "s2",
      type: "voevent-subscriber",
      z,
      name: "",
      host: "127.0.0.1",
      port: deadPort,
      identity: "",
      brokerFilters: [],
      tls: "",
      watchdog: 150,
      maxBackoff: 0.2,
      wires: [[]],
    },
    { id: "got", type: "helper", z },
    { ...catchNode("c", ["caught"]), z },
    { id: "caught", type: "helper", z },
  ].map((n) => {
    const copy: FlowNode = { ...n };
    if (copy.z === undefined) delete copy.z;
    return copy;
  });
}

function resources(): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(KINDS.map((k) => [k, 0]));
  for (const r of process.getActiveResourcesInfo()) if (r in counts) counts[r]!++;
  return counts;
}

/**
 * Resources while the flows run, each kind at its lowest over a few samples: subscriber s2 retries
 * every 0.2 s, and a sample taken during an attempt counts its socket (and not its timer).
 */
async function steadyResources(): Promise<Record<string, number>> {
  const low = resources();
  for (let i = 0; i < 12; i++) {
    await sleep(25);
    const now = resources();
    for (const k of KINDS) low[k] = Math.min(low[k]!, now[k]!);
  }
  return low;
}

function processListeners(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of process.eventNames()) out[String(name)] = process.listenerCount(name);
  return out;
}

/** Inodes of the host's TCP and UDP sockets (Linux /proc/net), to tell them from socketpairs. */
function inetSocketInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const table of ["tcp", "tcp6", "udp", "udp6"]) {
    let text = "";
    try {
      text = readFileSync(`/proc/net/${table}`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const inode = line.trim().split(/\s+/)[9];
      if (inode !== undefined && inode !== "0") inodes.add(inode);
    }
  }
  return inodes;
}

/**
 * This process's open TCP/UDP sockets and regular files (Linux: /proc/self/fd). Pipes and
 * socketpairs are left out: tsx starts and stops its esbuild helper process as it pleases.
 */
function openFiles(): number {
  let fds: string[];
  try {
    fds = readdirSync("/proc/self/fd");
  } catch {
    return -1; // not Linux: not counted
  }
  const inet = inetSocketInodes();
  let n = 0;
  for (const fd of fds) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // the directory's own descriptor, already closed
    }
    const socket = /^socket:\[(\d+)\]$/.exec(target);
    if (socket !== null ? inet.has(socket[1]!) : target.startsWith("/") && !target.startsWith("/dev/")) n++;
  }
  return n;
}

/** Lets the loop run until closed handles have been released. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  await sleep(50);
}

describe("redeploying every node type", () => {
  useNodeRed();

  it(`${DEPLOYS} full deploys leave no server, socket, timer, listener or file behind`, async function () {
    this.timeout(120000);
    const cert = testCertificate();
    const credentials = { tls1: { certdata: cert.cert, keydata: cert.key, cadata: cert.cert } };
    const [rPort, bPort, deadPort] = await freePorts(3);

    await settle();
    const baseline = { resources: resources(), listeners: processListeners(), files: openFiles() };

    /** One deploy's work: wait until it is up, then send an event through the whole chain. */
    const exercise = async (generation: number): Promise<void> => {
      await waitUntil(
        () => statusHistory("bc").some((s) => s.text === `1 subscriber (port ${bPort})`),
        5000,
        `deploy ${generation}: s1 subscribed`,
      );
      await waitUntil(
        () => statusHistory("r").some((s) => s.text === `listening on port ${rPort}`),
        5000,
        `deploy ${generation}: receiver listening`,
      );
      await waitUntil(
        () => statusHistory("s2").some((s) => String(s.text).startsWith("reconnecting")),
        5000,
        `deploy ${generation}: s2 retrying`,
      );
      // s1's filter reaches the broadcaster right after it connects.
      await sleep(20);
      const caught = collect("caught");
      const got = nextMessage("got", 5000);
      getNode("bld").receive({ payload: {} });
      const msg = await got.catch((err: Error) => {
        throw new Error(
          `deploy ${generation}: ${err.message}; caught: ${JSON.stringify(caught.map((m) => m.error))}`,
        );
      });
      assert.equal(msg.topic, "voevent/test.example/leak");
      assert.deepEqual(caught, [], `deploy ${generation}: nothing caught`);
    };

    await helper.load(
      [...OUR_TYPES.map(nodeInit), tlsConfigInit],
      flow(0, rPort!, bPort!, deadPort!),
      credentials,
    );
    await exercise(0);
    await settle();
    const running = await steadyResources();

    for (let generation = 1; generation < DEPLOYS; generation++) {
      await helper.setFlows(flow(generation, rPort!, bPort!, deadPort!), "full", credentials);
      await exercise(generation);
    }
    // While running, after deploy 1 and after the last: the same servers and sockets, and the same
    // timers give or take one (a connection closing gracefully holds a timer for a moment); a leak of
    // one per deploy would show as 49 more.
    const runningAfter = await steadyResources();
    const what = `resources while running, after deploy 1 ${JSON.stringify(running)} and after deploy ${DEPLOYS}`;
    assert.equal(runningAfter.TCPServerWrap, running.TCPServerWrap, what);
    assert.equal(runningAfter.TCPSocketWrap, running.TCPSocketWrap, what);
    assert.ok(
      Math.abs(runningAfter.Timeout! - running.Timeout!) <= 1,
      `${what}: ${JSON.stringify(runningAfter)}`,
    );

    await helper.unload();
    await settle();
    assert.deepEqual(resources(), baseline.resources, "active resources back to the baseline");
    assert.deepEqual(processListeners(), baseline.listeners, "process listeners back to the baseline");
    if (baseline.files >= 0)
      assert.equal(openFiles(), baseline.files, "open sockets and files back to the baseline");
    for (const port of [rPort!, bPort!])
      assert.equal(await probe(port), "ECONNREFUSED", `port ${port} closed`);
  });
});
