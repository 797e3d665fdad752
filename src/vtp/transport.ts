/**
 * VTP Transport messages (ack, nak, iamalive, authenticate): reading what any
 * real peer sends, and writing exactly what Comet sends.
 *
 * Reading is lenient where peers differ (five namespaces, time stamps with or
 * without a zone, eSTAR's v0.1 `Meta/Group/Param`), strict where it matters
 * (the root must be a Transport in a known namespace, with a role).
 *
 * Writing uses string templates, not a DOM: one ack per event is on the hot
 * path (the receiver makes its acks as bytes cut from this template:
 * ./ack-frame.ts). The output is byte-for-byte the shape of Comet's captured
 * messages (namespace `www.telescope-networks.org/xml/Transport/v1.1`, prefix `trn`,
 * `version="1.0"`, `xsi:schemaLocation`, two-space indentation, trailing
 * newline), with only the values changing.
 */
import { VOEventError } from "../errors";
import { attr, childElement, parseXml, textOf } from "../xml/parse";
import { type XDocument, type XElement, XNodeType } from "../xml/types";

/** The namespace Comet sends (targetNamespace of its Transport-v1.1.xsd). What we send. */
export const TRANSPORT_NS = "http://www.telescope-networks.org/xml/Transport/v1.1";

/**
 * Every Transport namespace accepted on input: Comet's, pygcn's, the third
 * v1.1 variant pygcn accepts, eSTAR's v0.1, and none at all (the VTP 2.0 REC
 * appendix schema declares no targetNamespace).
 */
export const TRANSPORT_NAMESPACES: readonly string[] = [
  TRANSPORT_NS,
  "http://telescope-networks.org/schema/Transport/v1.1",
  "http://telescope-networks.org/xml/Transport/v1.1",
  "http://www.telescope-networks.org/xml/Transport/v0.1",
  "",
];

export type TransportRole = "ack" | "nak" | "iamalive" | "authenticate";
export const TRANSPORT_ROLES: readonly TransportRole[] = ["ack", "nak", "iamalive", "authenticate"];

/** The roles that make a message a VOEvent (VOEvent 2.0 roleValues). */
const EVENT_ROLES: readonly string[] = ["observation", "prediction", "utility", "test"];

export interface TransportParam {
  name: string;
  value: string;
}

export interface TransportMessage {
  /** As written; one of TRANSPORT_ROLES for every real peer, but an unknown role is kept, not refused. */
  role: TransportRole | (string & {});
  /** The version attribute as written ("1.0"; eSTAR: "0.1"); null when absent. */
  version: string | null;
  /** The root element's namespace: one of TRANSPORT_NAMESPACES ('' for none). */
  namespace: string;
  /** Origin, trimmed; null when absent. For ack/nak: the IVORN of the event answered. */
  origin: string | null;
  /** Response, trimmed; null when absent. The answering system's IVORN. */
  response: string | null;
  /** TimeStamp as written (trimmed); zone and fraction vary by peer. */
  timestamp: string | null;
  /** Meta/Result (trimmed): for a nak, the reason. */
  result: string | null;
  /** Every Meta/Param (and eSTAR's Meta/Group/Param), in document order. */
  params: TransportParam[];
  /**
   * XPath filters from Comet's authenticate extension: every
   * Meta/Param[@name="xpath-filter"]/@value, then every legacy
   * Meta/filter[@type="xpath"] text, in document order within each kind.
   */
  filters: string[];
}

export interface ParseTransportOptions {
  /** Largest input accepted, in bytes, when given a string or Buffer. Default: the XML parser's (1 MiB). */
  maxBytes?: number;
}

/**
 * Reads a Transport message. Accepts XML text, a Buffer of UTF-8, or an
 * already parsed document. Throws VOEventError: the XML parser's codes,
 * WRONG_ROOT when the root is not a Transport element, BAD_TRANSPORT for an
 * unknown namespace or a missing role.
 */
