/**
 * Process details for the pids that own sockets: image path, command line, parent, user, start time,
 * modules and hosted services, read through kernel32 / advapi32 / ntdll and cached per (pid, start time),
 * so that the expensive parts are read once per process, never every poll.
 *
 * Per poll, in the steady state, it costs one OpenProcess + GetProcessTimes per socket-owning pid (the
 * start time tells a reused pid from the process cached under it). The toolhelp process walk is taken
 * only when a pid is not cached or its start time changed, and at least once a minute (it also evicts
 * the cache entries of exited processes). A pid that cannot be opened keeps its record, without a walk,
 * for as long as it owns sockets in consecutive reads. A services enumeration runs when a new process
 * appears or the last one is older than a minute.
 *
 * The first read of a big host reads hundreds of processes: it yields to the event loop every
 * {@link YIELD_EVERY_MS} of work (so timers and the service's HandlerEx run) and reports its progress.
 *
 * pid 4 (System) is complete by definition: `System`, `NT AUTHORITY\SYSTEM` (the name of S-1-5-18 as this
 * host spells it), no image file, no user-mode modules. SMB, NetBIOS and http.sys listen under it on every
 * host, so it is no cause for a warning. Failures never throw: pid 0, a process that exited, or one we may
 * not open give a ProcessInfo with `partial` set and a counted warning.
 *
 * `GetLastError` is read only right after a synchronous API that reports failure solely through it
 * (OpenProcess, CreateToolhelp32Snapshot), only to word the `partial` reason and pick the warning kind.
 *
 * @module
 */

import type { ProcessInfo } from "../../model/types.ts";
import { AccountNames, sidToString } from "./accounts.ts";
import {
  type DetailsProgress,
  type ProcessDetailsOptions,
  type ProcessDetailsResult,
  type ProcessDetailsStats,
  type ProcessWarning,
  YIELD_EVERY_MS,
} from "./process_types.ts";
import { commandLineField, readCommandLine } from "./command_line.ts";
import { fileTimeToUnixMs } from "./decode.ts";
import { advapi32 } from "./ffi/advapi32.ts";
import { kernel32 } from "./ffi/kernel32.ts";
import {
  ERROR_ACCESS_DENIED,
  PROCESS_QUERY_LIMITED_INFORMATION,
  SC_MANAGER_CONNECT,
  SC_MANAGER_ENUMERATE_SERVICE,
} from "./layouts.ts";
import {
  baseName,
  enumerateServices,
  fmtErr,
  type ProcessEntry,
  readModules,
  setParent,
  tokenSid,
  walkProcesses,
} from "./process_sources.ts";

export {
  baseName,
  enumerateServices,
  type ProcessEntry,
  readModules,
  tokenSid,
  walkProcesses,
} from "./process_sources.ts";
export { sidToString } from "./accounts.ts";
export * from "./process_types.ts";

/** The System process's account: the well-known SID S-1-5-18 (LocalSystem). */
const SYSTEM_SID = new Uint8Array([1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]);
/** Its English name, when the lookup fails (the lookup gives the host's localized one). */
const SYSTEM_USER = "NT AUTHORITY\\SYSTEM";
/** pid 0's record. */
const IDLE_PROCESS: ProcessInfo = {
  pid: 0,
  name: "System Idle Process",
  partial: "pid 0: the idle process owns no image",
};
/** `STILL_ACTIVE`: GetExitCodeProcess's answer for a process that runs. */
const STILL_ACTIVE = 259;

/** The record of a pid that could not be opened, kept while the pid owns sockets in consecutive reads. */
interface UnopenedEntry {
  info: ProcessInfo;
  warning: ProcessWarning;
  exeName: string;
  parentPid: number;
}

type Warn = (k: ProcessWarning) => void;

