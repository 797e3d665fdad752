/**
 * The filter rule type "gcn" (GCN notice type): the packet's `Packet_Type` Param is one of
 * the chosen GCN notice types, given by number (111) or by GCN's name ("FERMI_GBM_FLT_POS"),
 * as pygcn's `include_notice_types(FERMI_GBM_FLT_POS, …)` does.
 *
 * Decisions:
 * - A name GCN does not have is refused (a typo must not silently match nothing); a number
 *   GCN does not name is accepted (a newer type than the table).
 * - At most MAX_GCN_TYPES (300) entries in one rule: more than GCN has.
 * - A packet without a whole-number Packet_Type never matches.
 */
import { gcnNoticeTypeByName, packetTypeOf } from "../voevent/gcn-types";
import type { FilterSubject, RulePredicate } from "./rules";

export const MAX_GCN_TYPES = 300;

export interface GcnRule {
  t: "gcn";
  /** Packet_Type numbers or GCN names. */
  types: ReadonlyArray<number | string>;
}

/** The rule's types as numbers; throws an Error naming the entry it cannot read. */
export function gcnRuleTypes(types: unknown): number[] {
  if (!Array.isArray(types) || types.length === 0) throw new Error("choose at least one GCN notice type");
  if (types.length > MAX_GCN_TYPES)
    throw new Error(`at most ${MAX_GCN_TYPES} GCN notice types in one rule, not ${types.length}`);
  return types.map((entry: unknown) => {
    if (typeof entry === "number" && Number.isInteger(entry) && entry >= 0) return entry;
    if (typeof entry === "string") {
      const text = entry.trim();
      if (/^\d{1,6}$/.test(text)) return Number(text);
      const known = gcnNoticeTypeByName(text);
      if (known) return known.type;
      throw new Error(
        `'${text.slice(0, 60)}' is not a GCN notice type name (e.g. FERMI_GBM_FLT_POS) or number`,
      );
    }
    throw new Error(`'${String(entry).slice(0, 60)}' is not a GCN notice type name or number`);
  });
}

export function compileGcnRule(rule: GcnRule): RulePredicate {
  const wanted = new Set(gcnRuleTypes(rule.types));
  return (s: FilterSubject) => {
    const type = packetTypeOf(s.voevent);
    return type !== null && wanted.has(type);
  };
}
