/**
 * Process details (ProcessInfo) from /proc/<pid>, cached per process.
 *
 * A process is identified by (pid, start time): the start time comes from `/proc/<pid>/stat`.
 * Everything else — `exe`, `cmdline`, `status`, the user name, the parent's name and the module list
 * from `maps` — is read once per (pid, start time) and reused until the process stops owning sockets or
 * the pid is reused by another process. On each poll a known process costs one `stat` of its /proc
 * directory ({@link pidInstanceToken}); `/proc/<pid>/stat` is read again only when that changed.
 *
 * Parsers of the individual files are pure functions over their text and are exported for tests.
 *
 * @module
 */

import { basename } from "node:path";
import type { ModuleInfo, ProcessInfo } from "../../model/types.ts";
import { redactCommandLine } from "../../model/redact.ts";
import { pidInstanceToken } from "./pid_instance.ts";
import {
  countWarning,
  WARNING_PROCESS_ACCESS_DENIED,
  WARNING_PROCESS_VANISHED,
  type WarningCounts,
} from "./warnings.ts";

/** `USER_HZ`: the unit of the times in `/proc/<pid>/stat` (fixed at 100 in the Linux ABI; `getconf CLK_TCK`). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** Name used when not even the kernel's short process name could be read. */
export const UNKNOWN_PROCESS_NAME = "unknown";

/** Suffix the kernel appends to `exe` links and `maps` paths of files deleted since they were mapped. */
const DELETED_SUFFIX = " (deleted)";

// ---- pure parsers --------------------------------------------------------------------------------

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

