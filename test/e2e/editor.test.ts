/**
 * The Node-RED editor, with the packed package installed, in headless Chromium:
 * - the palette loads, and every node type of package.json's node sets is in the palette
 *   category "VOEvent" (config nodes excepted);
 * - screenshots/editor.png shows it (the VOEvent category scrolled into view);
 * - the seed demo (examples/demo.json) deploys, every one of its nodes is a known type in the
 *   editor, and screenshots/demo.png shows it;
 * - every example is listed under the package in Import > Examples, and this package's own
 *   examples import from there;
 * - every node type's edit dialog opens and closes, and its help renders in the help sidebar;
 * - the registry example's page works in the browser (screenshots/registry.png);
 * - the page logs no console errors throughout.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import {
  type Browser,
  declaredNodeSets,
  type FlowNode,
  INSTALL_TIMEOUT_MS,
  launchBrowser,
  PACKAGE_NAME,
  REPO_ROOT,
  type Runtime,
  startRuntime,
} from "./harness";

const SCREENSHOTS = path.join(REPO_ROOT, "screenshots");
const CATEGORY = "VOEvent";
const DEMO_FILE = path.join(REPO_ROOT, "examples", "demo.json");
const EMAIL_TYPES = ["e-mail", "e-mail in", "e-mail mta"];

/** The examples this suite imports (others may need extra modules, e.g. node-red-node-email). */
const IMPORTED_EXAMPLES = [
  "01-broker",
  "02-subscriber-filter",
  "03-gcn",
  "06-registry",
  "07-test-alerts",
  "demo",
];

interface EditorNode {
  id: string;
  type: string;
  valid?: boolean;
}

interface EditorGlobal {
  RED: {
    actions: { invoke(name: string): void };
    editor: {
      edit(node: EditorNode): void;
      editConfig(name: string, type: string, id: string): void;
    };
    nodes: {
      getType(type: string): { category?: string } | null | undefined;
      node(id: string): EditorNode | null | undefined;
      filterNodes(filter: { type: string }): EditorNode[];
      eachWorkspace(cb: (ws: { id: string; label: string }) => void): void;
      getNodeHelp(type: string): string | undefined;
      import(nodes: unknown[]): unknown;
    };
    sidebar: { help: { show(type: string): void } };
    view: { redraw(full?: boolean): void };
    workspaces: { active(): string };
  };
}

function readDemo(): FlowNode[] {
  assert.ok(fs.existsSync(DEMO_FILE), "examples/demo.json exists");
  return JSON.parse(fs.readFileSync(DEMO_FILE, "utf8")) as FlowNode[];
}

/** The tab labels of examples/<name>.json. */
function exampleTabs(name: string): string[] {
  const flows = JSON.parse(
    fs.readFileSync(path.join(REPO_ROOT, "examples", `${name}.json`), "utf8"),
  ) as FlowNode[];
  return flows.filter((n) => n.type === "tab").map((n) => String(n.label));
}

/** The editor has loaded every module's node definitions and the flows: Node-RED shows its
 * header toolbar and hides its loading bar only then (the palette fills module by module). */
const EDITOR_LOADED = `(() => {
  const toolbar = document.querySelector(".red-ui-header-toolbar");
  const loading = document.getElementById("red-ui-loading-progress");
  return !!toolbar && getComputedStyle(toolbar).display !== "none" &&
    (!loading || getComputedStyle(loading).display === "none");
})()`;

async function openEditor(page: Page, url: string): Promise<void> {
  await page.goto(url, { waitUntil: "load", timeout: 60_000 });
  await page.waitForFunction(EDITOR_LOADED, undefined, { timeout: 60_000, polling: 200 });
  // Attached, not visible: the palette's categories stay as a user left them (collapsed, say).
  await page.waitForSelector("#red-ui-palette .red-ui-palette-node[data-palette-type='inject']", {
    state: "attached",
    timeout: 30_000,
  });
  await page.waitForSelector("#red-ui-workspace-chart", { timeout: 30_000 });
}

