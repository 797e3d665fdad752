/**
 * The registry example's page (examples/06-registry.json) in a runtime whose admin API is
 * behind adminAuth and under httpAdminRoot "/admin", in Chromium: a subscription is added and
 * tried on the sample packets (verdicts, values, GCN notice types by name) without any editor
 * login, since the page's "Try" goes through the flow's own endpoint, not the admin API.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  type Browser,
  type FlowNode,
  httpRequest,
  INSTALL_TIMEOUT_MS,
  launchBrowser,
  REPO_ROOT,
  type Runtime,
  startRuntime,
} from "./harness";

const USER = "admin";
const PASSWORD = "voevent-e2e-password";

describe("e2e: the registry page behind adminAuth and httpAdminRoot /admin", function () {
  this.timeout(120_000);
  let rt: Runtime | undefined;
  let browser: Browser | undefined;

  before(async function () {
    this.timeout(INSTALL_TIMEOUT_MS + 120_000);
    const bcrypt = require("bcryptjs") as { hashSync(password: string, rounds: number): string };
    rt = await startRuntime({
      settings: {
        httpAdminRoot: "/admin",
        httpNodeRoot: "/",
        adminAuth: {
          type: "credentials",
          users: [{ username: USER, password: bcrypt.hashSync(PASSWORD, 8), permissions: "*" }],
        },
      },
    });
    // The admin API's own token flow, to deploy the example.
    const token = await httpRequest(`${rt.url}auth/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        client_id: "node-red-admin",
        grant_type: "password",
        scope: "*",
        username: USER,
        password: PASSWORD,
      }).toString(),
    });
    assert.equal(token.status, 200, token.body);
    const access = (JSON.parse(token.body) as { access_token: string }).access_token;
    const flows = JSON.parse(
      fs.readFileSync(path.join(REPO_ROOT, "examples", "06-registry.json"), "utf8"),
    ) as FlowNode[];
    const since = rt.logs().length;
    await rt.api(
      "POST",
      "/flows",
      { flows },
      {
        Authorization: `Bearer ${access}`,
        "Node-RED-Deployment-Type": "full",
        "Node-RED-API-Version": "v2",
      },
    );
    await rt.waitForLog("Started flows", 20_000, since);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await rt?.stop();
  });

  it("the admin API is at /admin and asks for a login", async () => {
    assert.equal(rt!.url, `http://127.0.0.1:${rt!.port}/admin/`);
    assert.equal((await httpRequest(`${rt!.url}flows`)).status, 401);
  });

  it("adds a subscription and tries it on the samples, with their GCN notice types, without logging in", async () => {
    const page = await browser!.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    try {
      await page.goto(`http://127.0.0.1:${rt!.port}/voevent/example/subscriptions`, { waitUntil: "load" });
      await page.locator("#list tr[data-name='all']").waitFor({ timeout: 10_000 });
      await page.fill("#name", "fermi-final");
      await page.fill("#xpath", '//Param[@name="Packet_Type" and @value=115]');
      await page.click("#submit");
      await page.locator("#list tr[data-name='fermi-final']").waitFor({ timeout: 10_000 });
      await page.locator("#try-list tr[data-sample='fermi-gbm-position']").waitFor({ timeout: 10_000 });
      assert.doesNotMatch((await page.locator("#try-note").textContent()) ?? "", /Could not try/);
      const rows = await page
        .locator("#try-list tr")
        .evaluateAll((trs) =>
          trs.map((tr) => [
            tr.getAttribute("data-sample"),
            tr.getAttribute("data-verdict"),
            tr.querySelector("td.gcn")?.textContent ?? null,
          ]),
        );
      assert.deepEqual(rows, [
        ["swift-bat-position", "no", "SWIFT_BAT_GRB_POS_ACK (61)"],
        ["fermi-gbm-position", "yes", "FERMI_GBM_FIN_POS (115)"],
        ["lvk-alert", "no", "LVC_UPDATE (152)"],
        ["lvk-retraction", "no", "LVC_RETRACTION (164)"],
        ["test-alert", "no", ""],
      ]);
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });

  it("its try endpoint refuses an empty XPath and reports a bad one per sample", async () => {
    const url = `http://127.0.0.1:${rt!.port}/voevent/example/api/try`;
    assert.equal((await httpRequest(url, { method: "POST", body: { xpath: " " } })).status, 400);
    const bad = await httpRequest(url, { method: "POST", body: { xpath: "//Who[" } });
    assert.equal(bad.status, 200);
    const rows = JSON.parse(bad.body) as { result: { results: { error?: string }[] } }[];
    assert.equal(rows.length, 5);
    for (const row of rows) assert.match(row.result.results[0]?.error ?? "", /\[/);
  });
});
