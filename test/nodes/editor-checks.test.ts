/**
 * The edit dialogs' shared checks (resources/voevent-editor.js) run in the browser; here they
 * run in a bare context to show that they mark red exactly what the runtime would refuse. The
 * receiver's and subscriber's own dialog scripts run too (with a stand-in for the editor's RED),
 * to show that their `signatures` setting is invalid without a keyring, as the runtime refuses it.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runInNewContext } from "node:vm";
import type { NodeAPI } from "node-red";
import { intSetting, secondsSetting } from "../../nodes/shared/net-config";
import { signatureSetting } from "../../nodes/shared/signatures";
import { CONNECTION_LIMIT_DEFAULTS } from "../../src/vtp/connection-limits";
import { RECEIVER_DEADLINES } from "../../src/vtp/receiver";
import { isValidCidr } from "../../src/vtp/whitelist";

interface EditorChecks {
  cidrOk(entry: string): boolean;
  whitelistProblem(v: unknown): string | null;
  portOk(v: unknown): boolean;
  countOk(v: unknown, min?: number): boolean;
  secondsOk(v: unknown, allowZero?: boolean): boolean;
  xpathSyntax(expr: unknown): string | null;
  signaturesProblem(mode: unknown, keyring: unknown, lookup: (id: string) => unknown): string | null;
  settingOf(node: object, editing: object | null, name: string): unknown;
}

/** A stand-in for jQuery: `$("#node-input-<name>")` is the field of that name in `fields`. */
function fakeJQuery(fields: Record<string, string>) {
  return (selector: string) => {
    const name = /^#node-input-(.+)$/.exec(selector)?.[1];
    const has = name !== undefined && Object.hasOwn(fields, name);
    return { length: has ? 1 : 0, val: () => (has ? fields[name] : undefined) };
  };
}

function loadChecks(fields: Record<string, string> = {}): EditorChecks {
  const window: { VOEventEditor?: EditorChecks } = {};
  runInNewContext(readFileSync(join(__dirname, "../../resources/voevent-editor.js"), "utf8"), {
    window,
    $: fakeJQuery(fields),
  });
  assert.ok(window.VOEventEditor, "the script defines window.VOEventEditor");
  return window.VOEventEditor;
}

type Validate = (this: Record<string, unknown>, v: unknown, opt: object) => unknown;
interface NodeDefinition {
  defaults: Record<string, { value: unknown; validate?: Validate }>;
  oneditprepare?: (this: Record<string, unknown>) => void;
}

/**
 * A node's dialog script (the first text/javascript script of nodes/<type>/<type>.html) run as
 * the editor runs it, with the shared checks loaded first; `workspace` is what RED.nodes.node finds.
 */
function loadDefinition(type: string, workspace: Record<string, { type: string }>): NodeDefinition {
  const html = readFileSync(join(__dirname, `../../nodes/${type}/${type}.html`), "utf8");
  const script = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(html)?.[1];
  assert.ok(script, `${type}.html has its dialog script`);
  const window: { VOEventEditor?: EditorChecks } = {};
  const $ = fakeJQuery({});
  runInNewContext(readFileSync(join(__dirname, "../../resources/voevent-editor.js"), "utf8"), { window, $ });
  let definition: NodeDefinition | undefined;
  const RED = {
    _: (key: string) => key,
    nodes: {
      node: (id: string) => (Object.hasOwn(workspace, id) ? workspace[id] : null),
      registerType: (name: string, def: NodeDefinition) => {
        if (name === type) definition = def;
      },
    },
  };
  runInNewContext(script, { window, RED, $ });
  assert.ok(definition, `${type}.html registers ${type}`);
  return definition;
}

