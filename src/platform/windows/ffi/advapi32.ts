/**
 * advapi32.dll: the symbol table only (SDK names verbatim). Opened lazily on first use, so that
 * importing this module on Linux does not throw.
 *
 * @module
 */

const SYMBOLS = {
  /** BOOL OpenProcessToken(HANDLE ProcessHandle, DWORD DesiredAccess, PHANDLE TokenHandle). */
  OpenProcessToken: { parameters: ["pointer", "u32", "buffer"], result: "i32" },
  /** BOOL GetTokenInformation(HANDLE, TOKEN_INFORMATION_CLASS, LPVOID, DWORD, PDWORD ReturnLength). */
  GetTokenInformation: { parameters: ["pointer", "i32", "buffer", "u32", "buffer"], result: "i32" },
  /**
   * BOOL LookupAccountSidW(LPCWSTR lpSystemName, PSID Sid, LPWSTR Name, LPDWORD cchName, LPWSTR ReferencedDomainName, LPDWORD cchReferencedDomainName, PSID_NAME_USE peUse).
   * `nonblocking`: it may wait seconds for a domain controller. Its GetLastError is set on the worker
   * thread and cannot be read from JS (see accounts.ts).
   */
  LookupAccountSidW: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
    nonblocking: true,
  },
  /** HANDLE RegisterEventSourceW(LPCWSTR lpUNCServerName, LPCWSTR lpSourceName). */
  RegisterEventSourceW: { parameters: ["buffer", "buffer"], result: "pointer" },
  /** BOOL ReportEventW(HANDLE, WORD wType, WORD wCategory, DWORD dwEventID, PSID, WORD wNumStrings, DWORD dwDataSize, LPCWSTR* lpStrings, LPVOID lpRawData). */
  ReportEventW: {
    parameters: ["pointer", "u16", "u16", "u32", "pointer", "u16", "u32", "buffer", "pointer"],
    result: "i32",
  },
  /** BOOL DeregisterEventSource(HANDLE hEventLog). */
  DeregisterEventSource: { parameters: ["pointer"], result: "i32" },
  /** SC_HANDLE OpenSCManagerW(LPCWSTR lpMachineName, LPCWSTR lpDatabaseName, DWORD dwDesiredAccess). */
  OpenSCManagerW: { parameters: ["buffer", "buffer", "u32"], result: "pointer" },
  /** BOOL CloseServiceHandle(SC_HANDLE hSCObject). */
  CloseServiceHandle: { parameters: ["pointer"], result: "i32" },
  /** BOOL EnumServicesStatusExW(SC_HANDLE, SC_ENUM_TYPE, DWORD dwServiceType, DWORD dwServiceState, LPBYTE lpServices, DWORD cbBufSize, LPDWORD pcbBytesNeeded, LPDWORD lpServicesReturned, LPDWORD lpResumeHandle, LPCWSTR pszGroupName). */
  EnumServicesStatusExW: {
    parameters: ["pointer", "i32", "u32", "u32", "buffer", "u32", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
    nonblocking: true, // an RPC to services.exe; its failure is read from pcbBytesNeeded, not GetLastError
  },
  /** BOOL ConvertStringSecurityDescriptorToSecurityDescriptorW(LPCWSTR StringSecurityDescriptor, DWORD StringSDRevision, PSECURITY_DESCRIPTOR *SecurityDescriptor, PULONG SecurityDescriptorSize). */
  ConvertStringSecurityDescriptorToSecurityDescriptorW: {
    parameters: ["buffer", "u32", "buffer", "pointer"],
    result: "i32",
  },
  /** DWORD GetNamedSecurityInfoW(LPCWSTR pObjectName, SE_OBJECT_TYPE, SECURITY_INFORMATION, PSID*, PSID*, PACL*, PACL*, PSECURITY_DESCRIPTOR*): returns its status. */
  GetNamedSecurityInfoW: {
    parameters: ["buffer", "i32", "u32", "pointer", "pointer", "pointer", "pointer", "buffer"],
    result: "u32",
  },
  /** BOOL ConvertSecurityDescriptorToStringSecurityDescriptorW(PSECURITY_DESCRIPTOR, DWORD RequestedStringSDRevision, SECURITY_INFORMATION, LPWSTR*, PULONG). */
  ConvertSecurityDescriptorToStringSecurityDescriptorW: {
    parameters: ["pointer", "u32", "u32", "buffer", "buffer"],
    result: "i32",
  },
  /** LSTATUS RegGetValueW(HKEY hkey, LPCWSTR lpSubKey, LPCWSTR lpValue, DWORD dwFlags, LPDWORD pdwType, PVOID pvData, LPDWORD pcbData). */
  RegGetValueW: {
    parameters: ["pointer", "buffer", "buffer", "u32", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  /**
   * BOOL StartServiceCtrlDispatcherW(const SERVICE_TABLE_ENTRYW *lpServiceStartTable). Blocks until every
   * service of the process has stopped, so it is `nonblocking` (it runs on a worker thread and the JS
   * thread stays free to run ServiceMain and HandlerEx, which the SCM calls from its own threads).
   * GetLastError cannot be read after it: the call ran on another thread.
   */
  StartServiceCtrlDispatcherW: { parameters: ["buffer"], result: "i32", nonblocking: true },
  /** SERVICE_STATUS_HANDLE RegisterServiceCtrlHandlerExW(LPCWSTR lpServiceName, LPHANDLER_FUNCTION_EX lpHandlerProc, LPVOID lpContext). */
  RegisterServiceCtrlHandlerExW: { parameters: ["buffer", "function", "pointer"], result: "pointer" },
  /**
   * BOOL SetServiceStatus(SERVICE_STATUS_HANDLE hServiceStatus, LPSERVICE_STATUS lpServiceStatus).
   * `nonblocking`: wine's SetServiceStatus(SERVICE_STOPPED) takes the lock its control dispatcher holds
   * while it waits for our HandlerEx to run on the JS thread, so a synchronous call could deadlock.
   */
  SetServiceStatus: { parameters: ["pointer", "buffer"], result: "i32", nonblocking: true },
} as const satisfies Deno.ForeignLibraryInterface;

/** The symbols of advapi32.dll as Deno sees them. */
export type Advapi32Symbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/** advapi32.dll's symbols; dlopens the DLL on the first call (throws off Windows). */
export function advapi32(): Advapi32Symbols {
  lib ??= Deno.dlopen("advapi32.dll", SYMBOLS);
  return lib.symbols;
}
