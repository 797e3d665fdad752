/**
 * The Node-RED editor, with the packed package installed, in headless Chromium:
 * - the palette loads, and every node type of package.json's node sets is in the palette
 *   category "VOEvent" (config nodes excepted);
 * - screenshots/editor.png shows it (the VOEvent category scrolled into view);
 * - the seed demo (demo/demo.json) deploys, every one of its nodes is a known type in the
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
const DEMO_FILE = path.join(REPO_ROOT, "demo", "demo.json");
const EMAIL_TYPES = ["e-mail", "e-mail in", "e-mail mta"];

/** The examples this suite imports (others may need extra modules, e.g. node-red-node-email). */
const IMPORTED_EXAMPLES = [
  "01-broker",
  "02-subscriber-filter",
  "03-gcn",
  "06-registry",
  "07-test-alerts",
  "08-parse-mqtt",
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
      eachLink(
        cb: (link: {
          source: { id: string; z: string; x: number; y: number; w?: number };
          target: { id: string; z: string; x: number; y: number; w?: number };
        }) => void,
      ): void;
      getNodeHelp(type: string): string | undefined;
      import(nodes: unknown[]): unknown;
    };
    sidebar: { help: { show(type: string): void } };
    view: { redraw(full?: boolean): void };
    workspaces: { active(): string; show(id: string): void };
  };
}

