/**
 * Windows x64 struct sizes and field offsets, as named constants (the SDK headers' layouts, measured
 * under wine 10 in the lab: see `layouts_test.ts`), plus the SDK enum values the collector passes.
 *
 * Pure data: no FFI here, so it loads and is tested on every OS.
 *
 * @module
 */

import type { TcpState } from "../../model/types.ts";

/** `AF_INET` (ws2def.h). */
export const AF_INET = 2;
/** `AF_INET6` (ws2def.h). */
export const AF_INET6 = 23;

/** `TCP_TABLE_CLASS.TCP_TABLE_OWNER_PID_ALL`: listeners and connections with their owning pid. */
export const TCP_TABLE_OWNER_PID_ALL = 5;
/** `TCP_TABLE_CLASS.TCP_TABLE_OWNER_MODULE_ALL`: as above plus creation time and owner-module info. */
export const TCP_TABLE_OWNER_MODULE_ALL = 8;
/** `UDP_TABLE_CLASS.UDP_TABLE_OWNER_PID`. */
export const UDP_TABLE_OWNER_PID = 1;
/** `UDP_TABLE_CLASS.UDP_TABLE_OWNER_MODULE`. */
export const UDP_TABLE_OWNER_MODULE = 2;

/** `ERROR_INSUFFICIENT_BUFFER`: the table grew past the buffer; `*pdwSize` holds the size needed. */
export const ERROR_INSUFFICIENT_BUFFER = 122;
/** `ERROR_ACCESS_DENIED`. */
export const ERROR_ACCESS_DENIED = 5;
/** `ERROR_INVALID_PARAMETER` (also what OpenProcess gives for a pid that does not exist). */
export const ERROR_INVALID_PARAMETER = 87;
/** `ERROR_MORE_DATA`. */
export const ERROR_MORE_DATA = 234;
/** `NO_ERROR`. */
export const NO_ERROR = 0;

/** `PROCESS_QUERY_LIMITED_INFORMATION`: enough for the image name, times and token. */
export const PROCESS_QUERY_LIMITED_INFORMATION = 0x1000;
/** `PROCESS_QUERY_INFORMATION`: what the PEB route of the command line needs (with PROCESS_VM_READ). */
export const PROCESS_QUERY_INFORMATION = 0x0400;
/** `PROCESS_VM_READ`. */
export const PROCESS_VM_READ = 0x0010;
/** `PROCESSINFOCLASS.ProcessBasicInformation`. */
export const ProcessBasicInformation = 0;
/** `PROCESSINFOCLASS.ProcessCommandLineInformation` (Windows 8.1 and later; wine 10 rejects it). */
export const ProcessCommandLineInformation = 60;
/** `STATUS_INFO_LENGTH_MISMATCH`: the buffer is too small; ReturnLength holds the size needed. */
export const STATUS_INFO_LENGTH_MISMATCH = 0xc0000004;
/** `STATUS_INVALID_INFO_CLASS`: the class is not known (wine 10 for class 60, Windows before 8.1). */
export const STATUS_INVALID_INFO_CLASS = 0xc0000003;
/** `STATUS_BUFFER_OVERFLOW` (a warning status, also used for "too small"). */
export const STATUS_BUFFER_OVERFLOW = 0x80000005;
/** `TOKEN_QUERY`. */
export const TOKEN_QUERY = 0x0008;
/** `TOKEN_INFORMATION_CLASS.TokenUser`. */
export const TOKEN_INFORMATION_CLASS_TokenUser = 1;
/** `TH32CS_SNAPPROCESS`. */
export const TH32CS_SNAPPROCESS = 0x2;
/** `TH32CS_SNAPMODULE`. */
export const TH32CS_SNAPMODULE = 0x8;
/** `TH32CS_SNAPMODULE32` (with SNAPMODULE: 32-bit modules of a WOW64 process too). */
export const TH32CS_SNAPMODULE32 = 0x10;
/** `ERROR_BAD_LENGTH`: a module snapshot raced the loader; retry. */
export const ERROR_BAD_LENGTH = 24;
/** `INVALID_HANDLE_VALUE` as the unsigned 64-bit pointer value. */
export const INVALID_HANDLE_VALUE = 0xffffffffffffffffn;
/** `COMPUTER_NAME_FORMAT.ComputerNameNetBIOS`. */
export const ComputerNameNetBIOS = 0;

