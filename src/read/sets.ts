/**
 * The log sets of a directory (or of a list of files), in time order. A set is the files sharing
 * one stamp (`PR-EVENTS-26-11-26-4-43-3.jsonl`, `PR-PORTS-26-11-26-4-43-3.log`, ...). File names
 * with unpadded fields do not sort as text, and padded and unpadded spellings of one stamp are the
 * same set, so sets are grouped and ordered by the parsed stamp, read as local time in the given
 * zone (the writer keeps stamps increasing, moving a colliding stamp a second on). Where a DST change
 * makes the wall time name two instants, the one nearest the time of the set's first PR-EVENTS record
 * (its `set-start`) is taken, so the repeated hour sorts right too.
 *
 * @module
 */

import { basename, join } from "node:path";
import { UsageError } from "../errors.ts";
import { formatStamp, type LogKind, parseLogFileName, type Stamp } from "../log/file_names.ts";
import { localToInstant } from "./local_instant.ts";

/** One log set on disk. */
export interface LogSetInfo {
  /** The stamp in the canonical spelling (`26-11-26-4-43-3`). */
  stamp: string;
  /** The stamp's fields (four-digit year), local time. */
  fields: Stamp;
  /** The stamp's sequence suffix (`_2` → 2; 0 for none): a later set of the same second. */
  sequence?: number;
  /** Path of each member present, by kind. */
  files: Partial<Record<LogKind, string>>;
  /** Total size of the members, bytes. */
  bytes: number;
  /** The stamp as an instant, ms since the Unix epoch (see the module doc). */
  start: number;
  /** The `time` of its `set-start` record, when it has one (the writer's clock, whatever the reader's zone). */
  recorded?: number;
  /** The `reason` of its `set-start` record (`start`, `midnight`, `size`, `clock-jump`, ...), when known. */
  reason?: string;
  /** Computer name from the `set-start` record, when known. */
  host?: string;
  /**
   * Which file the change rows come from: PR-EVENTS when present, else the classic PR-PORTS (none
   * for the newest set while other sets have PR-EVENTS: it is still being created).
   */
  primary?: { kind: "EVENTS" | "PORTS"; path: string };
}

/** Options of {@link listLogSets} and {@link logSetsOfFiles}. */
export interface ListOptions {
  /** IANA zone the stamps (and classic lines) are in; the system zone when absent. */
  timeZone?: string;
  /**
   * First records already read, by PR-EVENTS path (a first line never changes once written): a
   * caller that lists the same directory again and again (`follow`) keeps one and passes it each time.
   */
  heads?: Map<string, SetStart>;
}

/** What the first line of a PR-EVENTS file says about its set. */
export interface SetStart {
  /** The first record's time. */
  time?: number;
  /** Whether the first record is a `set-start`. */
  setStart?: boolean;
  /** Its `reason`. */
  reason?: string;
  /** Its `host`. */
  host?: string;
}

/** Reads the first line of a PR-EVENTS file (at most 16 KiB) for its `set-start` record. */
async function readSetStart(path: string): Promise<SetStart> {
  let file: Deno.FsFile | undefined;
  try {
    file = await Deno.open(path, { read: true });
    const buf = new Uint8Array(16 * 1024);
    const n = await file.read(buf) ?? 0;
    const text = new TextDecoder().decode(buf.subarray(0, n));
    const nl = text.indexOf("\n");
    if (nl < 0) return {};
    const r = JSON.parse(text.slice(0, nl));
    const time = typeof r.time === "string" ? Date.parse(r.time) : NaN;
    return {
      time: Number.isFinite(time) ? time : undefined,
      setStart: r.event === "set-start",
      reason: r.event === "set-start" && typeof r.reason === "string" ? r.reason : undefined,
      host: typeof r.host === "string" ? r.host : undefined,
    };
  } catch {
    return {};
  } finally {
    file?.close();
  }
}