function readDemo(): FlowNode[] {
  assert.ok(fs.existsSync(DEMO_FILE), "demo/demo.json exists");
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

/** What is wrong with the open dialog's layout (run in the page): wrapped field labels, cut
 * placeholders, elements past the form's right edge, a form that scrolls sideways. */
const LAYOUT_PROBLEMS = `(() => {
  const trayEl = document.querySelectorAll(".red-ui-tray")[document.querySelectorAll(".red-ui-tray").length - 1];
        const out = [];
        const form = trayEl.querySelector(".red-ui-tray-body form, form.dialog-form");
        if (!form) return ["no form"];
        const visible = (el) => {
          const r = el.getBoundingClientRect();
          return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden";
        };
        const formBox = form.getBoundingClientRect();
        if (form.scrollWidth > form.clientWidth + 1)
          out.push(\`the form scrolls sideways (\${form.scrollWidth} > \${form.clientWidth})\`);
        for (const el of Array.from(
          form.querySelectorAll(
            "input, select, textarea, label, button, .red-ui-typedInput-container, .red-ui-editableList",
          ),
        )) {
          if (!visible(el)) continue;
          const r = el.getBoundingClientRect();
          if (r.right > formBox.right + 1) {
            out.push(
              \`\${el.tagName.toLowerCase()}#\${el.id || el.className} ends \${Math.round(r.right - formBox.right)} px past the form\`,
            );
          }
        }
        // A field label (first in its row) on more than one line: taller than itself unwrapped.
        for (const label of Array.from(form.querySelectorAll(".form-row > label:first-child"))) {
          if (!visible(label)) continue;
          const height = label.getBoundingClientRect().height;
          const saved = label.style.whiteSpace;
          label.style.whiteSpace = "nowrap";
          const oneLine = label.getBoundingClientRect().height;
          label.style.whiteSpace = saved;
          if (height > oneLine + 2)
            out.push(\`label "\${(label.textContent ?? "").trim()}" wraps (\${Math.round(height)} px high, one line is \${Math.round(oneLine)})\`);
        }
        // A placeholder wider than its input.
        const canvas = document.createElement("canvas").getContext("2d");
        for (const input of Array.from(form.querySelectorAll("input[placeholder]"))) {
          if (!visible(input) || input.placeholder === "" || input.value !== "") continue;
          const style = getComputedStyle(input);
          canvas.font = \`\${style.fontStyle} \${style.fontWeight} \${style.fontSize} \${style.fontFamily}\`;
          const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
          if (canvas.measureText(input.placeholder).width > room + 1) {
            out.push(\`the placeholder "\${input.placeholder}" of #\${input.id || input.className} is cut\`);
          }
        }
        return out;
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
    // httpNodeRoot "/" as `npm start` has it, so the screenshots show the paths the README gives.
    rt = await startRuntime({
      extraModules: usesEmail ? ["node-red-node-email"] : [],
      settings: { httpNodeRoot: "/" },
    });
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

  it("palette labels take at most two lines, and searching the palette for gcn finds the subscriber", async () => {
    const header = page!.locator(`#red-ui-palette-header-${CATEGORY}`);
    const container = page!.locator(`#red-ui-palette-container-${CATEGORY}`);
    if (!(await container.isVisible())) await header.click();
    await page!.waitForSelector(`#red-ui-palette-container-${CATEGORY} .red-ui-palette-label`, {
      timeout: 5_000,
    });
    // Lines as drawn: the distinct tops of the label text's line boxes.
    const lines = await page!.evaluate((category) => {
      const out: Record<string, number> = {};
      for (const node of Array.from(
        document.querySelectorAll(`#red-ui-palette-container-${category} .red-ui-palette-node`),
      )) {
        const label = node.querySelector(".red-ui-palette-label");
        if (!label) continue;
        const range = document.createRange();
        range.selectNodeContents(label);
        const tops = new Set(Array.from(range.getClientRects()).map((r) => Math.round(r.top)));
        out[`${node.getAttribute("data-palette-type")} "${(label.textContent ?? "").trim()}"`] = tops.size;
      }
      return out;
    }, CATEGORY);
    assert.ok(Object.keys(lines).length >= 9, JSON.stringify(lines));
    for (const [node, count] of Object.entries(lines))
      assert.ok(count >= 1 && count <= 2, `${node} takes ${count} lines`);
    const search = page!.locator("#red-ui-palette-search input");
    await search.fill("gcn");
    try {
      const subscriber = page!.locator(`.red-ui-palette-node[data-palette-type="voevent-subscriber"]`);
      await subscriber.waitFor({ state: "visible", timeout: 5_000 });
      assert.match((await subscriber.textContent()) ?? "", /GCN/);
    } finally {
      await search.fill("");
    }
  });

  it("deploys the seed demo (demo/demo.json) and shows it (screenshots/demo.png)", async () => {
    assert.ok(Array.isArray(demo) && demo.length > 0, "demo/demo.json is a non-empty flow array");
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
      assert.equal(
        await labels.filter({ hasText: /^\s*demo\s*$/ }).count(),
        0,
        "the demo is not in the examples menu",
      );
      await labels
        .filter({ hasText: new RegExp(`^\\s*${name}\\s*$`) })
        .first()
        .click();
      await page!.locator("#red-ui-clipboard-dialog-ok").click();
      await dialog.waitFor({ state: "hidden", timeout: 10_000 });
      // The examples share one identity node: from the second one on, Node-RED says it exists
      // already; "Import copy" reuses an identical config node, so it stays one.
      const copy = page!.locator(".red-ui-notification button", { hasText: "Import copy" });
      const conflict = await copy
        .waitFor({ state: "visible", timeout: 3000 })
        .then(() => true)
        .catch(() => false);
      if (conflict) await copy.click();
      await page!.waitForTimeout(300);
      const identities = await page!.evaluate(
        () =>
          (globalThis as unknown as EditorGlobal).RED.nodes.filterNodes({ type: "voevent-identity" }).length,
      );
      assert.ok(identities <= 1, `${name}: one identity node after importing, not ${identities}`);
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

  it("the registry flows (the demo's and example 06's) have no gap between wired nodes on a row", async () => {
    const tabs = await page!.evaluate(() => {
      const found: { id: string; label: string }[] = [];
      (globalThis as unknown as EditorGlobal).RED.nodes.eachWorkspace((ws) => {
        if (ws.label === "VOEvent seed demo" || ws.label.endsWith("VOEvent subscription registry"))
          found.push(ws);
      });
      return found;
    });
    assert.equal(tabs.length, 2, JSON.stringify(tabs));
    for (const tab of tabs) {
      // Drawn on its own tab, so that every node has its width.
      await page!.evaluate((id) => (globalThis as unknown as EditorGlobal).RED.workspaces.show(id), tab.id);
      await page!.waitForTimeout(300);
      const gaps = await page!.evaluate((z) => {
        const out: { from: string; to: string; gap: number }[] = [];
        (globalThis as unknown as EditorGlobal).RED.nodes.eachLink((l) => {
          const s = l.source;
          const t = l.target;
          if (s.z !== z || Math.abs(s.y - t.y) > 15 || t.x <= s.x) return;
          out.push({ from: s.id, to: t.id, gap: Math.round(t.x - (t.w ?? 0) / 2 - (s.x + (s.w ?? 0) / 2)) });
        });
        return out;
      }, tab.id);
      assert.ok(gaps.length >= 10, `${tab.label}: ${JSON.stringify(gaps)}`);
      const wide = gaps.filter((g) => g.gap > 150);
      assert.deepEqual(wide, [], `${tab.label}: wired nodes more than 150 px apart`);
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

  it("lays out every dialog at the default size: no wrapped label, no cut placeholder, no overflow (screenshots/dialogs/)", async function () {
    this.timeout(120_000);
    const types = (await rt!.nodes()).filter((s) => s.module === PACKAGE_NAME).flatMap((s) => s.types);
    const dir = path.join(SCREENSHOTS, "dialogs");
    fs.mkdirSync(dir, { recursive: true });
    const problems: string[] = [];
    for (const type of types) {
      const isConfig =
        (await page!.evaluate(
          (t) => (globalThis as unknown as EditorGlobal).RED.nodes.getType(t)?.category ?? null,
          type,
        )) === "config";
      await page!.evaluate(
        ({ t, config }) => {
          const RED = (globalThis as unknown as EditorGlobal).RED;
          let node: EditorNode | undefined = RED.nodes.filterNodes({ type: t })[0];
          if (t === "voevent-filter") {
            // Every rule type, the widest row (the sky cone) included.
            RED.nodes.import([
              {
                id: "e2e-layout-filter",
                type: t,
                z: RED.workspaces.active(),
                x: 300,
                y: 760,
                rulesFrom: "node",
                rules: [
                  { t: "xpath", xpath: '//Who/Author[contactName="KSK"]' },
                  { t: "role", op: "not", role: "utility" },
                  { t: "stream", pattern: "ivo://nasa.gsfc.gcn/*" },
                  { t: "ivorn", pattern: "ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_*" },
                  { t: "param", name: "Sun_Distance", op: "gte", value: "40" },
                  { t: "cone", ra: "-123.456", dec: "-89.999", radius: "180", error: true },
                  { t: "signed", key: "C1566092746958D944C216D335F3D633A4FDD30A" },
                ],
                checkall: "true",
                otherwise: true,
                outputs: 8,
                wires: [],
              },
            ]);
            node = RED.nodes.node("e2e-layout-filter") ?? undefined;
          }
          if (!node && !config) {
            RED.nodes.import([
              {
                id: `e2e-layout-${t}`,
                type: t,
                z: RED.workspaces.active(),
                x: 300,
                y: 700,
                wires: [],
                ...(t === "voevent-receiver" || t === "voevent-parse" ? { maxBytes: 1048576 } : {}),
              },
            ]);
            node = RED.nodes.node(`e2e-layout-${t}`) ?? undefined;
          }
          if (config) RED.editor.editConfig("", t, node?.id ?? "_ADD_");
          else if (node) RED.editor.edit(node);
        },
        { t: type, config: isConfig },
      );
      const cancel = page!.locator(isConfig ? "#node-config-dialog-cancel" : "#node-dialog-cancel");
      await cancel.waitFor({ state: "visible", timeout: 10_000 });
      await page!.waitForTimeout(500); // the tray slides in; oneditprepare settles
      const tray = page!.locator(".red-ui-tray").last();
      await tray.screenshot({ path: path.join(dir, `${type}.png`) });
      const found = (await page!.evaluate(LAYOUT_PROBLEMS)) as string[];
      for (const p of found) problems.push(`${type}: ${p}`);
      if (type === "voevent-receiver" || type === "voevent-parse") {
        // Sizes in KiB/MiB: 1048576 bytes shows as 1 MiB.
        const size = await page!.evaluate(`(() => {
          const tray = document.querySelectorAll(".red-ui-tray")[document.querySelectorAll(".red-ui-tray").length - 1];
          const unit = tray.querySelector(".voevent-size-unit");
          return [tray.querySelector(".voevent-size-number")?.value, unit?.options[unit.selectedIndex]?.text];
        })()`);
        if (JSON.stringify(size) !== JSON.stringify(["1", "MiB"])) {
          problems.push(`${type}: the size limit shows as ${JSON.stringify(size)}, not 1 MiB`);
        }
      }
      await cancel.evaluate((button) => (button as { click(): void }).click());
      await page!.locator(".red-ui-tray").waitFor({ state: "detached", timeout: 10_000 });
    }
    assert.deepEqual(problems, []);
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
      // The receiver's limits on peers (issue 18, point 1): the runtime refuses these too.
      [
        "voevent-receiver",
        { port: 18098, whitelist: "::1", maxBytes: 1048576, maxPerAddress: 2, frameTimeout: 0.5 },
        true,
      ],
      ["voevent-receiver", { port: 18098, whitelist: "::1", maxBytes: 1048576, maxPerAddress: 0 }, false],
      ["voevent-receiver", { port: 18098, whitelist: "::1", maxBytes: 1048576, maxConnections: "x" }, false],
      ["voevent-receiver", { port: 18098, whitelist: "::1", maxBytes: 1048576, frameTimeout: "0" }, false],
      ["voevent-receiver", { port: 18098, whitelist: "::1", maxBytes: 1048576, replyTimeout: 1e7 }, false],
      // Checking signatures needs a keyring (issue 17): the runtime refuses to start without one.
      ["voevent-receiver", { port: 18098, whitelist: "::1", maxBytes: 1048576, signatures: "check" }, false],
      [
        "voevent-receiver",
        { port: 18098, whitelist: "::1", maxBytes: 1048576, signatures: "require", keyring: "e2e-ring" },
        true,
      ],
      [
        "voevent-receiver",
        { port: 18098, whitelist: "::1", maxBytes: 1048576, signatures: "require", keyring: "e2e-gone" },
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
        "voevent-subscriber",
        {
          host: "localhost",
          port: 8099,
          brokerFilters: [],
          watchdog: 150,
          maxBackoff: 60,
          signatures: "require",
        },
        false,
      ],
      [
        "voevent-subscriber",
        {
          host: "localhost",
          port: 8099,
          brokerFilters: [],
          watchdog: 150,
          maxBackoff: 60,
          signatures: "check",
          keyring: "e2e-ring",
        },
        true,
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
        RED.nodes.import([
          // The keyring the signature cases name (e2e-gone names none).
          { id: "e2e-ring", type: "voevent-keyring", name: "e2e keyring", publicKeys: "" },
          ...cases.map(([type, props], i) => ({
            id: ids[i],
            type,
            z,
            x: 600,
            y: 60 + 40 * i,
            wires: [],
            ...props,
          })),
        ]);
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
      // The README's step 2, as the reader sees it (docs/images/registry.png is a copy).
      fs.mkdirSync(SCREENSHOTS, { recursive: true });
      await registry.screenshot({ path: path.join(SCREENSHOTS, "registry.png") });
      // The address field only for destinations that have one.
      assert.equal(await registry.locator("#target").isVisible(), false, "no address for debug");
      await registry.selectOption("#destination", "email");
      assert.equal(await registry.locator("#target").isVisible(), true, "an address for e-mail");
      assert.equal(await registry.locator("#target-label").textContent(), "E-mail address");
      await registry.selectOption("#destination", "debug");
      // The same name again: the page asks before replacing.
      await registry.fill("#name", "KSK");
      await registry.fill("#xpath", '//Who/Author[contactName="KSK"] or @role="test"');
      await registry.click("#submit");
      await registry.locator("#confirm:not([hidden]) #replace").waitFor({ timeout: 10_000 });
      assert.match((await registry.locator("#message").textContent()) ?? "", /exists already.*Replace it\?/);
      await registry.click("#replace");
      await registry.locator("#message.ok", { hasText: "Replaced KSK" }).waitFor({ timeout: 10_000 });
      await registry
        .locator("#list tr[data-name='KSK']", { hasText: '@role="test"' })
        .waitFor({ timeout: 10_000 });
      assert.equal(await registry.locator("#list tr[data-name='KSK']").count(), 1, "replaced, not added");
      await registry.fill("#name", "broken");
      await registry.fill("#xpath", '//Who[contactName=="KSK"]');
      await registry.click("#submit");
      await registry.locator("#message.error").waitFor({ timeout: 10_000 });
      assert.match((await registry.locator("#message").textContent()) ?? "", /not a valid XPath/);
      fs.mkdirSync(SCREENSHOTS, { recursive: true });
      await registry.screenshot({ path: path.join(SCREENSHOTS, "registry-error.png") });
      await registry.locator("#list tr[data-name='KSK'] button").click();
      await registry.locator("#list tr[data-name='KSK']").waitFor({ state: "detached", timeout: 10_000 });
      // The browser logs the refused POST (HTTP 400) as a failed resource; nothing else.
      const refused = /status of 400/;
      assert.equal(errors.filter((e) => refused.test(e)).length, 1, "the bad XPath was refused");
      const conflict = /status of 409/;
      assert.equal(errors.filter((e) => conflict.test(e)).length, 1, "the existing name was answered 409");
      assert.deepEqual(
        errors.filter((e) => !refused.test(e) && !conflict.test(e)),
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
