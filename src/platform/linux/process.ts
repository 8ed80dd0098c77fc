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
import type { ProcessInfo } from "../../model/types.ts";
import { redactCommandLine } from "../../model/redact.ts";
import { cutMarker, decodeBytes } from "../../model/text.ts";
import { pidInstanceToken } from "./pid_instance.ts";
import {
  DELETED_SUFFIX,
  parseBootTime,
  parseCmdline,
  parsePasswd,
  parseProcMapsBounded,
  parseProcStat,
  parseProcStatus,
  type ProcStat,
  startTimeMs,
} from "./proc_parse.ts";
import { readFileHead, readLinkBytes, utf8BoundaryLength } from "./proc_read.ts";
import {
  countWarning,
  WARNING_PROCESS_ACCESS_DENIED,
  WARNING_PROCESS_DETAIL_UNREADABLE,
  WARNING_PROCESS_VANISHED,
  type WarningCounts,
} from "./warnings.ts";

export {
  CLOCK_TICKS_PER_SECOND,
  isSharedObjectName,
  MAX_IMAGE_SEGMENT_GAP,
  MAX_MODULES,
  parseBootTime,
  parseCmdline,
  parsePasswd,
  parseProcMaps,
  parseProcMapsBounded,
  parseProcStat,
  parseProcStatus,
  type ProcStat,
  type ProcStatus,
  startTimeMs,
} from "./proc_parse.ts";

/** Name used when not even the kernel's short process name could be read. */
export const UNKNOWN_PROCESS_NAME = "unknown";

/** Most bytes of a command line read and logged; the rest is counted and replaced by a cut marker. */
export const MAX_COMMAND_LINE_BYTES = 32 * 1024;

/** Most bytes of `/proc/<pid>/maps` read (about 10 000 mappings); later modules are not listed. */
export const MAX_MAPS_BYTES = 1024 * 1024;

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

type Problem = "vanished" | "denied" | "unreadable";
type ReadOutcome<T> = { value: T } | { problem: Problem; detail?: string };

/**
 * Runs one read of one detail. Missing and forbidden are the usual process faults; any other fault
 * (a name that is not UTF-8 for an API that wants one, an I/O error) costs only that detail too.
 * Only a missing permission of the monitor itself (NotCapable, no `-A`) is thrown: a setup fault.
 */
function attempt<T>(read: () => T): ReadOutcome<T> {
  try {
    return { value: read() };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { problem: "vanished" };
    if (error instanceof Deno.errors.PermissionDenied) return { problem: "denied" };
    if (error instanceof Deno.errors.NotCapable) throw error;
    return { problem: "unreadable", detail: error instanceof Error ? error.name : String(error) };
  }
}

/**
 * Text of a small /proc file (`stat`, `status`, `comm`: the kernel bounds their size), decoded
 * losslessly; one read, as these are read for every new process.
 */
function readSmallText(path: string): string {
  return decodeBytes(Deno.readFileSync(path));
}

/** A link target (`exe`) decoded losslessly, without the kernel's ` (deleted)` suffix. */
function readExePath(path: string): string {
  const target = decodeBytes(readLinkBytes(path));
  return target.endsWith(DELETED_SUFFIX) ? target.slice(0, -DELETED_SUFFIX.length) : target;
}

/**
 * The command line of a process: at most {@link MAX_COMMAND_LINE_BYTES} read and redacted, the rest
 * counted and replaced by a cut marker. Undefined when empty (a kernel thread, a zombie).
 */
export function readCommandLine(path: string): string | undefined {
  const head = readFileHead(path, MAX_COMMAND_LINE_BYTES, true);
  let bytes = head.bytes;
  let cut = head.restBytes;
  if (cut > 0) {
    const keep = utf8BoundaryLength(bytes);
    cut += bytes.length - keep;
    bytes = bytes.subarray(0, keep);
  }
  const commandLine = parseCmdline(bytes);
  if (commandLine === undefined) return cut > 0 ? cutMarker(cut) : undefined;
  const redacted = redactCommandLine(commandLine); // no secret reaches a log
  return cut > 0 ? redacted + cutMarker(cut) : redacted;
}

/** Collects what could not be read of one process, for `partial` and the warning count. */
class Problems {
  readonly list: string[] = [];
  vanished = false;
  unreadable = false;

  /** Notes the problem of `outcome`, if any; true when there was one. */
  note(outcome: ReadOutcome<unknown>, path: string): boolean {
    if (!("problem" in outcome)) return false;
    if (outcome.problem === "denied") this.list.push(`access denied: ${path}`);
    else if (outcome.problem === "vanished") {
      this.vanished = true;
      this.list.push(`vanished: ${path}`);
    } else {
      this.unreadable = true;
      this.list.push(`unreadable (${outcome.detail}): ${path}`);
    }
    return true;
  }

