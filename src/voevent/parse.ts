/**
 * VOEvent XML → the `msg.voevent` model (model.ts), read straight off the light
 * XML tree in one pass over each section: no XPath, no per-node regex.
 *
 * Elements are matched by local name in any namespace, so VOEvent 2.0 (children
 * unqualified), a default-namespace root, an un-namespaced root, and VOEvent 1.1
 * with STC-namespaced (`stc:`/`crd:` or default-namespace) WhereWhen all read alike.
 *
 * Rules, so that consumers know what to expect:
 * - Nothing is invented: what is absent is null (or {} / []).
 * - Text is XML-trimmed; text or an attribute that is empty is null.
 * - role: absent → "observation" (VOEvent 2.0's default); else one of the four, or BAD_ROLE.
 * - ivorn: surrounding white space dropped (xs:anyURI), then checked by parseIvorn.
 * - Params: see values.ts (numbers as numbers by dataType; leading-zero ids stay
 *   strings; empty → null). Nameless Params are `param<N>`; a repeated name: the later wins.
 * - Groups: keyed by name, else type, else `group<N>` (N = position among What's
 *   Groups); Groups with one key merge. Params in Tables are not read.
 * - position: only when both C1 and C2 are numbers; system from coord_system_id,
 *   else AstroCoordSystem/@id; error null when Error2Radius is absent or not a number.
 * - time: WhereWhen's ISOTime as written. date: Who/Date as written.
 * - why.concepts: every Concept under Why, in document order (Inferences' included).
 * - Where a section repeats (not valid, but seen), the first is read.
 */
import { VOEventError } from "../errors";
import { decodeXml } from "../xml/encoding";
import { attr, childElement, DEFAULT_MAX_BYTES, parseXml, textOf } from "../xml/parse";
import { type XDocument, type XElement, XNodeType } from "../xml/types";
import { parseIvorn } from "./ivorn";
import {
  type ParamValue,
  VOEVENT_ROLES,
  type VOEvent,
  type VOEventAuthor,
  type VOEventCitation,
  type VOEventInference,
  type VOEventPosition,
  type VOEventRole,
  type VOEventWhy,
} from "./model";
import { getOwn, paramValue, setOwn, toNumber, xmlTrim } from "./values";

export interface ParseVOEventOptions {
  /** Largest input accepted, in bytes (UTF-8), checked before parsing. Default 1 MiB. */
  maxBytes?: number;
  /** Refuse (BAD_IVORN) an ivorn without a `#local` id, as Comet does. Default false. */
  requireLocalId?: boolean;
}

export interface ParsedVOEvent {
  /** The XML as a string (a Buffer input decoded by its encoding, strictly). */
  xml: string;
  /** The XML tree (read-only by convention: XPath walks it). */
  doc: XDocument;
  voevent: VOEvent;
}

/**
 * Parses a VOEvent packet. Throws VOEventError: TOO_LARGE, NOT_XML, MALFORMED,
 * DTD_FORBIDDEN, ENTITY, ENCODING, TOO_DEEP, TOO_MANY_ATTRIBUTES, NAME_TOO_LONG (from the XML
 * parser), WRONG_ROOT, NO_IVORN, BAD_IVORN, BAD_ROLE.
 */
export function parseVOEvent(input: string | Buffer, options: ParseVOEventOptions = {}): ParsedVOEvent {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const xml = inputText(input, maxBytes);
  const doc = parseXml(xml, { maxBytes });
  const voevent = readVOEvent(doc);
  if (options.requireLocalId === true) checkLocalId(voevent);
  return { xml, doc, voevent };
}

/**
 * Decodes the input to a string, refusing it (TOO_LARGE) before decoding when it is too big, and
 * bytes that are not valid in their encoding (ENCODING; see src/xml/encoding.ts).
 */
export function inputText(input: string | Buffer | Uint8Array, maxBytes: number): string {
  if (typeof input === "string") return input;
  if (input instanceof Uint8Array) {
    if (input.length > maxBytes) {
      throw new VOEventError(
        "TOO_LARGE",
        `XML of ${input.length} bytes exceeds the limit of ${maxBytes} bytes`,
      );
    }
    // Strictly, by byte-order mark and declaration: invalid UTF-8 is refused (ENCODING), never
    // replaced by U+FFFD.
    if (input.length === 0) throw new VOEventError("NOT_XML", "input is empty, not XML");
    return decodeXml(input);
  }
  const what = input === null ? "null" : typeof input;
  throw new VOEventError("NOT_XML", `input is ${what}, not a string or Buffer of XML`);
}

