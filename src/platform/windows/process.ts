/**
 * Process details for the pids that own sockets: image path, parent, user, start time, modules and
 * hosted services, read through kernel32 / advapi32 and cached per (pid, start time), so that the
 * expensive parts (modules, token, image path) are read once per process, never every poll.
 *
 * Per poll, in the steady state, it costs one OpenProcess + GetProcessTimes per socket-owning pid
 * (the start time tells a reused pid from the process cached under it) and nothing else. The
 * toolhelp process walk (pid → parent, exe name; about 1.6 ms under wine, more than everything
 * else here) is taken only when a pid is not cached or its start time changed, and at least once
 * a minute (it also evicts the cache entries of exited processes). A pid that cannot be opened
 * (pid 4, access denied) keeps its record, without a walk, for as long as it owns sockets in
 * consecutive reads. A services enumeration runs when a new process appears or the last one is
 * older than a minute.
 *
 * Failures never throw: pid 0 (System Idle Process), pid 4 (System), a process that exited, or
 * one we may not open give a ProcessInfo with `partial` set and a counted warning.
 *
 * `GetLastError` is read only where the API reports failure solely through it (OpenProcess,
 * CreateToolhelp32Snapshot) and only to word the `partial` reason and pick the warning kind; no
 * decision about the data depends on it.
 *
 * @module
 */

import { redactCommandLine } from "../../model/redact.ts";
import type { ModuleInfo, ProcessInfo } from "../../model/types.ts";
import { readCommandLine } from "./command_line.ts";
import { fileTimeToUnixMs, readWideIn } from "./decode.ts";
import { advapi32 } from "./ffi/advapi32.ts";
import { kernel32 } from "./ffi/kernel32.ts";
import { addressOf, isBadHandle, pointerFrom, readWideAt } from "./ffi/memory.ts";
import {
  ENUM_SERVICE_STATUS_PROCESSW,
  ERROR_ACCESS_DENIED,
  ERROR_BAD_LENGTH,
  ERROR_INVALID_PARAMETER,
  MODULEENTRY32W,
  PROCESS_QUERY_LIMITED_INFORMATION,
  PROCESSENTRY32W,
  SC_ENUM_PROCESS_INFO,
  SC_MANAGER_CONNECT,
  SC_MANAGER_ENUMERATE_SERVICE,
  SERVICE_ACTIVE,
  SERVICE_WIN32,
  TH32CS_SNAPMODULE,
  TH32CS_SNAPMODULE32,
  TH32CS_SNAPPROCESS,
  TOKEN_INFORMATION_CLASS_TokenUser,
  TOKEN_QUERY,
  TOKEN_USER,
} from "./layouts.ts";

/** One entry of the toolhelp process walk. */
export interface ProcessEntry {
  /** Process id. */
  pid: number;
  /** Parent process id as recorded at creation (the parent may be gone, or the pid reused). */
  parentPid: number;
  /** Image base name, e.g. `svchost.exe`. */
  exeName: string;
}

/** Warning kinds counted by {@link ProcessDetails.read}. */
export type ProcessWarning =
  | "process-idle"
  | "process-system"
  | "process-vanished"
  | "process-access-denied"
  | "process-open-failed"
  | "modules-unreadable"
  | "user-unreadable"
  | "image-unreadable"
  | "services-unreadable";

/** Result of one {@link ProcessDetails.read}. */
export interface ProcessDetailsResult {
  /** Details by pid, one per requested pid. */
  processes: Map<number, ProcessInfo>;
  /** Counted warnings by kind. */
  warnings: Record<string, number>;
}

/** Counters of {@link ProcessDetails} since it was created (read-only; for tests and diagnostics). */
export interface ProcessDetailsStats {
  /** Toolhelp process walks taken by {@link ProcessDetails.read}. */
  readonly walks: number;
}

/** Options of {@link ProcessDetails}. */
export interface ProcessDetailsOptions {
  /** Re-enumerate services at least this often even with no new process (default 60 000 ms). */
  servicesMaxAgeMs?: number;
  /** Take the process walk at least this often even when every pid is cached (default 60 000 ms). */
  walkMaxAgeMs?: number;
  /** Source of "now" for the services refresh (default `Date.now`). */
  now?: () => number;
}

