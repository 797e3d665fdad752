/**
 * Reading node settings as the editor saves them (numbers often arrive as
 * strings, checkboxes as booleans or "true"), and small text helpers.
 */
import type { NodeAPI } from "node-red";
import { isVOEventError } from "../../src/errors";

/** A setting as a number: NaN when blank or not a number or a numeric string. */
function settingNumber(value: unknown): number {
  return typeof value === "number"
    ? value
    : typeof value === "string" && value.trim() !== ""
      ? Number(value)
      : NaN;
}

/** A whole number from `min` to `max` from a setting; `fallback` when blank or unusable. */
export function wholeInRange(value: unknown, fallback: number, min: number, max: number): number {
  const n = settingNumber(value);
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : fallback;
}

/** A whole number ≥ 1 from a setting; `fallback` when blank or unusable. */
export function positiveInt(value: unknown, fallback: number): number {
  return wholeInRange(value, fallback, 1, Number.MAX_SAFE_INTEGER);
}

/** A finite number > 0 from a setting; `fallback` when blank or unusable. */
export function positiveNumber(value: unknown, fallback: number): number {
  const n = settingNumber(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/** A checkbox setting: true for true or "true". */
export function flag(value: unknown): boolean {
  return value === true || value === "true";
}

/**
 * The status text for an error about a message: `<type>.status.refused` from
 * the node's catalog with the error code (MALFORMED, BAD_IVORN…), or
 * `<type>.status.error` for any other error. Each node's locale file has both.
 */
export function errorStatusText(RED: NodeAPI, type: string, err: unknown): string {
  if (isVOEventError(err)) return RED._(`${type}.status.refused`, { code: err.code });
  return RED._(`${type}.status.error`);
}
