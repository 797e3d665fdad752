/**
 * A runtime registry of named rules: the list a flow keeps in a context
 * variable (`[{ name, xpath }]`, as subscriptions are added and removed) and
 * the filter node reads on every message. It is compiled only when its content
 * changes (compared as JSON), and an entry that does not compile is skipped and
 * reported once, never fatal: one bad subscription must not stop the others.
 *
 * An entry is `{ name, xpath }`, or `{ name, rule: { t, … } }` with any rule of ./rules.ts: the
 * subscription's name stays apart from the rule's own fields (a Param rule has a `name` of its
 * own, the Param's). The older flat form `{ name, t, … }` is still read, for every rule type but
 * `param`, whose `name` it could not tell from the subscription's.
 */
import { compileRule, type FilterRule, type RulePredicate } from "./rules";

export interface NamedRule {
  readonly name: string;
  readonly test: RulePredicate;
}

export interface RegistryProblem {
  /** 0-based position in the list. */
  readonly index: number;
  /** The entry's name, when it has one. */
  readonly name: string | null;
  readonly message: string;
}

export interface RegistryUpdate {
  readonly rules: readonly NamedRule[];
  /** Whether the content differs from the previous call (always true on the first). */
  readonly changed: boolean;
  /** What was wrong with the new content; empty when unchanged, so each is reported once. */
  readonly problems: readonly RegistryProblem[];
}

export class RuleRegistry {
  private json: string | undefined;
  private rules: readonly NamedRule[] = [];

  /** Compiles `value` when its content differs from last time; otherwise returns the rules already compiled. */
  update(value: unknown): RegistryUpdate {
    const json = fingerprint(value);
    if (this.json !== undefined && json === this.json) {
      return { rules: this.rules, changed: false, problems: [] };
    }
    this.json = json;
    const { rules, problems } = compileRegistry(value);
    this.rules = rules;
    return { rules, changed: true, problems };
  }

  /** Forgets the cached list: the next update compiles again. */
  reset(): void {
    this.json = undefined;
    this.rules = [];
  }
}

/** Compiles a registry list, collecting problems instead of throwing. */
export function compileRegistry(value: unknown): { rules: NamedRule[]; problems: RegistryProblem[] } {
  const rules: NamedRule[] = [];
  const problems: RegistryProblem[] = [];
  if (value === undefined || value === null) return { rules, problems };
  if (!Array.isArray(value)) {
    problems.push({ index: -1, name: null, message: "the rule list is not an array of { name, xpath }" });
    return { rules, problems };
  }
  value.forEach((entry: unknown, index: number) => {
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
      problems.push({ index, name: null, message: `entry ${index + 1} is not an object { name, xpath }` });
      return;
    }
    const record = entry as Record<string, unknown>;
    const name = typeof record.name === "string" && record.name.trim() !== "" ? record.name : null;
    if (name === null) {
      problems.push({ index, name: null, message: `entry ${index + 1} has no name` });
      return;
    }
    const nested = record.rule;
    if (nested !== undefined && (nested === null || typeof nested !== "object" || Array.isArray(nested))) {
      problems.push({ index, name, message: `'${name}': rule is not an object { t, … }` });
      return;
    }
    if (nested === undefined && record.t === "param") {
      problems.push({
        index,
        name,
        message: `'${name}': a param rule goes in rule: { t: "param", name, op, value }, apart from the subscription's name`,
      });
      return;
    }
    const rule: FilterRule | null =
      nested !== undefined
        ? (nested as FilterRule)
        : typeof record.t === "string"
          ? (record as unknown as FilterRule)
          : typeof record.xpath === "string"
            ? { t: "xpath", xpath: record.xpath }
            : null;
    if (rule === null) {
      problems.push({ index, name, message: `'${name}' has neither an xpath nor a rule { t, … }` });
      return;
    }
    try {
      rules.push({ name, test: compileRule(rule) });
    } catch (err) {
      problems.push({
        index,
        name,
        message: `'${name}': ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  });
  return { rules, problems };
}

function fingerprint(value: unknown): string {
  if (value === undefined) return "undefined";
  try {
    return JSON.stringify(value) ?? "undefined";
  } catch {
    // Circular or not serialisable: never equal to anything, so compiled each time (and reported).
    return `unserialisable:${Math.random()}`;
  }
}
