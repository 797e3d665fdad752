/**
 * ISO 8601 date-times as voeventdb reads them (Python's `iso8601.parse_date`): used for `Who/Date`
 * and position times at ingest and for the `authored_since` / `authored_until` filters.
 *
 * Decisions:
 * - Accepted: `YYYY`, `YYYY-MM`, `YYYY-MM-DD` (or `YYYYMMDD`), then optionally `T` or a space and
 *   `HH:MM`, `HH:MM:SS` or `HH:MM:SS.fff…` (any number of digits, kept to the millisecond), then
 *   optionally `Z` or an offset `±HH`, `±HHMM`, `±HH:MM`. No zone means UTC (VOEvent times are UTC).
 * - Every field is range-checked (month 1–12, the month's days, hour 0–23 or 24:00:00, minute and
 *   second 0–59); anything else is `null`, never a Date that rolled over.
 * - Years 0001–9999 only: both stores hold them (PostgreSQL timestamptz; milliseconds in SQLite).
 */
const ISO =
  /^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?|(\d{2})(\d{2}))?(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * The value of a run of ASCII digits (what the pattern matched), the first `most` of them: by
 * hand, as Number() of a string with a leading zero takes V8's slow path (a runtime call each).
 */
function digits(s: string | undefined, fallback: number, most = s?.length ?? 0): number {
  if (s === undefined) return fallback;
  let n = 0;
  for (let i = 0; i < most; i++) n = n * 10 + (i < s.length ? s.charCodeAt(i) - 48 : 0);
  return n;
}

/** The instant an ISO 8601 string names, or null when it is not one (see the rules above). */
export function parseIsoTime(text: string): Date | null {
  const m = ISO.exec(text.trim());
  if (m === null) return null;
  const year = digits(m[1], 0);
  const month = digits(m[2] ?? m[4], 1);
  const day = digits(m[3] ?? m[5], 1);
  const hour = digits(m[6], 0);
  const minute = digits(m[7], 0);
  const second = digits(m[8], 0);
  // The millisecond the fraction is in: its first three digits (Number("0.9999…") is 1).
  const ms = digits(m[9], 0, 3);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return null;
  if (minute > 59 || second > 59) return null;
  if (hour > 24 || (hour === 24 && (minute !== 0 || second !== 0 || ms !== 0))) return null;
  let offsetMin = 0;
  const zone = m[10];
  if (zone !== undefined && zone !== "Z") {
    const zoneDigits = zone.slice(1).replace(":", "");
    const oh = Number(zoneDigits.slice(0, 2));
    const om = zoneDigits.length > 2 ? Number(zoneDigits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return null;
    offsetMin = (zone[0] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, ms);
  const t = d.getTime() - offsetMin * 60_000;
  // A zone offset may carry year 1 or 9999 across the range the stores hold.
  if (!Number.isFinite(t) || t < MIN_TIME || t > MAX_TIME) return null;
  return new Date(t);
}

/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z. */
export const MIN_TIME = -62135596800000;
export const MAX_TIME = 253402300799999;
