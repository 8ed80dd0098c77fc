/**
 * The OS sources of process details that are not per-handle: the toolhelp process walk (pid, parent,
 * exe name), a process's module list, and the running services by hosting pid.
 *
 * `MODULEENTRY32W.szExePath` holds at most MAX_PATH (260) characters: a module whose path fills it may
 * have been cut, and its full path is read with `K32GetModuleFileNameExW` on a handle to the process
 * (https://learn.microsoft.com/windows/win32/api/tlhelp32/ns-tlhelp32-moduleentry32w).
 *
 * @module
 */

import type { ModuleInfo, ProcessInfo } from "../../model/types.ts";
import { readWideIn } from "./decode.ts";
import { advapi32 } from "./ffi/advapi32.ts";
import { kernel32 } from "./ffi/kernel32.ts";
import { addressOf, isBadHandle, pointerFrom, readWideAt } from "./ffi/memory.ts";
import {
  ENUM_SERVICE_STATUS_PROCESSW,
  ERROR_ACCESS_DENIED,
  ERROR_BAD_LENGTH,
  ERROR_INVALID_PARAMETER,
  MODULEENTRY32W,
  PROCESSENTRY32W,
  SC_ENUM_PROCESS_INFO,
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
 * `ERROR_BAD_LENGTH` (the loader was busy) is retried a few times. With a handle `h` to the process, a
 * path that fills MODULEENTRY32W's MAX_PATH field is read again in full with K32GetModuleFileNameExW.
 */
export function readModules(pid: number, h?: Deno.PointerValue): ModuleInfo[] | { error: number } {
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
      let path = readWideIn(me, MODULEENTRY32W.szExePath, MODULEENTRY32W.szExePathChars);
      if (h && path.length >= MODULEENTRY32W.szExePathChars - 1) {
        path = longModulePath(h, dv.getBigUint64(MODULEENTRY32W.hModule, true)) ?? path;
      }
      mods.push({
        name: readWideIn(me, MODULEENTRY32W.szModule, MODULEENTRY32W.szModuleChars),
        path,
        baseAddress: `0x${dv.getBigUint64(MODULEENTRY32W.modBaseAddr, true).toString(16)}`,
        size: dv.getUint32(MODULEENTRY32W.modBaseSize, true),
      });
    }
  } finally {
    K.CloseHandle(snap);
  }
  return mods;
}

/** The full path of module `hModule` in the process `h` (K32GetModuleFileNameExW), or undefined. */
export function longModulePath(h: Deno.PointerValue, hModule: bigint): string | undefined {
  const buf = new Uint16Array(32768);
  const n = kernel32().K32GetModuleFileNameExW(h, hModule, buf, buf.length);
  if (n === 0 || n >= buf.length) return undefined;
  return String.fromCharCode(...buf.subarray(0, n));
}

/** The last path component of a Windows path. */
export function baseName(path: string): string {
  const i = Math.max(path.lastIndexOf("\\"), path.lastIndexOf("/"));
  return i >= 0 ? path.slice(i + 1) : path;
}

/** Service names by hosting pid (running Win32 services only), or undefined if the SCM cannot be read. */
export async function enumerateServices(scm: Deno.PointerValue): Promise<Map<number, string[]> | undefined> {
  const A = advapi32();
  const byPid = new Map<number, string[]>();
  let buf = new Uint8Array(64 * 1024);
  const needed = new Uint32Array(1), returned = new Uint32Array(1), resume = new Uint32Array([0]);
  // Bounded: each FALSE-with-bytes-needed call returns a batch and advances the resume handle.
  for (let round = 0; round < 32; round++) {
    needed[0] = 0;
    returned[0] = 0;
    const ok = await A.EnumServicesStatusExW(
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

/** The SID bytes of the process token's user (a copy), or undefined if the token cannot be read. */
export function tokenSid(h: Deno.PointerValue): Uint8Array<ArrayBuffer> | undefined {
  const A = advapi32();
  const th = new BigUint64Array(1);
  if (!A.OpenProcessToken(h, TOKEN_QUERY, th)) return undefined;
  const tok = pointerFrom(th[0]);
  try {
    let buf = new Uint8Array(256);
    const need = new Uint32Array(1);
    if (!A.GetTokenInformation(tok, TOKEN_INFORMATION_CLASS_TokenUser, buf, buf.byteLength, need)) {
      if (need[0] <= buf.byteLength || need[0] > 65536) return undefined;
      buf = new Uint8Array(need[0]);
      if (!A.GetTokenInformation(tok, TOKEN_INFORMATION_CLASS_TokenUser, buf, buf.byteLength, need)) {
        return undefined;
      }
    }
    // the SID lives in the same buffer, right after TOKEN_USER
    const off = Number(new DataView(buf.buffer).getBigUint64(TOKEN_USER.Sid, true) - addressOf(buf));
    if (!(off >= 0 && off + 8 <= buf.byteLength)) return undefined;
    const end = off + 8 + 4 * buf[off + 1];
    return end <= buf.byteLength ? buf.slice(off, end) : undefined;
  } finally {
    kernel32().CloseHandle(tok);
  }
}

/** A Win32 error code in words for a `partial` reason. */
export function fmtErr(code: number): string {
  if (code === ERROR_ACCESS_DENIED) return "access denied (5)";
  if (code === ERROR_INVALID_PARAMETER) return "no such process (87)";
  return `error ${code}`;
}

/** Sets the parent pid (and its name, when the parent is in the walk). */
export function setParent(info: ProcessInfo, entry: ProcessEntry, walk: Map<number, ProcessEntry>): void {
  info.parentPid = entry.parentPid;
  const parent = walk.get(entry.parentPid);
  if (parent && entry.parentPid !== 0) info.parentName = parent.exeName;
}