/** Throws BAD_IVORN when the event's ivorn has no `#local` id. */
export function checkLocalId(voevent: Pick<VOEvent, "ivorn">): void {
  if (voevent.ivorn.indexOf("#") < 0) {
    throw new VOEventError(
      "BAD_IVORN",
      `ivorn ${JSON.stringify(voevent.ivorn)} has no local id ('#…' naming the event within its stream)`,
    );
  }
}

function wrongRoot(root: XElement): never {
  if (root.local === "Transport") {
    const role = attr(root, "role");
    throw new VOEventError(
      "WRONG_ROOT",
      `this is a VTP Transport message${role === null ? "" : ` (role ${JSON.stringify(role)})`}, not a VOEvent`,
    );
  }
  const ns = root.ns === "" ? "" : ` in namespace ${root.ns}`;
  throw new VOEventError("WRONG_ROOT", `the root element is <${root.name}>${ns}, not <VOEvent>`);
}

function readRole(root: XElement): VOEventRole {
  const role = attr(root, "role");
  if (role === null) return "observation"; // VOEvent 2.0's default
  for (const r of VOEVENT_ROLES) if (r === role) return r;
  const hint =
    role === "retraction"
      ? '; a retraction is an event citing another with <EventIVORN cite="retraction">'
      : "";
  throw new VOEventError(
    "BAD_ROLE",
    `role ${JSON.stringify(role)} is not a VOEvent role (observation, prediction, utility, test)${hint}`,
  );
}

/** What the root element of a VOEvent says: all that can make a packet not a VOEvent. */
export type VOEventHead = Pick<VOEvent, "ivorn" | "role" | "version" | "namespace" | "stream">;

/**
 * Reads the root of a parsed document: everything readVOEvent can refuse (WRONG_ROOT, NO_IVORN,
 * BAD_IVORN, BAD_ROLE), without the rest of the model. What it accepts, readVOEvent accepts too:
 * a receiver can ack on this alone and read the model when it is first asked for.
 */
export function readVOEventHead(doc: XDocument): VOEventHead {
  const root = doc.root;
  if (root.local !== "VOEvent") wrongRoot(root);
  const ivornAttr = attr(root, "ivorn");
  if (ivornAttr === null) throw new VOEventError("NO_IVORN", "the VOEvent has no ivorn attribute");
  // xs:anyURI collapses white space: surrounding blanks are not part of the identifier.
  const parsed = parseIvorn(xmlTrim(ivornAttr));
  return {
    ivorn: parsed.ivorn,
    role: readRole(root),
    version: attrOrNull(root, "version"),
    namespace: root.ns,
    stream: parsed.stream,
  };
}

/** The model's `date` and `author.ivorn` (Who/Date, Who/AuthorIVORN, XML-trimmed; null when absent or empty). */
export function readWhoDateAuthor(doc: XDocument): { date: string | null; authorIvorn: string | null } {
  let date: string | null = null;
  let authorIvorn: string | null = null;
  const who = childElement(doc.root, "Who");
  if (who !== null) {
    for (const k of who.children) {
      if (k.type !== XNodeType.Element) continue;
      if (k.local === "AuthorIVORN") authorIvorn ??= trimmedText(k);
      else if (k.local === "Date") date ??= trimmedText(k);
    }
  }
  return { date, authorIvorn };
}

/**
 * The text of the top-level Param `name` of the first What (the later one when the name repeats),
 * as readVOEvent's params see it before converting it: its `value` attribute as written, else its
 * Value element's trimmed text; null when there is none.
 */
export function topParamText(doc: XDocument, name: string): string | null {
  const what = childElement(doc.root, "What");
  if (what === null) return null;
  let found: string | null = null;
  for (const k of what.children) {
    if (k.type !== XNodeType.Element || k.local !== "Param") continue;
    let n: string | null = null;
    let raw: string | null = null;
    for (const a of k.attrs) {
      if (a.ns !== "") continue;
      if (a.local === "name") n = a.value;
      else if (a.local === "value") raw = a.value;
    }
    if (n !== name) continue;
    if (raw === null) {
      const v = childElement(k, "Value");
      raw = v === null ? null : xmlTrim(textOf(v));
    }
    found = raw;
  }
  return found;
}

