/**
 * The VOEvent model → VOEvent 2.0 XML, valid against VOEvent-v2.0.xsd.
 *
 * parseVOEvent(buildVOEvent(m)).voevent deep-equals m for a complete model
 * (version "2.0", the v2.0 namespace, stream = the ivorn's stream, strings
 * without surrounding white space, no empty strings), with two documented
 * exceptions the schema forces: see `position.error` and `why` below.
 *
 * Input mistakes throw: BAD_IVORN and BAD_ROLE as VOEventError, everything else
 * (a date that is not an xs:dateTime, an unknown coordinate system, a probability
 * outside 0..1, a character XML cannot carry, …) as a RangeError naming the field.
 */
import { VOEventError } from "../errors";
import { parseIvorn } from "./ivorn";
import { type ParamValue, VOEVENT_ROLES, type VOEventAuthor, type VOEventRole } from "./model";
import { escapeAttr, escapeText } from "./xmlwrite";

export const VOEVENT_2_0_NS = "http://www.ivoa.net/xml/VOEvent/v2.0";
export const VOEVENT_2_0_XSD = "http://www.ivoa.net/xml/VOEvent/VOEvent-v2.0.xsd";
const XSI_NS = "http://www.w3.org/2001/XMLSchema-instance";

/** The coord_system_id values VOEvent-v2.0.xsd allows. */
export const COORD_SYSTEMS: readonly string[] = [
  "TT-ICRS-TOPO",
  "UTC-ICRS-TOPO",
  "TT-FK5-TOPO",
  "UTC-FK5-TOPO",
  "GPS-ICRS-TOPO",
  "GPS-FK5-TOPO",
  "TT-ICRS-GEO",
  "UTC-ICRS-GEO",
  "TT-FK5-GEO",
  "UTC-FK5-GEO",
  "GPS-ICRS-GEO",
  "TDB-ICRS-BARY",
  "TDB-FK5-BARY",
  "UTC-GEOD-TOPO",
];
export const DEFAULT_COORD_SYSTEM = "UTC-ICRS-TOPO";

export const CITE_VALUES: readonly string[] = ["followup", "supersedes", "retraction"];

export interface VOEventInputPosition {
  /** Degrees. */
  ra: number;
  /** Degrees. */
  dec: number;
  /**
   * Error-circle radius, degrees. The schema requires Error2Radius, so an unknown
   * error (null or absent) is written as `NaN` (a legal xs:float), which reads back as null.
   */
  error?: number | null;
  /** One of COORD_SYSTEMS; default UTC-ICRS-TOPO. */
  system?: string | null;
}

export interface VOEventInputInference {
  probability?: number | null;
  relation?: string | null;
  names?: string[];
  concepts?: string[];
}

export interface VOEventInputWhy {
  importance?: number | null;
  expires?: string | null;
  inferences?: VOEventInputInference[];
  /**
   * Every Concept, as in the model: those of the Inferences (in order) and the
   * Why's own. Concepts not found in sequence among the Inferences' are written as
   * Why/Concept where they fall. Inference concepts left out here are still written.
   */
  concepts?: string[];
}

export interface VOEventInputCitation {
  ivorn: string;
  cite?: string | null;
}

/** What `How` says; not part of the parsed model (the parser does not read How). */
export interface VOEventInputHow {
  description?: string | null;
  references?: string[];
}

/**
 * The model's fields, most optional. A parsed `VOEvent` is a valid input;
 * `version`, `namespace` and `stream` are accepted but ignored (the output is
 * always VOEvent 2.0 and the stream follows from the ivorn).
 */
export interface VOEventInput {
  ivorn: string;
  role: VOEventRole;
  version?: string | null;
  namespace?: string;
  stream?: string;
  /** Who/Date: an xs:dateTime, e.g. `2025-01-02T03:04:05Z`. */
  date?: string | null;
  author?: Partial<VOEventAuthor> | null;
  params?: Record<string, ParamValue>;
  groups?: Record<string, Record<string, ParamValue>>;
  position?: VOEventInputPosition | null;
  /** WhereWhen ISOTime. */
  time?: string | null;
  how?: VOEventInputHow | null;
  why?: VOEventInputWhy | null;
  citations?: VOEventInputCitation[];
  description?: string | null;
}