const ENTRIES = [
  "0.0.0.0/0",
  "255.255.255.255/32",
  "10.0.0.0/8",
  "127.0.0.1",
  "::/0",
  "::",
  "::1",
  "fe80::/10",
  "2001:db8::/32",
  "64:ff9b::192.0.2.33",
  "1:2:3:4:5:6:1.2.3.4",
  "::ffff:10.0.0.0/104",
  "1:2:3:4:5:6:7:8",
  "10.0.0.0/33",
  "::1/129",
  "10.0.0.0/",
  "10.0.0.0/8/8",
  "10.0.0.0/-1",
  "/8",
  "256.0.0.1",
  "1.2.3",
  "1.2.3.4.5",
  "1..2.3",
  "010.0.0.1",
  "localhost",
  "example.org/24",
  "1:2::3::4",
  "1:2:3:4:5:6:7",
  "1:2:3:4:5:6:7:8:9",
  "1:2:3:4::5:6:7:8",
  "12345::",
  "g::1",
  ":1:2:3:4:5:6:7",
  "1:2:3:4:5:6:7:",
  ":::1",
  "1.2.3.4::",
  "::1.2.3.4:5",
  "::1.2.3.256",
  "fe80::1%eth0",
  // host bits set below the prefix (issue 8, row 17)
  "10.0.0.1/0",
  "10.1.2.3/8",
  "192.168.1.255/23",
  "192.168.0.0/23",
  "::ffff:10.0.0.0/96",
  "::ffff:10.0.0.0/104",
  "::ffff:0:0/95",
  "::fffe:0:0/95",
  "2001:db8:ffff::1/33",
  "2001:db8:8000::/33",
  "::1.2.3.4/120",
  "::1.2.3.0/120",
  "fe80::1/10",
];

