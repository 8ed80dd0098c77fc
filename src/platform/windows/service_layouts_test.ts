import assert from "node:assert/strict";
import {
  decodeServiceStatus,
  encodeServiceStatus,
  ERROR_CALL_NOT_IMPLEMENTED,
  ERROR_FAILED_SERVICE_CONTROLLER_CONNECT,
  ERROR_SERVICE_SPECIFIC_ERROR,
  SERVICE_ACCEPT_SHUTDOWN,
  SERVICE_ACCEPT_STOP,
  SERVICE_CONTROL_INTERROGATE,
  SERVICE_CONTROL_SHUTDOWN,
  SERVICE_CONTROL_STOP,
  SERVICE_RUNNING,
  SERVICE_START_PENDING,
  SERVICE_STATUS,
  SERVICE_STOP_PENDING,
  SERVICE_STOPPED,
  SERVICE_TABLE_ENTRYW,
  SERVICE_WIN32_OWN_PROCESS,
  serviceTable,
} from "./service_layouts.ts";

// winsvc.h (x64): SERVICE_STATUS is 7 DWORDs; SERVICE_TABLE_ENTRYW is 2 pointers.
Deno.test("SERVICE_STATUS and SERVICE_TABLE_ENTRYW match the SDK layout", () => {
  assert.deepEqual(SERVICE_STATUS, {
    size: 28,
    dwServiceType: 0,
    dwCurrentState: 4,
    dwControlsAccepted: 8,
    dwWin32ExitCode: 12,
    dwServiceSpecificExitCode: 16,
    dwCheckPoint: 20,
    dwWaitHint: 24,
  });
  assert.deepEqual(SERVICE_TABLE_ENTRYW, { size: 16, lpServiceName: 0, lpServiceProc: 8 });
});

Deno.test("service constants match winsvc.h / winerror.h", () => {
  assert.equal(SERVICE_WIN32_OWN_PROCESS, 0x10);
  assert.deepEqual([SERVICE_STOPPED, SERVICE_START_PENDING, SERVICE_STOP_PENDING, SERVICE_RUNNING], [
    1,
    2,
    3,
    4,
  ]);
  assert.deepEqual([SERVICE_CONTROL_STOP, SERVICE_CONTROL_INTERROGATE, SERVICE_CONTROL_SHUTDOWN], [1, 4, 5]);
  assert.deepEqual([SERVICE_ACCEPT_STOP, SERVICE_ACCEPT_SHUTDOWN], [1, 4]);
  assert.deepEqual([
    ERROR_CALL_NOT_IMPLEMENTED,
    ERROR_FAILED_SERVICE_CONTROLLER_CONNECT,
    ERROR_SERVICE_SPECIFIC_ERROR,
  ], [
    120,
    1063,
    1066,
  ]);
});

Deno.test("encodeServiceStatus writes little-endian DWORDs at the pinned offsets, with defaults", () => {
  const bytes = encodeServiceStatus({
    currentState: SERVICE_STOPPED,
    win32ExitCode: ERROR_SERVICE_SPECIFIC_ERROR,
    serviceSpecificExitCode: 2,
  });
  assert.equal(bytes.length, 28);
  assert.deepEqual([...new Uint32Array(bytes.buffer)], [0x10, 1, 0, 1066, 2, 0, 0]);
  const full = {
    serviceType: 0x10,
    currentState: 2,
    controlsAccepted: 5,
    win32ExitCode: 0,
    serviceSpecificExitCode: 0,
    checkPoint: 7,
    waitHint: 10_000,
  };
  assert.deepEqual(decodeServiceStatus(encodeServiceStatus(full)), full);
  assert.equal(new DataView(encodeServiceStatus(full).buffer).getUint32(24, true), 10_000);
});

Deno.test("serviceTable is one entry plus the NULL terminator", () => {
  const t = serviceTable(0x1000n, 0x2000n);
  assert.equal(t.byteLength, 2 * SERVICE_TABLE_ENTRYW.size);
  assert.deepEqual([...t], [0x1000n, 0x2000n, 0n, 0n]);
});