/** Every process, by pid, from a toolhelp snapshot. Empty map if the snapshot cannot be taken. */
export function walkProcesses(): Map<number, ProcessEntry> {
  const K = kernel32();
  const out = new Map<number, ProcessEntry>();
  const snap = K.CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
  if (isBadHandle(snap)) return out;
  try {
    const pe = new Uint8Array(PROCESSENTRY32W.size);
    const dv = new DataView(pe.buffer);
    dv.setUint32(PROCESSENTRY32W.dwSize, PROCESSENTRY32W.size, true);
    for (let ok = K.Process32FirstW(snap, pe); ok; ok = K.Process32NextW(snap, pe)) {
      const pid = dv.getUint32(PROCESSENTRY32W.th32ProcessID, true);
      out.set(pid, {
        pid,
        parentPid: dv.getUint32(PROCESSENTRY32W.th32ParentProcessID, true),
        exeName: readWideIn(pe, PROCESSENTRY32W.szExeFile, PROCESSENTRY32W.szExeFileChars),
      });
    }
  } finally {
    K.CloseHandle(snap);
  }
  return out;
}

/**
 * The modules mapped in `pid` (the executable first), or the Win32 error code of the snapshot.
 * `ERROR_BAD_LENGTH` (the loader was busy) is retried a few times.
 */
export function readModules(pid: number): ModuleInfo[] | { error: number } {
  const K = kernel32();
  let snap = K.CreateToolhelp32Snapshot(TH32CS_SNAPMODULE | TH32CS_SNAPMODULE32, pid);
  for (let i = 0; i < 3 && isBadHandle(snap); i++) {
    const err = K.GetLastError();
    if (err !== ERROR_BAD_LENGTH) return { error: err };
    snap = K.CreateToolhelp32Snapshot(TH32CS_SNAPMODULE | TH32CS_SNAPMODULE32, pid);
  }
  if (isBadHandle(snap)) return { error: ERROR_BAD_LENGTH };
  const mods: ModuleInfo[] = [];
  try {
    const me = new Uint8Array(MODULEENTRY32W.size);
    const dv = new DataView(me.buffer);
    dv.setUint32(MODULEENTRY32W.dwSize, MODULEENTRY32W.size, true);
    for (let ok = K.Module32FirstW(snap, me); ok; ok = K.Module32NextW(snap, me)) {
      mods.push({
        name: readWideIn(me, MODULEENTRY32W.szModule, MODULEENTRY32W.szModuleChars),
        path: readWideIn(me, MODULEENTRY32W.szExePath, MODULEENTRY32W.szExePathChars),
        baseAddress: `0x${dv.getBigUint64(MODULEENTRY32W.modBaseAddr, true).toString(16)}`,
        size: dv.getUint32(MODULEENTRY32W.modBaseSize, true),
      });
    }
  } finally {
    K.CloseHandle(snap);
  }
  return mods;
}

/** `S-1-5-21-…` text of the SID bytes (pure). */
export function sidToString(sid: Uint8Array): string {
  const count = sid[1];
  let auth = 0;
  for (let i = 2; i < 8; i++) auth = auth * 256 + sid[i];
  const dv = new DataView(sid.buffer, sid.byteOffset, sid.byteLength);
  const subs: number[] = [];
  for (let i = 0; i < count && 8 + 4 * i + 4 <= sid.byteLength; i++) subs.push(dv.getUint32(8 + 4 * i, true));
  return `S-${sid[0]}-${auth}${subs.map((s) => `-${s}`).join("")}`;
}

/** The last path component of a Windows path. */
export function baseName(path: string): string {
  const i = Math.max(path.lastIndexOf("\\"), path.lastIndexOf("/"));
  return i >= 0 ? path.slice(i + 1) : path;
}

