/**
 * Settings of the network nodes (receiver, broadcaster, subscriber, sender)
 * and the words they show for network errors.
 *
 * Problems with a setting are thrown as SettingError: a catalog key (relative
 * to the node type, e.g. "errors.port") and its substitutions, so that each
 * node words it from its own locale file (`<type>.errors.port` …).
 */
import type { NodeAPI } from "node-red";
import { parseCidrList } from "../../src/vtp/whitelist";

/** A setting the node cannot work with: `key` is looked up in the node's catalog under its type. */
export class SettingError extends Error {
  constructor(
    readonly key: string,
    readonly subs: Record<string, string | number> = {},
  ) {
    super(key);
    this.name = "SettingError";
  }
}

/** The words for a SettingError (from `<type>.<key>`), or an Error's own message. */
export function settingMessage(RED: NodeAPI, type: string, err: unknown): string {
  if (err instanceof SettingError) return RED._(`${type}.${err.key}`, err.subs);
  return err instanceof Error ? err.message : String(err);
}

function numberOf(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value.trim() !== "") return Number(value);
  return Number.NaN;
}

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === "string" && value.trim() === "");
}

/** A TCP port 1–65535; `fallback` when blank. Throws SettingError "errors.port". */
export function portSetting(value: unknown, fallback: number): number {
  if (isBlank(value)) return fallback;
  const n = numberOf(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new SettingError("errors.port", { value: String(value) });
  }
  return n;
}

/** A host name or address; `fallback` when blank. */
export function hostSetting(value: unknown, fallback: string): string {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : fallback;
}

/** A whole number ≥ `min`; `fallback` when blank. Throws SettingError `errors.<name>`. */
export function intSetting(name: string, value: unknown, fallback: number, min: number): number {
  if (isBlank(value)) return fallback;
  const n = numberOf(value);
  if (!Number.isSafeInteger(n) || n < min) throw new SettingError(`errors.${name}`, { value: String(value) });
  return n;
}

/** The most seconds a seconds setting takes: a Node.js timer's longest delay (2^31 - 1 ms, about 24.8 days). */
export const MAX_SECONDS = (2 ** 31 - 1) / 1000;

/**
 * A number of seconds, 0 (when allowed) or at least 1 ms, at most MAX_SECONDS, as
 * whole ms; `fallback` (s) when blank. Throws SettingError `errors.<name>`.
 */
export function secondsSetting(
  name: string,
  value: unknown,
  fallbackSeconds: number,
  opts: { allowZero: boolean },
): number {
  const s = isBlank(value) ? fallbackSeconds : numberOf(value);
  const ms = Math.round(s * 1000);
  if (!Number.isFinite(s) || s < 0 || s > MAX_SECONDS || (ms === 0 && !(s === 0 && opts.allowZero))) {
    throw new SettingError(`errors.${name}`, { value: String(value) });
  }
  return ms;
}

/** A CIDR whitelist as typed in the editor; `fallback` when blank. Throws SettingError "errors.whitelist". */
export function whitelistSetting(value: unknown, fallback: string): string {
  const text = typeof value === "string" && value.trim() !== "" ? value.trim() : fallback;
  try {
    parseCidrList(text);
  } catch (err) {
    throw new SettingError("errors.whitelist", { error: err instanceof Error ? err.message : String(err) });
  }
  return text;
}

/** The errno-style code of an error (EADDRINUSE, ECONNREFUSED…), or null. */
export function errnoCode(err: unknown): string | null {
  if (err !== null && typeof err === "object") {
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && code !== "") return code;
  }
  return null;
}

const ERRNO_IN_TEXT = /\b(E[A-Z0-9_]{3,})\b/;

/**
 * A short reason for a status line: the first errno-style code in `text`
 * (ECONNREFUSED…), else the text cut to `max` characters.
 */
export function shortReason(text: string, max = 40): string {
  const m = ERRNO_IN_TEXT.exec(text);
  if (m !== null) return m[1]!;
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
