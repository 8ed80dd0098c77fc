/**
 * The computer name and OS version for the classic log headers.
 *
 * - Computer name: GetComputerNameExW(ComputerNameNetBIOS), e.g. `TEST` (`VM` in the lab).
 * - OS: the product name from the registry (`HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion`,
 *   `ProductName`, plus `DisplayVersion` when present) and the real version numbers from ntdll's
 *   RtlGetVersion (not subject to the manifest shim of GetVersionEx), e.g.
 *   `Windows 11 Pro 23H2 (10.0.22631)`. Windows 11 still writes "Windows 10" in ProductName, so a
 *   build number of 22000 or more corrects it.
 *
 * @module
 */

import type { HostInfo } from "../../model/types.ts";
import { readWideIn } from "./decode.ts";
import { advapi32 } from "./ffi/advapi32.ts";
import { kernel32 } from "./ffi/kernel32.ts";
import { pointerFrom, wideZ } from "./ffi/memory.ts";
import { ntdll } from "./ffi/ntdll.ts";
import { ComputerNameNetBIOS, HKEY_LOCAL_MACHINE, RRF_RT_REG_SZ, RTL_OSVERSIONINFOW } from "./layouts.ts";

/** The NetBIOS computer name; `unknown` if the call fails. */
export function computerName(): string {
  const buf = new Uint16Array(256);
  const size = new Uint32Array([buf.length]);
  if (!kernel32().GetComputerNameExW(ComputerNameNetBIOS, buf, size)) return "unknown";
  return String.fromCharCode(...buf.subarray(0, size[0]));
}

/** A REG_SZ value under HKEY_LOCAL_MACHINE, or undefined (RegGetValueW returns its status). */
export function registryString(subKey: string, value: string): string | undefined {
  const data = new Uint8Array(1024);
  const size = new Uint32Array([data.byteLength]);
  const rc = advapi32().RegGetValueW(
    pointerFrom(HKEY_LOCAL_MACHINE),
    wideZ(subKey),
    wideZ(value),
    RRF_RT_REG_SZ,
    null,
    data,
    size,
  );
  if (rc !== 0) return undefined;
  return readWideIn(data, 0, Math.floor(size[0] / 2));
}

/** `major.minor.build` from RtlGetVersion, or undefined if it fails. */
export function osVersion(): { major: number; minor: number; build: number } | undefined {
  const info = new Uint8Array(RTL_OSVERSIONINFOW.size);
  const dv = new DataView(info.buffer);
  dv.setUint32(RTL_OSVERSIONINFOW.dwOSVersionInfoSize, RTL_OSVERSIONINFOW.size, true);
  if (ntdll().RtlGetVersion(info) !== 0) return undefined; // NTSTATUS, STATUS_SUCCESS = 0
  return {
    major: dv.getUint32(RTL_OSVERSIONINFOW.dwMajorVersion, true),
    minor: dv.getUint32(RTL_OSVERSIONINFOW.dwMinorVersion, true),
    build: dv.getUint32(RTL_OSVERSIONINFOW.dwBuildNumber, true),
  };
}

/**
 * The OS in words from its parts (pure): `formatOsName("Windows 10 Pro", "23H2", {10,0,22631})` →
 * `Windows 11 Pro 23H2 (10.0.22631)`.
 */
export function formatOsName(
  productName: string | undefined,
  displayVersion: string | undefined,
  version: { major: number; minor: number; build: number } | undefined,
): string {
  let name = productName?.trim() || "Windows";
  if (version && version.major === 10 && version.build >= 22000) {
    name = name.replace(/^Windows 10\b/, "Windows 11");
  }
  if (displayVersion?.trim()) name += ` ${displayVersion.trim()}`;
  return version ? `${name} (${version.major}.${version.minor}.${version.build})` : name;
}

/** Computer name and OS for the log headers; never throws on Windows. */
export function windowsHostInfo(): HostInfo {
  const key = "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion";
  let osName: string;
  try {
    osName = formatOsName(
      registryString(key, "ProductName"),
      registryString(key, "DisplayVersion"),
      osVersion(),
    );
  } catch {
    osName = "Windows";
  }
  return { computerName: computerName(), osName };
}
