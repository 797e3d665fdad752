/**
 * The voevent-monitor page, the subscriber's health output and the filter's Try panel in a
 * real Node-RED runtime (the packed package) and headless Chromium:
 * - events sent through the broker example (examples/01-broker.json, on free ports) reach a
 *   subscriber → monitor; the page renders them (screenshots/monitor.png, copied to
 *   docs/images/monitor.png for the README) and updates live without a reload;
 * - the map puts known RA/Dec at the pixel the Hammer–Aitoff formula gives (computed here,
 *   independently of src/monitor/projection.ts), on screen too;
 * - the Fermi GBM error circle's outline lies 5.2° (its Error2Radius) from its centre on the
 *   sphere (inverse projection of every vertex);
 * - a hostile packet (Description, Param values, IVORN with <script>, <img onerror>,
 *   javascript:) runs nothing and shows as the text sent;
 * - the subscriber's health output reports "silent" and "resumed" with a 3 s silence time;
 * - the filter's Try panel gives, on the shipped samples, the verdicts of the filters of
 *   ../shared/docs/voevent.md (screenshots/filter-try.png);
 * - the registry example's page tries a new subscription on the samples;
 * - several monitors at different paths coexist; a redeploy frees a removed monitor's path,
 *   and a monitor kept in the context store "file" has its events back after it;
 * - behind httpNodeRoot and httpNodeAuth the page needs the credentials and works with them;
 * - on Node-RED 5 (Express 5) the page and its state are served and a redeploy frees the path;
 * - example 09 (GCN subscriber → silence alarm → e-mail), with a local broker playing GCN, a
 *   2 s silence time and a real SMTP server, mails "silent" and then "resumed".
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { VTPBroadcaster } from "../../src/vtp/broadcaster";
import { sendEvent } from "../../src/vtp/sender";
import {
  type Browser,
  ensureNodeRed5,
  type FlowNode,
  freePort,
  httpRequest,
  INSTALL_TIMEOUT_MS,
  launchBrowser,
  REPO_ROOT,
  type Runtime,
  type SmtpSink,
  startRuntime,
  startSmtp,
  waitForPort,
} from "./harness";

const SCREENSHOTS = path.join(REPO_ROOT, "screenshots");
const DOC_IMAGES = path.join(REPO_ROOT, "docs", "images");
const SAMPLES = path.join(REPO_ROOT, "samples");
const sample = (name: string) => fs.readFileSync(path.join(SAMPLES, `${name}.xml`), "utf8");

// --- Hammer–Aitoff, RA increasing to the left, RA 180° at the centre, frame 800 × 400 ---
const W = 800;
const H = 400;
const RAD = Math.PI / 180;
function formulaPixel(ra: number, dec: number): { x: number; y: number } {
  const l = (180 - ra) * RAD;
  const p = dec * RAD;
  const z = Math.sqrt(1 + Math.cos(p) * Math.cos(l / 2));
  const x = (2 * Math.SQRT2 * Math.cos(p) * Math.sin(l / 2)) / z;
  const y = (Math.SQRT2 * Math.sin(p)) / z;
  return { x: W / 2 + (x * W) / (4 * Math.SQRT2), y: H / 2 - (y * H) / (2 * Math.SQRT2) };
}
function inversePixel(px: number, py: number): { ra: number; dec: number } {
  const x = ((px - W / 2) * 4 * Math.SQRT2) / W;
  const y = ((H / 2 - py) * 2 * Math.SQRT2) / H;
  const z = Math.sqrt(1 - (x / 4) ** 2 - (y / 2) ** 2);
  const l = 2 * Math.atan2(z * x, 2 * (2 * z * z - 1));
  return { ra: 180 - l / RAD, dec: Math.asin(z * y) / RAD };
}
function separation(ra1: number, dec1: number, ra2: number, dec2: number): number {
  const c =
    Math.sin(dec1 * RAD) * Math.sin(dec2 * RAD) +
    Math.cos(dec1 * RAD) * Math.cos(dec2 * RAD) * Math.cos((ra1 - ra2) * RAD);
  return Math.acos(Math.max(-1, Math.min(1, c))) / RAD;
}

let serial = 0;
/** A VOEvent 2.0 packet; `description` and `param` are put in as escaped XML text. */
function makePacket(o: {
  ra?: number;
  dec?: number;
  error?: number;
  description?: string;
  param?: string;
  stream?: string;
}) {
  const esc = (s: string) =>
    s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  const stream = o.stream ?? "ivo://monitor.test/points";
  const where =
    o.ra === undefined
      ? ""
      : `<WhereWhen><ObsDataLocation><ObservatoryLocation id="GEOLUN"/><ObservationLocation><AstroCoordSystem id="UTC-FK5-GEO"/><AstroCoords coord_system_id="UTC-FK5-GEO"><Time unit="s"><TimeInstant><ISOTime>2026-01-01T00:00:00</ISOTime></TimeInstant></Time><Position2D unit="deg"><Name1>RA</Name1><Name2>Dec</Name2><Value2><C1>${o.ra}</C1><C2>${o.dec}</C2></Value2><Error2Radius>${o.error ?? 0}</Error2Radius></Position2D></AstroCoords></ObservationLocation></ObsDataLocation></WhereWhen>`;
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" version="2.0" role="test" ivorn="${stream}#p${process.pid}-${++serial}">` +
    `<Who><AuthorIVORN>${stream}</AuthorIVORN><Date>2026-01-01T00:00:00</Date></Who>` +
    `<What><Param name="Packet_Type" value="${esc(o.param ?? "1")}"/><Param name="Sun_Distance" value="${esc(o.param ?? "50")}"/></What>` +
    `${where}<Description>${esc(o.description ?? "a test point")}</Description></voe:VOEvent>\n`
  );
}

