/**
 * Pure parsers of the /proc/<pid> files the Linux collector reads, over their decoded text (see
 * `decodeBytes` in src/model/text.ts: bytes that are not UTF-8 survive as U+DC80–U+DCFF).
 *
 * @module
 */

import { basename } from "node:path";
import type { ModuleInfo } from "../../model/types.ts";
import { decodeBytes } from "../../model/text.ts";

/** `USER_HZ`: the unit of the times in `/proc/<pid>/stat` (fixed at 100 in the Linux ABI; `getconf CLK_TCK`). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** Suffix the kernel appends to `exe` links and `maps` paths of files deleted since they were mapped. */
export const DELETED_SUFFIX = " (deleted)";

/** Most modules listed per process; a longer list is cut (and the process entry says so). */
export const MAX_MODULES = 1024;

/** The fields of `/proc/<pid>/stat` the collector uses. */
export interface ProcStat {
  /** Short name (`comm`, at most 15 characters), without the parentheses. */
  shortName: string;
  /** Parent pid (field 4). */
  parentPid: number;
  /** Start time in clock ticks after boot (field 22). */
  startTicks: number;
}

/** Field number of `starttime` in `/proc/<pid>/stat` (1-based, as in `man 5 proc`). */
const STAT_FIELD_START_TIME = 22;
/** Field number of `ppid`. */
const STAT_FIELD_PARENT_PID = 4;
/** Field number of `state`, the first one after the `(comm)` field. */
const STAT_FIELD_STATE = 3;

/** Parses `/proc/<pid>/stat`; undefined when malformed. The name may contain spaces and parentheses. */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  let field = STAT_FIELD_STATE;
  let position = close + 2; // start of the state field
  let parentPid = -1;
  let startTicks = -1;
  while (position < text.length && field <= STAT_FIELD_START_TIME) {
    let end = text.indexOf(" ", position);
    if (end < 0) end = text.length;
    if (field === STAT_FIELD_PARENT_PID) parentPid = Number(text.slice(position, end));
    else if (field === STAT_FIELD_START_TIME) startTicks = Number(text.slice(position, end));
    position = end + 1;
    field++;
  }
  if (!(parentPid >= 0) || !(startTicks >= 0)) return undefined;
  return { shortName: text.slice(open + 1, close), parentPid, startTicks };
}

/** The fields of `/proc/<pid>/status` the collector uses. */
export interface ProcStatus {
  /** `Name:` (the short name, with escapes as the kernel writes them). */
  name?: string;
  /** `PPid:`. */
  parentPid?: number;
  /** Real uid, the first number of `Uid:`. */
  uid?: number;
}

/** Parses `/proc/<pid>/status`. */
export function parseProcStatus(text: string): ProcStatus {
  const status: ProcStatus = {};
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (key === "Name") status.name = value;
    else if (key === "PPid") status.parentPid = Number(value);
    else if (key === "Uid") status.uid = Number(value.split(/\s+/)[0]);
  }
  return status;
}

/**
 * Joins the NUL-separated arguments of `/proc/<pid>/cmdline` with spaces (decoded losslessly);
 * undefined when empty.
 */
export function parseCmdline(bytes: Uint8Array): string | undefined {
  const text = decodeBytes(bytes);
  const parts = text.split("\0");
  while (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  return parts.length === 0 ? undefined : parts.join(" ");
}

/** Parses `/etc/passwd` into user names by uid (the first name wins for a shared uid). */
export function parsePasswd(text: string): Map<number, string> {
  const users = new Map<number, string>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(":");
    if (fields.length < 3) continue;
    const uid = Number(fields[2]);
    if (Number.isInteger(uid) && !users.has(uid)) users.set(uid, fields[0]);
  }
  return users;
}

/** Boot time in seconds since the epoch, from the `btime` line of `/proc/stat`; undefined if absent. */
export function parseBootTime(procStatText: string): number | undefined {
  const match = /^btime\s+(\d+)$/m.exec(procStatText);
  return match ? Number(match[1]) : undefined;
}

