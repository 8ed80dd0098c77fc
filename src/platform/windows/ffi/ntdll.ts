/**
 * ntdll.dll: the symbol table only (SDK names verbatim). Opened lazily on first use, so that
 * importing this module on Linux does not throw.
 *
 * @module
 */

const SYMBOLS = {
  /** NTSTATUS RtlGetVersion(PRTL_OSVERSIONINFOW lpVersionInformation): the real version, no manifest shim. */
  RtlGetVersion: { parameters: ["buffer"], result: "i32" },
  /**
   * NTSTATUS NtQueryInformationProcess(HANDLE ProcessHandle, PROCESSINFOCLASS ProcessInformationClass,
   * PVOID ProcessInformation, ULONG ProcessInformationLength, PULONG ReturnLength). The status is its
   * result (read as unsigned: 0xC0000004 and friends); GetLastError is not involved.
   */
  NtQueryInformationProcess: { parameters: ["pointer", "i32", "buffer", "u32", "buffer"], result: "u32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The symbols of ntdll.dll as Deno sees them. */
export type NtdllSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/** ntdll.dll's symbols; dlopens the DLL on the first call (throws off Windows). */
export function ntdll(): NtdllSymbols {
  lib ??= Deno.dlopen("ntdll.dll", SYMBOLS);
  return lib.symbols;
}