// xs:dateTime: optional minus, year of 4+ digits, time with optional fraction and zone.
const DATE_TIME =
  /^-?\d{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$/;

function present(s: string | null | undefined): s is string {
  return typeof s === "string" && s.length > 0;
}

function checkDateTime(s: string, field: string): void {
  if (!DATE_TIME.test(s)) {
    throw new RangeError(`${field} ${JSON.stringify(s)} is not an xs:dateTime (e.g. 2025-01-02T03:04:05Z)`);
  }
}

/** A finite number as xs:float/xs:int text; -0 keeps its sign. */
function num(n: number, field: string): string {
  if (typeof n !== "number" || !Number.isFinite(n)) {
    throw new RangeError(`${field} must be a finite number, not ${String(n)}`);
  }
  return Object.is(n, -0) ? "-0" : String(n);
}

class Writer {
  private out: string[] = [];
  line(depth: number, s: string): void {
    this.out.push(`${"  ".repeat(depth)}${s}`);
  }
  /** `<name>text</name>` when text is present. */
  textElement(depth: number, name: string, text: string | null | undefined, field: string): void {
    if (present(text)) this.line(depth, `<${name}>${escapeText(text, field)}</${name}>`);
  }
  toString(): string {
    return `${this.out.join("\n")}\n`;
  }
}

function paramXml(name: string, value: ParamValue | undefined, field: string): string {
  if (name.length === 0) throw new RangeError(`${field}: a Param needs a non-empty name`);
  const n = `<Param name="${escapeAttr(name, `${field} name`)}"`;
  if (value === null || value === undefined || value === "") return `${n}/>`;
  if (typeof value === "number") {
    const text = num(value, `${field} ${JSON.stringify(name)}`);
    const type = Number.isSafeInteger(value) ? "int" : "float";
    return `${n} dataType="${type}" value="${text}"/>`;
  }
  if (typeof value !== "string") {
    throw new RangeError(`${field} ${JSON.stringify(name)}: a Param value is a string, a number or null`);
  }
  return `${n} dataType="string" value="${escapeAttr(value, `${field} ${JSON.stringify(name)}`)}"/>`;
}

function writeWho(w: Writer, m: VOEventInput): void {
  const a = m.author ?? {};
  const hasAuthor = present(a.shortName) || present(a.contactName) || present(a.contactEmail);
  if (!present(a.ivorn) && !present(m.date) && !hasAuthor) return;
  if (present(m.date)) checkDateTime(m.date, "date");
  w.line(1, "<Who>");
  w.textElement(2, "AuthorIVORN", a.ivorn, "author.ivorn");
  w.textElement(2, "Date", m.date, "date");
  if (hasAuthor) {
    w.line(2, "<Author>");
    w.textElement(3, "shortName", a.shortName, "author.shortName");
    w.textElement(3, "contactName", a.contactName, "author.contactName");
    w.textElement(3, "contactEmail", a.contactEmail, "author.contactEmail");
    w.line(2, "</Author>");
  }
  w.line(1, "</Who>");
}

function writeWhat(w: Writer, m: VOEventInput): void {
  const params = m.params ?? {};
  const groups = m.groups ?? {};
  const pNames = Object.keys(params);
  const gNames = Object.keys(groups);
  if (pNames.length === 0 && gNames.length === 0) return;
  w.line(1, "<What>");
  for (const name of pNames) w.line(2, paramXml(name, params[name], "params"));
  for (const g of gNames) {
    if (g.length === 0) throw new RangeError("groups: a Group needs a non-empty name");
    const gp = groups[g] ?? {};
    const names = Object.keys(gp);
    const open = `<Group name="${escapeAttr(g, "group name")}"`;
    if (names.length === 0) {
      w.line(2, `${open}/>`);
      continue;
    }
    w.line(2, `${open}>`);
    for (const name of names) w.line(3, paramXml(name, gp[name], `groups ${JSON.stringify(g)}`));
    w.line(2, "</Group>");
  }
  w.line(1, "</What>");
}

function writeWhereWhen(w: Writer, m: VOEventInput): void {
  const pos = m.position ?? null;
  if (pos === null && !present(m.time)) return;
  const system = pos?.system ?? DEFAULT_COORD_SYSTEM;
  if (!COORD_SYSTEMS.includes(system)) {
    throw new RangeError(
      `position.system ${JSON.stringify(system)} is not a VOEvent 2.0 coordinate system (${COORD_SYSTEMS.join(", ")})`,
    );
  }
  w.line(1, "<WhereWhen>");
  w.line(2, "<ObsDataLocation>");
  w.line(3, '<ObservatoryLocation id="GEOLUN"/>');
  w.line(3, "<ObservationLocation>");
  w.line(4, `<AstroCoordSystem id="${system}"/>`);
  w.line(4, `<AstroCoords coord_system_id="${system}">`);
  if (present(m.time)) {
    w.line(5, '<Time unit="s">');
    w.line(6, "<TimeInstant>");
    w.textElement(7, "ISOTime", m.time, "time");
    w.line(6, "</TimeInstant>");
    w.line(5, "</Time>");
  }
  if (pos !== null) {
    const err = pos.error === null || pos.error === undefined ? "NaN" : num(pos.error, "position.error");
    w.line(5, '<Position2D unit="deg">');
    w.line(6, "<Name1>RA</Name1>");
    w.line(6, "<Name2>Dec</Name2>");
    w.line(6, "<Value2>");
    w.line(7, `<C1>${num(pos.ra, "position.ra")}</C1>`);
    w.line(7, `<C2>${num(pos.dec, "position.dec")}</C2>`);
    w.line(6, "</Value2>");
    w.line(6, `<Error2Radius>${err}</Error2Radius>`);
    w.line(5, "</Position2D>");
  }
  w.line(4, "</AstroCoords>");
  w.line(3, "</ObservationLocation>");
  w.line(2, "</ObsDataLocation>");
  w.line(1, "</WhereWhen>");
}

function writeHow(w: Writer, how: VOEventInputHow | null | undefined): void {
  if (how === null || how === undefined) return;
  const refs = how.references ?? [];
  if (!present(how.description) && refs.length === 0) return;
  w.line(1, "<How>");
  w.textElement(2, "Description", how.description, "how.description");
  for (const r of refs) w.line(2, `<Reference uri="${escapeAttr(r, "how.references")}"/>`);
  w.line(1, "</How>");
}

function writeInference(w: Writer, inf: VOEventInputInference, i: number): void {
  let attrs = "";
  if (inf.probability !== null && inf.probability !== undefined) {
    const p = num(inf.probability, `why.inferences[${i}].probability`);
    if (inf.probability < 0 || inf.probability > 1) {
      throw new RangeError(`why.inferences[${i}].probability ${p} is outside 0..1`);
    }
    attrs += ` probability="${p}"`;
  }
  if (present(inf.relation))
    attrs += ` relation="${escapeAttr(inf.relation, `why.inferences[${i}].relation`)}"`;
  const names = (inf.names ?? []).filter(present);
  const concepts = (inf.concepts ?? []).filter(present);
  if (names.length === 0 && concepts.length === 0) {
    // The schema wants at least one child; an empty Description says nothing.
    w.line(2, `<Inference${attrs}><Description/></Inference>`);
    return;
  }
  w.line(2, `<Inference${attrs}>`);
  for (const n of names) w.textElement(3, "Name", n, `why.inferences[${i}].names`);
  for (const c of concepts) w.textElement(3, "Concept", c, `why.inferences[${i}].concepts`);
  w.line(2, "</Inference>");
}

/** True when concepts[k…] starts with all of `seq`. */
function startsWithSeq(concepts: readonly string[], k: number, seq: readonly string[]): boolean {
  if (seq.length === 0 || k + seq.length > concepts.length) return false;
  for (let j = 0; j < seq.length; j++) if (concepts[k + j] !== seq[j]) return false;
  return true;
}

function writeWhy(w: Writer, why: VOEventInputWhy | null | undefined): void {
  if (why === null || why === undefined) return;
  const inferences = why.inferences ?? [];
  const concepts = (why.concepts ?? []).filter(present);
  const importance = why.importance ?? null;
  if (importance === null && !present(why.expires) && inferences.length === 0 && concepts.length === 0)
    return;
  let attrs = "";
  if (importance !== null) attrs += ` importance="${num(importance, "why.importance")}"`;
  if (present(why.expires)) {
    checkDateTime(why.expires, "why.expires");
    attrs += ` expires="${escapeAttr(why.expires, "why.expires")}"`;
  }
  if (inferences.length === 0 && concepts.length === 0) {
    // The schema wants at least one child; an empty Description says nothing.
    w.line(1, `<Why${attrs}><Description/></Why>`);
    return;
  }
  w.line(1, `<Why${attrs}>`);
  // Interleave so that reading back gives `concepts` in this order: an Inference
  // goes where its concepts start; other concepts become Why/Concept in place.
  let inf = 0;
  let k = 0;
  while (k < concepts.length) {
    const next = inferences[inf];
    const seq = next === undefined ? [] : (next.concepts ?? []).filter(present);
    if (next !== undefined && seq.length === 0) {
      writeInference(w, next, inf++);
    } else if (next !== undefined && startsWithSeq(concepts, k, seq)) {
      writeInference(w, next, inf++);
      k += seq.length;
    } else {
      w.textElement(2, "Concept", concepts[k], "why.concepts");
      k++;
    }
  }
  while (inf < inferences.length) writeInference(w, inferences[inf], inf++);
  w.line(1, "</Why>");
}

function writeCitations(w: Writer, citations: VOEventInputCitation[] | undefined): void {
  if (citations === undefined || citations.length === 0) return;
  w.line(1, "<Citations>");
  citations.forEach((c, i) => {
    let attrs = "";
    if (c.cite !== null && c.cite !== undefined) {
      if (!CITE_VALUES.includes(c.cite)) {
        throw new RangeError(
          `citations[${i}].cite ${JSON.stringify(c.cite)} is not one of ${CITE_VALUES.join(", ")}`,
        );
      }
      attrs = ` cite="${c.cite}"`;
    }
    w.line(2, `<EventIVORN${attrs}>${escapeText(c.ivorn, `citations[${i}].ivorn`)}</EventIVORN>`);
  });
  w.line(1, "</Citations>");
}

/** Builds a VOEvent 2.0 packet from the model. */
export function buildVOEvent(model: VOEventInput): string {
  const ivorn = parseIvorn(model.ivorn).ivorn;
  const role = model.role;
  if (!VOEVENT_ROLES.includes(role)) {
    throw new VOEventError(
      "BAD_ROLE",
      `role ${JSON.stringify(role)} is not a VOEvent role (observation, prediction, utility, test)`,
    );
  }
  const w = new Writer();
  w.line(0, '<?xml version="1.0" encoding="UTF-8"?>');
  w.line(
    0,
    `<voe:VOEvent xmlns:voe="${VOEVENT_2_0_NS}" xmlns:xsi="${XSI_NS}" ` +
      `xsi:schemaLocation="${VOEVENT_2_0_NS} ${VOEVENT_2_0_XSD}" ` +
      `version="2.0" role="${role}" ivorn="${escapeAttr(ivorn, "ivorn")}">`,
  );
  writeWho(w, model);
  writeWhat(w, model);
  writeWhereWhen(w, model);
  writeHow(w, model.how);
  writeWhy(w, model.why);
  writeCitations(w, model.citations);
  w.textElement(1, "Description", model.description, "description");
  w.line(0, "</voe:VOEvent>");
  return w.toString();
}