describe("e2e: the editor in Chromium", function () {
  this.timeout(60_000);
  const demo = readDemo();
  let rt: Runtime | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  const consoleErrors: string[] = [];

  before(async function () {
    this.timeout(INSTALL_TIMEOUT_MS + 120_000);
    const usesEmail = demo.some((n) => EMAIL_TYPES.includes(n.type));
    rt = await startRuntime({ extraModules: usesEmail ? ["node-red-node-email"] : [] });
    browser = await launchBrowser();
    page = await browser.newPage();
    page.on("console", (msg) => {
      if (msg.type() === "error") consoleErrors.push(`${msg.text()} (${msg.location().url})`);
    });
    page.on("pageerror", (err) => consoleErrors.push(`page error: ${err.message}`));
    await openEditor(page, rt.url);
  });

  after(async () => {
    await browser?.close();
    await rt?.stop();
  });

  it("shows the palette with every VOEvent node type in the category VOEvent", async () => {
    const sets = (await rt!.nodes()).filter((s) => s.module === PACKAGE_NAME);
    assert.deepEqual(sets.map((s) => s.name).sort(), [...declaredNodeSets()].sort());
    for (const set of sets) assert.equal(set.err, undefined, `node set ${set.name} loaded without error`);
    for (const type of sets.flatMap((s) => s.types)) {
      const category = await page!.evaluate(
        (t) => (globalThis as unknown as EditorGlobal).RED.nodes.getType(t)?.category ?? null,
        type,
      );
      assert.notEqual(category, null, `the editor knows ${type}`);
      if (category === "config") continue;
      assert.equal(category, CATEGORY, `${type} is in the palette category ${CATEGORY}`);
      const inPalette = await page!
        .locator(`#red-ui-palette-container-${CATEGORY} .red-ui-palette-node[data-palette-type="${type}"]`)
        .count();
      assert.equal(inPalette, 1, `${type} appears once in the ${CATEGORY} palette category`);
    }
    // The core palette is there in any case.
    assert.equal(await page!.locator("#red-ui-palette-container-common").count(), 1);
  });

  it("takes a screenshot of the editor (screenshots/editor.png)", async () => {
    // Collapse the palette's categories (its footer button) and open VOEvent's, as a user would.
    const header = page!.locator(`#red-ui-palette-header-${CATEGORY}`);
    if ((await header.count()) > 0) {
      await page!.locator("#red-ui-palette .red-ui-component-footer button").first().click();
      await header.click();
      await page!.mouse.move(700, 500);
      await page!.waitForTimeout(500); // the category slides open
    }
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    const file = path.join(SCREENSHOTS, "editor.png");
    await page!.screenshot({ path: file });
    assert.ok(fs.statSync(file).size > 10_000, "a real picture");
  });

  it("deploys the seed demo (examples/demo.json) and shows it (screenshots/demo.png)", async () => {
    assert.ok(Array.isArray(demo) && demo.length > 0, "examples/demo.json is a non-empty flow array");
    const known = new Set((await rt!.nodes()).flatMap((s) => s.types));
    const structural = new Set(["tab", "subflow", "group", "junction", "comment"]);
    for (const node of demo) {
      if (!structural.has(node.type) && !node.type.startsWith("subflow:")) {
        assert.ok(known.has(node.type), `demo node ${node.id} has a registered type (${node.type})`);
      }
    }
    const since = rt!.logs().length;
    await rt!.deploy(demo);
    await rt!.waitForLog("Started flows", 20_000, since);
    assert.doesNotMatch(rt!.logs().slice(since), /Waiting for missing types/);

    await openEditor(page!, rt!.url);
    await page!.waitForSelector("#red-ui-workspace-chart .red-ui-flow-node", { timeout: 30_000 });
    const wired = demo.filter((n) => typeof n.z === "string" && !structural.has(n.type));
    for (const node of wired) {
      const type = await page!.evaluate(
        (id) => (globalThis as unknown as EditorGlobal).RED.nodes.node(id)?.type ?? null,
        node.id,
      );
      assert.equal(type, node.type, `the editor shows demo node ${node.id} as ${node.type}`);
    }
    assert.equal(await page!.locator(".red-ui-flow-node-unknown").count(), 0, "no unknown nodes");
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    await page!.screenshot({ path: path.join(SCREENSHOTS, "demo.png") });
  });

  it("lists every example under the package in Import > Examples, and imports ours from there", async function () {
    this.timeout(180_000);
    const files = fs
      .readdirSync(path.join(REPO_ROOT, "examples"))
      .filter((f) => f.endsWith(".json"))
      .map((f) => f.replace(/\.json$/, ""))
      .sort();
    for (const name of IMPORTED_EXAMPLES) {
      const before = consoleErrors.length;
      // Menu > Import, then the dialog's Examples tab.
      await page!.locator("#red-ui-header-button-sidemenu").click();
      await page!.locator("#menu-item-import").click();
      const dialog = page!.locator("#red-ui-clipboard-dialog");
      await dialog.waitFor({ state: "visible", timeout: 10_000 });
      await page!.locator("#red-ui-clipboard-dialog-import-tabs li", { hasText: "Examples" }).click();
      const tab = page!.locator("#red-ui-clipboard-dialog-import-tab-examples");
      await tab.locator(".red-ui-treeList-label", { hasText: PACKAGE_NAME }).first().click();
      const labels = tab.locator(".red-ui-treeList-label");
      for (const file of files) {
        await labels
          .filter({ hasText: new RegExp(`^\\s*${file}\\s*$`) })
          .first()
          .waitFor({ timeout: 10_000 });
      }
      await labels
        .filter({ hasText: new RegExp(`^\\s*${name}\\s*$`) })
        .first()
        .click();
      await page!.locator("#red-ui-clipboard-dialog-ok").click();
      await dialog.waitFor({ state: "hidden", timeout: 10_000 });
      // The editor fetches the example only when Import is clicked, and imports it when the
      // fetch answers: wait for its tabs rather than reading them at once.
      const expected = exampleTabs(name);
      const workspaces = () =>
        page!.evaluate(() => {
          const labels: string[] = [];
          (globalThis as unknown as EditorGlobal).RED.nodes.eachWorkspace((ws) => labels.push(ws.label));
          return labels;
        });
      let tabs = await workspaces();
      for (let end = Date.now() + 10_000; !expected.every((l) => tabs.includes(l)) && Date.now() < end; ) {
        await new Promise((r) => setTimeout(r, 100));
        tabs = await workspaces();
      }
      for (const label of expected) {
        assert.ok(tabs.includes(label), `importing ${name} adds its tab "${label}" (${tabs.join(", ")})`);
      }
      assert.equal(await page!.locator(".red-ui-flow-node-unknown").count(), 0, `${name}: no unknown nodes`);
      assert.deepEqual(consoleErrors.slice(before), [], `${name}: no console errors`);
    }
  });

  it("opens and closes every node type's edit dialog", async () => {
    const types = (await rt!.nodes()).filter((s) => s.module === PACKAGE_NAME).flatMap((s) => s.types);
    for (const type of types) {
      const before = consoleErrors.length;
      const category = await page!.evaluate(
        (t) => (globalThis as unknown as EditorGlobal).RED.nodes.getType(t)?.category ?? null,
        type,
      );
      const isConfig = category === "config";
      await page!.evaluate(
        ({ t, config }) => {
          const RED = (globalThis as unknown as EditorGlobal).RED;
          let node: EditorNode | undefined = RED.nodes.filterNodes({ type: t })[0];
          if (!node && !config) {
            // Not in any example (voevent-parse): add one to the workspace.
            RED.nodes.import([
              { id: `e2e-${t}`, type: t, z: RED.workspaces.active(), x: 200, y: 600, wires: [] },
            ]);
            RED.view.redraw(true);
            node = RED.nodes.node(`e2e-${t}`) ?? undefined;
          }
          if (config) RED.editor.editConfig("", t, node?.id ?? "_ADD_");
          else if (node) RED.editor.edit(node);
        },
        { t: type, config: isConfig },
      );
      const cancel = page!.locator(isConfig ? "#node-config-dialog-cancel" : "#node-dialog-cancel");
      await cancel.waitFor({ state: "visible", timeout: 10_000 });
      await page!.waitForTimeout(300); // oneditprepare's requests (e.g. the XPath check) settle
      // A click from the page: a notification (e.g. "imported") may lie over the button.
      await cancel.evaluate((button) => (button as { click(): void }).click());
      await page!.locator(".red-ui-tray").waitFor({ state: "detached", timeout: 10_000 });
      assert.deepEqual(consoleErrors.slice(before), [], `${type}: no console errors`);
    }
  });

  it("marks bad settings invalid before deploy, and leaves good ones valid", async () => {
    const before = consoleErrors.length;
    const BAD_XPATH = "//Who/@@x"; // balanced, so only the runtime's compiler refuses it
    const GOOD_XPATH = '//Who/Author[contactName="KSK"]';
    const cases: Array<[string, Record<string, unknown>, boolean]> = [
      [
        "voevent-receiver",
        { port: 18098, whitelist: "127.0.0.0/8, ::1", validate: "well-formed", maxBytes: 1048576 },
        true,
      ],
      [
        "voevent-receiver",
        { port: 18098, whitelist: "127.0.0.0/8, 10.0.0.0/33", validate: "well-formed", maxBytes: 1048576 },
        false,
      ],
      [
        "voevent-broadcaster",
        { port: 18099, whitelist: "::1", iamaliveInterval: 60, testInterval: 0, maxQueue: 4194304 },
        true,
      ],
      [
        "voevent-broadcaster",
        { port: 70000, whitelist: "::1", iamaliveInterval: 60, testInterval: 0, maxQueue: 4194304 },
        false,
      ],
      [
        "voevent-sender",
        { host: "localhost", hostType: "str", port: 8098, portType: "num", timeout: 20, retries: 3 },
        true,
      ],
      [
        "voevent-sender",
        { host: "localhost", hostType: "str", port: 0, portType: "num", timeout: 20, retries: 3 },
        false,
      ],
      [
        "voevent-subscriber",
        { host: "localhost", port: 8099, brokerFilters: [GOOD_XPATH], watchdog: 150, maxBackoff: 60 },
        true,
      ],
      [
        "voevent-subscriber",
        { host: "localhost", port: 8099, brokerFilters: [BAD_XPATH], watchdog: 150, maxBackoff: 60 },
        false,
      ],
      [
        "voevent-filter",
        {
          rulesFrom: "node",
          rules: [{ t: "xpath", xpath: GOOD_XPATH }],
          checkall: "true",
          otherwise: false,
          outputs: 1,
        },
        true,
      ],
      [
        "voevent-filter",
        {
          rulesFrom: "node",
          rules: [{ t: "xpath", xpath: BAD_XPATH }],
          checkall: "true",
          otherwise: false,
          outputs: 1,
        },
        false,
      ],
    ];
    const ids = cases.map((_, i) => `e2e-valid-${i}`);
    await page!.evaluate(
      ({ cases, ids }) => {
        const RED = (globalThis as unknown as EditorGlobal).RED;
        const z = RED.workspaces.active();
        RED.nodes.import(
          cases.map(([type, props], i) => ({
            id: ids[i],
            type,
            z,
            x: 600,
            y: 60 + 40 * i,
            wires: [],
            ...props,
          })),
        );
        RED.view.redraw(true);
      },
      { cases, ids },
    );
    // The XPath verdicts come from the runtime's compiler a moment later.
    const expected = cases.map(([, , valid]) => valid);
    await page!
      .waitForFunction(
        ({ ids, expected }) => {
          const RED = (globalThis as unknown as EditorGlobal).RED;
          return ids.every((id, i) => RED.nodes.node(id)?.valid === expected[i]);
        },
        { ids, expected },
        { timeout: 10_000 },
      )
      .catch(() => undefined);
    const valid = await page!.evaluate(
      (ids) => ids.map((id) => (globalThis as unknown as EditorGlobal).RED.nodes.node(id)?.valid ?? null),
      ids,
    );
    assert.deepEqual(
      valid.map((v, i) => `${cases[i]![0]} ${JSON.stringify(cases[i]![1])}: ${v}`),
      expected.map((v, i) => `${cases[i]![0]} ${JSON.stringify(cases[i]![1])}: ${v}`),
    );
    assert.deepEqual(consoleErrors.slice(before), [], "no console errors");
  });

  it("renders each node type's help in the help sidebar", async () => {
    const types = (await rt!.nodes()).filter((s) => s.module === PACKAGE_NAME).flatMap((s) => s.types);
    for (const type of types) {
      const html = await page!.evaluate(
        (t) => (globalThis as unknown as EditorGlobal).RED.nodes.getNodeHelp(t) ?? "",
        type,
      );
      assert.ok(html.length > 200, `${type} has help text`);
      await page!.evaluate((t) => (globalThis as unknown as EditorGlobal).RED.sidebar.help.show(t), type);
      const help = page!.locator(".red-ui-sidebar-info .red-ui-help").last();
      await help.waitFor({ state: "visible", timeout: 10_000 });
      const text = ((await help.textContent()) ?? "").trim();
      assert.ok(text.length > 100, `${type}: the help panel shows its text`);
      assert.equal(await help.locator(".red-ui-help-info-none").count(), 0, `${type}: not "no information"`);
    }
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    await page!.screenshot({ path: path.join(SCREENSHOTS, "help.png") });
  });

  it("the registry page adds and removes a subscription in the browser (screenshots/registry.png)", async () => {
    const registry = await browser!.newPage();
    const errors: string[] = [];
    registry.on("console", (msg) => {
      if (msg.type() === "error") errors.push(msg.text());
    });
    registry.on("pageerror", (err) => errors.push(err.message));
    try {
      await registry.goto(rt!.httpUrl("/voevent/subscriptions"), { waitUntil: "load" });
      await registry.locator("#list tr[data-name='all']").waitFor({ timeout: 10_000 });
      await registry.fill("#name", "KSK");
      await registry.fill("#xpath", '//Who/Author[contactName="KSK"]');
      await registry.click("#submit");
      await registry.locator("#list tr[data-name='KSK']").waitFor({ timeout: 10_000 });
      assert.match((await registry.locator("#message").textContent()) ?? "", /Saved KSK/);
      await registry.fill("#name", "broken");
      await registry.fill("#xpath", '//Who[contactName=="KSK"]');
      await registry.click("#submit");
      await registry.locator("#message.error").waitFor({ timeout: 10_000 });
      assert.match((await registry.locator("#message").textContent()) ?? "", /not a valid XPath/);
      fs.mkdirSync(SCREENSHOTS, { recursive: true });
      await registry.screenshot({ path: path.join(SCREENSHOTS, "registry.png") });
      await registry.locator("#list tr[data-name='KSK'] button").click();
      await registry.locator("#list tr[data-name='KSK']").waitFor({ state: "detached", timeout: 10_000 });
      // The browser logs the refused POST (HTTP 400) as a failed resource; nothing else.
      const refused = /status of 400/;
      assert.equal(errors.filter((e) => refused.test(e)).length, 1, "the bad XPath was refused");
      assert.deepEqual(
        errors.filter((e) => !refused.test(e)),
        [],
      );
    } finally {
      await registry.close();
    }
  });

  it("logs no console errors", () => {
    assert.deepEqual(consoleErrors, []);
  });
});
