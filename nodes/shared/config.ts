/**
 * Reading node settings as the editor saves them (numbers often arrive as
 * strings, checkboxes as booleans or "true"), and small text helpers.
 */
import type { NodeAPI } from "node-red";
import { isVOEventError } from "../../src/errors";

/** A whole number ≥ 1 from a setting; `fallback` when blank or unusable. */
export function positiveInt(value: unknown, fallback: number): number {
  const n =
    typeof value === "number"
      ? value
      : typeof value === "string" && value.trim() !== ""
        ? Number(value)
        : NaN;
  return Number.isSafeInteger(n) && n >= 1 ? n : fallback;
}

/** A finite number > 0 from a setting; `fallback` when blank or unusable. */
export function positiveNumber(value: unknown, fallback: number): number {
  const n =
    typeof value === "number"
      ? value
      : typeof value === "string" && value.trim() !== ""
        ? Number(value)
        : NaN;
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