/** Joins the NUL-separated arguments of `/proc/<pid>/cmdline` with spaces; undefined when empty. */
export function parseCmdline(bytes: Uint8Array): string | undefined {
  const text = new TextDecoder().decode(bytes);
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
  const spans = new Map<string, { start: number; end: number; complete: boolean }>();
  for (const line of mapsText.split("\n")) {
    const slash = line.indexOf("/");
    if (slash < 0) continue;
    let path = line.slice(slash);
    if (path.endsWith(DELETED_SUFFIX)) path = path.slice(0, -DELETED_SUFFIX.length);
    if (path !== executablePath && !isSharedObjectName(basename(path))) continue;
    const dash = line.indexOf("-");
    const space = line.indexOf(" ", dash);
    if (dash < 0 || space < 0) continue;
    const start = parseInt(line.slice(0, dash), 16);
    const end = parseInt(line.slice(dash + 1, space), 16);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) continue;
    const span = spans.get(path);
    if (span === undefined) spans.set(path, { start, end, complete: false });
    else if (!span.complete) {
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
  return modules;
}

// ---- reader with cache ---------------------------------------------------------------------------

/** Options of {@link ProcessInfoReader}. */
export interface ProcessInfoReaderOptions {
  /** Root of the proc file system; `/proc` by default. */
  procRoot?: string;
  /** The user database; `/etc/passwd` by default. */
  passwdPath?: string;
}

/** Counters of the work done by a {@link ProcessInfoReader}. */
export interface ProcessInfoReaderStats {
  /** Full detail reads (exe, cmdline, status, maps, ...): once per (pid, start time). */
  detailReads: number;
  /** Reads of `/proc/<pid>/stat` (none for a known process whose /proc directory is unchanged). */
  statReads: number;
}

interface CachedProcess {
  startTicks: number;
  /** {@link pidInstanceToken} when the entry was made or last confirmed by the start time. */
  instance: string | undefined;
  info: ProcessInfo;
  /** Poll generation that last asked for this process. */
  usedInGeneration: number;
}

type ReadOutcome<T> = { value: T } | { problem: "vanished" | "denied" | "absent" };

function attempt<T>(read: () => T): ReadOutcome<T> {
  try {
    return { value: read() };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { problem: "vanished" };
    if (error instanceof Deno.errors.PermissionDenied) return { problem: "denied" };
    throw error; // e.g. NotCapable (missing -A): a setup fault, not a process fault
  }
}

/** Reads and caches {@link ProcessInfo} per (pid, start time); see the module description. */
export class ProcessInfoReader {
  /** Work counters. */
  readonly stats: ProcessInfoReaderStats = { detailReads: 0, statReads: 0 };

  readonly #procRoot: string;
  readonly #passwdPath: string;
  readonly #cache = new Map<number, CachedProcess>();
  #generation = 0;
  #bootTimeSeconds: number | undefined;
  #users: Map<number, string> | undefined;
  #usersLoadedInGeneration = -1;

  /** @param options see {@link ProcessInfoReaderOptions}. */
  constructor(options: ProcessInfoReaderOptions = {}) {
    this.#procRoot = options.procRoot ?? "/proc";
    this.#passwdPath = options.passwdPath ?? "/etc/passwd";
  }

  /**
   * Details of one process, from the cache when the same process (same start time) was read before.
   * A process that vanished or cannot be read gives a partial ProcessInfo and a counted warning.
   */
  read(pid: number, warnings: WarningCounts): ProcessInfo {
    const instance = pidInstanceToken(this.#procRoot, pid);
    const known = this.#cache.get(pid);
    if (known !== undefined && instance !== undefined && known.instance === instance) {
      known.usedInGeneration = this.#generation;
      return known.info;
    }
    this.stats.statReads++;
    const statPath = `${this.#procRoot}/${pid}/stat`;
    const statText = attempt(() => Deno.readTextFileSync(statPath));
    const stat = "value" in statText ? parseProcStat(statText.value) : undefined;
    if (stat === undefined) {
      const denied = "problem" in statText && statText.problem === "denied";
      countWarning(warnings, denied ? WARNING_PROCESS_ACCESS_DENIED : WARNING_PROCESS_VANISHED);
      this.#cache.delete(pid);
      return {
        pid,
        name: UNKNOWN_PROCESS_NAME,
        partial: `${denied ? "access denied" : "vanished"}: ${statPath}`,
      };
    }
    const cached = this.#cache.get(pid);
    if (cached !== undefined && cached.startTicks === stat.startTicks) {
      cached.usedInGeneration = this.#generation;
      cached.instance = instance;
      return cached.info;
    }
    const info = this.#readDetails(pid, stat, warnings);
    this.#cache.set(pid, { startTicks: stat.startTicks, instance, info, usedInGeneration: this.#generation });
    return info;
  }

  /** Ends a poll: forgets the processes that were not asked for since the previous call. */
  endPoll(): void {
    for (const [pid, cached] of this.#cache) {
      if (cached.usedInGeneration !== this.#generation) this.#cache.delete(pid);
    }
    this.#generation++;
  }

  #readDetails(pid: number, stat: ProcStat, warnings: WarningCounts): ProcessInfo {
    this.stats.detailReads++;
    const directory = `${this.#procRoot}/${pid}`;
    const problems: string[] = [];
    let vanished = false;
    const note = (outcome: ReadOutcome<unknown>, path: string): void => {
      if (!("problem" in outcome)) return;
      if (outcome.problem === "denied") problems.push(`access denied: ${path}`);
      else if (outcome.problem === "vanished") {
        vanished = true;
        problems.push(`vanished: ${path}`);
      }
    };

    const info: ProcessInfo = { pid, name: stat.shortName || UNKNOWN_PROCESS_NAME };

    const exe = attempt(() => Deno.readLinkSync(`${directory}/exe`));
    if ("value" in exe) {
      info.path = exe.value.endsWith(DELETED_SUFFIX) ? exe.value.slice(0, -DELETED_SUFFIX.length) : exe.value;
      info.name = basename(info.path);
    } else if (exe.problem === "denied") {
      note(exe, `${directory}/exe`);
    } // NotFound on exe alone: a kernel thread, which has no executable

    const cmdline = attempt(() => Deno.readFileSync(`${directory}/cmdline`));
    if ("value" in cmdline) {
      const commandLine = parseCmdline(cmdline.value);
      if (commandLine !== undefined) info.commandLine = redactCommandLine(commandLine); // no secret reaches a log
    } else note(cmdline, `${directory}/cmdline`);

    info.parentPid = stat.parentPid;
    const status = attempt(() => parseProcStatus(Deno.readTextFileSync(`${directory}/status`)));
    if ("value" in status) {
      if (status.value.uid !== undefined) info.user = this.#userName(status.value.uid);
    } else note(status, `${directory}/status`);

    const bootTime = this.#bootTime();
    if (bootTime !== undefined) info.startTime = startTimeMs(bootTime, stat.startTicks);

    if (stat.parentPid > 0) {
      const parentName = this.#imageName(stat.parentPid);
      if (parentName !== undefined) info.parentName = parentName;
    }

    const maps = attempt(() => Deno.readTextFileSync(`${directory}/maps`));
    if ("value" in maps) {
      const modules = parseProcMaps(maps.value, info.path);
      if (modules.length > 0) info.modules = modules;
    } else note(maps, `${directory}/maps`);

    info.services = [];
    if (problems.length > 0) {
      info.partial = problems.join("; ");
      countWarning(warnings, vanished ? WARNING_PROCESS_VANISHED : WARNING_PROCESS_ACCESS_DENIED);
    }
    return info;
  }

  /** Image name of another process (its executable's base name, else its short name). */
  #imageName(pid: number): string | undefined {
    const cached = this.#cache.get(pid);
    if (cached !== undefined) return cached.info.name;
    try {
      const path = Deno.readLinkSync(`${this.#procRoot}/${pid}/exe`);
      return basename(path.endsWith(DELETED_SUFFIX) ? path.slice(0, -DELETED_SUFFIX.length) : path);
    } catch {
      // not readable (another user's process, kernel thread): fall back to the short name
    }
    try {
      return Deno.readTextFileSync(`${this.#procRoot}/${pid}/comm`).trimEnd() || undefined;
    } catch {
      return undefined; // the parent is gone
    }
  }

  #bootTime(): number | undefined {
    if (this.#bootTimeSeconds === undefined) {
      try {
        this.#bootTimeSeconds = parseBootTime(Deno.readTextFileSync(`${this.#procRoot}/stat`));
      } catch {
        return undefined;
      }
    }
    return this.#bootTimeSeconds;
  }

  /** User name of a uid from the passwd file (re-read at most once per poll for an unknown uid). */
  #userName(uid: number): string {
    let name = this.#users?.get(uid);
    if (name === undefined && this.#usersLoadedInGeneration !== this.#generation) {
      this.#usersLoadedInGeneration = this.#generation;
      try {
        this.#users = parsePasswd(Deno.readTextFileSync(this.#passwdPath));
      } catch {
        this.#users ??= new Map();
      }
      name = this.#users.get(uid);
    }
    return name ?? String(uid);
  }
}
