/**
 * File names of a log set, both ways. The classic grammar is the original's:
 * `PR-{INITIAL|PORTS|PIDS}-yy-mm-d-H-M-S.log` (two-digit year, zero-padded month, the rest unpadded);
 * the structured streams use the same stamp: `PR-EVENTS-<stamp>.jsonl`, `PR-ALERTS-<stamp>.jsonl`.
 *
 * **Extension for sets within one second.** The original's stamp has one-second resolution. When the
 * names of a stamp are taken (two sets in the same second, the repeated hour of a DST fall-back, a
 * clock set back, files planted by hand), the set gets a sequence suffix `_2`, `_3`, … up to
 * `_999`: `PR-PORTS-26-11-26-4-43-3_2.log`. A stamp is therefore never ahead of the clock, and a
 * start or rollover never fails because names are taken. {@link parseLogFileName} reads both forms
 * and sorts `_2` after the plain stamp of the same second.
 *
 * @module
 */

import type { LocalParts } from "./local_time.ts";

/** The kinds of file in a log set. */
export type LogKind = "INITIAL" | "PORTS" | "PIDS" | "EVENTS" | "ALERTS";

/** The fields of a stamp, in local time (the year is the full year when formatting, two digits when parsed). */
export type Stamp = Pick<LocalParts, "year" | "month" | "day" | "hour" | "minute" | "second">;

/** Highest sequence suffix of one second's sets (`_999`). */
export const MAX_STAMP_SEQUENCE = 999;

/** `05-07-6-13-44-4` for 2005-07-06 13:44:04; with `sequence` ≥ 2 (a later set in the same second) `…-4_2`. */
export function formatStamp(p: Stamp, sequence = 0): string {
  const yy = String(p.year % 100).padStart(2, "0");
  const mm = String(p.month).padStart(2, "0");
  const base = `${yy}-${mm}-${p.day}-${p.hour}-${p.minute}-${p.second}`;
  return sequence >= 2 ? `${base}_${sequence}` : base;
}

/** The file name of one member of a set, e.g. `PR-PORTS-05-07-6-13-44-4.log`. */
export function logFileName(kind: LogKind, stamp: string): string {
  const ext = kind === "EVENTS" || kind === "ALERTS" ? "jsonl" : "log";
  return `PR-${kind}-${stamp}.${ext}`;
}

const NAME =
  /^PR-(INITIAL|PORTS|PIDS|EVENTS|ALERTS)-(\d{2})-(\d{1,2})-(\d{1,2})-(\d{1,2})-(\d{1,2})-(\d{1,2})(?:_(\d{1,3}))?\.(log|jsonl)$/i;

/** A parsed log file name. */
export interface ParsedLogName {
  /** Which member of the set. */
  kind: LogKind;
  /** The stamp's fields; `year` is four digits, pivoted at 2000 (the original never predates 2004). */
  stamp: Stamp;
  /** The sequence suffix (`_2` → 2); 0 for a plain stamp. */
  sequence: number;
  /** The stamp part of the name (`26-11-26-4-43-3_2`): one value per set. */
  stampText: string;
  /**
   * A number that sorts sets by time, the sequence last (file names with unpadded fields do not sort
   * lexically): `yymmddHHMMSS * 1000 + sequence`.
   */
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
  const ext = m[9].toLowerCase();
  if ((ext === "jsonl") !== (kind === "EVENTS" || kind === "ALERTS")) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(2, 8).map(Number);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }
  const sequence = m[8] === undefined ? 0 : Number(m[8]);
  if (m[8] !== undefined && sequence < 2) return undefined;
  const stamp = { year: 2000 + year, month, day, hour, minute, second };
  const order = (((((year * 100 + month) * 100 + day) * 100 + hour) * 100 + minute) * 100 + second) * 1000 +
    sequence;
  const stampText = name.slice(name.indexOf("-", 3) + 1, name.lastIndexOf("."));
  return { kind, stamp, sequence, stampText, order };
}
