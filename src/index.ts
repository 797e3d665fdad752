/**
 * The library entry of @voevent/node-red-voevent: the engine the Node-RED nodes use, for plain
 * Node.js programs and for Node-RED function nodes (setup tab, module "@voevent/node-red-voevent").
 *
 *   const { parseVOEvent, compileXPath, VTPSubscriber } = require("@voevent/node-red-voevent");
 *
 * Nothing here imports Node-RED. Each name is exported explicitly, so that the entry stays the
 * package's public interface: a module's internal helpers are not part of it.
 *
 * Decisions:
 * - One entry (CommonJS, with its .d.ts), reached through package.json's `main`, `types` and
 *   `exports`; `@voevent/node-red-voevent/package.json` stays reachable for tools that read it.
 * - Errors are values with a code: VOEventError (`err.code`), RuleError, SendError.
 */

export { type EventMessage, eventMessage, type VtpInfo } from "./contract";
// Dedupe stores.
export { FileStore, type FileStoreOptions } from "./dedupe/file";
export { sha1Key } from "./dedupe/keys";
export { MemoryStore, type MemoryStoreOptions } from "./dedupe/memory";
export type { SeenStore, SeenStoreOptions } from "./dedupe/store";
// Errors and the message contract.
export { isVOEventError, VOEventError, type VOEventErrorCode } from "./errors";
// Filter rules, as the voevent-filter node compiles them.
export {
  checkXPath,
  compileRule,
  compileRules,
  type FilterRule,
  type FilterSubject,
  type GcnRule,
  matchingRules,
  RuleError,
  type RulePredicate,
} from "./filter";
// "Try a filter": rules on a packet, or on the sample packets shipped in samples/.
export { SAMPLES, type TryResult, tryRules, trySamples } from "./monitor/try";
// OpenPGP signatures on VOEvents (Comet's appendix).
export {
  InOrder,
  type KeyInfo,
  Keyring,
  type SignatureMode,
  type SignatureVerdict,
  Signer,
  signPacket,
  type VerdictName,
  verifyPacket,
} from "./signature";
// VOEvent: parse, model, IVORN rules, build, test alerts.
export {
  buildVOEvent,
  DEFAULT_TEST_SENDER,
  DEFAULT_TEST_STREAM,
  hasLocalId,
  isIvorn,
  newIvorn,
  type ParsedIvorn,
  type ParsedVOEvent,
  type ParseVOEventOptions,
  parseIvorn,
  parseVOEvent,
  streamOf,
  type TestAlertOptions,
  testAlert,
  topicFor,
  type VOEvent,
  type VOEventInput,
} from "./voevent";
// GCN's notice types (Packet_Type numbers and names).
export {
  GCN_NOTICE_TYPES,
  type GcnNoticeType,
  gcnNoticeType,
  gcnNoticeTypeByName,
  gcnTypeLabel,
  packetTypeOf,
} from "./voevent/gcn-types";
export { BACKLOG_DEFAULTS, type BacklogChange, type Finish } from "./vtp/backlog";
// VTP: receiver, broadcaster, subscriber, sender.
export {
  type BroadcasterOptions,
  type SubscriberInfo,
  VTPBroadcaster,
} from "./vtp/broadcaster";
export { EVENT_FILTER_DEFAULTS, type EventFilterLimits, type FilterRunReport } from "./vtp/filter-runs";
export {
  type NakInfo,
  type ReceivedEvent,
  VTPReceiver,
  type VTPReceiverOptions,
} from "./vtp/receiver";
export { SendError, type SendOptions, type SendResult, sendEvent } from "./vtp/sender";
export {
  type SubscribedEvent,
  type SubscriberOptions,
  type SubscriberState,
  VTPSubscriber,
} from "./vtp/subscriber";
export { type ParseXmlOptions, parseXml } from "./xml/parse";
// XPath 1.0 over the parsed tree (ParsedVOEvent.doc, or parseXml's result).
export { type CompiledXPath, type CompileXPathOptions, compileXPath, quoteXPath } from "./xpath";
