import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { getParsed } from "../../src/voevent/cache";
import { describeCorpus, readPacket } from "../helpers/corpus";
import {
  callsOf,
  catchNode,
  caughtError,
  collect,
  type FlowNode,
  getNode,
  helper,
  loadFlow,
  type Msg,
  nextMessage,
  sleep,
  statusHistory,
  useNodeRed,
  waitForStatus,
} from "../helpers/nodered";

const fixture = (name: string) => readFileSync(path.join(__dirname, "../fixtures/packets", name), "utf8");

/** A filter node with `outputs` wired to helper nodes o0, o1, …, plus a Catch node → "caught". */
function flow(props: Record<string, unknown>, outputs: number): FlowNode[] {
  const wires = Array.from({ length: outputs }, (_, i) => [`o${i}`]);
  return [
    {
      id: "f",
      type: "voevent-filter",
      name: "",
      checkall: "true",
      otherwise: false,
      rulesFrom: "node",
      ...props,
      wires,
    },
    ...wires.map(([id]) => ({ id, type: "helper" })),
    catchNode("c", ["caught"]),
    { id: "caught", type: "helper" },
  ];
}

/** Sends packets through f and returns, for each, the outputs it came out of. */
async function route(payloads: (string | Buffer)[], outputs: number): Promise<number[][]> {
  const seen: number[][] = payloads.map(() => []);
  for (let i = 0; i < outputs; i++) {
    getNode(`o${i}`).on("input", (msg: Msg) => {
      seen[msg.n as number].push(i);
    });
  }
  payloads.forEach((payload, n) => {
    getNode("f").receive({ payload, n });
  });
  await sleep(50);
  return seen;
}