export function parseTransport(
  input: string | Buffer | XDocument,
  options: ParseTransportOptions = {},
): TransportMessage {
  const doc =
    typeof input === "string" || Buffer.isBuffer(input)
      ? parseXml(input, options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes })
      : input;
  const root = doc.root;
  if (root.local !== "Transport") {
    throw new VOEventError("WRONG_ROOT", `expected a Transport message, found a <${root.name}> root element`);
  }
  if (!TRANSPORT_NAMESPACES.includes(root.ns)) {
    throw new VOEventError(
      "BAD_TRANSPORT",
      `Transport message in unknown namespace "${root.ns}"; accepted: ${TRANSPORT_NAMESPACES.filter(
        (n) => n !== "",
      )
        .map((n) => `"${n}"`)
        .join(", ")} or none`,
    );
  }
  const role = attr(root, "role");
  if (role === null || role.trim() === "") {
    throw new VOEventError("BAD_TRANSPORT", "Transport message without a role attribute");
  }
  const params: TransportParam[] = [];
  const filters: string[] = [];
  const legacyFilters: string[] = [];
  let result: string | null = null;
  const meta = childElement(root, "Meta");
  if (meta !== null) {
    for (const k of meta.children) {
      if (k.type !== XNodeType.Element) continue;
      if (k.local === "Param") {
        addParam(k, params, filters);
      } else if (k.local === "Group") {
        for (const g of k.children) {
          if (g.type === XNodeType.Element && g.local === "Param") addParam(g, params, filters);
        }
      } else if (k.local === "Result") {
        if (result === null) result = textOf(k).trim();
      } else if (k.local === "filter") {
        const type = attr(k, "type");
        if (type === null || type.trim().toLowerCase() === "xpath") {
          const text = textOf(k).trim();
          if (text !== "") legacyFilters.push(text);
        }
      }
    }
  }
  return {
    role: role.trim(),
    version: attr(root, "version"),
    namespace: root.ns,
    origin: childText(root, "Origin"),
    response: childText(root, "Response"),
    timestamp: childText(root, "TimeStamp"),
    result,
    params,
    filters: legacyFilters.length === 0 ? filters : filters.concat(legacyFilters),
  };
}

function addParam(el: XElement, params: TransportParam[], filters: string[]): void {
  const name = attr(el, "name");
  if (name === null) return;
  const value = attr(el, "value") ?? "";
  params.push({ name, value });
  if (name === "xpath-filter" && value.trim() !== "") filters.push(value.trim());
}

function childText(el: XElement, local: string): string | null {
  const c = childElement(el, local);
  return c === null ? null : textOf(c).trim();
}

export type MessageKind = "voevent" | "transport" | "unknown";

/**
 * Types a message the way peers do. pygcn goes by the root element's name
 * (and namespace); Comet by its `role` attribute alone. A root named VOEvent
 * or Transport is that kind when its role agrees (or, for VOEvent, is absent:
 * the schema's default role is observation); a root with another name is typed
 * by its role; anything else is "unknown" (Comet logs it and drops the
 * connection).
 */
export function classify(doc: XDocument): MessageKind {
  const root = doc.root;
  const role = attr(root, "role");
  const r = role === null ? null : role.trim();
  const eventRole = r === null || EVENT_ROLES.includes(r);
  const transportRole = r !== null && (TRANSPORT_ROLES as readonly string[]).includes(r);
  if (root.local === "VOEvent") return eventRole ? "voevent" : "unknown";
  if (root.local === "Transport") return transportRole ? "transport" : "unknown";
  if (r !== null && EVENT_ROLES.includes(r)) return "voevent";
  if (transportRole) return "transport";
  return "unknown";
}

// ---------------------------------------------------------------------------
// Building

export interface BuildOptions {
  /** Meta/Param elements, before any Result or filters. */
  params?: readonly TransportParam[];
  /** Meta/Result text. */
  result?: string | null;
  /** The time to stamp; default now. Written in UTC, `Z`, no fraction. */
  timestamp?: Date;
}

export interface TransportSpec extends BuildOptions {
  role: TransportRole;
  origin: string;
  response?: string | null;
}

const HEAD =
  "<?xml version='1.0' encoding='UTF-8'?>\n" +
  `<trn:Transport xmlns:trn="${TRANSPORT_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"` +
  ' version="1.0" xsi:schemaLocation="http://telescope-networks.org/schema/Transport/v1.1' +
  ' http://www.telescope-networks.org/schema/Transport-v1.1.xsd" role="';
const TAIL = "</trn:Transport>\n";

/**
 * Builds any Transport message as an XML string ready to frame. Origin is
 * always written (empty when unknown: the element is required); Response only
 * when given; Meta only when there is a Param or Result.
 */
