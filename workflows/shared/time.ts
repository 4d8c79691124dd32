/**
 * Durations and ISO-8601 times. Pure and deterministic: in workflows `Date.now()` is workflow time, so these are safe
 * there, and non-workflow code uses the same helpers.
 */

export const SECOND_MS = 1000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** An ISO-8601 date-time with an explicit zone (`Z` or `±hh:mm`). */
const ISO_TIME_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** Parses an ISO-8601 date-time with an explicit zone; undefined when it is not one. */
export function parseIsoTime(value: unknown): number | undefined {
  if (typeof value !== 'string' || !ISO_TIME_PATTERN.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

export function isIsoTime(value: unknown): value is string {
  return parseIsoTime(value) !== undefined;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The current time (workflow time in workflows) as ISO-8601. */
export function nowIso(): string {
  return iso(Date.now());
}

/** Days, rounded to 1/1000 so query results read cleanly. */
export function msToDays(ms: number): number {
  return Math.round((ms / DAY_MS) * 1000) / 1000;
}