describe("editor checks (resources/voevent-editor.js)", () => {
  const checks = loadChecks();

  it("accept and refuse the same whitelist entries as the runtime", () => {
    for (const entry of ENTRIES) {
      assert.equal(checks.cidrOk(entry), isValidCidr(entry), entry);
    }
  });

  it("name the first bad entry of a whitelist, or say that it is empty", () => {
    assert.equal(checks.whitelistProblem("127.0.0.0/8, ::1\n10.0.0.0/8"), null);
    assert.equal(checks.whitelistProblem("127.0.0.0/8, ::1, 10.0.0.0/33, 1.2.3"), "10.0.0.0/33");
    assert.equal(checks.whitelistProblem(" ,\n "), "");
    assert.equal(checks.whitelistProblem(undefined), "");
  });

  it("take ports 1 to 65535 only", () => {
    for (const ok of [1, "8098", " 8099 ", 65535]) assert.equal(checks.portOk(ok), true, String(ok));
    for (const bad of [0, "65536", "", "80a", "-1", "8.5", null, undefined]) {
      assert.equal(checks.portOk(bad), false, String(bad));
    }
  });

  it("catch unbalanced XPath at once, saying where", () => {
    assert.equal(checks.xpathSyntax('//Who/Author[contactName="KSK"]'), null);
    assert.match(checks.xpathSyntax("//Who/Author[contactName='KSK'") ?? "", /'\[' is not closed/);
    assert.match(checks.xpathSyntax("//Param)") ?? "", /column 8: unexpected '\)'/);
    assert.match(checks.xpathSyntax('//Param[@name="x]') ?? "", /string is not closed/);
    assert.match(checks.xpathSyntax("  ") ?? "", /empty/);
  });

  /** Whether a runtime setting function takes `v` (it throws a SettingError when it does not). */
  const takes = (read: () => number): boolean => {
    try {
      read();
      return true;
    } catch {
      return false;
    }
  };
  const VALUES: unknown[] = [
    "",
    "  ",
    undefined,
    null,
    0,
    "0",
    1,
    "1",
    " 64 ",
    256,
    "1e3",
    "0x10",
    1.5,
    "0.3",
    "0.0001",
    "0.0005",
    "0.001",
    -1,
    "-0",
    "2147483.647",
    "2147483.648",
    "1e7",
    "abc",
    "12abc",
    Number.NaN,
    Number.POSITIVE_INFINITY,
    2 ** 53,
  ];

  it("take the same whole numbers as the runtime's intSetting (connection limits)", () => {
    for (const v of VALUES) {
      assert.equal(
        checks.countOk(v),
        takes(() => intSetting("x", v, 1, 1)),
        String(v),
      );
    }
  });

  it("take the same seconds as the runtime's secondsSetting (deadlines, with and without 0)", () => {
    for (const v of VALUES) {
      for (const allowZero of [false, true]) {
        assert.equal(
          checks.secondsOk(v, allowZero),
          takes(() => secondsSetting("x", v, 20, { allowZero })),
          `${String(v)} (allowZero ${allowZero})`,
        );
      }
    }
  });

  it("the receiver's dialog: defaults are the engine's, and its limits use these checks", () => {
    const html = readFileSync(join(__dirname, "../../nodes/voevent-receiver/voevent-receiver.html"), "utf8");
    const defaultOf = (name: string): number => {
      const m = new RegExp(`\\b${name}: \\{ value: ([0-9.]+), required: false, validate: (\\w+) \\}`).exec(
        html,
      );
      assert.ok(m, `${name} is in the dialog's defaults`);
      return Number(m[1]);
    };
    assert.equal(defaultOf("maxConnections"), CONNECTION_LIMIT_DEFAULTS.receiverMaxConnections);
    assert.equal(defaultOf("maxPerAddress"), CONNECTION_LIMIT_DEFAULTS.maxConnectionsPerAddress);
    assert.equal(defaultOf("frameTimeout") * 1000, RECEIVER_DEADLINES.frameTimeoutMs);
    assert.equal(defaultOf("replyTimeout") * 1000, RECEIVER_DEADLINES.replyTimeoutMs);
    assert.match(html, /function checkCount\(v, opt\) \{ return E\.countOk\(v\)/);
    assert.match(html, /function checkSeconds\(v, opt\) \{ return E\.secondsOk\(v, false\)/);
  });

  it("a receiver's or subscriber's `signatures` needs a keyring exactly when the runtime does", () => {
    const workspace: Record<string, { type: string }> = {
      ring: { type: "voevent-keyring" },
      ident: { type: "voevent-identity" },
    };
    const lookup = (id: string) => (Object.hasOwn(workspace, id) ? workspace[id] : null);
    // The runtime: signatureSetting throws SettingError errors.keyring when it refuses to start.
    const RED = {
      nodes: { getNode: (id: string) => (id === "ring" ? { keyring: () => Promise.resolve() } : null) },
    } as unknown as NodeAPI;
    const refused = (signatures: unknown, keyring: unknown): boolean => {
      try {
        signatureSetting(RED, { signatures, keyring });
        return false;
      } catch {
        return true;
      }
    };
    for (const mode of ["ignore", "check", "require", "", undefined, "Check", "other"]) {
      for (const keyring of ["", "_ADD_", "ring", "ident", "gone", undefined]) {
        const problem = checks.signaturesProblem(mode, keyring, lookup);
        assert.equal(problem !== null, refused(mode, keyring), `${String(mode)} with ${String(keyring)}`);
      }
    }
    assert.equal(checks.signaturesProblem("check", "", lookup), "none");
    assert.equal(checks.signaturesProblem("require", "_ADD_", lookup), "none");
    assert.equal(checks.signaturesProblem("require", "gone", lookup), "missing");
  });

  it("a keyring is read from the open dialog while it is this node's, else from the node", () => {
    const node = { keyring: "" };
    const other = { keyring: "ring" };
    const dialog = loadChecks({ keyring: "ring" });
    assert.equal(dialog.settingOf(node, node, "keyring"), "ring", "the dialog's field");
    assert.equal(dialog.settingOf(other, node, "keyring"), "ring", "another node: its own");
    assert.equal(dialog.settingOf(node, other, "keyring"), "", "another node's dialog is open");
    assert.equal(dialog.settingOf(node, null, "keyring"), "", "no dialog open");
  });

  for (const type of ["voevent-receiver", "voevent-subscriber"]) {
    it(`the ${type} dialog marks "check" and "require" without a keyring invalid`, () => {
      const def = loadDefinition(type, { ring: { type: "voevent-keyring" } });
      const validate = def.defaults.signatures?.validate;
      assert.equal(typeof validate, "function", "signatures has a validate function");
      if (validate === undefined) return;
      assert.equal(def.defaults.signatures.value, "ignore");
      const ns = `@voevent/node-red-voevent/${type}:${type}.`;
      for (const mode of ["check", "require"]) {
        assert.equal(validate.call({ keyring: "" }, mode, {}), `${ns}editor.keyring`, `${mode}, none`);
        assert.equal(
          validate.call({ keyring: "deleted-one" }, mode, {}),
          `${ns}editor.keyring-missing`,
          `${mode}, deleted`,
        );
        assert.equal(validate.call({ keyring: "ring" }, mode, {}), true, `${mode} with a keyring`);
      }
      assert.equal(validate.call({ keyring: "" }, "ignore", {}), true, "ignore needs none");
      // Both messages are in the node's catalogue.
      const catalogue = JSON.parse(
        readFileSync(join(__dirname, `../../nodes/${type}/locales/en-US/${type}.json`), "utf8"),
      ) as Record<string, { editor: Record<string, string> }>;
      assert.ok(catalogue[type].editor.keyring);
      assert.ok(catalogue[type].editor["keyring-missing"]);
    });
  }
});