const XSS =
  '<script>window.__xss="script"</script><img src=x onerror="window.__xss=\'img\'">javascript:window.__xss="js"';

function monitorFlows(ports: { receiver: number; broadcaster: number }): FlowNode[] {
  const broker = JSON.parse(
    fs.readFileSync(path.join(REPO_ROOT, "examples", "01-broker.json"), "utf8"),
  ) as FlowNode[];
  for (const n of broker) {
    if (n.type === "voevent-receiver") {
      n.port = ports.receiver;
      n.host = "127.0.0.1";
      (n.wires as string[][])[0].push("mon-2", "mon-filter");
    }
    if (n.type === "voevent-broadcaster") {
      n.port = ports.broadcaster;
      n.host = "127.0.0.1";
    }
  }
  const z = broker.find((n) => n.type === "tab")!.id;
  const identity = broker.find((n) => n.type === "voevent-identity")!.id;
  const rules = [
    '//Who/Author[contactName="KSK"]',
    '/*[@role="observation"]',
    '//Param[@name="Sun_Distance" and @value > 40]',
    '//Param[@name="Packet_Type" and (@value=61 or @value=115)]',
    'starts-with(/*/@ivorn, "ivo://gwnet/")',
    "//Why[@importance > 0.5]",
    'count(//Citations/EventIVORN[@cite="retraction"]) > 0',
    '/voe:VOEvent[@role="test"]',
  ];
  return [
    ...broker,
    {
      id: "mon-sub",
      type: "voevent-subscriber",
      z,
      name: "local broker",
      host: "127.0.0.1",
      port: ports.broadcaster,
      identity,
      brokerFilters: [],
      tls: "",
      watchdog: 150,
      maxBackoff: 2,
      health: true,
      silence: 3,
      silenceUnits: "seconds",
      outputs: 2,
      wires: [["mon-1"], ["mon-health"]],
    },
    {
      id: "mon-1",
      type: "voevent-monitor",
      z,
      name: "Sky monitor",
      path: "/voevent/monitor",
      max: 500,
      params: "Packet_Type, Sun_Distance",
      wires: [],
    },
    {
      id: "mon-2",
      type: "voevent-monitor",
      z,
      name: "",
      path: "/voevent/monitor2",
      max: 3,
      params: "",
      persist: "file",
      wires: [],
    },
    {
      id: "mon-health",
      type: "debug",
      z,
      name: "health",
      active: true,
      tosidebar: false,
      console: true,
      complete: "payload.reason",
      targetType: "msg",
      wires: [],
    },
    {
      id: "mon-filter",
      type: "voevent-filter",
      z,
      name: "voevent.md filters",
      rules: rules.map((xpath) => ({ t: "xpath", xpath })),
      checkall: "true",
      otherwise: false,
      rulesFrom: "node",
      outputs: rules.length,
      wires: rules.map(() => []),
    },
    {
      id: "mon-gcn",
      type: "voevent-filter",
      z,
      name: "GCN types and a cone",
      rules: [
        { t: "gcn", types: [61, 115] },
        { t: "cone", ra: 200, dec: 20, radius: 10 },
      ],
      checkall: "true",
      otherwise: false,
      rulesFrom: "node",
      outputs: 2,
      wires: [[], []],
    },
    // A model that did not come through a receiver (anything may feed a monitor): hostile IVORN too.
    {
      id: "mon-hin",
      type: "http in",
      z,
      name: "",
      url: "/inject-model",
      method: "post",
      upload: false,
      swaggerDoc: "",
      wires: [["mon-fn"]],
    },
    {
      id: "mon-fn",
      type: "function",
      z,
      name: "model from the request",
      func: "msg.voevent = msg.payload.voevent;\nmsg.payload = msg.payload.xml;\nconst reply = RED.util.cloneMessage(msg);\nreply.payload = 'ok';\nreturn [msg, reply];",
      outputs: 2,
      wires: [["mon-1"], ["mon-hout"]],
    },
    { id: "mon-hout", type: "http response", z, name: "", statusCode: "", headers: {}, wires: [] },
  ];
}

/** examples/06-registry.json (its subscriber tries localhost:8099 and retries: harmless here). */
function registryExample(): FlowNode[] {
  return JSON.parse(
    fs.readFileSync(path.join(REPO_ROOT, "examples", "06-registry.json"), "utf8"),
  ) as FlowNode[];
}

const EXPECTED_TRY: Record<string, string> = {
  // One digit per voevent.md filter, in order (1 = matches), read off each packet:
  // contactName KSK · role observation · Sun_Distance > 40 · Packet_Type 61/115 · ivo://gwnet/ ·
  // importance > 0.5 · a retraction citation · role test.
  "swift-bat-position": "01110100", // Sun 92.05°, type 61, importance 0.9
  "fermi-gbm-position": "01110100", // Sun 95.02°, type 115, importance 0.95
  "lvk-alert": "01001000", // observation, gwnet, no Why, cites "supersedes"
  "lvk-retraction": "00001011", // test, gwnet, cite="retraction"
  "test-alert": "00000001", // role test, Jo Bloggs
};