describe("voevent-filter node", () => {
  useNodeRed();

  it("sends each packet to the outputs whose rules match (check all)", async () => {
    const rules = [
      { t: "role", op: "is", role: "observation" },
      { t: "stream", pattern: "ivo://fixtures.example/*" },
      // retraction.xml puts VOEvent in the default namespace: unprefixed names would not match its children.
      { t: "xpath", xpath: 'count(//*[local-name()="EventIVORN"][@cite="retraction"]) > 0' },
    ];
    await loadFlow(["voevent-filter"], flow({ rules, outputs: 3 }, 3));
    const seen = await route(
      [fixture("full-v2.xml"), fixture("retraction.xml"), fixture("no-namespace.xml")],
      3,
    );
    const streams = ["full-v2", "retraction", "no-namespace"].map(
      (f) => getParsed(fixture(`${f}.xml`)).voevent,
    );
    assert.equal(streams[0].role, "observation");
    assert.deepEqual(seen[0], [0, 1]);
    assert.deepEqual(seen[1], streams[1].role === "observation" ? [0, 1, 2] : [1, 2]);
    assert.deepEqual(seen[2], streams[2].stream.startsWith("ivo://fixtures.example/") ? [0, 1] : [0]);
  });

  it("stops at the first match when checkall is false", async () => {
    const rules = [
      { t: "role", op: "is", role: "observation" },
      { t: "stream", pattern: "ivo://fixtures.example/*" },
    ];
    await loadFlow(["voevent-filter"], flow({ rules, checkall: "false", outputs: 2 }, 2));
    const seen = await route([fixture("full-v2.xml")], 2);
    assert.deepEqual(seen, [[0]]);
  });

  it("sends what no rule matched to the otherwise output, and only that", async () => {
    const rules = [{ t: "role", op: "is", role: "prediction" }];
    await loadFlow(["voevent-filter"], flow({ rules, otherwise: true, outputs: 2 }, 2));
    const seen = await route([fixture("full-v2.xml")], 2);
    assert.deepEqual(seen, [[1]]);
    const none = await loadAndRoute(
      { rules: [{ t: "role", op: "is", role: "observation" }], otherwise: true },
      2,
    );
    assert.deepEqual(none, [[0]]);
  });

  async function loadAndRoute(props: Record<string, unknown>, outputs: number) {
    await helper.unload();
    await loadFlow(["voevent-filter"], flow({ ...props, outputs }, outputs));
    return route([fixture("full-v2.xml")], outputs);
  }

  it("without otherwise, sends nothing when nothing matches", async () => {
    await loadFlow(["voevent-filter"], flow({ rules: [{ t: "role", role: "utility" }], outputs: 1 }, 1));
    assert.deepEqual(await route([fixture("full-v2.xml")], 1), [[]]);
  });

  it("uses msg.voevent when present: no payload needed for model rules", async () => {
    await loadFlow(["voevent-filter"], flow({ rules: [{ t: "role", role: "test" }], outputs: 1 }, 1));
    const voevent = getParsed(fixture("full-v2.xml")).voevent;
    const got = nextMessage("o0");
    getNode("f").receive({ voevent: { ...voevent, role: "test" } });
    assert.equal(((await got).voevent as { role: string }).role, "test");
  });

  it("reports a payload that is not a VOEvent to a Catch node", async () => {
    await loadFlow(
      ["voevent-filter"],
      flow({ rules: [{ t: "role", role: "test" }], otherwise: true, outputs: 2 }, 2),
    );
    const out = [collect("o0"), collect("o1")];
    const red = waitForStatus("f", (s) => s.fill === "red");
    let caught = nextMessage("caught");
    getNode("f").receive({ payload: "<nope" });
    assert.match(caughtError(await caught), /VOEventError/);
    assert.equal((await red).text, "refused: MALFORMED");
    caught = nextMessage("caught");
    getNode("f").receive({ payload: 12 });
    assert.match(caughtError(await caught), /msg\.payload must be VOEvent XML/);
    assert.equal(out[0].length + out[1].length, 0);
  });

  it("refuses to start with an XPath that does not compile", async () => {
    const rules = [
      { t: "role", role: "test" },
      { t: "xpath", xpath: "//Param[@name=" },
    ];
    await loadFlow(["voevent-filter"], flow({ rules, outputs: 2 }, 2));
    assert.deepEqual(statusHistory("f"), [{ fill: "red", shape: "ring", text: "invalid rule: see debug" }]);
    const caught = nextMessage("caught");
    getNode("f").receive({ payload: fixture("full-v2.xml") });
    assert.match(caughtError(await caught), /rule 2 \(xpath\): XPath/);
  });

  it("refuses to start with other unusable rules", async () => {
    await loadFlow(
      ["voevent-filter"],
      flow({ rules: [{ t: "cone", ra: 0, dec: 91, radius: 1 }], outputs: 1 }, 1),
    );
    const caught = nextMessage("caught");
    getNode("f").receive({ payload: fixture("full-v2.xml") });
    assert.match(caughtError(await caught), /rule 1 \(cone\): Dec/);
  });

  it("checks XPath for the editor: POST /voevent/xpath/check", async () => {
    await loadFlow(["voevent-filter"], flow({ rules: [], outputs: 0 }, 0));
    const ok = await helper.request().post("/voevent/xpath/check").send({ xpath: '//Param[@name="x"]' });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { ok: true });
    const bad = await helper.request().post("/voevent/xpath/check").send({ xpath: "//Param[" });
    assert.equal(bad.status, 200);
    assert.equal((bad.body as { ok: boolean }).ok, false);
    assert.match(String((bad.body as { error: string }).error), /XPath syntax error/);
    const none = await helper.request().post("/voevent/xpath/check").send({});
    assert.equal(none.status, 400);
  });

  describe("rules from a context variable", () => {
    const contextFlow = (props: Record<string, unknown> = {}, outputs = 2) =>
      flow(
        { rulesFrom: "context", rulesContext: "flow", rulesKey: "subs", otherwise: true, outputs, ...props },
        outputs,
      );

    it("sends a copy per matching entry with msg.subscription, and follows changes", async () => {
      await loadFlow(["voevent-filter"], contextFlow());
      const flowContext = getNode("f").context().flow;
      const matched = collect("o0");
      const other = collect("o1");
      const send = async () => {
        getNode("f").receive({ payload: fixture("full-v2.xml") });
        await sleep(20);
      };

      await send();
      assert.equal(matched.length, 0);
      assert.equal(other.length, 1, "no variable yet: otherwise");

      flowContext.set("subs", [
        { name: "real", xpath: '/*[@role="observation"]' },
        { name: "tests", xpath: '/*[@role="test"]' },
        { name: "fixtures", t: "stream", pattern: "ivo://fixtures.example/*" },
      ]);
      await send();
      assert.deepEqual(
        matched.map((m) => m.subscription),
        ["real", "fixtures"],
      );
      assert.notEqual(matched[0], matched[1], "each a copy");
      assert.equal(other.length, 1);
      assert.equal(statusHistory("f").at(-1)?.text, "3 rules from flow.subs");

      flowContext.set("subs", [{ name: "tests", xpath: '/*[@role="test"]' }]);
      await send();
      assert.equal(matched.length, 2, "routing changed with the variable");
      assert.equal(other.length, 2);
    });

    it("honours checkall false: only the first matching entry", async () => {
      await loadFlow(["voevent-filter"], contextFlow({ checkall: "false" }));
      getNode("f")
        .context()
        .flow.set("subs", [
          { name: "a", xpath: "/*" },
          { name: "b", xpath: "/*" },
        ]);
      const matched = collect("o0");
      getNode("f").receive({ payload: fixture("full-v2.xml") });
      await sleep(20);
      assert.deepEqual(
        matched.map((m) => m.subscription),
        ["a"],
      );
    });

    it("skips an entry that does not compile, warning once", async () => {
      await loadFlow(["voevent-filter"], contextFlow());
      getNode("f")
        .context()
        .flow.set("subs", [
          { name: "bad", xpath: "//Param[" },
          { name: "good", xpath: "/*" },
        ]);
      const matched = collect("o0");
      for (let i = 0; i < 3; i++) getNode("f").receive({ payload: fixture("full-v2.xml") });
      await sleep(30);
      assert.deepEqual(
        matched.map((m) => m.subscription),
        ["good", "good", "good"],
      );
      const warnings = callsOf("f", "warn").map(([w]) => String(w));
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /^flow\.subs: skipped 'bad': XPath syntax error/);
      assert.deepEqual(statusHistory("f").at(-1), {
        fill: "yellow",
        shape: "ring",
        text: "1 rule, 1 skipped (flow.subs)",
      });
    });

    it("reads a global variable", async () => {
      await loadFlow(["voevent-filter"], contextFlow({ rulesContext: "global", otherwise: false }, 1));
      getNode("f")
        .context()
        .global.set("subs", [{ name: "all", xpath: "/*" }]);
      const got = nextMessage("o0");
      getNode("f").receive({ payload: fixture("full-v2.xml") });
      assert.equal((await got).subscription, "all");
      assert.deepEqual(statusHistory("f").at(-1), {
        fill: "green",
        shape: "dot",
        text: "1 rule from global.subs",
      });
    });

    it("without a variable name, reports each message", async () => {
      await loadFlow(["voevent-filter"], contextFlow({ rulesKey: "" }));
      const caught = nextMessage("caught");
      getNode("f").receive({ payload: fixture("full-v2.xml") });
      assert.match(caughtError(await caught), /none is named/);
    });
  });
});

