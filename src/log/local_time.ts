/**
 * Local wall-clock time, in the system time zone or a named IANA zone, computed through `Intl` so
 * that tests can pin a zone (and its DST changes) without touching the process environment.
 *
 * @module
 */

/** Calendar fields of one instant in local time. */
export interface LocalParts {
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
  /** 0 = Sunday … 6 = Saturday. */
  weekday: number;
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Converts instants to local calendar fields; caches the last second, which is what log lines hit. */
export class LocalTime {
  readonly #format: Intl.DateTimeFormat;
  #cachedSecond = Number.NaN;
  #cached: LocalParts | undefined;

  /** @param timeZone an IANA zone such as `Europe/Berlin`; the system zone when absent. */
  constructor(timeZone?: string) {
    this.#format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
      weekday: "short",
    });
  }

  /** The IANA name of the zone (the system's when none was given), e.g. `Europe/Berlin`. */
  get zone(): string {
    return this.#format.resolvedOptions().timeZone;
  }

  /** Local fields of `ms` (milliseconds since the Unix epoch). */
  parts(ms: number): LocalParts {
    const second = Math.floor(ms / 1000);
    if (second === this.#cachedSecond && this.#cached) return this.#cached;
    const p: LocalParts = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, weekday: 0 };
    for (const { type, value } of this.#format.formatToParts(second * 1000)) {
      switch (type) {
        case "year":
          p.year = Number(value);
          break;
        case "month":
          p.month = Number(value);
          break;
        case "day":
          p.day = Number(value);
          break;
        case "hour":
          p.hour = Number(value);
          break;
        case "minute":
          p.minute = Number(value);
          break;
        case "second":
          p.second = Number(value);
          break;
        case "weekday":
          p.weekday = WEEKDAYS.indexOf(value);
          break;
      }
    }
    this.#cachedSecond = second;
    this.#cached = p;
    return p;
  }

  /** The local calendar day of `ms` as `YYYY-MM-DD`: a new value means local midnight has passed. */
  dayKey(ms: number): string {
    const p = this.parts(ms);
    return `${p.year}-${String(p.month).padStart(2, "0")}-${String(p.day).padStart(2, "0")}`;
  }
}

/** `Wed Jul 06 13:44:04 2005`: the classic headers' `System Date:` (strftime `%a %b %d %H:%M:%S %Y`). */
export function formatSystemDate(p: LocalParts): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${WEEKDAYS[p.weekday]} ${MONTHS[p.month - 1]} ${two(p.day)} ${two(p.hour)}:${two(p.minute)}:${
    two(p.second)
  } ${p.year}`;
}
