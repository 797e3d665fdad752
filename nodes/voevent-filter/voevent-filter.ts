/**
 * voevent-filter: routes events by rules (src/filter), one output per rule as
 * the switch node does, plus an optional "otherwise" output. With rulesFrom
 * "context", the rules are a registry `[{ name, xpath }]` in a flow or global
 * context variable, read on every message (compiled only when it changes):
 * each matching entry sends a copy of the message with msg.subscription set to
 * its name, all on the first output.
 */
import type { NodeAPI, NodeContextData, NodeDef, NodeMessage } from "node-red";
import { eventOf } from "../../src/contract";
import {
  compileRules,
  type FilterRule,
  type FilterSubject,
  matchingRules,
  type RegistryProblem,
  type RulePredicate,
  RuleRegistry,
  type SignatureSummary,
} from "../../src/filter";
import { errorStatusText, flag } from "../shared/config";
import { asError, onClose, onInput } from "../shared/lifecycle";
import { StatusFlasher, statusError, statusIdle, statusOk, statusWarn } from "../shared/status";
import type { Node } from "../shared/types";
import { registerXPathCheck } from "../shared/xpath-check";
import { forgetNode, registerTryEndpoints, rememberEvent, setRegistryReader } from "./try-endpoint";

interface FilterNodeDef extends NodeDef {
  rules?: FilterRule[];
  /** "true" (default): every matching rule; "false": the first only. */
  checkall?: string | boolean;
  /** An extra last output for events no rule matched. */
  otherwise?: boolean | string;
  /** "node" (default): the rules above; "context": a registry in a context variable. */
  rulesFrom?: "node" | "context";
  rulesContext?: "flow" | "global";
  rulesKey?: string;
}

/**
 * The event with msg.signature for the `signed` rule (getters kept: `doc` is parsed only if asked
 * for). A class: an object literal's getters are new functions per message, which V8 keeps in the
 * object's hidden class, so that every message outlived the young generation's collections.
 */
class SignedSubject implements FilterSubject {
  readonly signature: SignatureSummary | null;

  constructor(
    private readonly ev: FilterSubject,
    signature: unknown,
  ) {
    this.signature =
      signature !== null &&
      typeof signature === "object" &&
      typeof (signature as SignatureSummary).verdict === "string"
        ? (signature as SignatureSummary)
        : null;
  }

  get voevent(): FilterSubject["voevent"] {
    return this.ev.voevent;
  }

  get doc(): FilterSubject["doc"] {
    return this.ev.doc;
  }
}

function init(RED: NodeAPI): void {
  registerXPathCheck(RED, "voevent-filter.write");
  registerTryEndpoints(RED);

  function VOEventFilterNode(this: Node, config: FilterNodeDef) {
    RED.nodes.createNode(this, config);
    const flasher = new StatusFlasher(this);
    const checkall = !(config.checkall === false || config.checkall === "false");
    const otherwise = flag(config.otherwise);
    const fromContext = config.rulesFrom === "context";

    /** Reports an error about one message: a red status for a while, then done(err). */
    const failed = (err: unknown): Error => {
      flasher.flash(statusError(errorStatusText(RED, "voevent-filter", err)));
      return asError(err);
    };

    if (!fromContext) {
      let predicates: RulePredicate[] = [];
      let problem: Error | null = null;
      try {
        // An XPath rule over its budget counts as not matching: reported once per rule.
        predicates = compileRules(config.rules ?? [], {
          onBudgetExceeded: ({ message, first }) => {
            if (first) this.warn(RED._("voevent-filter.errors.budget", { error: message }));
          },
        });
      } catch (err) {
        problem = asError(err);
        this.error(RED._("voevent-filter.errors.rule", { error: problem.message }));
        flasher.set(statusError(RED._("voevent-filter.status.bad-rule")));
      }
      const outputs = predicates.length + (otherwise ? 1 : 0);

      onInput(this, (msg, send, done) => {
        rememberEvent(this.id, msg);
        if (problem !== null) {
          done(problem);
          return;
        }
        let hits: number[];
        try {
          hits = matchingRules(predicates, new SignedSubject(eventOf(msg), msg.signature), checkall);
        } catch (err) {
          done(failed(err));
          return;
        }
        const out: (NodeMessage | null)[] = new Array(outputs).fill(null);
        for (const i of hits) out[i] = msg;
        if (hits.length === 0 && otherwise) out[predicates.length] = msg;
        if (out.some((m) => m !== null)) send(out);
        done();
      });
      onClose(this, () => {
        forgetNode(this.id);
        flasher.close();
      });
      return;
    }

    // Rules from a context variable.
    const scope = config.rulesContext === "global" ? "global" : "flow";
    const { key, store } = RED.util.parseContextStore(String(config.rulesKey ?? "").trim());
    const where = `${scope}.${key}`;
    const context: NodeContextData = this.context()[scope];
    const registry = new RuleRegistry({
      onReport: (message) =>
        this.warn(RED._("voevent-filter.errors.registry-budget", { where, error: message })),
    });
    let closed = false;
    if (key === "") {
      this.error(RED._("voevent-filter.errors.no-key"));
      flasher.set(statusError(RED._("voevent-filter.status.no-key")));
    } else {
      flasher.set(statusIdle(RED._("voevent-filter.status.waiting", { where })));
    }

    if (key !== "")
      setRegistryReader(
        this.id,
        () =>
          new Promise((resolve, reject) =>
            context.get(key, store, (err: Error | null | undefined, value: unknown) =>
              err ? reject(err) : resolve(value),
            ),
          ),
      );

    const report = (count: number, problems: readonly RegistryProblem[]) => {
      for (const p of problems)
        this.warn(RED._("voevent-filter.errors.registry", { where, error: p.message }));
      if (problems.length > 0) {
        flasher.set(
          statusWarn(
            RED._("voevent-filter.status.rules-skipped", { count, skipped: problems.length, where }),
          ),
        );
      } else if (count === 0) {
        flasher.set(statusIdle(RED._("voevent-filter.status.no-rules", { where })));
      } else {
        flasher.set(statusOk(RED._("voevent-filter.status.rules", { count, where })));
      }
    };

    const route = (
      msg: NodeMessage,
      value: unknown,
      send: (m: (NodeMessage | NodeMessage[] | null)[]) => void,
    ) => {
      const update = registry.update(value);
      if (update.changed) report(update.rules.length, update.problems);
      const event = new SignedSubject(eventOf(msg), msg.signature);
      const copies: NodeMessage[] = [];
      for (const rule of update.rules) {
        if (!rule.test(event)) continue;
        const copy = RED.util.cloneMessage(msg);
        copy.subscription = rule.name;
        copies.push(copy);
        if (!checkall) break;
      }
      if (copies.length > 0) send(otherwise ? [copies, null] : [copies]);
      else if (otherwise) send([null, msg]);
    };

    onInput(this, (msg, send, done) => {
      rememberEvent(this.id, msg);
      if (key === "") {
        done(new Error(RED._("voevent-filter.errors.no-key")));
        return;
      }
      context.get(key, store, (err: Error | null | undefined, value: unknown) => {
        if (closed) {
          done();
          return;
        }
        if (err) {
          done(failed(err));
          return;
        }
        try {
          route(msg, value, send);
        } catch (e) {
          done(failed(e));
          return;
        }
        done();
      });
    });

    onClose(this, () => {
      closed = true;
      forgetNode(this.id);
      flasher.close();
    });
  }
  RED.nodes.registerType("voevent-filter", VOEventFilterNode);
}

export = init;
