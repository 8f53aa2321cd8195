import { AuditeError } from '../errors.ts';

/**
 * Times as operators type them, turned into the feed's unix seconds:
 *   1714557600  or  @1714557600          unix seconds
 *   2024-05-01                           midnight UTC
 *   2024-05-01T10:00, 2024-05-01 10:00:30.5
 *                                        no zone: UTC (the feed stores UTC seconds)
 *   2024-05-01T10:00:00Z, …+02:00, …-0530
 * Fractions of a second are dropped: the feed has one-second resolution.
 */
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;
const UNIX = /^@?(\d{1,15})$/;

export const TIME_FORMATS = 'ISO-8601 (2024-05-01, 2024-05-01T10:00:00Z, 2024-05-01T12:00+02:00; no zone means UTC) or unix seconds';

export function parseTimeInput(text: string, what = 'time'): number {
  const input = text.trim();
  const unix = UNIX.exec(input);
  if (unix !== null) return Number(unix[1]);
  const m = ISO.exec(input);
  const fail = (): never => {
    throw new AuditeError('INVALID_ARGUMENT', `${what} ${JSON.stringify(text)} is not a time: use ${TIME_FORMATS}`);
  };
  if (m === null) return fail();
  const [year, month, day, hour = 0, minute = 0, second = 0] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((part) =>
    part === undefined ? undefined : Number(part),
  ) as number[];
  if (year === undefined || month === undefined || day === undefined) return fail();
  const zone = m[7];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 59) return fail();
  const offset = zone === undefined ? 0 : zoneOffsetSeconds(zone);
  if (offset === undefined) return fail();
  return utc(year, month - 1, day, hour, minute, second) / 1000 - offset;
}

function daysIn(year: number, month: number): number {
  return new Date(utc(year, month, 0)).getUTCDate();
}

// Date.UTC reads years 0..99 as 1900..1999; set the year separately.
function utc(year: number, monthIndex: number, day: number, hour = 0, minute = 0, second = 0): number {
  const date = new Date(Date.UTC(2000, 0, 1));
  date.setUTCFullYear(year, monthIndex, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime();
}

function zoneOffsetSeconds(zone: string): number | undefined {
  if (zone.toUpperCase() === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
  if (hours > 23 || minutes > 59) return undefined;
  return sign * (hours * 3600 + minutes * 60);
}

/** Unix seconds as `2024-05-01T10:00:00Z`. */
export function formatTime(seconds: number): string {
  const date = new Date(seconds * 1000);
  if (Number.isNaN(date.getTime())) return String(seconds);
  return date.toISOString().replace('.000Z', 'Z');
}
