/**
 * kernel32.dll: the symbol table only (SDK names verbatim). Opened lazily on first use, so that
 * importing this module on Linux does not throw.
 *
 * @module
 */

const SYMBOLS = {
  /** DWORD GetCurrentProcessId(void). */
  GetCurrentProcessId: { parameters: [], result: "u32" },
  /**
   * DWORD GetLastError(void). Read it only right after an API that reports failure solely through
   * it (OpenProcess, CreateToolhelp32Snapshot, BOOL APIs); never after one that returns its status.
   */
  GetLastError: { parameters: [], result: "u32" },
  /** HANDLE OpenProcess(DWORD dwDesiredAccess, BOOL bInheritHandle, DWORD dwProcessId). */
  OpenProcess: { parameters: ["u32", "i32", "u32"], result: "pointer" },
  /** BOOL CloseHandle(HANDLE hObject). */
  CloseHandle: { parameters: ["pointer"], result: "i32" },
  /** BOOL QueryFullProcessImageNameW(HANDLE hProcess, DWORD dwFlags, LPWSTR lpExeName, PDWORD lpdwSize). */
  QueryFullProcessImageNameW: { parameters: ["pointer", "u32", "buffer", "buffer"], result: "i32" },
  /** BOOL GetProcessTimes(HANDLE, LPFILETIME lpCreationTime, LPFILETIME lpExitTime, LPFILETIME lpKernelTime, LPFILETIME lpUserTime). */
  GetProcessTimes: { parameters: ["pointer", "buffer", "buffer", "buffer", "buffer"], result: "i32" },
  /** BOOL GetExitCodeProcess(HANDLE hProcess, LPDWORD lpExitCode): STILL_ACTIVE (259) while it runs. */
  GetExitCodeProcess: { parameters: ["pointer", "buffer"], result: "i32" },
  /** DWORD K32GetModuleFileNameExW(HANDLE hProcess, HMODULE hModule, LPWSTR lpFilename, DWORD nSize): the length copied. */
  K32GetModuleFileNameExW: { parameters: ["pointer", "u64", "buffer", "u32"], result: "u32" },
  /** HANDLE CreateToolhelp32Snapshot(DWORD dwFlags, DWORD th32ProcessID). */
  CreateToolhelp32Snapshot: { parameters: ["u32", "u32"], result: "pointer" },
  /** BOOL Process32FirstW(HANDLE hSnapshot, LPPROCESSENTRY32W lppe). */
  Process32FirstW: { parameters: ["pointer", "buffer"], result: "i32" },
  /** BOOL Process32NextW(HANDLE hSnapshot, LPPROCESSENTRY32W lppe). */
  Process32NextW: { parameters: ["pointer", "buffer"], result: "i32" },
  /** BOOL Module32FirstW(HANDLE hSnapshot, LPMODULEENTRY32W lpme). */
  Module32FirstW: { parameters: ["pointer", "buffer"], result: "i32" },
  /** BOOL Module32NextW(HANDLE hSnapshot, LPMODULEENTRY32W lpme). */
  Module32NextW: { parameters: ["pointer", "buffer"], result: "i32" },
  /** BOOL ReadProcessMemory(HANDLE hProcess, LPCVOID lpBaseAddress, LPVOID lpBuffer, SIZE_T nSize, SIZE_T *lpNumberOfBytesRead). */
  ReadProcessMemory: { parameters: ["pointer", "u64", "buffer", "usize", "buffer"], result: "i32" },
  /** BOOL CreateDirectoryW(LPCWSTR lpPathName, LPSECURITY_ATTRIBUTES lpSecurityAttributes). */
  CreateDirectoryW: { parameters: ["buffer", "buffer"], result: "i32" },
  /** HLOCAL LocalFree(HLOCAL hMem). */
  LocalFree: { parameters: ["pointer"], result: "pointer" },
  /** BOOL GetComputerNameExW(COMPUTER_NAME_FORMAT NameType, LPWSTR lpBuffer, LPDWORD nSize). */
  GetComputerNameExW: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The symbols of kernel32.dll as Deno sees them. */
export type Kernel32Symbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/** kernel32.dll's symbols; dlopens the DLL on the first call (throws off Windows). */
export function kernel32(): Kernel32Symbols {
  lib ??= Deno.dlopen("kernel32.dll", SYMBOLS);
  return lib.symbols;
}