describe("e2e: the monitor page, feed health and the filter's Try panel in Chromium", function () {
  this.timeout(90_000);
  let rt: Runtime | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let ports: { receiver: number; broadcaster: number };
  const errors: string[] = [];
  const dialogs: string[] = [];

  const send = async (xml: string) => {
    const r = await sendEvent({ host: "127.0.0.1", port: ports.receiver, payload: xml, timeoutMs: 10_000 });
    assert.equal(r.reply, "ack", r.reason ?? "");
  };
  const rows = () => page!.locator("#events tbody tr[data-seq]");

  before(async function () {
    this.timeout(INSTALL_TIMEOUT_MS + 120_000);
    ports = { receiver: await freePort(), broadcaster: await freePort() };
    rt = await startRuntime({ flows: [...monitorFlows(ports), ...registryExample()] });
    await rt.waitForLog(/connected to 127\.0\.0\.1/, 30_000);
    browser = await launchBrowser();
    page = await browser.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
  });

  after(async () => {
    await browser?.close();
    await rt?.stop();
  });

  it("renders events sent through the broker example (screenshots/monitor.png)", async () => {
    await send(sample("swift-bat-position"));
    await send(sample("fermi-gbm-position"));
    await send(sample("lvk-alert"));
    await send(makePacket({ ra: 0.5, dec: 60, error: 8, stream: "ivo://monitor.test/edge" }));
    await send(makePacket({ ra: 300, dec: -75, error: 12, stream: "ivo://monitor.test/south" }));
    await page!.goto(rt!.httpUrl("/voevent/monitor"), { waitUntil: "load" });
    await page!.waitForSelector("body[data-ready='true']", { timeout: 20_000 });
    await page!.waitForFunction(
      () => document.querySelectorAll("#events tbody tr[data-seq]").length === 5,
      undefined,
      { timeout: 20_000 },
    );
    assert.equal(await page!.title(), "Sky monitor");
    const first = await rows().first().locator("td").allTextContents();
    assert.ok(first.includes("ivo://monitor.test/south"), `newest first: ${first.join(" | ")}`);
    const bat = page!.locator("#events tbody tr", {
      hasText: "ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_532871-729",
    });
    const cells = await bat.locator("td").allTextContents();
    assert.ok(cells.includes("observation"));
    assert.ok(cells.includes("74.741, -9.314 (0.050°)"), cells.join(" | "));
    assert.ok(cells.includes("61"), "the picked Param Packet_Type");
    assert.ok(cells.includes("92.05"), "the picked Param Sun_Distance");
    // The feeds: the broker's receiver and broadcaster, our subscriber and the registry example's.
    await page!.waitForFunction(
      () =>
        ["ex01-receiver", "ex01-broadcaster", "mon-sub", "ex06-subscriber"].every(
          (id) => document.querySelector(`#feeds tbody tr[data-id='${id}']`) !== null,
        ) && document.querySelectorAll("#feeds tbody tr[data-id]").length === 4,
      undefined,
      { timeout: 10_000 },
    );
    const sub = await page!.locator("#feeds tbody tr[data-id='mon-sub'] td").allTextContents();
    assert.equal(sub[1], "subscriber");
    assert.match(sub[3], /^connected since /);
    assert.match(sub[4], /^5 \(5 in all\)$/);
    // Select the GBM event by clicking its dot; the row is selected and its XML shows as text.
    await page!
      .locator("#points circle.point", { has: page!.locator("title", { hasText: "GBM_Fin_Pos" }) })
      .click();
    await page!.waitForSelector("#events tbody tr.selected");
    assert.match(
      (await page!.locator("#events tbody tr.selected").textContent()) ?? "",
      /GBM_Fin_Pos2018-01-16/,
    );
    await page!.evaluate(() => window.scrollTo(0, 0));
    await page!.mouse.move(5, 5);
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    await page!.screenshot({ path: path.join(SCREENSHOTS, "monitor.png") });
    fs.mkdirSync(DOC_IMAGES, { recursive: true });
    fs.copyFileSync(path.join(SCREENSHOTS, "monitor.png"), path.join(DOC_IMAGES, "monitor.png"));
    await page!.click("#show-xml");
    await page!.waitForSelector("#xml:not([hidden])");
    assert.equal(await page!.locator("#xml").textContent(), sample("fermi-gbm-position"));
  });

  it("updates live, without a reload", async () => {
    await page!.evaluate(() => {
      (window as unknown as { __same: number }).__same = 42;
    });
    const before = await rows().count();
    await send(makePacket({ ra: 150, dec: 10, error: 1, stream: "ivo://monitor.test/live" }));
    await page!.waitForFunction(
      (n) => document.querySelectorAll("#events tbody tr[data-seq]").length === n + 1,
      before,
      { timeout: 15_000 },
    );
    assert.equal(
      await page!.evaluate(() => (window as unknown as { __same?: number }).__same),
      42,
      "the same page",
    );
    assert.match((await rows().first().textContent()) ?? "", /ivo:\/\/monitor\.test\/live/);
    assert.equal(await page!.locator("#points circle.point.newest").count(), 1);
  });

  it("puts known RA/Dec at the pixel the Hammer–Aitoff formula gives, in the SVG and on screen", async () => {
    const known: Array<[string, number, number]> = [
      ["BAT_GRB_Pos_532871-729", 74.7412, -9.3137],
      ["GBM_Fin_Pos2018", 212.77, 27.05],
      ["monitor.test/edge", 0.5, 60],
      ["monitor.test/south", 300, -75],
      ["monitor.test/live", 150, 10],
    ];
    const svgBox = await page!.locator("#map").boundingBox();
    assert.ok(svgBox);
    for (const [name, ra, dec] of known) {
      const dot = page!.locator("#points circle.point", { has: page!.locator("title", { hasText: name }) });
      const cx = Number(await dot.getAttribute("cx"));
      const cy = Number(await dot.getAttribute("cy"));
      const want = formulaPixel(ra, dec);
      assert.ok(
        Math.abs(cx - want.x) < 0.02 && Math.abs(cy - want.y) < 0.02,
        `${name}: (${cx}, ${cy}) vs (${want.x}, ${want.y})`,
      );
      const box = await dot.boundingBox();
      assert.ok(box);
      const scale = svgBox.width / W;
      const sx = box.x + box.width / 2;
      const sy = box.y + box.height / 2;
      assert.ok(Math.abs(sx - (svgBox.x + want.x * scale)) < 1.5, `${name} on screen x`);
      assert.ok(Math.abs(sy - (svgBox.y + want.y * scale)) < 1.5, `${name} on screen y`);
    }
    // RA increases to the left: 74.7° is right of the centre (180°), 300° left of it.
    assert.ok(formulaPixel(74.7412, 0).x > W / 2 && formulaPixel(300, 0).x < W / 2);
  });

  it("draws the GBM error circle 5.2° from its centre on the sphere, and splits a circle across RA 0h", async () => {
    const seq = await page!
      .locator("#events tbody tr", { hasText: "GBM_Fin_Pos2018" })
      .getAttribute("data-seq");
    const d = await page!.locator(`#circles path[data-seq='${seq}']`).getAttribute("d");
    assert.ok(d);
    const pts = [...d.matchAll(/(-?[\d.]+),(-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
    assert.ok(pts.length >= 60, `${pts.length} vertices`);
    for (const [x, y] of pts) {
      const s = inversePixel(x, y);
      const r = separation(s.ra, s.dec, 212.77, 27.05);
      assert.ok(Math.abs(r - 5.2) < 0.05, `vertex (${x}, ${y}) is ${r}° from the centre`);
    }
    // Its extent on the map: wider than tall at Dec 27° (RA stretched), about 2 × 5.2° tall.
    const ys = pts.map((p) => p[1]);
    const tall = inversePixel(W / 2, Math.min(...ys)).dec - inversePixel(W / 2, Math.max(...ys)).dec;
    assert.ok(Math.abs(tall - 10.4) < 0.6, `height ${tall}°`);
    // The 8° circle at RA 0.5° crosses the edge: two pieces, one at each side.
    const edgeSeq = await page!
      .locator("#events tbody tr", { hasText: "monitor.test/edge" })
      .getAttribute("data-seq");
    const edge = (await page!.locator(`#circles path[data-seq='${edgeSeq}']`).getAttribute("d")) ?? "";
    const pieces = edge.split("M").filter((p) => p !== "");
    assert.equal(pieces.length, 2, "two arcs");
    // One arc wholly left of the centre (RA just below 24h), the other wholly right (RA just above 0h).
    const sides = pieces.map((p) => {
      const xs = [...p.matchAll(/(-?[\d.]+),(-?[\d.]+)/g)].map((m) => Number(m[1]));
      return xs.every((x) => x < W / 2) ? "left" : xs.every((x) => x > W / 2) ? "right" : "both";
    });
    assert.deepEqual([...sides].sort(), ["left", "right"]);
  });

  it("shows a hostile packet's strings as text and runs nothing", async () => {
    const xml = makePacket({
      ra: 10,
      dec: 10,
      error: 2,
      description: XSS,
      param: XSS,
      stream: "ivo://monitor.test/xss",
    });
    await send(xml);
    const ivorn = `ivo://xss.example/x#${XSS}`;
    const model = {
      ivorn,
      role: "test",
      version: "2.0",
      namespace: "",
      stream: "ivo://xss.example/x",
      date: null,
      author: { ivorn: null, shortName: null, contactName: null, contactEmail: null },
      params: { Packet_Type: XSS },
      groups: {},
      position: { ra: 20, dec: 20, error: 1, system: XSS },
      time: XSS,
      why: { importance: null, expires: null, inferences: [], concepts: [] },
      citations: [],
      description: XSS,
    };
    const res = await httpRequest(rt!.httpUrl("/inject-model"), {
      method: "POST",
      body: { voevent: model, xml: `<x>${XSS}</x>` },
    });
    assert.equal(res.status, 200);
    await page!.waitForFunction(
      () => document.body.textContent?.includes("ivo://xss.example/x#<script>"),
      undefined,
      { timeout: 15_000 },
    );
    await page!.waitForTimeout(500);
    assert.equal(
      await page!.evaluate(() => (window as unknown as { __xss?: string }).__xss),
      undefined,
      "no script ran",
    );
    assert.deepEqual(dialogs, []);
    assert.equal(
      await page!.locator("main img, main script, #events a, #events [onerror]").count(),
      0,
      "no element made from packet text",
    );
    const xssRow = page!.locator("#events tbody tr", { hasText: "ivo://xss.example/x#" });
    const cells = await xssRow.locator("td").allTextContents();
    assert.ok(cells.includes(ivorn), "the IVORN shows as sent");
    assert.ok(cells.includes(XSS), "the Param value and the event time show as sent");
    const viaBroker = await page!
      .locator("#events tbody tr", { hasText: "ivo://monitor.test/xss" })
      .locator("td")
      .allTextContents();
    assert.ok(viaBroker.includes(XSS), "Param values from a real packet show as sent");
    await page!.locator("#events tbody tr", { hasText: "ivo://monitor.test/xss" }).click();
    assert.equal(
      await page!.locator("#detail-description").textContent(),
      XSS,
      "the Description shows as sent",
    );
    await xssRow.click();
    assert.equal(await page!.locator("#detail-ivorn").textContent(), ivorn);
    await page!.click("#show-xml");
    await page!.waitForFunction(
      () => document.getElementById("xml")?.textContent?.startsWith("<x>"),
      undefined,
      { timeout: 10_000 },
    );
    assert.equal(await page!.locator("#xml").textContent(), `<x>${XSS}</x>`);
    await page!
      .locator("#points circle.point", { has: page!.locator("title", { hasText: "ivo://xss.example" }) })
      .hover();
    await page!.waitForTimeout(300);
    assert.equal(
      await page!.evaluate(() => (window as unknown as { __xss?: string }).__xss),
      undefined,
      "still nothing ran",
    );
    // The page forbids inline script anyway.
    const head = await httpRequest(rt!.httpUrl("/voevent/monitor"));
    assert.match(String(head.headers["content-security-policy"]), /script-src 'self'/);
    assert.deepEqual(errors, []);
  });

  it("keeps N: the second monitor (max 3) serves only the last 3 events", async () => {
    const state = JSON.parse((await httpRequest(rt!.httpUrl("/voevent/monitor2/api/state"))).body) as {
      events: Array<{ ivorn: string }>;
      max: number;
    };
    assert.equal(state.max, 3);
    assert.equal(state.events.length, 3);
    assert.match(state.events[0].ivorn, /^ivo:\/\/monitor\.test\/xss#/);
  });

  it("the subscriber's health output reports silent after 3 s without events, and resumed", async () => {
    const since = rt!.logs().length;
    await send(makePacket({ ra: 1, dec: 1, stream: "ivo://monitor.test/before-silence" }));
    await rt!.waitForLog(/\[debug:health\][\s\S]*silent/, 20_000, since);
    const later = rt!.logs().length;
    await send(makePacket({ ra: 1, dec: 2, stream: "ivo://monitor.test/resume" }));
    await rt!.waitForLog(/\[debug:health\][\s\S]*resumed/, 20_000, later);
  });

  it("at 1280×800 and 1400 wide the feeds table fits its panel, and a clicked event's details (GCN type by name) come into view", async () => {
    const small = await browser!.newPage();
    try {
      await small.setViewportSize({ width: 1280, height: 800 });
      await small.goto(rt!.httpUrl("/voevent/monitor"), { waitUntil: "load" });
      await small.waitForSelector("body[data-ready='true']", { timeout: 20_000 });
      await small.waitForFunction(
        () => document.querySelectorAll("#feeds tbody tr[data-id]").length === 4,
        undefined,
        {
          timeout: 10_000,
        },
      );
      for (const width of [1280, 1400]) {
        await small.setViewportSize({ width, height: 800 });
        const m = await small.evaluate(() => {
          const section = document.getElementById("feeds-section") as HTMLElement;
          const last = (
            document.querySelector("#feeds thead th:last-child") as HTMLElement
          ).getBoundingClientRect();
          return {
            scrollWidth: section.scrollWidth,
            clientWidth: section.clientWidth,
            lastRight: last.right,
            panelRight: section.getBoundingClientRect().right,
          };
        });
        assert.ok(
          m.scrollWidth <= m.clientWidth,
          `${width} px: the feeds panel scrolls sideways (${m.scrollWidth} > ${m.clientWidth})`,
        );
        assert.ok(
          m.lastRight <= m.panelRight,
          `${width} px: Reconnects is inside the panel (${m.lastRight} > ${m.panelRight})`,
        );
      }
      await small.setViewportSize({ width: 1280, height: 800 });
      await small.evaluate(() => window.scrollTo(0, 0));
      const gbm = small.locator("#events tbody tr", { hasText: "GBM_Fin_Pos2018-01-16" });
      assert.ok(
        (await gbm.locator("td").allTextContents()).includes("FERMI_GBM_FIN_POS (115)"),
        "the GCN type column",
      );
      await gbm.click();
      await small.waitForSelector("#detail:not([hidden])");
      const inView = async () =>
        small.evaluate(() => {
          const r = (document.getElementById("detail") as HTMLElement).getBoundingClientRect();
          return { top: r.top, bottom: r.bottom, height: window.innerHeight, scrollY: window.scrollY };
        });
      let seen = await inView();
      for (let i = 0; i < 20 && !(seen.top >= 0 && seen.bottom <= seen.height + 1); i++) {
        await small.waitForTimeout(100);
        seen = await inView();
      }
      assert.ok(
        seen.top >= 0 && seen.bottom <= seen.height + 1,
        `the details are in view: ${JSON.stringify(seen)}`,
      );
      assert.equal(
        await small.locator("#detail-gcn").textContent(),
        "GCN notice type FERMI_GBM_FIN_POS (115)",
      );
    } finally {
      await small.close();
    }
  });

  it("the Try panel says why for GCN type and cone rules, and runs a deployed registry's own rules by name", async function () {
    this.timeout(180_000);
    const editor = await browser!.newPage();
    type RedGlobal = { RED?: { nodes?: { node(id: string): unknown }; editor?: { edit(n: unknown): void } } };
    const open = async (id: string) => {
      await editor.evaluate((nodeId) => {
        const RED = (globalThis as unknown as RedGlobal).RED!;
        RED.editor!.edit(RED.nodes!.node(nodeId));
      }, id);
      await editor.waitForSelector("#node-input-try-source option[value='sample:fermi-gbm-position']", {
        state: "attached",
        timeout: 20_000,
      });
    };
    const cancel = async () => {
      await editor.click("#node-dialog-cancel");
      await editor.waitForSelector("#node-input-try-source", { state: "detached", timeout: 10_000 });
    };
    try {
      await editor.goto(rt!.url, { waitUntil: "load", timeout: 60_000 });
      await editor.waitForFunction(
        () => !!(globalThis as unknown as RedGlobal).RED?.nodes?.node("mon-gcn"),
        undefined,
        { timeout: 60_000, polling: 200 },
      );
      await open("mon-gcn");
      // The GCN rule's multi-select lists GCN's types by name, the rule's own chosen.
      await editor.waitForSelector(".node-input-rule-gcn option[value='115']", {
        state: "attached",
        timeout: 10_000,
      });
      const chosen = await editor
        .locator(".node-input-rule-gcn option:checked")
        .evaluateAll((os) => os.map((o) => o.textContent));
      assert.deepEqual(chosen, ["SWIFT_BAT_GRB_POS_ACK (61)", "FERMI_GBM_FIN_POS (115)"]);
      assert.ok(
        (await editor.locator(".node-input-rule-gcn optgroup[label='SVOM'] option").count()) > 0,
        "SVOM's types are offered",
      );
      await editor.selectOption("#node-input-try-source", "sample:fermi-gbm-position");
      await editor.waitForSelector("#node-input-try-results li[data-rule='1'] .voevent-try-value", {
        timeout: 20_000,
      });
      const gcn = editor.locator("#node-input-try-results li[data-rule='0']");
      assert.equal(await gcn.getAttribute("data-verdict"), "match");
      assert.equal(
        await gcn.locator(".voevent-try-setting").textContent(),
        "rule: SWIFT_BAT_GRB_POS_ACK (61), FERMI_GBM_FIN_POS (115)",
      );
      assert.equal(
        await gcn.locator(".voevent-try-value").textContent(),
        "packet: Packet_Type FERMI_GBM_FIN_POS (115)",
      );
      const cone = editor.locator("#node-input-try-results li[data-rule='1']");
      assert.equal(await cone.getAttribute("data-verdict"), "nomatch");
      assert.equal(
        await cone.locator(".voevent-try-setting").textContent(),
        "rule: within 10° of RA 200, Dec 20",
      );
      assert.match(
        (await cone.locator(".voevent-try-value").textContent()) ?? "",
        /^packet: RA 212\.77, Dec 27\.05 ± 5\.2°: 1\d\.\d+° from the centre$/,
      );
      await cancel();
      // The registry example's filter reads its rules from context: Try runs them, by name.
      await open("ex06-filter");
      await editor.selectOption("#node-input-try-source", "sample:fermi-gbm-position");
      const all = editor.locator("#node-input-try-results li[data-name='all']");
      await all.waitFor({ timeout: 20_000 });
      assert.equal(await all.getAttribute("data-verdict"), "match");
      await cancel();
    } finally {
      await editor.close();
    }
  });

  it("the filter's Try panel gives the voevent.md filters' verdicts on the sample packets (screenshots/filter-try.png)", async function () {
    this.timeout(180_000);
    const editor = await browser!.newPage();
    try {
      await editor.goto(rt!.url, { waitUntil: "load", timeout: 60_000 });
      await editor.waitForFunction(
        () => {
          const red = (globalThis as unknown as { RED?: { nodes?: { node(id: string): unknown } } }).RED;
          return !!red?.nodes?.node("mon-filter");
        },
        undefined,
        { timeout: 60_000, polling: 200 },
      );
      await editor.evaluate(() => {
        const RED = (
          globalThis as unknown as {
            RED: { editor: { edit(n: unknown): void }; nodes: { node(id: string): unknown } };
          }
        ).RED;
        RED.editor.edit(RED.nodes.node("mon-filter"));
      });
      await editor.waitForSelector("#node-input-try-source option[value='sample:test-alert']", {
        state: "attached",
        timeout: 20_000,
      });
      // The node's last events are offered too.
      await editor.waitForSelector("#node-input-try-source option[value='recent:0']", {
        state: "attached",
        timeout: 10_000,
      });
      for (const [id, expected] of Object.entries(EXPECTED_TRY)) {
        await editor.selectOption("#node-input-try-source", `sample:${id}`);
        await editor.waitForFunction(
          (want) => {
            const ev = document.querySelector("#node-input-try-results .voevent-try-event");
            return (
              !!ev &&
              ev.textContent?.includes(want) &&
              document.querySelectorAll("#node-input-try-results li").length === 8
            );
          },
          id === "lvk-alert"
            ? "S190814bv"
            : id === "lvk-retraction"
              ? "MS181101ab"
              : id === "test-alert"
                ? "TEST"
                : id === "swift-bat-position"
                  ? "BAT_GRB"
                  : "GBM_Fin",
          { timeout: 20_000 },
        );
        const verdicts = await editor
          .locator("#node-input-try-results li")
          .evaluateAll((lis) => lis.map((li) => li.getAttribute("data-verdict")));
        assert.equal(
          verdicts.map((v) => (v === "match" ? "1" : "0")).join(""),
          expected,
          `${id}: ${verdicts.join(",")}`,
        );
        if (id === "fermi-gbm-position") {
          const value = await editor
            .locator("#node-input-try-results li[data-rule='2'] .voevent-try-value")
            .textContent();
          assert.match(value ?? "", /^= 1 node/);
          fs.mkdirSync(SCREENSHOTS, { recursive: true });
          await editor.screenshot({ path: path.join(SCREENSHOTS, "filter-try.png") });
          fs.copyFileSync(path.join(SCREENSHOTS, "filter-try.png"), path.join(DOC_IMAGES, "filter-try.png"));
        }
      }
      // An expression's value: a number.
      await editor.selectOption("#node-input-try-source", "sample:lvk-retraction");
      await editor.waitForSelector("#node-input-try-results li[data-rule='6'][data-verdict='match']", {
        timeout: 20_000,
      });
    } finally {
      await editor.close();
    }
  });

  it("the registry page tries a subscription on the sample packets when it is added", async () => {
    const registry = await browser!.newPage();
    try {
      await registry.goto(rt!.httpUrl("/voevent/example/subscriptions"), { waitUntil: "load" });
      await registry.locator("#list tr[data-name='all']").waitFor({ timeout: 10_000 });
      await registry.fill("#name", "positions");
      await registry.fill("#xpath", '//Param[@name="Packet_Type" and (@value=61 or @value=115)]');
      await registry.click("#submit");
      await registry.waitForFunction(
        () => document.querySelectorAll("#try-list tr").length === 5,
        undefined,
        {
          timeout: 20_000,
        },
      );
      const verdicts = await registry
        .locator("#try-list tr")
        .evaluateAll((trs) =>
          trs.map((tr) => `${tr.getAttribute("data-sample")}=${tr.getAttribute("data-verdict")}`),
        );
      assert.deepEqual(verdicts.sort(), [
        "fermi-gbm-position=yes",
        "lvk-alert=no",
        "lvk-retraction=no",
        "swift-bat-position=yes",
        "test-alert=no",
      ]);
      // Sample, its GCN notice type by name, the verdict, the XPath's value.
      const swift = registry.locator("#try-list tr[data-sample='swift-bat-position'] td");
      assert.equal(await swift.nth(1).textContent(), "SWIFT_BAT_GRB_POS_ACK (61)");
      const value = await swift.nth(3).textContent();
      assert.equal(value, '1 node: ""');
      // Without saving: the Try button.
      await registry.fill("#xpath", 'starts-with(/*/@ivorn, "ivo://gwnet/")');
      await registry.click("#try-button");
      await registry.waitForSelector("#try-list tr[data-sample='lvk-alert'][data-verdict='yes']", {
        timeout: 20_000,
      });
      assert.equal(await registry.locator("#try-list tr[data-verdict='yes']").count(), 2);
      fs.mkdirSync(SCREENSHOTS, { recursive: true });
      await registry.screenshot({ path: path.join(SCREENSHOTS, "registry-try.png") });
    } finally {
      await registry.close();
    }
  });

  it("several monitors coexist; a redeploy frees a removed monitor's path and serves a new one", async () => {
    assert.equal((await httpRequest(rt!.httpUrl("/voevent/monitor"))).status, 200);
    assert.equal((await httpRequest(rt!.httpUrl("/voevent/monitor2"))).status, 200);
    const flows = [...monitorFlows(ports), ...registryExample()].map((n) =>
      n.id === "mon-2" ? { ...n, path: "/voevent/elsewhere" } : n,
    );
    const since = rt!.logs().length;
    await rt!.deploy(flows);
    await rt!.waitForLog("Started flows", 20_000, since);
    assert.equal((await httpRequest(rt!.httpUrl("/voevent/monitor2"))).status, 404, "the old path is free");
    assert.equal((await httpRequest(rt!.httpUrl("/voevent/elsewhere"))).status, 200);
    // mon-2 keeps its events in the context store "file": saved when it closed, read back at start.
    let kept: { events: Array<{ ivorn: string }> } = { events: [] };
    for (let i = 0; i < 25 && kept.events.length < 3; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 200));
      kept = JSON.parse((await httpRequest(rt!.httpUrl("/voevent/elsewhere/api/state"))).body) as typeof kept;
    }
    assert.equal(kept.events.length, 3, "the 3 kept events survived the redeploy");
    assert.match(kept.events[0].ivorn, /^ivo:\/\/monitor\.test\/resume#/);
    assert.equal((await httpRequest(rt!.httpUrl("/voevent/monitor"))).status, 200);
    // The redeployed subscriber reconnects to the redeployed broadcaster (the feed list says when).
    const deployedAt = Date.now() - 1000;
    for (let i = 0; ; i++) {
      const state = JSON.parse((await httpRequest(rt!.httpUrl("/voevent/monitor/api/state"))).body) as {
        feeds: Array<{ id: string; state: string; since: string }>;
      };
      const sub = state.feeds.find((f) => f.id === "mon-sub");
      if (sub?.state === "connected" && Date.parse(sub.since) >= deployedAt) break;
      assert.ok(i < 150, "the subscriber reconnects within 30 s");
      await new Promise((r) => setTimeout(r, 200));
    }
    await send(makePacket({ ra: 2, dec: 2, stream: "ivo://monitor.test/after-redeploy" }));
    await page!.waitForFunction(
      () => document.body.textContent?.includes("ivo://monitor.test/after-redeploy"),
      undefined,
      { timeout: 20_000 },
    );
  });
});

describe("e2e: the monitor behind httpNodeRoot and httpNodeAuth", function () {
  this.timeout(90_000);
  let rt: Runtime | undefined;
  let browser: Browser | undefined;
  const user = "observer";
  const pass = "m00n-and-stars";

  before(async function () {
    this.timeout(INSTALL_TIMEOUT_MS + 120_000);
    const bcrypt = require("bcryptjs") as { hashSync(p: string, rounds: number): string };
    const port = await freePort();
    rt = await startRuntime({
      settings: { httpNodeRoot: "/pages", httpNodeAuth: { user, pass: bcrypt.hashSync(pass, 8) } },
      flows: [
        { id: "t", type: "tab", label: "auth" },
        {
          id: "r",
          type: "voevent-receiver",
          z: "t",
          host: "127.0.0.1",
          port,
          whitelist: "127.0.0.0/8",
          validate: "well-formed",
          wires: [["m"]],
        },
        { id: "m", type: "voevent-monitor", z: "t", name: "", path: "/sky", max: 10, params: "", wires: [] },
      ],
    });
    await rt.waitForLog(/listening|Started flows/, 20_000);
    await new Promise((r) => setTimeout(r, 500));
    const r = await sendEvent({
      host: "127.0.0.1",
      port,
      payload: makePacket({ ra: 45, dec: 45, error: 3 }),
      timeoutMs: 10_000,
    });
    assert.equal(r.reply, "ack");
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await rt?.stop();
  });

  it("refuses the page without credentials and works with them, under httpNodeRoot", async () => {
    const base = `http://127.0.0.1:${rt!.port}/pages/sky`;
    assert.equal((await httpRequest(base)).status, 401);
    assert.equal((await httpRequest(`${base}/api/state`)).status, 401);
    assert.equal(
      (await httpRequest(`http://127.0.0.1:${rt!.port}/sky`)).status,
      404,
      "not outside httpNodeRoot",
    );
    const auth = `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
    assert.equal((await httpRequest(base, { headers: { Authorization: auth } })).status, 200);
    const page = await browser!.newPage();
    try {
      await page.setExtraHTTPHeaders({ Authorization: auth });
      await page.goto(base, { waitUntil: "load" });
      await page.waitForSelector("body[data-ready='true']", { timeout: 20_000 });
      await page.waitForFunction(() => document.querySelector("#live")?.textContent === "live", undefined, {
        timeout: 20_000,
      });
      assert.equal(await page.locator("#events tbody tr[data-seq]").count(), 1);
      assert.equal(await page.locator("#points circle.point").count(), 1);
    } finally {
      await page.close();
    }
  });
});

describe("e2e: example 09, GCN subscriber → silence alarm → e-mail", function () {
  this.timeout(90_000);
  let rt: Runtime | undefined;
  let smtp: SmtpSink | undefined;
  let gcn: VTPBroadcaster | undefined;

  before(async function () {
    this.timeout(INSTALL_TIMEOUT_MS + 120_000);
    gcn = new VTPBroadcaster({ host: "127.0.0.1", port: 0, localIvo: "ivo://nasa.gsfc.gcn/gcn" });
    const [listening, sink] = await Promise.all([gcn.listen(), startSmtp()]);
    smtp = sink;
    const example = JSON.parse(
      fs.readFileSync(path.join(REPO_ROOT, "examples", "10-gcn-silence-alarm.json"), "utf8"),
    ) as FlowNode[];
    const flows = example.map((n) => {
      if (n.type === "voevent-subscriber") {
        assert.equal(n.host, "68.169.57.253");
        return { ...n, host: "127.0.0.1", port: listening.port, silence: 2, silenceUnits: "seconds" };
      }
      if (n.type === "e-mail") return { ...n, server: "127.0.0.1", port: String(smtp!.port) };
      return n;
    });
    rt = await startRuntime({ extraModules: ["node-red-node-email"], flows });
  });

  after(async () => {
    await rt?.stop();
    await Promise.all([gcn?.close(), smtp?.stop()]);
  });

  it("mails 'silent' after the silence time, and 'resumed' with the next event", async () => {
    const silent = await smtp!.waitForMessage((m) => /silent for/.test(m.subject), 30_000);
    assert.match(silent.subject, /^VOEvent feed 127\.0\.0\.1:\d+ silent for 0\.0 h$/);
    assert.deepEqual(silent.to, ["observer@example.org"]);
    assert.match(silent.body, /Event: +silent/);
    assert.match(silent.body, /Link: +connected since /);
    assert.equal(gcn!.count, 1, "the subscriber is connected: silence is not a dead link");
    gcn!.broadcast(sample("swift-bat-position"));
    const resumed = await smtp!.waitForMessage((m) => /resumed after/.test(m.subject), 30_000);
    assert.match(resumed.body, /Events: +1 /);
  });
});

describe("e2e: the monitor on Node-RED 5 (Node 22, Express 5)", function () {
  this.timeout(60_000);
  let rt: Runtime | undefined;
  let port = 0;

  before(async function () {
    this.timeout(2 * INSTALL_TIMEOUT_MS + 60_000);
    const nr5 = await ensureNodeRed5();
    port = await freePort();
    rt = await startRuntime({
      ...nr5,
      flows: [
        { id: "t", type: "tab", label: "nr5" },
        {
          id: "r",
          type: "voevent-receiver",
          z: "t",
          host: "127.0.0.1",
          port,
          whitelist: "127.0.0.0/8",
          validate: "well-formed",
          wires: [["m"]],
        },
        {
          id: "m",
          type: "voevent-monitor",
          z: "t",
          name: "",
          path: "/voevent/monitor",
          max: 10,
          params: "",
          wires: [],
        },
      ],
    });
  });

  after(async () => {
    await rt?.stop();
  });

  it("serves the page and the state with a received event; a redeploy frees the path", async () => {
    await waitForPort(port, 20_000);
    const r = await sendEvent({
      host: "127.0.0.1",
      port,
      payload: sample("fermi-gbm-position"),
      timeoutMs: 10_000,
    });
    assert.equal(r.reply, "ack");
    const page = await httpRequest(rt!.httpUrl("/voevent/monitor"));
    assert.equal(page.status, 200);
    assert.match(page.body, /monitor\/app\.js/);
    const state = JSON.parse((await httpRequest(rt!.httpUrl("/voevent/monitor/api/state"))).body) as {
      events: Array<{ position: { error: number } }>;
      feeds: Array<{ id: string; state: string }>;
    };
    assert.equal(state.events.length, 1);
    assert.equal(state.events[0].position.error, 5.2);
    assert.deepEqual(
      state.feeds.map((f) => [f.id, f.state]),
      [["r", "listening"]],
    );
    const since = rt!.logs().length;
    await rt!.deploy([{ id: "t", type: "tab", label: "nr5" }]);
    await rt!.waitForLog("Started flows", 20_000, since);
    assert.equal((await httpRequest(rt!.httpUrl("/voevent/monitor"))).status, 404);
  });
});
