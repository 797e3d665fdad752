/**
 * What voevent-build builds: the node's settings, checked once, merged with the
 * fields of an object msg.payload into the input of src/voevent/build.ts.
 * Plain TypeScript (no Node-RED), tested on its own.
 */
import { VOEventError } from "../../src/errors";
import type { VOEventInput, VOEventInputCitation, VOEventInputPosition } from "../../src/voevent/build";
import { newIvorn, parseIvorn } from "../../src/voevent/ivorn";
import {
  type ParamValue,
  VOEVENT_ROLES,
  type VOEventAuthor,
  type VOEventRole,
} from "../../src/voevent/model";

/** One row of the node's Param list, as the editor saves it. */
export interface ParamSetting {
  name: string;
  value: string | number;
  /** "num" (written as a number) or "str". */
  vt?: "num" | "str";
}

/** The node's config as the editor saves it. */
export interface BuildConfig {
  streamIvorn?: string;
  role?: string;
  authorIvorn?: string;
  shortName?: string;
  contactName?: string;
  contactEmail?: string;
  description?: string;
  params?: ParamSetting[];
  ra?: string | number;
  dec?: string | number;
  error?: string | number;
  system?: string;
  /** Put the time of building in WhereWhen when msg.payload gives no time. */
  timeNow?: boolean | string;
}

/** The settings, checked. */
export interface BuildSettings {
  stream: string;
  role: VOEventRole;
  author: VOEventAuthor;
  description: string | null;
  params: Record<string, ParamValue>;
  position: VOEventInputPosition | null;
  timeNow: boolean;
}

/** The fields an object msg.payload may set. */
export const PAYLOAD_FIELDS = [
  "ivorn",
  "role",
  "author",
  "params",
  "groups",
  "position",
  "time",
  "description",
  "citations",
  "why",
  "how",
] as const;

const text = (v: unknown): string =>
  typeof v === "string" ? v.trim() : typeof v === "number" ? String(v) : "";
const orNull = (s: string): string | null => (s === "" ? null : s);

function number(value: unknown, what: string): number {
  const s = text(value);
  const n = Number(s);
  if (s === "" || !Number.isFinite(n))
    throw new RangeError(`${what} must be a number, not ${JSON.stringify(value)}`);
  return n;
}

function role(value: unknown, where: string): VOEventRole {
  const r = text(value);
  if (!VOEVENT_ROLES.includes(r as VOEventRole)) {
    throw new VOEventError(
      "BAD_ROLE",
      `${where} ${JSON.stringify(value)} is not a VOEvent role (${VOEVENT_ROLES.join(", ")})`,
    );
  }
  return r as VOEventRole;
}

/** Checks the node's settings; throws (BAD_IVORN, BAD_ROLE, RangeError) saying what is wrong. */
export function settingsFromConfig(config: BuildConfig): BuildSettings {
  const streamText = text(config.streamIvorn);
  const parsed = parseIvorn(streamText);
  if (parsed.local !== null) {
    throw new VOEventError(
      "BAD_IVORN",
      `the stream IVORN ${JSON.stringify(streamText)} has a '#': give the stream only; each event gets its own '#local-id'`,
    );
  }
  const authorIvorn = orNull(text(config.authorIvorn));
  if (authorIvorn !== null) parseIvorn(authorIvorn);
  const params: Record<string, ParamValue> = {};
  for (const [i, p] of (config.params ?? []).entries()) {
    const name = text(p?.name);
    if (name === "") throw new RangeError(`Param ${i + 1} has no name`);
    if (Object.hasOwn(params, name)) throw new RangeError(`Param ${JSON.stringify(name)} is listed twice`);
    params[name] = p.vt === "num" ? number(p.value, `Param ${JSON.stringify(name)}`) : text(p.value);
  }
  let position: VOEventInputPosition | null = null;
  const ra = text(config.ra);
  const dec = text(config.dec);
  if (ra !== "" || dec !== "") {
    const err = text(config.error);
    position = checkedPosition(
      number(ra, "RA"),
      number(dec, "Dec"),
      err === "" ? null : number(err, "the error radius"),
      orNull(text(config.system)),
      "the position",
    );
  }
  return {
    stream: parsed.stream,
    role: role(config.role === undefined || config.role === "" ? "test" : config.role, "role"),
    author: {
      ivorn: authorIvorn,
      shortName: orNull(text(config.shortName)),
      contactName: orNull(text(config.contactName)),
      contactEmail: orNull(text(config.contactEmail)),
    },
    description: orNull(text(config.description)),
    params,
    position,
    timeNow: config.timeNow === true || config.timeNow === "true",
  };
}