/** Reads the model from a parsed document. Throws WRONG_ROOT, NO_IVORN, BAD_IVORN, BAD_ROLE. */
export function readVOEvent(doc: XDocument): VOEvent {
  const root = doc.root;
  const head = readVOEventHead(doc);
  const voevent: VOEvent = {
    ivorn: head.ivorn,
    role: head.role,
    version: head.version,
    namespace: head.namespace,
    stream: head.stream,
    date: null,
    author: { ivorn: null, shortName: null, contactName: null, contactEmail: null },
    params: {},
    groups: {},
    position: null,
    time: null,
    why: { importance: null, expires: null, inferences: [], concepts: [] },
    citations: [],
    description: null,
  };
  let seenWho = false;
  let seenWhat = false;
  let seenWhereWhen = false;
  let seenWhy = false;
  let seenCitations = false;
  let seenDescription = false;
  for (const k of root.children) {
    if (k.type !== XNodeType.Element) continue;
    switch (k.local) {
      case "Who":
        if (!seenWho) readWho(k, voevent);
        seenWho = true;
        break;
      case "What":
        if (!seenWhat) readWhat(k, voevent.params, voevent.groups);
        seenWhat = true;
        break;
      case "WhereWhen":
        if (!seenWhereWhen) readWhereWhen(k, voevent);
        seenWhereWhen = true;
        break;
      case "Why":
        if (!seenWhy) voevent.why = readWhy(k);
        seenWhy = true;
        break;
      case "Citations":
        if (!seenCitations) voevent.citations = readCitations(k);
        seenCitations = true;
        break;
      case "Description":
        if (!seenDescription) voevent.description = trimmedText(k);
        seenDescription = true;
        break;
    }
  }
  return voevent;
}

/** An attribute's value as written; null when it is absent or empty. */
function attrOrNull(el: XElement, name: string): string | null {
  const v = attr(el, name);
  return v === null || v.length === 0 ? null : v;
}

/** An element's text, XML-trimmed; null when that leaves nothing. */
function trimmedText(el: XElement): string | null {
  const t = xmlTrim(textOf(el));
  return t.length === 0 ? null : t;
}

function readWho(who: XElement, out: VOEvent): void {
  const author: VOEventAuthor = out.author;
  for (const k of who.children) {
    if (k.type !== XNodeType.Element) continue;
    if (k.local === "AuthorIVORN") {
      if (author.ivorn === null) author.ivorn = trimmedText(k);
    } else if (k.local === "Date") {
      if (out.date === null) out.date = trimmedText(k);
    } else if (k.local === "Author") {
      for (const a of k.children) {
        if (a.type !== XNodeType.Element) continue;
        if (a.local === "shortName") {
          if (author.shortName === null) author.shortName = trimmedText(a);
        } else if (a.local === "contactName") {
          if (author.contactName === null) author.contactName = trimmedText(a);
        } else if (a.local === "contactEmail") {
          if (author.contactEmail === null) author.contactEmail = trimmedText(a);
        }
      }
    }
  }
}

/**
 * Params of one scope (What, or a Group): name → value. A Param without a name is
 * `param<N>`, N counting the nameless ones of that scope from 1. When a name
 * repeats, the later Param wins. Each Param's attributes are read in one pass.
 */
function readParams(scope: XElement, into: Record<string, ParamValue>): void {
  let nameless = 0;
  for (const k of scope.children) {
    if (k.type !== XNodeType.Element || k.local !== "Param") continue;
    let name: string | null = null;
    let raw: string | null = null;
    let dataType: string | null = null;
    let datatype: string | null = null;
    for (const a of k.attrs) {
      if (a.ns !== "") continue;
      switch (a.local) {
        case "name":
          name = a.value;
          break;
        case "value":
          raw = a.value;
          break;
        case "dataType":
          dataType = a.value;
          break;
        case "datatype": // GECAM's spelling
          datatype = a.value;
          break;
      }
    }
    if (raw === null) {
      const v = childElement(k, "Value");
      if (v !== null) raw = xmlTrim(textOf(v));
    }
    if (name === null || name.length === 0) name = `param${++nameless}`;
    setOwn(into, name, paramValue(raw, dataType ?? datatype));
  }
}