/** Reads and caches process details; one instance per collector. */
export class ProcessDetails {
  readonly #cache = new Map<number, { startTime: number; info: ProcessInfo }>();
  readonly #unopened = new Map<number, UnopenedEntry>();
  /** pid → the SID of a cached record whose user is still the SID text (the lookup failed). */
  readonly #unresolved = new Map<number, Uint8Array>();
  readonly #accounts: AccountNames;
  readonly #servicesMaxAgeMs: number;
  readonly #walkMaxAgeMs: number;
  readonly #now: () => number;
  readonly #yieldEveryMs: number;
  #scm: Deno.PointerValue = null;
  #services = new Map<number, string[]>();
  #servicesAt = -Infinity;
  #walkAt = -Infinity;
  #walks = 0;
  #yields = 0;
  #lastYield = 0;
  #previous = new Set<number>();
  #imageBuf = new Uint16Array(32768);
  readonly #times = new BigUint64Array(4);
  readonly #timeViews = [0, 1, 2, 3].map((i) => this.#times.subarray(i, i + 1));

  /** An empty cache; the SCM is opened on first use. @param options refresh ages, clock, account names. */
  constructor(options: ProcessDetailsOptions = {}) {
    this.#servicesMaxAgeMs = options.servicesMaxAgeMs ?? 60_000;
    this.#walkMaxAgeMs = options.walkMaxAgeMs ?? 60_000;
    this.#now = options.now ?? Date.now;
    this.#accounts = options.accounts ?? new AccountNames({ now: this.#now });
    this.#yieldEveryMs = options.yieldEveryMs ?? YIELD_EVERY_MS;
  }

  /** Number of processes whose details are cached (for tests). */
  get cacheSize(): number {
    return this.#cache.size;
  }