  /** The warning kind for a process with these problems. */
  get warning(): string {
    if (this.vanished) return WARNING_PROCESS_VANISHED;
    return this.unreadable ? WARNING_PROCESS_DETAIL_UNREADABLE : WARNING_PROCESS_ACCESS_DENIED;
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
    const statText = attempt(() => readSmallText(statPath));
    const stat = "value" in statText ? parseProcStat(statText.value) : undefined;
    if (stat === undefined) {
      const problems = new Problems();
      if (!problems.note(statText, statPath)) {
        problems.note({ problem: "unreadable", detail: "malformed" }, statPath);
      }
      countWarning(warnings, problems.warning);
      this.#cache.delete(pid);
      return { pid, name: UNKNOWN_PROCESS_NAME, partial: problems.list.join("; ") };
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
    const problems = new Problems();
    const info: ProcessInfo = { pid, name: stat.shortName || UNKNOWN_PROCESS_NAME };

    const exe = attempt(() => readExePath(`${directory}/exe`));
    if ("value" in exe) {
      info.path = exe.value;
      info.name = basename(info.path) || info.name;
    } else if (exe.problem !== "vanished") {
      problems.note(exe, `${directory}/exe`);
    } // NotFound on exe alone: a kernel thread, which has no executable

    const cmdline = attempt(() => readCommandLine(`${directory}/cmdline`));
    if ("value" in cmdline) {
      if (cmdline.value !== undefined) info.commandLine = cmdline.value;
    } else problems.note(cmdline, `${directory}/cmdline`);

    info.parentPid = stat.parentPid;
    const status = attempt(() => parseProcStatus(readSmallText(`${directory}/status`)));
    if ("value" in status) {
      if (status.value.uid !== undefined) info.user = this.userName(status.value.uid);
    } else problems.note(status, `${directory}/status`);

    const bootTime = this.#bootTime();
    if (bootTime !== undefined) info.startTime = startTimeMs(bootTime, stat.startTicks);

    if (stat.parentPid > 0) {
      const parentName = this.#imageName(stat.parentPid);
      if (parentName !== undefined) info.parentName = parentName;
    }

    this.#readModules(info, `${directory}/maps`, problems);
    info.services = [];
    if (problems.list.length > 0) {
      info.partial = problems.list.join("; ");
      countWarning(warnings, problems.warning);
    }
    return info;
  }

  /** The module list from `maps`, bounded: a cut list is noted in `partial` (not a warning). */
  #readModules(info: ProcessInfo, path: string, problems: Problems): void {
    const maps = attempt(() => readFileHead(path, MAX_MAPS_BYTES));
    if (!("value" in maps)) {
      problems.note(maps, path);
      return;
    }
    let text = decodeBytes(maps.value.bytes);
    if (maps.value.restBytes > 0) text = text.slice(0, text.lastIndexOf("\n") + 1); // whole lines only
    const { modules, omitted } = parseProcMapsBounded(text, info.path);
    if (modules.length > 0) info.modules = modules;
    const cuts: string[] = [];
    if (maps.value.restBytes > 0) cuts.push(`only the first ${MAX_MAPS_BYTES} bytes of ${path} read`);
    if (omitted > 0) cuts.push(`${omitted} more modules not listed`);
    if (cuts.length > 0) info.partial = [info.partial, ...cuts].filter((s) => s).join("; ");
  }

  /** Image name of another process (its executable's base name, else its short name). */
  #imageName(pid: number): string | undefined {
    const cached = this.#cache.get(pid);
    if (cached !== undefined) return cached.info.name;
    try {
      return basename(readExePath(`${this.#procRoot}/${pid}/exe`)) || undefined;
    } catch {
      // not readable (another user's process, kernel thread): fall back to the short name
    }
    try {
      return readSmallText(`${this.#procRoot}/${pid}/comm`).replace(/\n$/, "") || undefined;
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
  userName(uid: number): string {
    let name = this.#users?.get(uid);
    if (name === undefined && this.#usersLoadedInGeneration !== this.#generation) {
      this.#usersLoadedInGeneration = this.#generation;
      try {
        this.#users = parsePasswd(decodeBytes(Deno.readFileSync(this.#passwdPath)));
      } catch {
        this.#users ??= new Map();
      }
      name = this.#users.get(uid);
    }
    return name ?? String(uid);
  }
}
