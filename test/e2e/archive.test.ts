/**
 * End to end: example 12 (the broker with an archive beside its broadcaster) in a real Node-RED
 * runtime with the package installed from its tarball, behind httpNodeRoot and httpNodeAuth. 1,000
 * real packets (the first of the corpus's 4PiSky month) go in over VTP; then every voeventdb
 * endpoint and filter is asked over HTTP and checked against what was sent (the expectation is
 * computed by the test from the packets it sent), the feeds are parsed with rss-parser, and the
 * search page is driven in Chromium: a query, its results on the map (screenshots/archive.png), a
 * packet's XML read as text, and a packet carrying `<script>` whose script never runs.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import Parser from "rss-parser";
import { sendEvent } from "../../src/vtp/sender";
import {
  authoredMonthCount,
  byIvorn,
  countBy,
  type Expected,
  expectationOf,
  separationDeg,
  streamRoleCount,
} from "../helpers/archive-expect";
import { describeCorpus } from "../helpers/corpus";
import { readTarballPackets } from "../helpers/tarball";
import { readExample } from "./flows";
import {
  type Browser,
  delay,
  ensureNodeRed5,
  type FlowNode,
  freePort,
  httpRequest,
  INSTALL_TIMEOUT_MS,
  launchBrowser,
  REPO_ROOT,
  type Runtime,
  startRuntime,
  waitForPort,
} from "./harness";

const PACKETS = 1000;
const USER = "archivist";
const PASS = "v0event-db";
const AUTH = `Basic ${Buffer.from(`${USER}:${PASS}`).toString("base64")}`;
/** A packet whose Description is markup: the page and the feeds must show it as text. */
const XSS = '<script>window.__xss="script"</script><img src=x onerror="window.__xss=\'img\'">';

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

