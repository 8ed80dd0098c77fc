/**
 * File names of a log set, both ways. The classic grammar is the original's:
 * `PR-{INITIAL|PORTS|PIDS}-yy-mm-d-H-M-S.log` (two-digit year, zero-padded month, the rest unpadded);
 * the structured streams use the same stamp: `PR-EVENTS-<stamp>.jsonl`, `PR-ALERTS-<stamp>.jsonl`.
 *
 * @module
 */

import type { LocalParts } from "./local_time.ts";

/** The kinds of file in a log set. */
export type LogKind = "INITIAL" | "PORTS" | "PIDS" | "EVENTS" | "ALERTS";

/** The fields of a stamp, in local time (the year is the full year when formatting, two digits when parsed). */
export type Stamp = Pick<LocalParts, "year" | "month" | "day" | "hour" | "minute" | "second">;

/** `05-07-6-13-44-4` for 2005-07-06 13:44:04. */
export function formatStamp(p: Stamp): string {
  const yy = String(p.year % 100).padStart(2, "0");
  const mm = String(p.month).padStart(2, "0");
  return `${yy}-${mm}-${p.day}-${p.hour}-${p.minute}-${p.second}`;
}

/** The file name of one member of a set, e.g. `PR-PORTS-05-07-6-13-44-4.log`. */
export function logFileName(kind: LogKind, stamp: string): string {
  const ext = kind === "EVENTS" || kind === "ALERTS" ? "jsonl" : "log";
  return `PR-${kind}-${stamp}.${ext}`;
}

const NAME =
  /^PR-(INITIAL|PORTS|PIDS|EVENTS|ALERTS)-(\d{2})-(\d{1,2})-(\d{1,2})-(\d{1,2})-(\d{1,2})-(\d{1,2})\.(log|jsonl)$/i;

/** A parsed log file name. */
export interface ParsedLogName {
  /** Which member of the set. */
  kind: LogKind;
  /** The stamp's fields; `year` is four digits, pivoted at 2000 (the original never predates 2004). */
  stamp: Stamp;
  /** A number that sorts sets by time (file names with unpadded fields do not sort lexically). */
  order: number;
}

/**
 * Parses a log file name tolerantly (any case, padded or not), the way old PR-Parser-era tools
 * need; `undefined` for a name that is not a log file or has impossible fields.
 */
export function parseLogFileName(name: string): ParsedLogName | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  const kind = m[1].toUpperCase() as LogKind;
  const ext = m[8].toLowerCase();
  if ((ext === "jsonl") !== (kind === "EVENTS" || kind === "ALERTS")) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(2, 8).map(Number);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }
  const stamp = { year: 2000 + year, month, day, hour, minute, second };
  const order = ((((stamp.year * 100 + month) * 100 + day) * 100 + hour) * 100 + minute) * 100 + second;
  return { kind, stamp, order };
}