export function buildTransport(spec: TransportSpec): string {
  let out = `${HEAD}${spec.role}">\n  <Origin>${escapeText(spec.origin)}</Origin>\n`;
  if (spec.response !== undefined && spec.response !== null) {
    out += `  <Response>${escapeText(spec.response)}</Response>\n`;
  }
  out += `  <TimeStamp>${formatTimestamp(spec.timestamp)}</TimeStamp>\n`;
  const params = spec.params ?? [];
  const result = spec.result ?? null;
  if (params.length > 0 || result !== null) {
    out += "  <Meta>\n";
    for (const p of params) {
      out += `    <Param name="${escapeAttr(p.name)}" value="${escapeAttr(p.value)}"/>\n`;
    }
    if (result !== null) out += `    <Result>${escapeText(result)}</Result>\n`;
    out += "  </Meta>\n";
  }
  return out + TAIL;
}

/** An ack: Origin = the IVORN of the event acknowledged, Response = our own IVORN. */
export function buildAck(origin: string, response: string | null, opts: BuildOptions = {}): string {
  return buildTransport({ ...opts, role: "ack", origin, response });
}

/** A nak: Origin = the IVORN of the event refused, Response = our own IVORN, Meta/Result = the reason. */
export function buildNak(
  origin: string,
  response: string | null,
  reason: string,
  opts: Omit<BuildOptions, "result"> = {},
): string {
  return buildTransport({ ...opts, role: "nak", origin, response, result: reason });
}

/**
 * An iamalive. From a broker: Origin = its IVORN, no Response. A
 * subscriber's answer: Origin copied from the broker's, Response = its own IVORN.
 */
export function buildIamalive(origin: string, response?: string | null, opts: BuildOptions = {}): string {
  return buildTransport({ ...opts, role: "iamalive", origin, response: response ?? null });
}

/**
 * An authenticate. From a broker on connect: Origin = its IVORN. A
 * subscriber's answer: Origin = the broker's IVORN, Response = its own, and
 * one Meta/Param name="xpath-filter" per filter (Comet's extension).
 */
export function buildAuthenticate(
  origin: string,
  response?: string | null,
  filters: readonly string[] = [],
  opts: BuildOptions = {},
): string {
  const params: TransportParam[] = filters.map((value) => ({ name: "xpath-filter", value }));
  if (opts.params !== undefined) params.unshift(...opts.params);
  return buildTransport({ ...opts, params, role: "authenticate", origin, response: response ?? null });
}

let stampSecond = -1;
let stampText = "";

/** UTC, `Z`, no fraction: `2026-11-23T06:30:27Z`, as Comet writes it. Cached per second. */
export function formatTimestamp(date?: Date): string {
  const ms = date === undefined ? Date.now() : date.getTime();
  if (!Number.isFinite(ms)) throw new RangeError("formatTimestamp: invalid date");
  const second = Math.floor(ms / 1000);
  if (date === undefined && second === stampSecond) return stampText;
  const text = `${new Date(second * 1000).toISOString().slice(0, 19)}Z`;
  if (date === undefined) {
    stampSecond = second;
    stampText = text;
  }
  return text;
}

/**
 * Escapes character data: `& < >`, CR as `&#13;` (kept through parsing), and
 * characters XML 1.0 cannot carry at all (C0 controls other than tab/LF/CR,
 * U+FFFE/U+FFFF, lone surrogates) replaced by U+FFFD, since a reason may
 * quote arbitrary input.
 */
export function escapeText(s: string): string {
  return escapeXml(s, false);
}

/** Escapes an attribute value (double-quoted): also `"`, and tab/LF/CR as references so they survive normalisation. */
export function escapeAttr(s: string): string {
  return escapeXml(s, true);
}

function escapeXml(s: string, inAttr: boolean): string {
  let out = "";
  let run = 0;
  const len = s.length;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    let rep: string | undefined;
    if (c < 32) {
      if (c === 13 || (inAttr && (c === 9 || c === 10))) rep = `&#${c};`;
      else if (c !== 9 && c !== 10) rep = "\ufffd";
    } else if (c === 38) rep = "&amp;";
    else if (c === 60) rep = "&lt;";
    else if (c === 62) rep = "&gt;";
    else if (c === 34 && inAttr) rep = "&quot;";
    else if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++; // a valid pair: keep both halves
        continue;
      }
      rep = "\ufffd";
    } else if (c === 0xfffe || c === 0xffff) rep = "\ufffd";
    if (rep !== undefined) {
      out += s.slice(run, i) + rep;
      run = i + 1;
    }
  }
  return run === 0 ? s : out + s.slice(run);
}