/** `SC_MANAGER_CONNECT`. */
export const SC_MANAGER_CONNECT = 0x0001;
/** `SC_MANAGER_ENUMERATE_SERVICE`. */
export const SC_MANAGER_ENUMERATE_SERVICE = 0x0004;
/** `SC_ENUM_TYPE.SC_ENUM_PROCESS_INFO`. */
export const SC_ENUM_PROCESS_INFO = 0;
/** `SERVICE_WIN32` = `SERVICE_WIN32_OWN_PROCESS | SERVICE_WIN32_SHARE_PROCESS`. */
export const SERVICE_WIN32 = 0x30;
/** `SERVICE_ACTIVE`. */
export const SERVICE_ACTIVE = 0x1;

/** `EVENTLOG_ERROR_TYPE`. */
export const EVENTLOG_ERROR_TYPE = 0x0001;
/** `EVENTLOG_WARNING_TYPE`. */
export const EVENTLOG_WARNING_TYPE = 0x0002;
/** `EVENTLOG_INFORMATION_TYPE`. */
export const EVENTLOG_INFORMATION_TYPE = 0x0004;

/** `HKEY_LOCAL_MACHINE`: `(HKEY)(LONG)0x80000002`, sign-extended to 64 bits. */
export const HKEY_LOCAL_MACHINE = 0xffffffff80000002n;
/** `RRF_RT_REG_SZ` for RegGetValueW. */
export const RRF_RT_REG_SZ = 0x00000002;

/** 100-ns FILETIME ticks between 1601-01-01 and 1970-01-01. */
export const FILETIME_UNIX_EPOCH = 116444736000000000n;

// ---------------------------------------------------------------------------------------------
// iphlpapi tables. Every table starts with `DWORD dwNumEntries`; the header is padded to the row
// alignment (4 for the PID classes, 8 for the MODULE classes, which hold a LARGE_INTEGER).

/** One table layout: header size, row size and the byte offsets of the fields inside a row. */
export interface TableLayout {
  /** Bytes before the first row (`dwNumEntries` plus padding). */
  readonly header: number;
  /** Bytes per row. */
  readonly row: number;
  /** Offset of the local address (DWORD for IPv4, 16 bytes for IPv6). */
  readonly localAddr: number;
  /** Offset of the IPv6 local scope id; -1 for IPv4. */
  readonly localScopeId: number;
  /** Offset of the local port DWORD (network byte order in the low 16 bits). */
  readonly localPort: number;
  /** Offset of the remote address; -1 for UDP. */
  readonly remoteAddr: number;
  /** Offset of the IPv6 remote scope id; -1 for IPv4 and UDP. */
  readonly remoteScopeId: number;
  /** Offset of the remote port DWORD; -1 for UDP. */
  readonly remotePort: number;
  /** Offset of `dwState` (MIB_TCP_STATE); -1 for UDP. */
  readonly state: number;
  /** Offset of `dwOwningPid`. */
  readonly pid: number;
  /** Offset of `liCreateTimestamp` (FILETIME, u64); -1 for the PID classes. */
  readonly createTimestamp: number;
  /** Offset of `OwningModuleInfo[TCPIP_OWNING_MODULE_SIZE]` (16 × u64); -1 for the PID classes. */
  readonly owningModuleInfo: number;
}

/** `TCPIP_OWNING_MODULE_SIZE`: ULONGLONGs in `OwningModuleInfo`. */
export const TCPIP_OWNING_MODULE_SIZE = 16;

/** `MIB_TCPTABLE_OWNER_PID` / `MIB_TCPROW_OWNER_PID` (AF_INET, class 5). */
export const MIB_TCPTABLE_OWNER_PID: TableLayout = {
  header: 4,
  row: 24,
  state: 0,
  localAddr: 4,
  localScopeId: -1,
  localPort: 8,
  remoteAddr: 12,
  remoteScopeId: -1,
  remotePort: 16,
  pid: 20,
  createTimestamp: -1,
  owningModuleInfo: -1,
};