/** Groups named files into sets and orders them; `entries` are [path, size] of parseable names. */
async function buildSets(entries: [string, number][], options: ListOptions): Promise<LogSetInfo[]> {
  const byOrder = new Map<number, LogSetInfo>();
  for (const [path, size] of entries) {
    const parsed = parseLogFileName(basename(path));
    if (!parsed) continue;
    let set = byOrder.get(parsed.order);
    if (!set) {
      set = {
        stamp: formatStamp(parsed.stamp, parsed.sequence),
        fields: parsed.stamp,
        sequence: parsed.sequence,
        files: {},
        bytes: 0,
        start: 0,
      };
      byOrder.set(parsed.order, set);
    }
    if (set.files[parsed.kind] === undefined || path < set.files[parsed.kind]!) set.files[parsed.kind] = path;
    set.bytes += size;
  }
  const sets = [...byOrder.values()];
  for (const set of sets) {
    const s = set.fields;
    set.start = localToInstant(s, options.timeZone);
    if (set.files.EVENTS) {
      const path = set.files.EVENTS;
      const head = options.heads?.get(path) ?? await readSetStart(path);
      if (head.time !== undefined) options.heads?.set(path, head);
      if (head.time !== undefined) set.start = nearestInstant(s, head.time, options.timeZone);
      if (head.setStart) set.recorded = head.time;
      set.reason = head.reason;
      set.host = head.host;
      set.primary = { kind: "EVENTS", path: set.files.EVENTS };
    } else if (set.files.PORTS) set.primary = { kind: "PORTS", path: set.files.PORTS };
  }
  sets.sort(compareSets);
  // the newest set of our writer may be caught between creating PR-PORTS and PR-EVENTS: wait for
  // PR-EVENTS rather than read its PR-PORTS (and read the same changes twice once PR-EVENTS appears)
  const newest = sets[sets.length - 1];
  if (newest && !newest.files.EVENTS && sets.some((s) => s.files.EVENTS)) newest.primary = undefined;
  return sets;
}

/** Of the instants a wall time names (two in a repeated DST hour), the one nearest `time`. */
function nearestInstant(s: Stamp, time: number, timeZone?: string): number {
  const early = localToInstant(s, timeZone);
  const late = localToInstant(s, timeZone, early + 1);
  return Math.abs(late - time) < Math.abs(early - time) ? late : early;
}

/** Orders sets by start instant, then by stamp. */
export function compareSets(a: LogSetInfo, b: LogSetInfo): number {
  return a.start - b.start || stampOrder(a.fields) - stampOrder(b.fields) ||
    (a.sequence ?? 0) - (b.sequence ?? 0);
}

function stampOrder(s: Stamp): number {
  return ((((s.year * 100 + s.month) * 100 + s.day) * 100 + s.hour) * 100 + s.minute) * 100 + s.second;
}

/**
 * Every log set in `dir`, oldest first (the open set included). Files whose names are not log names
 * are ignored. A missing or unreadable directory is a {@link UsageError}.
 */
export async function listLogSets(dir: string, options: ListOptions = {}): Promise<LogSetInfo[]> {
  const entries: [string, number][] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile || !parseLogFileName(e.name)) continue;
      const path = join(dir, e.name);
      try {
        entries.push([path, (await Deno.stat(path)).size]);
      } catch {
        // removed while listing (retention): not part of the listing
      }
    }
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "does not exist"
      : e instanceof Deno.errors.PermissionDenied
      ? "cannot be read (permission denied; the logs are readable by administrators only)"
      : `cannot be read (${e instanceof Error ? e.message : String(e)})`;
    throw new UsageError(`log directory ${dir} ${why}; name the directory with --log-dir`);
  }
  return await buildSets(entries, options);
}

/**
 * The sets made of the named files (a PR-EVENTS or PR-PORTS file, or any member of a set). A file
 * whose name is not a log name becomes a set of its own: `.jsonl` read as PR-EVENTS, anything else
 * as PR-PORTS, started at its modification time. A missing file is a {@link UsageError}.
 */
export async function logSetsOfFiles(paths: string[], options: ListOptions = {}): Promise<LogSetInfo[]> {
  const named: [string, number][] = [];
  const odd: LogSetInfo[] = [];
  for (const path of paths) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch {
      throw new UsageError(
        `${path}: no such file; name PR-EVENTS-*.jsonl or PR-PORTS-*.log files, or use --log-dir`,
      );
    }
    if (!info.isFile) {
      throw new UsageError(`${path} is not a file; to read a directory use --log-dir ${path}`);
    }
    if (parseLogFileName(basename(path))) named.push([path, info.size]);
    else {
      const kind = path.toLowerCase().endsWith(".jsonl") ? "EVENTS" : "PORTS";
      const start = info.mtime?.getTime() ?? 0;
      odd.push({
        stamp: basename(path),
        fields: { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 },
        files: { [kind]: path },
        bytes: info.size,
        start,
        primary: { kind, path },
      });
    }
  }
  return [...await buildSets(named, options), ...odd].sort(compareSets);
}
