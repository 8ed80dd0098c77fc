/**
 * iphlpapi.dll: the symbol table only (SDK names verbatim). Opened lazily on first use, so that
 * importing this module on Linux does not throw.
 *
 * `GetOwnerModuleFrom*` are `optional`: wine's iphlpapi does not export them (the symbol is then
 * `null`), and a non-optional missing symbol makes `Deno.dlopen` throw.
 *
 * @module
 */

const SYMBOLS = {
  /** DWORD GetExtendedTcpTable(PVOID pTcpTable, PDWORD pdwSize, BOOL bOrder, ULONG ulAf, TCP_TABLE_CLASS TableClass, ULONG Reserved). */
  GetExtendedTcpTable: {
    parameters: ["buffer", "buffer", "i32", "u32", "i32", "u32"],
    result: "u32",
    nonblocking: true,
  },
  /** DWORD GetExtendedUdpTable(PVOID pUdpTable, PDWORD pdwSize, BOOL bOrder, ULONG ulAf, UDP_TABLE_CLASS TableClass, ULONG Reserved). */
  GetExtendedUdpTable: {
    parameters: ["buffer", "buffer", "i32", "u32", "i32", "u32"],
    result: "u32",
    nonblocking: true,
  },
  /** DWORD GetOwnerModuleFromTcpEntry(PMIB_TCPROW_OWNER_MODULE, TCPIP_OWNER_MODULE_INFO_CLASS, PVOID, PDWORD). */
  GetOwnerModuleFromTcpEntry: {
    parameters: ["buffer", "i32", "buffer", "buffer"],
    result: "u32",
    optional: true,
  },
  /** DWORD GetOwnerModuleFromTcp6Entry(PMIB_TCP6ROW_OWNER_MODULE, TCPIP_OWNER_MODULE_INFO_CLASS, PVOID, PDWORD). */
  GetOwnerModuleFromTcp6Entry: {
    parameters: ["buffer", "i32", "buffer", "buffer"],
    result: "u32",
    optional: true,
  },
  /** DWORD GetOwnerModuleFromUdpEntry(PMIB_UDPROW_OWNER_MODULE, TCPIP_OWNER_MODULE_INFO_CLASS, PVOID, PDWORD). */
  GetOwnerModuleFromUdpEntry: {
    parameters: ["buffer", "i32", "buffer", "buffer"],
    result: "u32",
    optional: true,
  },
  /** DWORD GetOwnerModuleFromUdp6Entry(PMIB_UDP6ROW_OWNER_MODULE, TCPIP_OWNER_MODULE_INFO_CLASS, PVOID, PDWORD). */
  GetOwnerModuleFromUdp6Entry: {
    parameters: ["buffer", "i32", "buffer", "buffer"],
    result: "u32",
    optional: true,
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The symbols of iphlpapi.dll as Deno sees them. */
export type IphlpapiSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/** iphlpapi.dll's symbols; dlopens the DLL on the first call (throws off Windows). */
export function iphlpapi(): IphlpapiSymbols {
  lib ??= Deno.dlopen("iphlpapi.dll", SYMBOLS);
  return lib.symbols;
}