function checkedPosition(
  ra: number,
  dec: number,
  error: number | null,
  system: string | null,
  where: string,
): VOEventInputPosition {
  if (dec < -90 || dec > 90) throw new RangeError(`${where}: Dec ${dec} is outside -90..90`);
  if (error !== null && error < 0) throw new RangeError(`${where}: the error radius ${error} is negative`);
  return { ra, dec, error, system };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !Buffer.isBuffer(v);
}

function paramsOf(value: unknown, where: string): Record<string, ParamValue> {
  if (!isRecord(value)) throw new RangeError(`${where} must be an object of name → value`);
  const out: Record<string, ParamValue> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v !== null && typeof v !== "string" && typeof v !== "number") {
      throw new RangeError(`${where}.${k} must be a string, a number or null`);
    }
    out[k] = v;
  }
  return out;
}

/**
 * The build input: the settings, with what an object msg.payload sets laid over
 * them. `params` and `author` merge name by name; every other field replaces
 * the setting (`position: null` removes the position). Without an `ivorn`, the
 * event gets the stream plus a new unique local id. Anything other than a plain
 * object payload is ignored (an inject node's timestamp, say).
 */
export function buildInput(settings: BuildSettings, payload: unknown, now: Date = new Date()): VOEventInput {
  const o = isRecord(payload) ? payload : {};
  const iso = now.toISOString();
  const input: VOEventInput = {
    ivorn: o.ivorn === undefined ? newIvorn(settings.stream) : parseIvorn(text(o.ivorn)).ivorn,
    role: o.role === undefined ? settings.role : role(o.role, "msg.payload.role"),
    date: iso,
    author: {
      ...settings.author,
      ivorn: settings.author.ivorn ?? settings.stream,
    },
    params: { ...settings.params },
    groups: {},
    position: settings.position === null ? null : { ...settings.position },
    time: settings.timeNow ? iso : null,
    citations: [],
    description: settings.description,
  };
  if (o.author !== undefined) {
    if (!isRecord(o.author)) throw new RangeError("msg.payload.author must be an object");
    for (const key of ["ivorn", "shortName", "contactName", "contactEmail"] as const) {
      const v = o.author[key];
      if (v === undefined) continue;
      if (v !== null && typeof v !== "string")
        throw new RangeError(`msg.payload.author.${key} must be a string`);
      input.author = { ...input.author, [key]: v };
    }
  }
  if (o.params !== undefined) Object.assign(input.params ?? {}, paramsOf(o.params, "msg.payload.params"));
  if (o.groups !== undefined) {
    if (!isRecord(o.groups)) throw new RangeError("msg.payload.groups must be an object of group → params");
    const groups: Record<string, Record<string, ParamValue>> = {};
    for (const [g, ps] of Object.entries(o.groups)) groups[g] = paramsOf(ps, `msg.payload.groups.${g}`);
    input.groups = groups;
  }
  if (o.position !== undefined) {
    if (o.position === null) input.position = null;
    else if (isRecord(o.position)) {
      const p = o.position;
      const error =
        p.error === undefined || p.error === null ? null : number(p.error, "msg.payload.position.error");
      input.position = checkedPosition(
        number(p.ra, "msg.payload.position.ra"),
        number(p.dec, "msg.payload.position.dec"),
        error,
        typeof p.system === "string" ? p.system : (settings.position?.system ?? null),
        "msg.payload.position",
      );
    } else throw new RangeError("msg.payload.position must be { ra, dec, error?, system? } or null");
  }
  if (o.time !== undefined) {
    if (o.time !== null && typeof o.time !== "string")
      throw new RangeError("msg.payload.time must be an ISO 8601 string");
    input.time = o.time;
  }
  if (o.description !== undefined) {
    if (o.description !== null && typeof o.description !== "string") {
      throw new RangeError("msg.payload.description must be a string");
    }
    input.description = o.description;
  }
  if (o.citations !== undefined) {
    if (!Array.isArray(o.citations))
      throw new RangeError("msg.payload.citations must be a list of { ivorn, cite }");
    input.citations = o.citations.map((c: unknown, i): VOEventInputCitation => {
      if (typeof c === "string") return { ivorn: parseIvorn(c).ivorn, cite: "followup" };
      if (!isRecord(c) || typeof c.ivorn !== "string") {
        throw new RangeError(`msg.payload.citations[${i}] must be { ivorn, cite }`);
      }
      return { ivorn: parseIvorn(c.ivorn).ivorn, cite: typeof c.cite === "string" ? c.cite : "followup" };
    });
  }
  // Why and How go to the builder as they are; it checks every value it writes.
  if (o.why !== undefined) {
    if (o.why !== null && !isRecord(o.why)) throw new RangeError("msg.payload.why must be an object");
    input.why = o.why as VOEventInput["why"];
  }
  if (o.how !== undefined) {
    if (o.how !== null && !isRecord(o.how)) throw new RangeError("msg.payload.how must be an object");
    input.how = o.how as VOEventInput["how"];
  }
  return input;
}