/** Start time in ms since the epoch from the boot time (s) and the start time in clock ticks. */
export function startTimeMs(bootTimeSeconds: number, startTicks: number): number {
  return bootTimeSeconds * 1000 + Math.round((startTicks * 1000) / CLOCK_TICKS_PER_SECOND);
}

/** True for a file name that is a shared object: `libc.so.6`, `ld-linux-x86-64.so.2`, `libx.so`. */
export function isSharedObjectName(fileName: string): boolean {
  return /\.so(\.[0-9.]+)?$/.test(fileName) || fileName.includes(".so.");
}

/**
 * Largest hole between two mappings of one file that still counts as the same loaded image (ELF
 * segments are aligned, which leaves holes of up to a few MiB). A mapping of the same file farther
 * away — e.g. a runtime's code remapped to huge pages — is not part of the image's span.
 */
export const MAX_IMAGE_SEGMENT_GAP = 16 * 1024 * 1024;

/** The modules of one `maps` text and how many more there were than {@link MAX_MODULES}. */
export interface MapsModules {
  /** The modules, the executable first. */
  modules: ModuleInfo[];
  /** Modules left out because the list reached its cap. */
  omitted: number;
}

/** The kernel writes a newline in a `maps` path as `\012` (and nothing else escaped). */
const MAPS_NEWLINE = /\\012/g;

/**
 * The modules of a process from its `/proc/<pid>/maps`: every file-backed mapping of the executable or
 * of a shared object, one per file. The base is the lowest start address; the size spans from there to
 * the end of the last mapping of the same file that follows without a hole larger than
 * {@link MAX_IMAGE_SEGMENT_GAP}. The executable comes first, then the others by base address.
 *
 * @param mapsText the text of `/proc/<pid>/maps` (the kernel lists mappings by ascending address).
 * @param executablePath the process's executable (from `exe`), when known.
 */
export function parseProcMaps(mapsText: string, executablePath?: string): ModuleInfo[] {
  return parseProcMapsBounded(mapsText, executablePath).modules;
}

/** {@link parseProcMaps} with at most `maxModules` files besides the executable, counting the rest. */
export function parseProcMapsBounded(
  mapsText: string,
  executablePath?: string,
  maxModules = MAX_MODULES,
): MapsModules {
  const spans = new Map<string, { start: number; end: number; complete: boolean }>();
  const omittedPaths = new Set<string>();
  for (const line of mapsText.split("\n")) {
    const slash = line.indexOf("/");
    if (slash < 0) continue;
    let path = line.slice(slash);
    if (path.includes("\\")) path = path.replace(MAPS_NEWLINE, "\n");
    if (path.endsWith(DELETED_SUFFIX)) path = path.slice(0, -DELETED_SUFFIX.length);
    if (path !== executablePath && !isSharedObjectName(basename(path))) continue;
    const dash = line.indexOf("-");
    const space = line.indexOf(" ", dash);
    if (dash < 0 || space < 0) continue;
    const start = parseInt(line.slice(0, dash), 16);
    const end = parseInt(line.slice(dash + 1, space), 16);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) continue;
    const span = spans.get(path);
    if (span === undefined) {
      if (spans.size >= maxModules && path !== executablePath) omittedPaths.add(path);
      else spans.set(path, { start, end, complete: false });
    } else if (!span.complete) {
      if (start >= span.end && start - span.end <= MAX_IMAGE_SEGMENT_GAP) span.end = Math.max(span.end, end);
      else span.complete = true;
    }
  }
  const modules: ModuleInfo[] = [];
  for (const [path, span] of spans) {
    modules.push({
      name: basename(path),
      path,
      baseAddress: `0x${span.start.toString(16)}`,
      size: span.end - span.start,
    });
  }
  const isExecutable = (module: ModuleInfo) => module.path === executablePath;
  modules.sort((a, b) =>
    isExecutable(a) !== isExecutable(b)
      ? (isExecutable(a) ? -1 : 1)
      : parseInt(a.baseAddress!, 16) - parseInt(b.baseAddress!, 16)
  );
  return { modules, omitted: omittedPaths.size };
}
