/**
 * Retention: old log sets are removed whole, oldest first by their parsed stamp, when they are older
 * than `maxAge` or while all sets together exceed `maxTotalSize`. The open set is never removed, and
 * a file whose name does not parse as a log file (written by another tool or by hand) is never
 * touched. `0` disables a limit. Pure planning ({@link planRetention}) and a small apply step.
 *
 * @module
 */

import { join } from "node:path";
import { UsageError } from "../errors.ts";
import { parseLogFileName } from "./file_names.ts";
import type { LogFileSystem } from "./log_file.ts";
import type { EventsRecord } from "./records.ts";

/** Default `--max-age`: 90 days. */
export const DEFAULT_MAX_AGE_MS = 90 * 86_400_000;
/** Default `--max-total-size`: 1 GiB (1024³ bytes). */
export const DEFAULT_MAX_TOTAL_BYTES = 1024 ** 3;

/** The limits; 0 disables one. */
export interface RetentionPolicy {
  /** Sets older than this (by stamp) are removed. */
  maxAgeMs: number;
  /** Oldest sets are removed while all sets together are larger. */
  maxTotalBytes: number;
}

/** One set found in the directory. */
export interface SetOnDisk {
  /** Its stamp text, e.g. `26-11-26-4-43-3_2`. */
  stamp: string;
  /** Sort key (see `parseLogFileName`). */
  order: number;
  /** Its stamp as a local wall-clock time, encoded as if it were UTC (for ages). */
  wallTime: number;
  /** Its files: name and size. */
  files: { name: string; size: number }[];
  /** Bytes of all its files. */
  bytes: number;
}

/** Groups the parseable names of a directory listing into sets, oldest first. */
export function setsOnDisk(files: { name: string; size: number }[]): SetOnDisk[] {
  const byStamp = new Map<string, SetOnDisk>();
  for (const f of files) {
    const p = parseLogFileName(f.name);
    if (!p) continue;
    let set = byStamp.get(p.stampText.toLowerCase());
    if (!set) {
      const s = p.stamp;
      const wallTime = Date.UTC(s.year, s.month - 1, s.day, s.hour, s.minute, s.second);
      set = { stamp: p.stampText, order: p.order, wallTime, files: [], bytes: 0 };
      byStamp.set(p.stampText.toLowerCase(), set);
    }
    set.files.push(f);
    set.bytes += f.size;
  }
  return [...byStamp.values()].sort((a, b) => a.order - b.order);
}

/**
 * Which sets to remove, oldest first, and why. `nowWall` is the local wall-clock time of now encoded
 * as UTC (as {@link SetOnDisk.wallTime}); `openStamp` is never removed.
 */
export function planRetention(
  sets: SetOnDisk[],
  openStamp: string,
  nowWall: number,
  policy: RetentionPolicy,
): { set: SetOnDisk; reason: "max-age" | "max-total-size" }[] {
  const out: { set: SetOnDisk; reason: "max-age" | "max-total-size" }[] = [];
  let total = sets.reduce((n, s) => n + s.bytes, 0);
  for (const set of sets) {
    if (set.stamp.toLowerCase() === openStamp.toLowerCase()) continue;
    const old = policy.maxAgeMs > 0 && nowWall - set.wallTime > policy.maxAgeMs;
    const big = policy.maxTotalBytes > 0 && total > policy.maxTotalBytes;
    if (!old && !big) continue;
    out.push({ set, reason: old ? "max-age" : "max-total-size" });
    total -= set.bytes;
  }
  return out;
}

/**
 * Lists `dir`, removes what {@link planRetention} says, and returns one `retention` record per set
 * removed (files that could not be removed are named in it).
 */
export function applyRetention(
  fs: LogFileSystem,
  dir: string,
  openStamp: string,
  nowWall: number,
  policy: RetentionPolicy,
): EventsRecord[] {
  if (policy.maxAgeMs <= 0 && policy.maxTotalBytes <= 0) return [];
  const files = [];
  for (const name of fs.list(dir)) {
    if (!parseLogFileName(name)) continue;
    const st = fs.stat(join(dir, name));
    if (st) files.push({ name, size: st.size });
  }
  const records: EventsRecord[] = [];
  for (const { set, reason } of planRetention(setsOnDisk(files), openStamp, nowWall, policy)) {
    const failed: string[] = [];
    for (const f of set.files) {
      try {
        fs.remove(join(dir, f.name));
      } catch {
        failed.push(f.name);
      }
    }
    records.push({
      event: "retention",
      stamp: set.stamp,
      reason,
      files: set.files.map((f) => f.name),
      bytes: set.bytes,
      ...(failed.length ? { notRemoved: failed } : {}),
    });
  }
  return records;
}

const AGE_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses `90d`, `12h`, `2w`, `0` (disabled) into milliseconds; `what` names the setting in the error. */
export function parseMaxAge(value: string | number, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])?\s*$/i.exec(String(value));
  const ms = m ? Math.round(Number(m[1]) * AGE_UNITS[(m[2] ?? "d").toLowerCase()]) : NaN;
  if (!Number.isFinite(ms)) {
    throw new UsageError(
      `${what}: '${value}' is not an age; use days (90d), hours (12h), weeks (2w) or 0 to keep all`,
    );
  }
  return ms;
}