/** `MIB_TCPTABLE_OWNER_MODULE` / `MIB_TCPROW_OWNER_MODULE` (AF_INET, class 8). */
export const MIB_TCPTABLE_OWNER_MODULE: TableLayout = {
  ...MIB_TCPTABLE_OWNER_PID,
  header: 8,
  row: 160,
  createTimestamp: 24,
  owningModuleInfo: 32,
};

/** `MIB_TCP6TABLE_OWNER_PID` / `MIB_TCP6ROW_OWNER_PID` (AF_INET6, class 5). */
export const MIB_TCP6TABLE_OWNER_PID: TableLayout = {
  header: 4,
  row: 56,
  localAddr: 0,
  localScopeId: 16,
  localPort: 20,
  remoteAddr: 24,
  remoteScopeId: 40,
  remotePort: 44,
  state: 48,
  pid: 52,
  createTimestamp: -1,
  owningModuleInfo: -1,
};

/** `MIB_TCP6TABLE_OWNER_MODULE` / `MIB_TCP6ROW_OWNER_MODULE` (AF_INET6, class 8). */
export const MIB_TCP6TABLE_OWNER_MODULE: TableLayout = {
  ...MIB_TCP6TABLE_OWNER_PID,
  header: 8,
  row: 192,
  createTimestamp: 56,
  owningModuleInfo: 64,
};

/** `MIB_UDPTABLE_OWNER_PID` / `MIB_UDPROW_OWNER_PID` (AF_INET, class 1). */
export const MIB_UDPTABLE_OWNER_PID: TableLayout = {
  header: 4,
  row: 12,
  localAddr: 0,
  localScopeId: -1,
  localPort: 4,
  remoteAddr: -1,
  remoteScopeId: -1,
  remotePort: -1,
  state: -1,
  pid: 8,
  createTimestamp: -1,
  owningModuleInfo: -1,
};

/** `MIB_UDPTABLE_OWNER_MODULE` / `MIB_UDPROW_OWNER_MODULE` (AF_INET, class 2); `dwFlags` at 24. */
export const MIB_UDPTABLE_OWNER_MODULE: TableLayout = {
  ...MIB_UDPTABLE_OWNER_PID,
  header: 8,
  row: 160,
  createTimestamp: 16,
  owningModuleInfo: 32,
};

/** `MIB_UDP6TABLE_OWNER_PID` / `MIB_UDP6ROW_OWNER_PID` (AF_INET6, class 1). */
export const MIB_UDP6TABLE_OWNER_PID: TableLayout = {
  header: 4,
  row: 28,
  localAddr: 0,
  localScopeId: 16,
  localPort: 20,
  remoteAddr: -1,
  remoteScopeId: -1,
  remotePort: -1,
  state: -1,
  pid: 24,
  createTimestamp: -1,
  owningModuleInfo: -1,
};

/** `MIB_UDP6TABLE_OWNER_MODULE` / `MIB_UDP6ROW_OWNER_MODULE` (AF_INET6, class 2); `dwFlags` at 40. */
export const MIB_UDP6TABLE_OWNER_MODULE: TableLayout = {
  ...MIB_UDP6TABLE_OWNER_PID,
  header: 8,
  row: 176,
  createTimestamp: 32,
  owningModuleInfo: 48,
};

/** `TCPIP_OWNER_MODULE_INFO_CLASS.TCPIP_OWNER_MODULE_INFO_BASIC`. */
export const TCPIP_OWNER_MODULE_INFO_BASIC = 0;
/** `TCPIP_OWNER_MODULE_BASIC_INFO`: two PWCHARs, the strings follow in the same buffer. */
export const TCPIP_OWNER_MODULE_BASIC_INFO = { size: 16, pModuleName: 0, pModulePath: 8 } as const;

// ---------------------------------------------------------------------------------------------
// kernel32 / advapi32 structs.

/** `PROCESSENTRY32W` (tlhelp32.h); `dwSize` must be set to `size` before Process32FirstW. */
export const PROCESSENTRY32W = {
  size: 568,
  dwSize: 0,
  cntUsage: 4,
  th32ProcessID: 8,
  th32DefaultHeapID: 16,
  th32ModuleID: 24,
  cntThreads: 28,
  th32ParentProcessID: 32,
  pcPriClassBase: 36,
  dwFlags: 40,
  szExeFile: 44,
  /** `MAX_PATH` WCHARs. */
  szExeFileChars: 260,
} as const;

