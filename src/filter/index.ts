export { type GcnRule, gcnRuleTypes, MAX_GCN_TYPES } from "./gcn";
export { globMatcher, globToRegExp } from "./glob";
export { FILTER_LIMIT_DEFAULTS, type FilterLimits, filterLimits } from "./limits";
export {
  compileRegistry,
  type NamedRule,
  type RegistryOptions,
  type RegistryProblem,
  type RegistryUpdate,
  RuleRegistry,
} from "./registry";
export {
  asNumber,
  type ConeRule,
  checkXPath,
  compileRule,
  compileRules,
  type FilterRule,
  type FilterRuleType,
  type FilterSubject,
  type IvornRule,
  matchingRules,
  PARAM_OPS,
  type ParamOp,
  type ParamRule,
  paramValues,
  type RoleOp,
  type RoleRule,
  RULE_TYPES,
  RuleError,
  type RuleOptions,
  type RulePredicate,
  type SignatureSummary,
  type SignedRule,
  type StreamRule,
  type XPathRule,
} from "./rules";
