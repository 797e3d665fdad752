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
 *
 * Entries come from whoever fills the variable (often subscribers, through a flow), so
 * they have the limits of ./limits.ts, as a broadcaster's subscribers do: each name (a
 * subscriber) may have at most `maxFilters` entries, whose XPath expressions together
 * are at most `maxFilterLength` characters (entries beyond are skipped, as problems);
 * each evaluation of an xpath entry has `xpathBudget` units of work: an entry that needs
 * more counts as not matching and is reported once (`onReport`, with its text), and an
 * entry that exceeds it on `maxBudgetOverruns` messages in a row is set aside (reported)
 * until the variable changes.
 */
import { type FilterLimits, filterLimits } from "./limits";
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

export interface RegistryOptions extends Partial<FilterLimits> {
  /** Told, once each, of entries that exceed their budget or are set aside for it. */
  onReport?: (message: string) => void;
}

export class RuleRegistry {
  private json: string | undefined;
  private rules: readonly NamedRule[] = [];
  private readonly limits: FilterLimits;
  private readonly onReport: ((message: string) => void) | undefined;

  /** Throws RangeError naming a limit that is not a whole number ≥ 1. */
  constructor(options?: RegistryOptions) {
    this.limits = filterLimits(options);
    this.onReport = options?.onReport;
  }

  /** Compiles `value` when its content differs from last time; otherwise returns the rules already compiled. */
  update(value: unknown): RegistryUpdate {
    const json = fingerprint(value);
    if (this.json !== undefined && json === this.json) {
      return { rules: this.rules, changed: false, problems: [] };
    }
    this.json = json;
    const { rules, problems } = compileRegistry(value, this.limits, this.onReport);
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
export function compileRegistry(
  value: unknown,
  limits?: Partial<FilterLimits>,
  onReport?: (message: string) => void,
): { rules: NamedRule[]; problems: RegistryProblem[] } {
  const lim = filterLimits(limits);
  const rules: NamedRule[] = [];
  const problems: RegistryProblem[] = [];
  if (value === undefined || value === null) return { rules, problems };
  if (!Array.isArray(value)) {
    problems.push({ index: -1, name: null, message: "the rule list is not an array of { name, xpath }" });
    return { rules, problems };
  }
  /** Per name: entries and XPath characters so far. */
  const used = new Map<string, { filters: number; length: number }>();
  value.forEach((entry: unknown, index: number) => {
    const read = readEntry(entry, index);
    if ("message" in read) {
      problems.push(read);
      return;
    }
    const { name, rule } = read;
    const count = used.get(name) ?? { filters: 0, length: 0 };
    const length = rule.t === "xpath" && typeof rule.xpath === "string" ? rule.xpath.length : 0;
    if (count.filters + 1 > lim.maxFilters) {
      problems.push({ index, name, message: `'${name}': more than ${lim.maxFilters} rules (maxFilters)` });
      return;
    }
    if (count.length + length > lim.maxFilterLength) {
      problems.push({
        index,
        name,
        message: `'${name}': its XPath expressions are longer than ${lim.maxFilterLength} characters together (maxFilterLength)`,
      });
      return;
    }
    try {
      rules.push({ name, test: budgeted(name, rule, lim, onReport) });
      used.set(name, { filters: count.filters + 1, length: count.length + length });
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

/** One registry entry read: its name and rule, or what is wrong with it (not compiled yet). */
export function readEntry(
  entry: unknown,
  index: number,
): { name: string; rule: FilterRule } | RegistryProblem {
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
    return { index, name: null, message: `entry ${index + 1} is not an object { name, xpath }` };
  }
  const record = entry as Record<string, unknown>;
  const name = typeof record.name === "string" && record.name.trim() !== "" ? record.name : null;
  if (name === null) {
    return { index, name: null, message: `entry ${index + 1} has no name` };
  }
  const nested = record.rule;
  if (nested !== undefined && (nested === null || typeof nested !== "object" || Array.isArray(nested))) {
    return { index, name, message: `'${name}': rule is not an object { t, … }` };
  }
  if (nested === undefined && record.t === "param") {
    return {
      index,
      name,
      message: `'${name}': a param rule goes in rule: { t: "param", name, op, value }, apart from the subscription's name`,
    };
  }
  const rule: FilterRule | null =
    nested !== undefined
      ? (nested as FilterRule)
      : typeof record.t === "string"
        ? (record as unknown as FilterRule)
        : typeof record.xpath === "string"
          ? { t: "xpath", xpath: record.xpath }
          : null;
  if (rule === null) return { index, name, message: `'${name}' has neither an xpath nor a rule { t, … }` };
  return { name, rule };
}

/**
 * One entry's predicate under the budget: an overrun is no match (reported the first
 * time); `maxBudgetOverruns` in a row set the entry aside (reported) until recompiled.
 */
function budgeted(
  name: string,
  rule: FilterRule,
  limits: FilterLimits,
  onReport: ((message: string) => void) | undefined,
): RulePredicate {
  let overrunNow = false;
  let inARow = 0;
  let setAside = false;
  const test = compileRule(rule, {
    xpathBudget: limits.xpathBudget,
    onBudgetExceeded: ({ message, first }) => {
      overrunNow = true;
      if (first) onReport?.(`'${name}': ${message}; it counts as not matching`);
    },
  });
  return (subject) => {
    if (setAside) return false;
    overrunNow = false;
    const hit = test(subject);
    inARow = overrunNow ? inARow + 1 : 0;
    if (inARow >= limits.maxBudgetOverruns) {
      setAside = true;
      onReport?.(
        `'${name}' exceeded its XPath budget on ${inARow} messages in a row (maxBudgetOverruns): set aside until the rules change`,
      );
    }
    return hit;
  };
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