  /** Counters since construction (a snapshot; see {@link ProcessDetailsStats}). */
  get stats(): ProcessDetailsStats {
    return { walks: this.#walks, yields: this.#yields };
  }

  /** Details of every pid in `pids` (duplicates ignored). Never rejects for one process. */
  async read(pids: Iterable<number>, onProgress?: DetailsProgress): Promise<ProcessDetailsResult> {
    const warnings: Record<string, number> = {};
    const warn: Warn = (k) => (warnings[k] = (warnings[k] ?? 0) + 1);
    const order = [...new Set(pids)];
    const found = new Map<number, ProcessInfo>();
    const misses: number[] = [];
    this.#lastYield = performance.now();
    // the cheap path: a cached process whose start time still matches is the same process
    for (const pid of order) {
      const info = pid === 0 ? { ...IDLE_PROCESS } : this.#reuse(pid, warn);
      if (pid === 0) warn("process-idle");
      if (info) found.set(pid, info);
      else misses.push(pid);
    }
    let fresh = false;
    const now = this.#now();
    if (misses.length > 0 || now - this.#walkAt >= this.#walkMaxAgeMs) {
      const walk = walkProcesses();
      this.#walks++;
      this.#walkAt = now;
      for (const [pid, u] of this.#unopened) {
        const e = walk.get(pid);
        if (!e || e.exeName !== u.exeName || e.parentPid !== u.parentPid) this.#unopened.delete(pid);
      }
      for (let i = 0; i < misses.length; i++) {
        const r = await this.#readOne(misses[i], walk, warn);
        found.set(misses[i], r.info);
        fresh ||= r.fresh;
        onProgress?.(i + 1, misses.length);
        await this.#maybeYield();
      }
      // forget processes that are gone (a later process under the same pid has another start time)
      for (const pid of this.#cache.keys()) {
        if (!walk.has(pid) && pid !== 4) {
          this.#cache.delete(pid);
          this.#unresolved.delete(pid);
        }
      }
    }
    await this.#retryUsers(order, found, warn);
    this.#previous = new Set(order);
    if (fresh || now - this.#servicesAt >= this.#servicesMaxAgeMs) {
      if (!(await this.#refreshServices())) warn("services-unreadable");
    }
    const processes = new Map<number, ProcessInfo>();
    for (const pid of order) {
      const info = found.get(pid)!;
      if (pid !== 0) info.services = this.#services.get(pid) ?? [];
      processes.set(pid, info);
    }
    return { processes, warnings };
  }

  /** Closes the SCM handle and drops the caches. */
  close(): void {
    if (this.#scm) advapi32().CloseServiceHandle(this.#scm);
    this.#scm = null;
    this.#cache.clear();
    this.#unopened.clear();
    this.#unresolved.clear();
    this.#previous.clear();
  }

  async #maybeYield(): Promise<void> {
    if (performance.now() - this.#lastYield < this.#yieldEveryMs) return;
    await new Promise((r) => setTimeout(r, 0));
    this.#yields++;
    this.#lastYield = performance.now();
  }

  /** Cached records whose user is still a SID: try the name again (the backoff in accounts.ts applies). */
  async #retryUsers(order: number[], found: Map<number, ProcessInfo>, warn: Warn): Promise<void> {
    for (const pid of order) {
      const sid = this.#unresolved.get(pid);
      const info = found.get(pid);
      const cached = this.#cache.get(pid);
      if (!sid || !info || cached?.info !== info) continue;
      const user = await this.#accounts.resolve(sid);
      if (!user) {
        warn("user-unresolved");
        continue;
      }
      const next = { ...info, user };
      this.#cache.set(pid, { startTime: cached.startTime, info: next });
      this.#unresolved.delete(pid);
      found.set(pid, next);
    }
  }

  async #refreshServices(): Promise<boolean> {
    this.#servicesAt = this.#now();
    this.#scm ??= advapi32().OpenSCManagerW(null, null, SC_MANAGER_CONNECT | SC_MANAGER_ENUMERATE_SERVICE);
    if (!this.#scm) return false;
    const map = await enumerateServices(this.#scm);
    if (!map) return false;
    this.#services = map;
    return true;
  }

  /**
   * The start time of an open process handle (ms since the epoch), if GetProcessTimes answers; with
   * `live`, undefined also for a process that has exited (a handle can outlive it). GetProcessTimes'
   * exit time is undefined while the process runs ("If the process has not exited, the content of this
   * structure is undefined", its documentation), so liveness comes from GetExitCodeProcess.
   */
  #startTime(h: Deno.PointerValue, live = false): number | undefined {
    const [c, e, k, u] = this.#timeViews;
    const K = kernel32();
    if (!K.GetProcessTimes(h, c, e, k, u)) return undefined;
    if (live) {
      const code = new Uint32Array(1);
      if (!K.GetExitCodeProcess(h, code) || code[0] !== STILL_ACTIVE) return undefined;
    }
    return fileTimeToUnixMs(this.#times[0]);
  }

  /**
   * The record of `pid` without a process walk, or undefined when it needs one: cached, still
   * running and the same start time, or not openable and already a socket owner in the previous read.
   */
  #reuse(pid: number, warn: Warn): ProcessInfo | undefined {
    const u = this.#unopened.get(pid);
    if (u && this.#previous.has(pid)) {
      warn(u.warning);
      return u.info;
    }
    const cached = this.#cache.get(pid);
    if (!cached) return undefined;
    if (pid === 4) return cached.info;
    const K = kernel32();
    const h = K.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
    if (!h) return undefined;
    try {
      return this.#startTime(h, true) === cached.startTime ? cached.info : undefined;
    } finally {
      K.CloseHandle(h);
    }
  }

  async #readOne(
    pid: number,
    walk: Map<number, ProcessEntry>,
    warn: Warn,
  ): Promise<{ info: ProcessInfo; fresh: boolean }> {
    if (pid === 4) return { info: await this.#system(), fresh: true };
    const K = kernel32();
    const entry = walk.get(pid);
    this.#unopened.delete(pid);
    const h = K.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
    if (!h) return { info: this.#unopenable(pid, K.GetLastError(), entry, walk, warn), fresh: false };
    try {
      const startTime = this.#startTime(h);
      const cached = this.#cache.get(pid);
      // same start time, but missing from the walk: it has exited (a handle still open somewhere keeps
      // its times readable); read it afresh rather than hand out the cached record as live
      if (cached && entry && startTime !== undefined && cached.startTime === startTime) {
        return { info: cached.info, fresh: false };
      }
      const info = await this.#details(pid, h, startTime, entry, walk, warn);
      if (startTime !== undefined && entry) this.#cache.set(pid, { startTime, info });
      return { info, fresh: true };
    } finally {
      K.CloseHandle(h);
    }
  }

  /** pid 4, complete (see the module doc); cached for the life of the collector. */
  async #system(): Promise<ProcessInfo> {
    const cached = this.#cache.get(4);
    if (cached) return cached.info;
    const info: ProcessInfo = { pid: 4, name: "System", user: SYSTEM_USER, parentPid: 0, modules: [] };
    const user = await this.#accounts.resolve(SYSTEM_SID);
    if (user) info.user = user;
    const K = kernel32();
    const h = K.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, 4);
    if (h) {
      const startTime = this.#startTime(h);
      if (startTime !== undefined) info.startTime = startTime;
      K.CloseHandle(h);
    }
    this.#cache.set(4, { startTime: info.startTime ?? 0, info });
    return info;
  }

  #unopenable(
    pid: number,
    err: number,
    entry: ProcessEntry | undefined,
    walk: Map<number, ProcessEntry>,
    warn: Warn,
  ): ProcessInfo {
    const info: ProcessInfo = { pid, name: entry?.exeName || "unknown" };
    if (entry) setParent(info, entry, walk);
    let warning: ProcessWarning;
    if (!entry) {
      warning = "process-vanished";
      info.partial = `process exited before its details were read (OpenProcess: ${fmtErr(err)})`;
    } else if (err === ERROR_ACCESS_DENIED) {
      warning = "process-access-denied";
      info.partial = `access denied: OpenProcess(${pid})`;
    } else {
      warning = "process-open-failed";
      info.partial = `OpenProcess(${pid}): ${fmtErr(err)}`;
    }
    warn(warning);
    if (entry) this.#unopened.set(pid, { info, warning, exeName: entry.exeName, parentPid: entry.parentPid });
    return info;
  }

  async #details(
    pid: number,
    h: Deno.PointerValue,
    startTime: number | undefined,
    entry: ProcessEntry | undefined,
    walk: Map<number, ProcessEntry>,
    warn: Warn,
  ): Promise<ProcessInfo> {
    const partial: string[] = [];
    const info: ProcessInfo = { pid, name: entry?.exeName || "unknown" };
    const size = new Uint32Array([this.#imageBuf.length]);
    if (kernel32().QueryFullProcessImageNameW(h, 0, this.#imageBuf, size)) {
      info.path = String.fromCharCode(...this.#imageBuf.subarray(0, size[0]));
      info.name = baseName(info.path) || info.name;
    } else {
      warn("image-unreadable");
      partial.push("image path unreadable");
    }
    const commandLine = readCommandLine(pid, h);
    if (commandLine !== undefined) info.commandLine = commandLineField(commandLine); // no secret reaches a log
    if (entry) setParent(info, entry, walk);
    const sid = tokenSid(h);
    if (!sid) {
      warn("user-unreadable");
      partial.push("user unreadable (OpenProcessToken/GetTokenInformation failed)");
    } else {
      const user = await this.#accounts.resolve(sid);
      info.user = user ?? sidToString(sid);
      if (!user) {
        warn("user-unresolved");
        this.#unresolved.set(pid, sid);
      } else this.#unresolved.delete(pid);
    }
    if (startTime !== undefined) info.startTime = startTime;
    const mods = readModules(pid, h);
    if (Array.isArray(mods)) info.modules = mods;
    else {
      warn(walk.has(pid) ? "modules-unreadable" : "process-vanished");
      partial.push(`modules: ${fmtErr(mods.error)}`);
    }
    // opened, but not in this poll's walk: it started after the walk, or it is exiting
    if (!entry) partial.push("process not in the process walk (exited or just started): parent unknown");
    if (partial.length) info.partial = partial.join("; ");
    return info;
  }
}