describeCorpus("voevent-filter node on real packets", () => {
  useNodeRed();

  const packets = [
    "voevent-parse__SWIFT_bat_position_v2.0_example.xml", // 0: Swift BAT, Packet_Type 61, Sun 92.05, observation
    "gwcelery__swift_grb_gcn.xml", // 1: Swift BAT 61, (268.87, -20.3153) err 0.05
    "gwcelery__G298048-1-Initial.xml", // 2: ivo://gwnet, no position
    "gwcelery__snews_gcn_test.xml", // 3: role test
    "growth-too-marshal__GRB180116A_Fermi_GBM_Fin_Pos.xml", // 4: Fermi Packet_Type 115
  ];
  const send = () => route(packets.map(readPacket), 7);

  it("routes by XPath, Param, role, stream and cone", async () => {
    const rules = [
      { t: "xpath", xpath: '//Param[@name="Packet_Type" and @value=61]' },
      { t: "param", name: "Sun_Distance", op: "gt", value: "40" },
      { t: "role", op: "is", role: "test" },
      { t: "stream", pattern: "ivo://gwnet/*" },
      { t: "cone", ra: 268.87, dec: -20, radius: 0.3 },
      { t: "cone", ra: 268.87, dec: -20, radius: 0.3, error: true },
    ];
    await loadFlow(["voevent-filter"], flow({ rules, otherwise: true, outputs: 7 }, 7));
    const seen = await send();
    assert.deepEqual(seen[0], [0, 1]);
    assert.deepEqual(seen[1], [0, 1, 5], "inside the cone only with its error circle");
    assert.deepEqual(seen[2], [3]);
    assert.deepEqual(seen[3], [1, 2, 5], "SNEWS: (0, 0) with a 360° error circle overlaps every cone");
    assert.deepEqual(seen[4], [1]);
  });

  it("Param Packet_Type = 61 and role is not test, stopping at the first match", async () => {
    const rules = [
      { t: "param", name: "Packet_Type", op: "eq", value: "61" },
      { t: "role", op: "not", role: "test" },
    ];
    await loadFlow(["voevent-filter"], flow({ rules, checkall: "false", otherwise: true, outputs: 3 }, 3));
    const seen = await route(packets.map(readPacket), 3);
    assert.deepEqual(seen, [[0], [0], [1], [2], [1]]);
  });

  it("GCN notice type by name: Swift BAT (61) and Fermi GBM final (115) each to their output", async () => {
    const rules = [
      { t: "gcn", types: [61] },
      { t: "gcn", types: ["FERMI_GBM_FIN_POS", "LVC_INITIAL"] },
    ];
    await loadFlow(["voevent-filter"], flow({ rules, otherwise: true, outputs: 3 }, 3));
    const seen = await route(packets.map(readPacket), 3);
    assert.deepEqual(seen, [[0], [0], [1], [2], [1]]);
  });

  it("lists GCN's notice types for the dialog: GET /voevent/filter/gcn-types", async () => {
    await loadFlow(["voevent-filter"], flow({ rules: [], outputs: 0 }, 0));
    const res = await helper.request().get("/voevent/filter/gcn-types");
    assert.equal(res.status, 200);
    const list = res.body as { type: number; name: string; mission: string }[];
    assert.deepEqual(
      list.find((g) => g.type === 111),
      { type: 111, name: "FERMI_GBM_FLT_POS", mission: "Fermi" },
    );
    assert.ok(list.some((g) => g.name === "ICECUBE_CASCADE"));
  });

  it("Try runs a deployed registry's actual rules, by name: POST /voevent/filter/try/<id>", async () => {
    await loadFlow(
      ["voevent-filter"],
      flow({ rulesFrom: "context", rulesContext: "flow", rulesKey: "subs", otherwise: true, outputs: 2 }, 2),
    );
    getNode("f")
      .context()
      .flow.set("subs", [
        { name: "fermi", rule: { t: "gcn", types: ["FERMI_GBM_FIN_POS"] } },
        { name: "swift", xpath: '//Param[@name="Packet_Type" and @value=61]' },
        { name: "near", rule: { t: "cone", ra: 0, dec: 0, radius: 1 } },
        { name: "broken" },
      ]);
    const xml = readPacket(packets[4] as string).toString("utf8");
    const res = await helper.request().post("/voevent/filter/try/f").send({ xml });
    assert.equal(res.status, 200);
    const body = res.body as {
      ok: boolean;
      results: { name: string; matches: boolean; setting?: string; value?: string }[];
      problems: string[];
    };
    assert.equal(body.ok, true);
    assert.deepEqual(
      body.results.map((r) => [r.name, r.matches]),
      [
        ["fermi", true],
        ["swift", false],
        ["near", false],
      ],
    );
    assert.equal(body.results[0]?.value, "Packet_Type FERMI_GBM_FIN_POS (115)");
    assert.match(body.results[2]?.value ?? "", /° from the centre$/);
    assert.deepEqual(body.problems, ["'broken' has neither an xpath nor a rule { t, … }"]);
    const unknown = await helper.request().post("/voevent/filter/try/nope").send({ xml });
    assert.equal(unknown.status, 404);
  });
});
