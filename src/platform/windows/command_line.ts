/**
 * The command line of another process.
 *
 * 1. `NtQueryInformationProcess(ProcessCommandLineInformation = 60)` on the limited-information handle
 *    the collector already holds (Windows 8.1 and later): a `UNICODE_STRING` followed by its text in the
 *    same buffer, grown once on `STATUS_INFO_LENGTH_MISMATCH` to the ReturnLength it reports.
 *    (https://learn.microsoft.com/windows/win32/api/winternl/nf-winternl-ntqueryinformationprocess)
 * 2. When class 60 is unknown (`STATUS_INVALID_INFO_CLASS`: wine 10, older Windows) or refused: the PEB
 *    route, on a second handle opened with PROCESS_QUERY_INFORMATION | PROCESS_VM_READ:
 *    `ProcessBasicInformation` gives the PEB address, `ReadProcessMemory` reads `PEB.ProcessParameters`,
 *    then `RTL_USER_PROCESS_PARAMETERS.CommandLine` (a UNICODE_STRING) and its text. The lab tests this
 *    route end to end on another wine process.
 *
 * The text is UTF-16 code units taken as they are: an unpaired surrogate stays a lone surrogate in the
 * JS string, which the log writers escape (`\uD800`), so a name that cannot be decoded costs nothing but
 * its own escaping. Every failure is `undefined` (the field is then absent); it never throws.
 *
 * @module
 */

import { redactCommandLine } from "../../model/redact.ts";
import { cutText } from "../../model/text.ts";
import { kernel32 } from "./ffi/kernel32.ts";
import { addressOf } from "./ffi/memory.ts";
import { ntdll } from "./ffi/ntdll.ts";
import {
  NO_ERROR,
  PEB,
  PROCESS_BASIC_INFORMATION,
  PROCESS_QUERY_INFORMATION,
  PROCESS_VM_READ,
  ProcessBasicInformation,
  ProcessCommandLineInformation,
  RTL_USER_PROCESS_PARAMETERS,
  STATUS_BUFFER_OVERFLOW,
  STATUS_INFO_LENGTH_MISMATCH,
  UNICODE_STRING,
} from "./layouts.ts";

/** The longest command line Windows allows is 32 767 characters; more than this is not trusted. */
export const MAX_COMMAND_LINE_BYTES = 65534;

/** A logged command line keeps at most this many UTF-8 bytes (the same bound as on Linux; the rest is counted). */
export const LOGGED_COMMAND_LINE_BYTES = 32 * 1024;

/** The command line as it is logged: secrets redacted, then bounded with a cut marker. */
export function commandLineField(raw: string): string {
  return cutText(redactCommandLine(raw), LOGGED_COMMAND_LINE_BYTES);
}

/** The calls the command-line reader makes (the DLL box's signatures); tests inject a fake. */
export interface CommandLineCalls {
  /** NtQueryInformationProcess: the NTSTATUS. */
  query(
    h: Deno.PointerValue,
    cls: number,
    buf: Uint8Array<ArrayBuffer>,
    ret: Uint32Array<ArrayBuffer>,
  ): number;
  /** ReadProcessMemory of `buf.byteLength` bytes at `address`: true when all were read. */
  read(h: Deno.PointerValue, address: bigint, buf: Uint8Array<ArrayBuffer>): boolean;
  /** OpenProcess(access, FALSE, pid); null on failure. */
  open(access: number, pid: number): Deno.PointerValue;
  /** CloseHandle. */
  close(h: Deno.PointerValue): void;
  /** The address of a buffer's first byte (to place a pointer that points into it). */
  addressOf(buf: Uint8Array<ArrayBuffer>): bigint;
}

/** The real calls through ntdll and kernel32. */
export const windowsCommandLineCalls: CommandLineCalls = {
  query: (h, cls, buf, ret) => ntdll().NtQueryInformationProcess(h, cls, buf, buf.byteLength, ret),
  read(h, address, buf) {
    const got = new BigUint64Array(1);
    return kernel32().ReadProcessMemory(h, address, buf, BigInt(buf.byteLength), got) !== 0 &&
      got[0] === BigInt(buf.byteLength);
  },
  open: (access, pid) => kernel32().OpenProcess(access, 0, pid),
  close: (h) => void kernel32().CloseHandle(h),
  addressOf: (buf) => addressOf(buf),
};