/** Service names by hosting pid (running Win32 services only), or undefined if the SCM cannot be read. */
export function enumerateServices(scm: Deno.PointerValue): Map<number, string[]> | undefined {
  const A = advapi32();
  const byPid = new Map<number, string[]>();
  let buf = new Uint8Array(64 * 1024);
  const needed = new Uint32Array(1), returned = new Uint32Array(1), resume = new Uint32Array([0]);
  // Bounded: each FALSE-with-bytes-needed call returns a batch and advances the resume handle.
  for (let round = 0; round < 32; round++) {
    needed[0] = 0;
    returned[0] = 0;
    const ok = A.EnumServicesStatusExW(
      scm,
      SC_ENUM_PROCESS_INFO,
      SERVICE_WIN32,
      SERVICE_ACTIVE,
      buf,
      buf.byteLength,
      needed,
      returned,
      resume,
      null,
    );
    const dv = new DataView(buf.buffer);
    for (let i = 0; i < returned[0]; i++) {
      const o = i * ENUM_SERVICE_STATUS_PROCESSW.size;
      const pid = dv.getUint32(o + ENUM_SERVICE_STATUS_PROCESSW.dwProcessId, true);
      if (pid === 0) continue;
      const name = readWideAt(
        pointerFrom(dv.getBigUint64(o + ENUM_SERVICE_STATUS_PROCESSW.lpServiceName, true)),
        256,
      );
      const list = byPid.get(pid);
      if (list) list.push(name);
      else byPid.set(pid, [name]);
    }
    if (ok) return byPid;
    if (needed[0] === 0) return undefined; // failed for another reason than "more data"
    if (needed[0] > buf.byteLength) buf = new Uint8Array(needed[0] + 4096);
  }
  return byPid;
}

function fmtErr(code: number): string {
  if (code === ERROR_ACCESS_DENIED) return "access denied (5)";
  if (code === ERROR_INVALID_PARAMETER) return "no such process (87)";
  if (code === 299) return "partial copy (299)";
  return `error ${code}`;
}

/** The record of a pid that could not be opened, kept while the pid owns sockets in consecutive reads. */
interface UnopenedEntry {
  info: ProcessInfo;
  warning: ProcessWarning;
  exeName: string;
  parentPid: number;
}

const NO_WALK: Map<number, ProcessEntry> = new Map();

/** Reads and caches process details; one instance per collector. */
export class ProcessDetails {
  readonly #cache = new Map<number, { startTime: number; info: ProcessInfo }>();
  readonly #unopened = new Map<number, UnopenedEntry>();
  readonly #users = new Map<string, string>();
  readonly #servicesMaxAgeMs: number;
  readonly #walkMaxAgeMs: number;
  readonly #now: () => number;
  #scm: Deno.PointerValue = null;
  #services = new Map<number, string[]>();
  #servicesAt = -Infinity;
  #walkAt = -Infinity;
  #walks = 0;
  #previous = new Set<number>();
  #imageBuf = new Uint16Array(32768);
  readonly #times = new BigUint64Array(4);
  readonly #timeViews = [0, 1, 2, 3].map((i) => this.#times.subarray(i, i + 1));