/**
 * What/Param outside groups into `params`; each What/Group into `groups` under
 * its name, else its type, else `group<N>` (N = its position among What's
 * Groups, from 1). Groups that share a key merge, the later Param winning.
 */
function readWhat(
  what: XElement,
  params: Record<string, ParamValue>,
  groups: Record<string, Record<string, ParamValue>>,
): void {
  readParams(what, params);
  let index = 0;
  for (const k of what.children) {
    if (k.type !== XNodeType.Element || k.local !== "Group") continue;
    index++;
    let key = attr(k, "name");
    if (key === null || key.length === 0) key = attr(k, "type");
    if (key === null || key.length === 0) key = `group${index}`;
    let group = getOwn(groups, key);
    if (group === undefined) {
      group = {};
      setOwn(groups, key, group);
    }
    readParams(k, group);
  }
}

/** The first descendant reached through these child names, or null. */
function path(el: XElement, names: readonly string[]): XElement | null {
  let cur: XElement | null = el;
  for (let i = 0; i < names.length && cur !== null; i++) cur = childElement(cur, names[i]);
  return cur;
}

function readWhereWhen(ww: XElement, out: VOEvent): void {
  // VOEvent 2.0 and 1.1: WhereWhen/ObsDataLocation/ObservationLocation; some 1.1
  // packets put ObservationLocation straight under WhereWhen.
  const odl = childElement(ww, "ObsDataLocation");
  const obs = childElement(odl ?? ww, "ObservationLocation");
  if (obs === null) return;
  const coords = childElement(obs, "AstroCoords");
  if (coords === null) return;
  const iso = path(coords, ["Time", "TimeInstant", "ISOTime"]);
  if (iso !== null) out.time = trimmedText(iso);
  const pos = childElement(coords, "Position2D");
  if (pos === null) return;
  const value2 = childElement(pos, "Value2");
  if (value2 === null) return;
  const c1 = childElement(value2, "C1");
  const c2 = childElement(value2, "C2");
  if (c1 === null || c2 === null) return;
  const ra = toNumber(textOf(c1));
  const dec = toNumber(textOf(c2));
  if (ra === null || dec === null) return;
  const err = childElement(pos, "Error2Radius");
  let system = attrOrNull(coords, "coord_system_id");
  if (system === null) {
    const sys = childElement(obs, "AstroCoordSystem");
    if (sys !== null) system = attrOrNull(sys, "id");
  }
  const position: VOEventPosition = {
    ra,
    dec,
    error: err === null ? null : toNumber(textOf(err)),
    system,
  };
  out.position = position;
}

function readInference(inf: XElement, allConcepts: string[]): VOEventInference {
  const out: VOEventInference = {
    probability: toNumber(attr(inf, "probability")),
    relation: attrOrNull(inf, "relation"),
    names: [],
    concepts: [],
  };
  for (const k of inf.children) {
    if (k.type !== XNodeType.Element) continue;
    if (k.local === "Name") {
      const t = trimmedText(k);
      if (t !== null) out.names.push(t);
    } else if (k.local === "Concept") {
      const t = trimmedText(k);
      if (t !== null) {
        out.concepts.push(t);
        allConcepts.push(t);
      }
    }
  }
  return out;
}

/** Why: importance, expires, Inferences, and every Concept (top-level and in Inferences) in document order. */
function readWhy(why: XElement): VOEventWhy {
  const out: VOEventWhy = {
    importance: toNumber(attr(why, "importance")),
    expires: attrOrNull(why, "expires"),
    inferences: [],
    concepts: [],
  };
  for (const k of why.children) {
    if (k.type !== XNodeType.Element) continue;
    if (k.local === "Inference") out.inferences.push(readInference(k, out.concepts));
    else if (k.local === "Concept") {
      const t = trimmedText(k);
      if (t !== null) out.concepts.push(t);
    }
  }
  return out;
}

function readCitations(cits: XElement): VOEventCitation[] {
  const out: VOEventCitation[] = [];
  for (const k of cits.children) {
    if (k.type !== XNodeType.Element || k.local !== "EventIVORN") continue;
    out.push({ ivorn: xmlTrim(textOf(k)), cite: attrOrNull(k, "cite") });
  }
  return out;
}