/** `MODULEENTRY32W` (tlhelp32.h); `dwSize` must be set to `size` before Module32FirstW. */
export const MODULEENTRY32W = {
  size: 1080,
  dwSize: 0,
  th32ModuleID: 4,
  th32ProcessID: 8,
  GlblcntUsage: 12,
  ProccntUsage: 16,
  modBaseAddr: 24,
  modBaseSize: 32,
  hModule: 40,
  szModule: 48,
  /** `MAX_MODULE_NAME32 + 1` WCHARs. */
  szModuleChars: 256,
  szExePath: 560,
  /** `MAX_PATH` WCHARs. */
  szExePathChars: 260,
} as const;

/** `UNICODE_STRING` (x64): Length and MaximumLength in BYTES, then the buffer pointer at 8. */
export const UNICODE_STRING = { size: 16, Length: 0, MaximumLength: 2, Buffer: 8 } as const;

/** `PROCESS_BASIC_INFORMATION` (x64): the PEB's address at 8. */
export const PROCESS_BASIC_INFORMATION = { size: 48, PebBaseAddress: 8, UniqueProcessId: 32 } as const;

/** The one `PEB` field read (x64, winternl.h): `ProcessParameters` at 0x20. */
export const PEB = { ProcessParameters: 0x20 } as const;

/** `RTL_USER_PROCESS_PARAMETERS` (x64, winternl.h): `ImagePathName` at 0x60, `CommandLine` at 0x70. */
export const RTL_USER_PROCESS_PARAMETERS = { ImagePathName: 0x60, CommandLine: 0x70 } as const;

/** `TOKEN_USER` = `SID_AND_ATTRIBUTES`: the SID pointer points into the same buffer. */
export const TOKEN_USER = { size: 16, Sid: 0, Attributes: 8 } as const;

/** `FILETIME`: two DWORDs, read here as one little-endian u64. */
export const FILETIME = { size: 8 } as const;

/** `SERVICE_STATUS_PROCESS` (winsvc.h). */
export const SERVICE_STATUS_PROCESS = {
  size: 36,
  dwServiceType: 0,
  dwCurrentState: 4,
  dwControlsAccepted: 8,
  dwWin32ExitCode: 12,
  dwServiceSpecificExitCode: 16,
  dwCheckPoint: 20,
  dwWaitHint: 24,
  dwProcessId: 28,
  dwServiceFlags: 32,
} as const;

/** `ENUM_SERVICE_STATUS_PROCESSW`: two string pointers, then a `SERVICE_STATUS_PROCESS` at 16. */
export const ENUM_SERVICE_STATUS_PROCESSW = {
  size: 56,
  lpServiceName: 0,
  lpDisplayName: 8,
  ServiceStatusProcess: 16,
  /** `ServiceStatusProcess.dwProcessId`. */
  dwProcessId: 16 + 28,
} as const;

/** `RTL_OSVERSIONINFOW` (wdm.h); `dwOSVersionInfoSize` must be set to `size`. */
export const RTL_OSVERSIONINFOW = {
  size: 276,
  dwOSVersionInfoSize: 0,
  dwMajorVersion: 4,
  dwMinorVersion: 8,
  dwBuildNumber: 12,
  dwPlatformId: 16,
  szCSDVersion: 20,
  szCSDVersionChars: 128,
} as const;

// ---------------------------------------------------------------------------------------------

/** `MIB_TCP_STATE` numbers (1..12) to the model's state names. */
export const MIB_TCP_STATE: Readonly<Record<number, TcpState>> = {
  1: "CLOSED",
  2: "LISTEN",
  3: "SYN_SENT",
  4: "SYN_RECEIVED",
  5: "ESTABLISHED",
  6: "FIN_WAIT1",
  7: "FIN_WAIT2",
  8: "CLOSE_WAIT",
  9: "CLOSING",
  10: "LAST_ACK",
  11: "TIME_WAIT",
  12: "DELETE_TCB",
};