  /** An empty cache; the SCM is opened on first use. @param options services and walk refresh ages, clock. */
  constructor(options: ProcessDetailsOptions = {}) {
    this.#servicesMaxAgeMs = options.servicesMaxAgeMs ?? 60_000;
    this.#walkMaxAgeMs = options.walkMaxAgeMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** Number of processes whose details are cached (for tests). */
  get cacheSize(): number {
    return this.#cache.size;
  }

  /** Counters since construction (a snapshot; see {@link ProcessDetailsStats}). */
  get stats(): ProcessDetailsStats {
    return { walks: this.#walks };
  }

  /** Details of every pid in `pids` (duplicates ignored). Never throws for one process. */
  read(pids: Iterable<number>): ProcessDetailsResult {
    const warnings: Record<string, number> = {};
    const warn = (k: ProcessWarning) => (warnings[k] = (warnings[k] ?? 0) + 1);
    const order = [...new Set(pids)];
    const found = new Map<number, ProcessInfo>();
    const misses: number[] = [];
    // the cheap path: a cached process whose start time still matches is the same process
    for (const pid of order) {
      const info = pid === 0 ? this.#readOne(0, NO_WALK, warn).info : this.#reuse(pid, warn);
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
      for (const pid of misses) {
        const r = this.#readOne(pid, walk, warn);
        found.set(pid, r.info);
        fresh ||= r.fresh;
      }
      // forget processes that are gone (a later process under the same pid has another start time)
      for (const pid of this.#cache.keys()) if (!walk.has(pid)) this.#cache.delete(pid);
    }
    this.#previous = new Set(order);
    if (fresh || now - this.#servicesAt >= this.#servicesMaxAgeMs) {
      if (!this.#refreshServices()) warn("services-unreadable");
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
    this.#previous.clear();
  }

  #refreshServices(): boolean {
    this.#servicesAt = this.#now();
    this.#scm ??= advapi32().OpenSCManagerW(null, null, SC_MANAGER_CONNECT | SC_MANAGER_ENUMERATE_SERVICE);
    if (!this.#scm) return false;
    const map = enumerateServices(this.#scm);
    if (!map) return false;
    this.#services = map;
    return true;
  }

  /**
   * The start time of an open process handle (ms since the epoch), if GetProcessTimes answers;
   * with `live`, undefined also for a process that has exited (a handle can outlive it).
   */
  #startTime(h: Deno.PointerValue, live = false): number | undefined {
    const [c, e, k, u] = this.#timeViews;
    if (!kernel32().GetProcessTimes(h, c, e, k, u)) return undefined;
    if (live && this.#times[1] !== 0n) return undefined;
    return fileTimeToUnixMs(this.#times[0]);
  }

  /**
   * The record of `pid` without a process walk, or undefined when it needs one: cached, still
   * running and the same start time, or not openable and already a socket owner in the previous read.
   */
  #reuse(pid: number, warn: (k: ProcessWarning) => void): ProcessInfo | undefined {
    const u = this.#unopened.get(pid);
    if (u && this.#previous.has(pid)) {
      warn(u.warning);
      return u.info;
    }
    const cached = this.#cache.get(pid);
    if (!cached) return undefined;
    const K = kernel32();
    const h = K.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
    if (!h) return undefined;
    try {
      return this.#startTime(h, true) === cached.startTime ? cached.info : undefined;
    } finally {
      K.CloseHandle(h);
    }
  }

  #readOne(
    pid: number,
    walk: Map<number, ProcessEntry>,
    warn: (k: ProcessWarning) => void,
  ): { info: ProcessInfo; fresh: boolean } {
    const K = kernel32();
    const entry = walk.get(pid);
    this.#unopened.delete(pid);
    if (pid === 0) {
      warn("process-idle");
      return {
        info: { pid: 0, name: "System Idle Process", partial: "pid 0: the idle process owns no image" },
        fresh: false,
      };
    }
    const h = K.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
    if (!h) {
      const err = K.GetLastError();
      const info: ProcessInfo = { pid, name: pid === 4 ? "System" : entry?.exeName || "unknown" };
      if (entry) {
        info.parentPid = entry.parentPid;
        const parent = walk.get(entry.parentPid);
        if (parent && entry.parentPid !== 0) info.parentName = parent.exeName;
      }
      let warning: ProcessWarning;
      if (pid === 4) {
        warning = "process-system";
        info.partial = `pid 4: the System process (OpenProcess: ${fmtErr(err)})`;
      } else if (!entry) {
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
      if (entry) {
        this.#unopened.set(pid, { info, warning, exeName: entry.exeName, parentPid: entry.parentPid });
      }
      return { info, fresh: false };
    }
    try {
      const startTime = this.#startTime(h);
      const cached = this.#cache.get(pid);
      // same start time, but missing from the walk: it has exited (a handle still open somewhere keeps
      // its times readable); read it afresh rather than hand out the cached record as live
      if (cached && (entry || pid === 4) && startTime !== undefined && cached.startTime === startTime) {
        return { info: cached.info, fresh: false };
      }
      const info = this.#details(pid, h, startTime, entry, walk, warn);
      if (startTime !== undefined && (entry || pid === 4)) this.#cache.set(pid, { startTime, info });
      return { info, fresh: true };
    } finally {
      K.CloseHandle(h);
    }
  }

  #details(
    pid: number,
    h: Deno.PointerValue,
    startTime: number | undefined,
    entry: ProcessEntry | undefined,
    walk: Map<number, ProcessEntry>,
    warn: (k: ProcessWarning) => void,
  ): ProcessInfo {
    const K = kernel32();
    const partial: string[] = [];
    const info: ProcessInfo = { pid, name: entry?.exeName || "unknown" };
    if (pid === 4) {
      info.name = "System";
      warn("process-system");
      partial.push("pid 4: the System process has no image file or user-mode modules");
    } else {
      const size = new Uint32Array([this.#imageBuf.length]);
      if (K.QueryFullProcessImageNameW(h, 0, this.#imageBuf, size)) {
        info.path = String.fromCharCode(...this.#imageBuf.subarray(0, size[0]));
        info.name = baseName(info.path) || info.name;
      } else {
        warn("image-unreadable");
        partial.push("image path unreadable");
      }
    }
    if (pid !== 4) {
      const commandLine = readCommandLine(pid, h);
      if (commandLine !== undefined) info.commandLine = redactCommandLine(commandLine); // no secret reaches a log
    }
    if (entry) {
      info.parentPid = entry.parentPid;
      const parent = walk.get(entry.parentPid);
      if (parent && entry.parentPid !== 0) info.parentName = parent.exeName;
    }
    const user = this.#user(h);
    if (user) info.user = user;
    else {
      warn("user-unreadable");
      partial.push("user unreadable (OpenProcessToken/GetTokenInformation/LookupAccountSidW failed)");
    }
    if (startTime !== undefined) info.startTime = startTime;
    if (pid !== 4) {
      const mods = readModules(pid);
      if (Array.isArray(mods)) info.modules = mods;
      else {
        warn(walk.has(pid) ? "modules-unreadable" : "process-vanished");
        partial.push(`modules: ${fmtErr(mods.error)}`);
      }
    }
    if (!entry && pid !== 4) {
      // opened, but not in this poll's walk: it started after the walk, or it is exiting
      partial.push("process not in the process walk (exited or just started): parent unknown");
    }
    if (partial.length) info.partial = partial.join("; ");
    return info;
  }

  /** `DOMAIN\user` of the process token, cached by SID; undefined if unreadable. */
  #user(h: Deno.PointerValue): string | undefined {
    const A = advapi32();
    const K = kernel32();
    const th = new BigUint64Array(1);
    if (!A.OpenProcessToken(h, TOKEN_QUERY, th)) return undefined;
    const tok = pointerFrom(th[0]);
    try {
      let buf = new Uint8Array(256);
      const need = new Uint32Array(1);
      if (!A.GetTokenInformation(tok, TOKEN_INFORMATION_CLASS_TokenUser, buf, buf.byteLength, need)) {
        if (need[0] <= buf.byteLength) return undefined;
        buf = new Uint8Array(need[0]);
        if (!A.GetTokenInformation(tok, TOKEN_INFORMATION_CLASS_TokenUser, buf, buf.byteLength, need)) {
          return undefined;
        }
      }
      const sidAddr = new DataView(buf.buffer).getBigUint64(TOKEN_USER.Sid, true);
      const sidPtr = pointerFrom(sidAddr);
      if (!sidPtr) return undefined;
      // the SID lives in the same buffer: key the cache by its bytes
      const off = Number(sidAddr - addressOf(buf));
      let key: string | undefined;
      let sidText: string | undefined;
      if (off >= 0 && off + 8 <= buf.byteLength) {
        const sid = buf.subarray(off, Math.min(buf.byteLength, off + 8 + 4 * buf[off + 1]));
        sidText = sidToString(sid);
        key = sidText;
        const hit = this.#users.get(key);
        if (hit) return hit;
      }
      const name = new Uint16Array(256), dom = new Uint16Array(256);
      const nl = new Uint32Array([name.length]), dl = new Uint32Array([dom.length]), use = new Uint32Array(1);
      let user: string | undefined;
      if (A.LookupAccountSidW(null, sidPtr, name, nl, dom, dl, use)) {
        const n = String.fromCharCode(...name.subarray(0, nl[0]));
        const d = String.fromCharCode(...dom.subarray(0, dl[0]));
        user = d ? `${d}\\${n}` : n;
      } else {
        user = sidText; // an unmapped SID (deleted account): its S-1-… text is the best we have
      }
      if (key && user) this.#users.set(key, user);
      return user;
    } finally {
      K.CloseHandle(tok);
    }
  }
}
