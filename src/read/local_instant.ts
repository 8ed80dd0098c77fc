/**
 * Local wall-clock fields back to an instant, in the system zone or a named IANA zone. The classic
 * files and the set stamps are local time with no zone, so around a DST change a wall time can name
 * two instants (autumn) or none (spring): {@link localToInstant} takes a hint (the previous line's
 * instant) and picks the first candidate at or after it.
 *
 * @module
 */

import { LocalTime } from "../log/local_time.ts";

/** Calendar fields in local time (four-digit year). */
export interface WallFields {
  /** Four-digit year. */
  year: number;
  /** 1–12. */
  month: number;
  /** 1–31. */
  day: number;
  /** 0–23. */
  hour: number;
  /** 0–59. */
  minute: number;
  /** 0–59. */
  second: number;
}

const zones = new Map<string, LocalTime>();

function localTime(timeZone: string | undefined): LocalTime {
  const key = timeZone ?? "";
  let lt = zones.get(key);
  if (!lt) zones.set(key, lt = new LocalTime(timeZone));
  return lt;
}

/** The zone's offset from UTC at instant `ms`, in ms (positive east of Greenwich). */
export function zoneOffset(ms: number, timeZone?: string): number {
  const p = localTime(timeZone).parts(ms);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

function same(ms: number, f: WallFields, timeZone?: string): boolean {
  const p = localTime(timeZone).parts(ms);
  return p.year === f.year && p.month === f.month && p.day === f.day && p.hour === f.hour &&
    p.minute === f.minute && p.second === f.second;
}

/**
 * The instant (ms since the Unix epoch) of local `fields` in `timeZone`. When the wall time is
 * ambiguous, the first candidate at or after `hint` (else the earlier); when it does not exist (a
 * spring-forward gap), the instant read with the offset before the change.
 */
export function localToInstant(fields: WallFields, timeZone?: string, hint?: number): number {
  const naive = Date.UTC(
    fields.year,
    fields.month - 1,
    fields.day,
    fields.hour,
    fields.minute,
    fields.second,
  );
  const offsets = new Set([
    zoneOffset(naive - 86_400_000, timeZone),
    zoneOffset(naive, timeZone),
    zoneOffset(naive + 86_400_000, timeZone),
  ]);
  const candidates = [...offsets].map((o) => naive - o).filter((t) => same(t, fields, timeZone)).sort((
    a,
    b,
  ) => a - b);
  if (candidates.length === 0) return naive - zoneOffset(naive - 86_400_000, timeZone);
  if (hint !== undefined) {
    const after = candidates.find((t) => t >= hint);
    if (after !== undefined) return after;
  }
  return candidates[0];
}

/** The local fields of instant `ms` in `timeZone`. */
export function instantToLocal(ms: number, timeZone?: string): WallFields {
  const { year, month, day, hour, minute, second } = localTime(timeZone).parts(ms);
  return { year, month, day, hour, minute, second };
}

/** The zone's name for headers: the IANA name (`Europe/Berlin`) and the offset at `ms` (`+01:00`). */
export function zoneLabel(ms: number, timeZone?: string): string {
  const name = timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? "local";
  const off = zoneOffset(ms, timeZone) / 60_000;
  const sign = off < 0 ? "-" : "+";
  const a = Math.abs(off);
  return `${name} (UTC${sign}${String(Math.floor(a / 60)).padStart(2, "0")}:${
    String(a % 60).padStart(2, "0")
  })`;
}
