/**
 * The service-control structs and constants (winsvc.h / winerror.h, x64) as named values, plus the pure
 * encoders the service host uses to fill them. No FFI here, so this loads and is tested on every OS
 * (`service_layouts_test.ts` pins the layouts).
 *
 * @module
 */

/** `SERVICE_STATUS` (winsvc.h): seven DWORDs, 28 bytes. */
export const SERVICE_STATUS = {
  size: 28,
  dwServiceType: 0,
  dwCurrentState: 4,
  dwControlsAccepted: 8,
  dwWin32ExitCode: 12,
  dwServiceSpecificExitCode: 16,
  dwCheckPoint: 20,
  dwWaitHint: 24,
} as const;

/** `SERVICE_TABLE_ENTRYW` (winsvc.h): `{ LPWSTR lpServiceName; LPSERVICE_MAIN_FUNCTIONW lpServiceProc; }`, 16 bytes. */
export const SERVICE_TABLE_ENTRYW = {
  size: 16,
  lpServiceName: 0,
  lpServiceProc: 8,
} as const;

/** `SERVICE_WIN32_OWN_PROCESS`: the service has a process of its own. */
export const SERVICE_WIN32_OWN_PROCESS = 0x10;

/** `SERVICE_STOPPED`. */
export const SERVICE_STOPPED = 1;
/** `SERVICE_START_PENDING`. */
export const SERVICE_START_PENDING = 2;
/** `SERVICE_STOP_PENDING`. */
export const SERVICE_STOP_PENDING = 3;
/** `SERVICE_RUNNING`. */
export const SERVICE_RUNNING = 4;

/** `SERVICE_CONTROL_STOP`. */
export const SERVICE_CONTROL_STOP = 1;
/** `SERVICE_CONTROL_INTERROGATE`. */
export const SERVICE_CONTROL_INTERROGATE = 4;
/** `SERVICE_CONTROL_SHUTDOWN`: the system is shutting down. */
export const SERVICE_CONTROL_SHUTDOWN = 5;

/** `SERVICE_ACCEPT_STOP`. */
export const SERVICE_ACCEPT_STOP = 0x1;
/** `SERVICE_ACCEPT_SHUTDOWN`. */
export const SERVICE_ACCEPT_SHUTDOWN = 0x4;

/** `NO_ERROR`: what HandlerEx returns for a control it handled. */
export const SERVICE_NO_ERROR = 0;
/** `ERROR_CALL_NOT_IMPLEMENTED`: what HandlerEx returns for a control it does not handle. */
export const ERROR_CALL_NOT_IMPLEMENTED = 120;
/** `ERROR_FAILED_SERVICE_CONTROLLER_CONNECT`: StartServiceCtrlDispatcherW outside a service process. */
export const ERROR_FAILED_SERVICE_CONTROLLER_CONNECT = 1063;
/** `ERROR_SERVICE_SPECIFIC_ERROR`: `dwServiceSpecificExitCode` holds the reason. */
export const ERROR_SERVICE_SPECIFIC_ERROR = 1066;

/** One `SERVICE_STATUS` as numbers. */
export interface ServiceStatus {
  /** `dwServiceType` (default {@link SERVICE_WIN32_OWN_PROCESS}). */
  serviceType?: number;
  /** `dwCurrentState`. */
  currentState: number;
  /** `dwControlsAccepted` (default 0). */
  controlsAccepted?: number;
  /** `dwWin32ExitCode` (default 0). */
  win32ExitCode?: number;
  /** `dwServiceSpecificExitCode` (default 0; read only when win32ExitCode is 1066). */
  serviceSpecificExitCode?: number;
  /** `dwCheckPoint` (default 0). */
  checkPoint?: number;
  /** `dwWaitHint`, ms (default 0). */
  waitHint?: number;
}

/** A new `SERVICE_STATUS` buffer holding `s` (little-endian DWORDs). */
export function encodeServiceStatus(s: ServiceStatus): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(SERVICE_STATUS.size);
  const dv = new DataView(bytes.buffer);
  const put = (offset: number, value: number) => dv.setUint32(offset, value >>> 0, true);
  put(SERVICE_STATUS.dwServiceType, s.serviceType ?? SERVICE_WIN32_OWN_PROCESS);
  put(SERVICE_STATUS.dwCurrentState, s.currentState);
  put(SERVICE_STATUS.dwControlsAccepted, s.controlsAccepted ?? 0);
  put(SERVICE_STATUS.dwWin32ExitCode, s.win32ExitCode ?? 0);
  put(SERVICE_STATUS.dwServiceSpecificExitCode, s.serviceSpecificExitCode ?? 0);
  put(SERVICE_STATUS.dwCheckPoint, s.checkPoint ?? 0);
  put(SERVICE_STATUS.dwWaitHint, s.waitHint ?? 0);
  return bytes;
}

/** Reads a `SERVICE_STATUS` buffer back (tests, diagnostics). */
export function decodeServiceStatus(bytes: Uint8Array): Required<ServiceStatus> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const get = (offset: number) => dv.getUint32(offset, true);
  return {
    serviceType: get(SERVICE_STATUS.dwServiceType),
    currentState: get(SERVICE_STATUS.dwCurrentState),
    controlsAccepted: get(SERVICE_STATUS.dwControlsAccepted),
    win32ExitCode: get(SERVICE_STATUS.dwWin32ExitCode),
    serviceSpecificExitCode: get(SERVICE_STATUS.dwServiceSpecificExitCode),
    checkPoint: get(SERVICE_STATUS.dwCheckPoint),
    waitHint: get(SERVICE_STATUS.dwWaitHint),
  };
}

/**
 * A one-service `SERVICE_TABLE_ENTRYW[2]` (the entry, then the all-zero terminator) from the addresses of
 * the NUL-terminated name and of the ServiceMain callback. The caller keeps the name buffer alive.
 */
export function serviceTable(nameAddress: bigint, serviceMainAddress: bigint): BigUint64Array<ArrayBuffer> {
  const table = new BigUint64Array((2 * SERVICE_TABLE_ENTRYW.size) / 8);
  table[SERVICE_TABLE_ENTRYW.lpServiceName / 8] = nameAddress;
  table[SERVICE_TABLE_ENTRYW.lpServiceProc / 8] = serviceMainAddress;
  return table;
}