/** UTF-16LE code units to a string, lone surrogates kept (never throws, never replaces). */
export function utf16Units(bytes: Uint8Array, byteLength: number): string {
  const n = Math.floor(Math.min(byteLength, bytes.byteLength) / 2);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let out = "";
  for (let i = 0; i < n; i += 4096) {
    const units: number[] = [];
    for (let j = i; j < Math.min(n, i + 4096); j++) units.push(dv.getUint16(2 * j, true));
    out += String.fromCharCode(...units);
  }
  return out;
}

/** Class 60 on `h`: the text, `undefined` when the class answers but fails, `null` when it is unknown. */
export function queryCommandLine(calls: CommandLineCalls, h: Deno.PointerValue): string | undefined | null {
  let buf = new Uint8Array(1024);
  const ret = new Uint32Array(1);
  let st = calls.query(h, ProcessCommandLineInformation, buf, ret);
  if ((st === STATUS_INFO_LENGTH_MISMATCH || st === STATUS_BUFFER_OVERFLOW) && ret[0] > buf.byteLength) {
    if (ret[0] > MAX_COMMAND_LINE_BYTES + UNICODE_STRING.size) return undefined;
    buf = new Uint8Array(ret[0]);
    st = calls.query(h, ProcessCommandLineInformation, buf, ret);
  }
  if (st !== NO_ERROR) return null;
  const dv = new DataView(buf.buffer);
  const length = dv.getUint16(UNICODE_STRING.Length, true);
  const off = Number(dv.getBigUint64(UNICODE_STRING.Buffer, true) - calls.addressOf(buf));
  if (length === 0) return "";
  if (!(off >= 0 && off + length <= buf.byteLength)) return undefined;
  return utf16Units(buf.subarray(off), length);
}

/** The PEB route on a handle with PROCESS_QUERY_INFORMATION | PROCESS_VM_READ (see the module doc). */
export function pebCommandLine(calls: CommandLineCalls, h: Deno.PointerValue): string | undefined {
  const pbi = new Uint8Array(PROCESS_BASIC_INFORMATION.size);
  if (calls.query(h, ProcessBasicInformation, pbi, new Uint32Array(1)) !== NO_ERROR) return undefined;
  const peb = new DataView(pbi.buffer).getBigUint64(PROCESS_BASIC_INFORMATION.PebBaseAddress, true);
  if (peb === 0n) return undefined;
  const ptr = new Uint8Array(8);
  if (!calls.read(h, peb + BigInt(PEB.ProcessParameters), ptr)) return undefined;
  const params = new DataView(ptr.buffer).getBigUint64(0, true);
  if (params === 0n) return undefined;
  const us = new Uint8Array(UNICODE_STRING.size);
  if (!calls.read(h, params + BigInt(RTL_USER_PROCESS_PARAMETERS.CommandLine), us)) return undefined;
  const dv = new DataView(us.buffer);
  const length = Math.min(dv.getUint16(UNICODE_STRING.Length, true), MAX_COMMAND_LINE_BYTES) & ~1;
  const text = dv.getBigUint64(UNICODE_STRING.Buffer, true);
  if (length === 0) return "";
  if (text === 0n) return undefined;
  const bytes = new Uint8Array(length);
  if (!calls.read(h, text, bytes)) return undefined;
  return utf16Units(bytes, length);
}

/**
 * The command line of `pid` (unredacted: the caller redacts it), through class 60 on `limited` and the
 * PEB route when that class is unknown; `undefined` when neither works (access denied, protected process,
 * exited).
 */
export function readCommandLine(
  pid: number,
  limited: Deno.PointerValue,
  calls: CommandLineCalls = windowsCommandLineCalls,
): string | undefined {
  const direct = queryCommandLine(calls, limited);
  if (direct !== null) return direct;
  const h = calls.open(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ, pid);
  if (!h) return undefined;
  try {
    return pebCommandLine(calls, h);
  } finally {
    calls.close(h);
  }
}