describeCorpus("e2e: an archive beside the broker (example 12)", () => {
  let rt: Runtime | undefined;
  let browser: Browser | undefined;
  let base = "";
  const sent: Expected[] = [];
  let refused = 0;
  let hostileIvorn = "";

  async function get(pathAndQuery: string, headers: Record<string, string> = {}) {
    return httpRequest(`${base}${pathAndQuery}`, {
      headers: { Authorization: AUTH, ...headers },
      timeoutMs: 20_000,
    });
  }
  async function result<T>(pathAndQuery: string): Promise<T> {
    const r = await get(pathAndQuery);
    assert.equal(r.status, 200, `${pathAndQuery}: ${r.body}`);
    return (JSON.parse(r.body) as { result: T }).result;
  }
  async function matching(query: string): Promise<string[]> {
    return result<string[]>(`/apiv1/list/ivorn?limit=10000&${query}`);
  }
  const ivorns = (pred: (e: Expected) => boolean) => sent.filter(pred).map((e) => e.ivorn);

  before(async function () {
    this.timeout(INSTALL_TIMEOUT_MS + 240_000);
    const bcrypt = require("bcryptjs") as { hashSync(p: string, rounds: number): string };
    const [receiverPort, broadcasterPort] = [await freePort(), await freePort()];
    const flows = readExample("12-broker-archive.json").map((n) => {
      if (n.type === "voevent-receiver") return { ...n, host: "127.0.0.1", port: receiverPort };
      if (n.type === "voevent-broadcaster") return { ...n, host: "127.0.0.1", port: broadcasterPort };
      return n;
    });
    rt = await startRuntime({
      settings: { httpNodeAuth: { user: USER, pass: bcrypt.hashSync(PASS, 8) } },
      flows,
    });
    await waitForPort(receiverPort, 20_000);
    base = rt.httpUrl("/voevent/archive");

    const packets = (await readTarballPackets(PACKETS)).map((p) => p.xml);
    // One more, real but for its Description: markup that must stay text everywhere.
    const template = packets.find((p) => p.includes("nasa.gsfc.gcn/SWIFT#")) ?? packets[0];
    const original = expectationOf(template, 0);
    assert.ok(original);
    hostileIvorn = `${original.ivorn}_xss`;
    packets.push(
      Buffer.from(
        template
          .toString("utf8")
          .replace(original.ivorn, hostileIvorn)
          .replace("</Who>", `</Who><Description>${escapeXml(XSS)}</Description>`),
      ),
    );
    // Sent over VTP, four at a time; what the receiver acks is what the archive should hold.
    let next = 0;
    const replies: Array<"ack" | "nak"> = new Array(packets.length);
    const worker = async () => {
      while (next < packets.length) {
        const i = next++;
        const r = await sendEvent({
          host: "127.0.0.1",
          port: receiverPort,
          payload: packets[i],
          timeoutMs: 20_000,
        });
        replies[i] = r.reply === "ack" ? "ack" : "nak";
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    const seen = new Set<string>();
    for (const [i, xml] of packets.entries()) {
      if (replies[i] !== "ack") {
        refused++;
        continue;
      }
      const e = expectationOf(xml, 0);
      if (e === null || seen.has(e.ivorn)) continue;
      seen.add(e.ivorn);
      sent.push(e);
    }
    // The archive writes in batches off the message path: wait until it holds them all.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const r = await get("/apiv1/count");
      if (r.status === 200 && (JSON.parse(r.body) as { result: number }).result === sent.length) break;
      if (Date.now() > deadline) throw new Error(`the archive holds ${r.body}, not ${sent.length}`);
      await delay(200);
    }
    // The order stored is the order of arrival: read it back to number the expectations.
    const order = await matching("order=id");
    const byIv = new Map(sent.map((e) => [e.ivorn, e]));
    sent.length = 0;
    for (const [i, iv] of order.entries()) {
      const e = byIv.get(iv);
      assert.ok(e, `stored ${iv} was sent`);
      sent.push({ ...e, id: i + 1 });
    }
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await rt?.stop();
  });

  it("holds every packet the broker acked, and only those", () => {
    assert.ok(sent.length >= 900, `${sent.length} stored, ${refused} refused by the receiver`);
    assert.equal(sent.length + refused, PACKETS + 1);
    assert.ok(sent.some((e) => e.ivorn === hostileIvorn));
  });

  it("is behind httpNodeAuth (401 without credentials) and under httpNodeRoot", async () => {
    for (const p of ["/apiv1/count", "/feed.rss", "/", "/apiv1/packet/xml/x"]) {
      assert.equal((await httpRequest(`${base}${p}`)).status, 401, p);
    }
    assert.equal((await httpRequest(`http://127.0.0.1:${rt?.port}/voevent/archive/apiv1/count`)).status, 404);
  });

  it("answers every endpoint as voeventdb would for what was sent", async function () {
    this.timeout(60_000);
    assert.equal(await result<number>("/apiv1/count"), sent.length);
    assert.deepEqual(
      await result<string[]>("/apiv1/list/ivorn"),
      sent.slice(0, 100).map((e) => e.ivorn),
    );
    assert.deepEqual(
      await result<Array<[string, number]>>("/apiv1/list/ivorn_nrefs?limit=10000"),
      sent.map((e) => [e.ivorn, e.refs.length]),
    );
    const cites = (iv: string) => sent.filter((e) => e.refs.includes(iv)).length;
    assert.deepEqual(
      await result<Array<[string, number]>>("/apiv1/list/ivorn_ncites?limit=10000"),
      sent.map((e) => [e.ivorn, cites(e.ivorn)]),
    );
    assert.deepEqual(
      await result("/apiv1/map/stream_count"),
      countBy(sent, (e) => e.stream),
    );
    assert.deepEqual(
      await result("/apiv1/map/role_count"),
      countBy(sent, (e) => e.role),
    );
    assert.deepEqual(await result("/apiv1/map/stream_role_count"), streamRoleCount(sent));
    assert.deepEqual(await result("/apiv1/map/authored_month_count"), authoredMonthCount(sent));
    const e = sent.find((x) => x.position !== null && x.refs.length > 0) ?? sent[0];
    const enc = encodeURIComponent(e.ivorn);
    const syn = await result<{ voevent: { ivorn: string }; refs: Array<{ ref_ivorn: string }> }>(
      `/apiv1/packet/synopsis/${enc}`,
    );
    assert.equal(syn.voevent.ivorn, e.ivorn);
    assert.deepEqual(
      syn.refs.map((r) => r.ref_ivorn),
      e.refs,
    );
    const xml = await get(`/apiv1/packet/xml/${enc}`);
    assert.equal(xml.status, 200);
    assert.equal(xml.body, e.xml.toString("utf8"));
    assert.equal((await get(`/apiv1/packet/xml/${encodeURIComponent("ivo://nowhere#1")}`)).status, 404);
    const bad = await get("/apiv1/count?dec_gt=up");
    assert.equal(bad.status, 400);
    assert.match(bad.body, /dec_gt=up/);
  });

  it("answers every filter as the packets sent say", async function () {
    this.timeout(120_000);
    const withPos = sent.filter((e) => e.position !== null);
    const center = withPos[Math.floor(withPos.length / 2)].position as { ra: number; dec: number };
    const citedSet = new Set(sent.flatMap((e) => e.refs));
    const ref = sent.find((e) => e.refs.length > 0)?.refs[0] ?? "";
    const times = sent
      .flatMap((e) => (e.authored === null ? [] : [e.authored.getTime()]))
      .sort((a, b) => a - b);
    const mid = new Date(Math.floor(times[Math.floor(times.length / 2)] / 1000) * 1000);
    const iso = mid.toISOString().replace(".000Z", "");
    const cases: Array<[string, (e: Expected) => boolean]> = [
      [`authored_since=${iso}`, (e) => e.authored !== null && e.authored.getTime() >= mid.getTime()],
      [`authored_until=${iso}`, (e) => e.authored !== null && e.authored.getTime() <= mid.getTime()],
      ["cited=true", (e) => citedSet.has(e.ivorn)],
      ["cited=false", (e) => !citedSet.has(e.ivorn)],
      [
        `cone=${encodeURIComponent(`[${center.ra}, ${center.dec}, 5]`)}`,
        (e) =>
          e.position !== null && separationDeg(center.ra, center.dec, e.position.ra, e.position.dec) <= 5,
      ],
      ["coord=true", (e) => e.position !== null],
      ["coord=false", (e) => e.position === null],
      ["dec_gt=0", (e) => e.position !== null && e.position.dec > 0],
      ["dec_lt=-30", (e) => e.position !== null && e.position.dec < -30],
      ["ivorn_contains=Pos", (e) => e.ivorn.includes("Pos")],
      ["ivorn_prefix=ivo%3A%2F%2Fgwnet%2FLVC%23", (e) => e.ivorn.startsWith("ivo://gwnet/LVC#")],
      ["ref_any=true", (e) => e.refs.length > 0],
      ["ref_contains=SWIFT", (e) => e.refs.some((r) => r.includes("SWIFT"))],
      [`ref_exact=${encodeURIComponent(ref)}`, (e) => e.refs.includes(ref)],
      ["role=observation", (e) => e.role === "observation"],
      [
        "stream=nasa.gsfc.gcn/Fermi&stream=gwnet/LVC",
        (e) => e.stream === "nasa.gsfc.gcn/Fermi" || e.stream === "gwnet/LVC",
      ],
    ];
    for (const [query, pred] of cases) {
      const want = ivorns(pred);
      assert.deepEqual(await matching(query), want, query);
      assert.equal(await result<number>(`/apiv1/count?${query}`), want.length, `count ${query}`);
    }
    assert.deepEqual(
      await matching("order=-ivorn&role=utility"),
      ivorns((e) => e.role === "utility")
        .sort(byIvorn)
        .reverse(),
    );
    assert.deepEqual(
      await result<string[]>("/apiv1/list/ivorn?limit=5&offset=10&order=-id"),
      sent
        .slice()
        .reverse()
        .slice(10, 15)
        .map((e) => e.ivorn),
    );
  });

  it("serves RSS and Atom that an independent parser reads, with 304 for a reader that polls", async () => {
    const parser = new Parser();
    const rss = await get("/feed.rss?stream=nasa.gsfc.gcn/SWIFT");
    assert.equal(rss.status, 200);
    const feed = await parser.parseString(rss.body);
    const swift = sent.filter((e) => e.stream === "nasa.gsfc.gcn/SWIFT").reverse();
    assert.deepEqual(
      feed.items.map((i) => i.guid),
      swift.slice(0, 50).map((e) => e.ivorn),
    );
    assert.ok(feed.items.every((i) => i.title?.startsWith("nasa.gsfc.gcn/SWIFT · ")));
    const atom = await parser.parseString((await get("/feed.atom?limit=3")).body);
    assert.deepEqual(
      atom.items.map((i) => i.id),
      sent
        .slice(-3)
        .reverse()
        .map((e) => e.ivorn),
    );
    const etag = String(rss.headers.etag);
    assert.equal((await get("/feed.rss?stream=nasa.gsfc.gcn/SWIFT", { "If-None-Match": etag })).status, 304);
    const hostile = await parser.parseString((await get(`/feed.rss?ivorn_contains=_xss`)).body);
    assert.equal(hostile.items.length, 1);
    assert.ok(!String(hostile.items[0].content).includes("<script"), "markup arrives escaped");
  });

  it("the search page: a query, its results in the table and on the map, a packet's XML as text", async function () {
    this.timeout(120_000);
    assert.ok(browser);
    const page = await browser.newPage();
    try {
      await page.setExtraHTTPHeaders({ Authorization: AUTH });
      const errors: string[] = [];
      page.on("pageerror", (err) => errors.push(err.message));
      await page.goto(`${base}/`, { waitUntil: "load" });
      await page.waitForSelector("body[data-ready='true']", { timeout: 20_000 });
      assert.equal(await page.locator("#results tbody tr").count(), Math.min(100, sent.length));
      await page.fill("input[name=stream]", "gwnet/LVC");
      await page.selectOption("select[name=order]", "id");
      await page.click("#go");
      await page.waitForFunction(
        () =>
          document.body.dataset.ready === "true" && document.querySelector("#message")?.textContent === "",
        undefined,
        { timeout: 20_000 },
      );
      const lvc = sent.filter((e) => e.stream === "gwnet/LVC");
      const rows = await page.locator("#results tbody tr td:last-child").allTextContents();
      assert.deepEqual(
        rows,
        lvc.slice(0, 100).map((e) => e.ivorn),
      );
      assert.equal(
        await page.locator("#points circle.point").count(),
        lvc.slice(0, 100).filter((e) => e.position !== null).length,
      );
      assert.match(page.url(), /stream=gwnet%2FLVC/);
      mkdirSync(path.join(REPO_ROOT, "screenshots"), { recursive: true });
      await page.screenshot({ path: path.join(REPO_ROOT, "screenshots", "archive.png") });
      // A cone: only dots near its centre.
      const withPos = sent.find((e) => e.position !== null) as Expected;
      const pos = withPos.position as { ra: number; dec: number };
      await page.fill("input[name=stream]", "");
      await page.fill("input[name=cone_ra]", String(pos.ra));
      await page.fill("input[name=cone_dec]", String(pos.dec));
      await page.fill("input[name=cone_radius]", "2");
      await page.click("#go");
      await page.waitForFunction(() => document.body.dataset.ready === "true", undefined, {
        timeout: 20_000,
      });
      const near = sent.filter(
        (e) => e.position !== null && separationDeg(pos.ra, pos.dec, e.position.ra, e.position.dec) <= 2,
      );
      assert.equal(await page.locator("#points circle.point").count(), Math.min(100, near.length));
      // The packet with markup: found, selected, its XML shown as text; nothing of it runs.
      await page.fill("input[name=cone_ra]", "");
      await page.fill("input[name=cone_dec]", "");
      await page.fill("input[name=cone_radius]", "");
      await page.fill("input[name=ivorn_contains]", "_xss");
      await page.click("#go");
      await page.waitForFunction(
        () => document.querySelectorAll("#results tbody tr").length === 1,
        undefined,
        {
          timeout: 20_000,
        },
      );
      await page.click("#results tbody tr");
      await page.waitForFunction(
        () => (document.querySelector("#xml")?.textContent ?? "").length > 0,
        undefined,
        {
          timeout: 20_000,
        },
      );
      const shown = await page.locator("#xml").textContent();
      assert.ok(shown?.includes(escapeXml(XSS)), "the XML as text, entities and all");
      assert.equal(await page.locator("#detail-description").textContent(), XSS);
      await delay(300);
      assert.equal(await page.evaluate(() => (window as unknown as { __xss?: string }).__xss ?? null), null);
      assert.equal(await page.locator("#detail img, #results img, #detail script").count(), 0);
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });
});

describe("e2e: an archive on Node-RED 5 (Node 22, Express 5), with the monitor's link to it", function () {
  this.timeout(60_000);
  let rt: Runtime | undefined;
  let port = 0;
  const flows = (withArchive: boolean): FlowNode[] => [
    { id: "t", type: "tab", label: "nr5" },
    {
      id: "r",
      type: "voevent-receiver",
      z: "t",
      host: "127.0.0.1",
      port,
      whitelist: "127.0.0.0/8",
      validate: "well-formed",
      wires: [withArchive ? ["a", "m"] : ["m"]],
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
    ...(withArchive
      ? [
          { id: "a", type: "voevent-archive", z: "t", name: "", db: "db", wires: [] },
          {
            id: "db",
            type: "voevent-archive-db",
            name: "",
            store: "embedded",
            file: "nr5-archive",
            path: "/voevent/archive",
            maxAge: 0,
            maxEvents: 0,
          },
        ]
      : []),
  ];

  before(async function () {
    this.timeout(2 * INSTALL_TIMEOUT_MS + 60_000);
    const nr5 = await ensureNodeRed5();
    port = await freePort();
    rt = await startRuntime({ ...nr5, flows: flows(true) });
  });

  after(async () => {
    await rt?.stop();
  });

  it("stores, answers the API and the feed, the monitor links to it; a redeploy without it frees the path", async () => {
    assert.ok(rt);
    await waitForPort(port, 20_000);
    const xml = readFileSync(path.join(REPO_ROOT, "samples", "fermi-gbm-position.xml"), "utf8");
    assert.equal(
      (await sendEvent({ host: "127.0.0.1", port, payload: xml, timeoutMs: 10_000 })).reply,
      "ack",
    );
    const deadline = Date.now() + 20_000;
    let count = 0;
    while (count !== 1 && Date.now() < deadline) {
      const r = await httpRequest(rt.httpUrl("/voevent/archive/apiv1/count"));
      if (r.status === 200) count = (JSON.parse(r.body) as { result: number }).result;
      if (count !== 1) await delay(200);
    }
    assert.equal(count, 1);
    const feed = await new Parser().parseString(
      (await httpRequest(rt.httpUrl("/voevent/archive/feed.atom"))).body,
    );
    assert.equal(feed.items.length, 1);
    assert.ok(xml.includes(String(feed.items[0].id)));
    const state = JSON.parse((await httpRequest(rt.httpUrl("/voevent/monitor/api/state"))).body) as {
      archives: Array<{ path: string; href: string }>;
    };
    assert.deepEqual(state.archives, [{ path: "/voevent/archive", href: "archive/" }]);
    const since = rt.logs().length;
    await rt.deploy(flows(false));
    await rt.waitForLog("Started flows", 20_000, since);
    assert.equal((await httpRequest(rt.httpUrl("/voevent/archive/apiv1/count"))).status, 404);
    const after = JSON.parse((await httpRequest(rt.httpUrl("/voevent/monitor/api/state"))).body) as {
      archives: unknown[];
    };
    assert.deepEqual(after.archives, []);
  });
});
