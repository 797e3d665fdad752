/**
 * src/monitor: the ring buffer, the projection and error circles, the event store (bounded
 * memory with 100,000 events), the feed registry, and the page server over real HTTP.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { MonitorStore } from "../../src/monitor/events";
import { FeedRegistry } from "../../src/monitor/feeds";
import { ago, FeedHealth, type HealthReport } from "../../src/monitor/health";
import { loadPageAssets } from "../../src/monitor/page";
import {
  circlePath,
  destination,
  galacticPlane,
  hammer,
  MAP_HEIGHT,
  MAP_WIDTH,
  mapFrame,
  separation,
  toPixel,
} from "../../src/monitor/projection";
import { Ring } from "../../src/monitor/ring";
import { MonitorServer, normalisePath } from "../../src/monitor/server";
import { readSample, SAMPLES, tryRules } from "../../src/monitor/try";
import { parseVOEvent } from "../../src/voevent/parse";
import { angularDistance } from "../../src/voevent/sky";
import { gc } from "../helpers/gc";
import { assertServesSharedFiles, SHARED_PAGE_DIR } from "../helpers/pages";

const SAMPLE_GBM = readSample("fermi-gbm-position")!;

describe("monitor: ring buffer", () => {
  it("keeps the last N with growing sequence numbers", () => {
    const r = new Ring<string>(3);
    for (const s of ["a", "b", "c", "d", "e"]) r.push(s);
    assert.equal(r.size, 3);
    assert.deepEqual(
      r.entries().map((e) => [e.seq, e.item]),
      [
        [3, "c"],
        [4, "d"],
        [5, "e"],
      ],
    );
    assert.deepEqual(
      r.entries(4).map((e) => e.item),
      ["e"],
    );
    assert.equal(r.get(2), undefined);
    assert.equal(r.get(4), "d");
    assert.throws(() => new Ring(0), RangeError);
  });
});

describe("monitor: projection", () => {
  it("is Hammer–Aitoff with RA increasing to the left and RA 180° at the centre", () => {
    assert.deepEqual(toPixel(180, 0), { x: MAP_WIDTH / 2, y: MAP_HEIGHT / 2 });
    // x = 2√2 cos φ sin(λ/2) / √(1 + cos φ cos(λ/2)), λ = 180° − RA.
    const l = (180 - 90) * (Math.PI / 180);
    const expected = (2 * Math.SQRT2 * Math.sin(l / 2)) / Math.sqrt(1 + Math.cos(l / 2));
    assert.ok(Math.abs(hammer(90, 0).x - expected) < 1e-12);
    assert.ok(toPixel(90, 0).x > MAP_WIDTH / 2, "RA 90° right of the centre");
    assert.ok(toPixel(270, 0).x < MAP_WIDTH / 2, "RA 270° left of the centre");
    assert.ok(Math.abs(toPixel(0.0001, 0).x - MAP_WIDTH) < 0.01, "RA 0 at the right edge");
    assert.ok(Math.abs(toPixel(359.9999, 0).x) < 0.01, "RA 360 at the left edge");
    assert.ok(Math.abs(toPixel(123, 90).y) < 1e-9, "the north pole at the top");
    assert.ok(Math.abs(toPixel(0, -90).y - MAP_HEIGHT) < 1e-9, "the south pole at the bottom");
  });

  it("error circles are circles on the sphere, including across RA 0h and around a pole", () => {
    for (const [ra, dec, r] of [
      [212.77, 27.05, 5.2],
      [0.5, 10, 10],
      [100, 85, 10],
      [300, -89, 3],
    ]) {
      for (let b = 0; b < 360; b += 30) {
        const p = destination(ra, dec, r, b);
        assert.ok(Math.abs(separation(ra, dec, p.ra, p.dec) - r) < 1e-9);
      }
    }
    assert.equal(circlePath(0.5, 10, 10).split("M").length - 1, 2, "split at the edge into two arcs");
    assert.equal(circlePath(212.77, 27.05, 5.2).split("M").length - 1, 1);
    assert.match(circlePath(212.77, 27.05, 5.2), /Z$/);
    assert.equal(circlePath(10, 10, 0), "");
  });

  it("draws the Galactic plane through the Galactic centre and the grid", () => {
    const plane = galacticPlane();
    // l = 0 is the Galactic centre, RA 266.40°, Dec −28.94° (J2000).
    assert.ok(separation(plane[0].ra, plane[0].dec, 266.405, -28.936) < 0.05);
    const frame = mapFrame();
    assert.equal(frame.grid.length, 11 + 5);
    assert.ok(frame.labels.some((l) => l.text === "12h"));
  });
});

describe("monitor: event store", () => {
  it("summarises an event: position, projected point, error circle, picked Params (also in Groups)", () => {
    const store = new MonitorStore({ max: 10, params: ["Packet_Type", "Sun_Distance", "Trig_ID", "Nope"] });
    const ev = parseVOEvent(SAMPLE_GBM);
    const s = store.add(ev.voevent, ev.xml, { peer: "127.0.0.1:1" });
    assert.equal(s.seq, 1);
    assert.deepEqual(s.position, { ra: 212.77, dec: 27.05, error: 5.2, system: "UTC-FK5-GEO" });
    assert.deepEqual(
      { x: s.map?.x, y: s.map?.y },
      {
        x: Math.round(toPixel(212.77, 27.05).x * 100) / 100,
        y: Math.round(toPixel(212.77, 27.05).y * 100) / 100,
      },
    );
    assert.ok(s.map?.circle.startsWith("M"));
    assert.equal(s.params.Packet_Type, 115);
    assert.equal(s.params.Nope, null);
    assert.equal(store.xml(1)?.xml, SAMPLE_GBM);
  });

  it("memory stays bounded with 100,000 events through a store keeping 500", function () {
    this.timeout(120_000);
    const base = parseVOEvent(SAMPLE_GBM);
    const store = new MonitorStore({ max: 500, params: ["Packet_Type"] });
    const feed = (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        // A distinct event each time: a fresh IVORN, a fresh copy of the XML.
        const xml = SAMPLE_GBM.replace("GBM_Fin_Pos2018", `GBM_Fin_Pos${i}_`);
        store.add({ ...base.voevent, ivorn: `${base.voevent.ivorn}-${i}` }, xml);
      }
    };
    feed(0, 10_000);
    gc();
    const after10k = process.memoryUsage().heapUsed;
    feed(10_000, 100_000);
    gc();
    const after100k = process.memoryUsage().heapUsed;
    assert.equal(store.size, 500);
    assert.equal(store.list().length, 500);
    assert.equal(store.list()[0].seq, 100_000);
    assert.equal(store.xml(99_500), undefined, "forgotten");
    const growth = after100k - after10k;
    // 90,000 more events of ~6 KB each would be ~540 MB if kept; bounded, the heap does not grow.
    assert.ok(growth < 8 * 1024 * 1024, `heap grew ${(growth / 1048576).toFixed(1)} MB`);
  });

  it("cuts the XML kept per event at maxXmlBytes", () => {
    const store = new MonitorStore({ max: 2, maxXmlBytes: 100 });
    const ev = parseVOEvent(SAMPLE_GBM);
    const s = store.add(ev.voevent, ev.xml);
    assert.equal(s.xmlCut, true);
    assert.equal(store.xml(s.seq)?.xml.length, 100);
  });

  it("restore() reads a dump() back through JSON (as a context store keeps it), verdicts and all", () => {
    const ev = parseVOEvent(SAMPLE_GBM);
    const store = new MonitorStore({ max: 3 });
    const signed = { verdict: "signed", keyId: "8C3F2A71D0E4B95A", userId: "GCN <gcn@example.org>" };
    store.add(ev.voevent, ev.xml, { peer: "127.0.0.1:1", signature: { ...signed, reason: "signed by …" } });
    store.add(ev.voevent, ev.xml, { signature: { verdict: "bad", keyId: "8C3F2A71D0E4B95A", userId: null } });
    store.add(ev.voevent, ev.xml);
    const saved: unknown = JSON.parse(JSON.stringify(store.dump()));
    const again = new MonitorStore({ max: 3 });
    assert.equal(again.restore(saved), 3);
    const strip = (list: ReturnType<MonitorStore["list"]>) =>
      list.map((e) => ({ receivedAt: e.receivedAt, peer: e.peer, signature: e.signature, ivorn: e.ivorn }));
    assert.deepEqual(strip(again.list()), strip(store.list()));
    assert.deepEqual(again.list()[2].signature, signed);
    // Whatever the store gives back is checked as msg.signature is: cut, or nothing.
    const odd = new MonitorStore({ max: 5 });
    const added = odd.restore([
      {
        xml: ev.xml,
        receivedAt: "not a time",
        signature: { verdict: "v".repeat(100), userId: "u".repeat(1000) },
      },
      { xml: ev.xml, signature: "signed" },
      { xml: "<not-a-voevent/>", signature: signed },
      null,
      42,
    ]);
    assert.equal(added, 2);
    const [second, first] = odd.list();
    assert.equal(first.signature?.verdict.length, 33, "cut at 32 and marked");
    assert.equal(first.signature?.userId?.length, 201, "cut at 200 and marked");
    assert.equal(second.signature, null);
    assert.equal(odd.restore({ not: "a list" }), 0);
  });
});

describe("monitor: feed registry and health", () => {
  it("lists feeds with state, counts and events in the last hour; forgets a closed one", () => {
    let now = Date.parse("2026-01-01T00:00:00Z");
    const reg = new FeedRegistry(10, () => now);
    const h = reg.open({ id: "a", role: "subscriber", name: "gcn", where: "h:8099" });
    h.state("connected");
    h.event();
    now += 30 * 60_000;
    h.event();
    h.reconnect();
    h.state("reconnecting", "ECONNRESET", 4000);
    let f = reg.list()[0];
    assert.equal(f.events, 2);
    assert.equal(f.eventsLastHour, 2);
    assert.equal(f.reconnects, 1);
    assert.equal(f.state, "reconnecting");
    assert.equal(f.retryAt, new Date(now + 4000).toISOString());
    now += 45 * 60_000;
    f = reg.list()[0];
    assert.equal(f.eventsLastHour, 1, "the first event is more than an hour old");
    now += 2 * 3600_000;
    assert.equal(reg.list()[0].eventsLastHour, 0);
    h.close();
    assert.deepEqual(reg.list(), []);
    h.event(); // a closed handle does nothing
    assert.deepEqual(reg.list(), []);
  });

  it("health: silent once after the silence time, resumed with the next event", async () => {
    const health = new FeedHealth("h:1", 150);
    const reports: HealthReport[] = [];
    health.on("report", (r: HealthReport) => reports.push(r));
    health.start();
    health.connected();
    await new Promise((r) => setTimeout(r, 400));
    assert.deepEqual(
      reports.map((r) => r.reason),
      ["connect", "silent"],
    );
    health.event();
    assert.equal(reports.at(-1)?.reason, "resumed");
    assert.ok((reports.at(-1)?.silentMs ?? 0) >= 300);
    health.close();
    assert.equal(ago(3 * 60_000), "3 min ago");
  });
});

describe("monitor: try", () => {
  it("gives each rule's verdict, the XPath value, and the error of a bad rule", () => {
    const r = tryRules(
      [
        { t: "xpath", xpath: '//Param[@name="Sun_Distance"]/@value' },
        { t: "role", role: "observation" },
        { t: "xpath", xpath: "count(//Param)" },
        { t: "xpath", xpath: "//Who[" },
      ],
      SAMPLE_GBM,
    );
    assert.equal(r.ok, true);
    assert.deepEqual(r.results[0], {
      rule: 0,
      t: "xpath",
      matches: true,
      value: '1 node: "95.02"',
      valueType: "node-set",
    });
    assert.equal(r.results[1].matches, true);
    assert.equal(r.results[2].valueType, "number");
    assert.equal(r.results[3].matches, null);
    assert.match(r.results[3].error ?? "", /\[/);
    assert.equal(tryRules([], "<not-xml").ok, false);
    assert.equal(
      SAMPLES.every((s) => readSample(s.id)?.includes("VOEvent")),
      true,
    );
  });
});

describe("monitor: try says why a rule matches or not", () => {
  it("shows each non-XPath rule's settings and the packet's value: role, stream, Param, cone, GCN type", () => {
    const r = tryRules(
      [
        { t: "role", op: "is", role: "test" },
        { t: "stream", pattern: "ivo://nasa.gsfc.gcn/*" },
        { t: "param", name: "Sun_Distance", op: "gt", value: "100" },
        { t: "param", name: "No_Such", op: "eq", value: "1" },
        { t: "cone", ra: "200", dec: "20", radius: "10" },
        { t: "cone", ra: "200", dec: "20", radius: "10", error: true },
        { t: "gcn", types: ["FERMI_GBM_FIN_POS"] },
      ],
      SAMPLE_GBM,
    );
    assert.equal(r.ok, true);
    const [role, stream, param, missing, cone, coneErr, gcn] = r.results;
    assert.deepEqual(
      [role?.matches, role?.setting, role?.value],
      [false, "role is test", "role observation"],
    );
    assert.deepEqual(
      [stream?.matches, stream?.setting, stream?.value],
      [true, "stream matches ivo://nasa.gsfc.gcn/*", "stream ivo://nasa.gsfc.gcn/Fermi"],
    );
    assert.deepEqual(
      [param?.matches, param?.setting, param?.value],
      [false, "Sun_Distance > 100", "Sun_Distance = 95.02"],
    );
    assert.equal(missing?.value, "no Param named No_Such");
    // The sample's position: RA 212.77, Dec 27.05, error 5.2°, about 13.4° from (200, 20).
    const distance =
      Math.round(angularDistance({ ra: 212.77, dec: 27.05 }, { ra: 200, dec: 20 }) * 1e4) / 1e4;
    assert.ok(distance > 10 && distance < 15.2, String(distance));
    assert.equal(cone?.matches, false);
    assert.equal(cone?.setting, "within 10° of RA 200, Dec 20");
    assert.equal(cone?.value, `RA 212.77, Dec 27.05 ± 5.2°: ${distance}° from the centre`);
    assert.equal(coneErr?.matches, true, "the 5.2° error circle reaches into the cone");
    assert.match(coneErr?.setting ?? "", /counting the event's error circle/);
    assert.deepEqual(
      [gcn?.matches, gcn?.setting, gcn?.value],
      [true, "FERMI_GBM_FIN_POS (115)", "Packet_Type FERMI_GBM_FIN_POS (115)"],
    );
  });
});

describe("monitor: page server", () => {
  const store = new MonitorStore({ max: 5 });
  const feeds = new FeedRegistry(10);
  const assets = loadPageAssets(path.join(__dirname, "../../nodes/voevent-monitor/page"));
  let server: http.Server;
  let monitor: MonitorServer;
  let base: string;

  before(async () => {
    monitor = new MonitorServer({ path: "/a/mon", title: "t", store, feeds, assets, maxClients: 2 });
    server = http.createServer((req, res) => {
      const p = new URL(req.url ?? "", "http://x").pathname;
      if (!monitor.handle(p, req, res)) {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/a/mon`;
  });
  after(async () => {
    monitor.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it("normalises paths and refuses bad ones", () => {
    assert.equal(normalisePath("voevent/monitor/"), "/voevent/monitor");
    assert.equal(normalisePath("/a/../b"), null);
    assert.equal(normalisePath("/a b"), null);
    assert.equal(normalisePath("/a/<x>"), null);
  });

  it("serves the page with relative asset URLs and a CSP; streams events; bounds live clients", async () => {
    const page = await fetch(base);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /src="mon\/app\.js"/);
    assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    const a = new AbortController();
    const stream = await fetch(`${base}/events`, { signal: a.signal });
    const reader = stream.body!.getReader();
    const b = new AbortController();
    await fetch(`${base}/events`, { signal: b.signal });
    const third = await fetch(`${base}/events`);
    assert.equal(third.status, 503, "at most maxClients live pages");
    await third.text();
    const ev = parseVOEvent(SAMPLE_GBM);
    store.add(ev.voevent, ev.xml);
    let text = "";
    while (!text.includes("event: voevent")) text += new TextDecoder().decode((await reader.read()).value);
    assert.match(text, /"ivorn":"ivo:\/\/nasa\.gsfc\.gcn\/Fermi#GBM_Fin_Pos2018/);
    a.abort();
    b.abort();
    const xml = await fetch(`${base}/api/events/1/xml`);
    assert.equal(xml.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(await xml.text(), SAMPLE_GBM);
    assert.equal((await fetch(`${base}/api/events/99/xml`)).status, 404);
    assert.equal((await fetch(`${base}/nothing`)).status, 404);
    assert.equal((await fetch(base, { method: "POST" })).status, 405);
  });

  it("serves the script and style it shares with the archive's page, named before its own", async () => {
    const html = await (await fetch(base)).text();
    await assertServesSharedFiles(html, "mon/", base);
  });

  it("refuses to load the page's files without the shared ones", () => {
    const dir = path.join(__dirname, "../../nodes/voevent-monitor/page");
    assert.equal(
      loadPageAssets(dir, SHARED_PAGE_DIR).commonJs,
      assets.commonJs,
      "found beside the page's folder",
    );
    assert.throws(() => loadPageAssets(dir, path.join(dir, "no-such-folder")), { code: "ENOENT" });
  });
});

describe("monitor: error circles near the poles", () => {
  it("splits a circle across RA 0h at high declination, and draws one around a pole as one open band", () => {
    // At Dec 60° the map's two edges are only ~300 px apart: the split must come from the RA, not the pixels.
    assert.equal((circlePath(0.5, 60, 8).match(/M/g) ?? []).length, 2);
    const polar = circlePath(10, 85, 10);
    assert.equal((polar.match(/M/g) ?? []).length, 1, "one piece");
    assert.doesNotMatch(polar, /Z/, "open: it runs from one edge to the other around the pole");
  });
});
