/**
 * The service control manager's side of a service process, as a small box the service host
 * (src/service/) drives: the dispatcher with its two callbacks, the control handler's registration, and
 * SetServiceStatus. The host is tested with a fake of this box; the real one runs under wine's
 * services.exe in the lab (test/windows/scm/).
 *
 * StartServiceCtrlDispatcherW is a `nonblocking` FFI call that occupies a worker thread until the service
 * has stopped, so the JS thread stays free. The SCM calls ServiceMain and HandlerEx from threads of its
 * own; both are `Deno.UnsafeCallback.threadSafe` (queued to the JS thread; the calling thread waits until
 * the JS body returns), so the hooks must be short and never throw.
 *
 * @module
 */

import { advapi32 } from "./ffi/advapi32.ts";
import { readWideArgv } from "./ffi/argv.ts";
import { addressOf, pointerValue, wideZ } from "./ffi/memory.ts";
import { encodeServiceStatus, type ServiceStatus, serviceTable } from "./service_layouts.ts";

/** `VOID WINAPI ServiceMain(DWORD dwNumServicesArgs, LPWSTR *lpServiceArgVectors)`. */
const SERVICE_MAIN = { parameters: ["u32", "pointer"], result: "void" } as const;
/** `DWORD WINAPI HandlerEx(DWORD dwControl, DWORD dwEventType, LPVOID lpEventData, LPVOID lpContext)`. */
const HANDLER_EX = { parameters: ["u32", "u32", "pointer", "pointer"], result: "u32" } as const;

/** What the SCM calls (on the JS thread). */
export interface ServiceHooks {
  /** ServiceMain, with argv (argv[0] is the service name). */
  main(argv: string[]): void;
  /** HandlerEx: the control code; returns the Win32 status (NO_ERROR or ERROR_CALL_NOT_IMPLEMENTED). */
  control(code: number): number;
}

/** An opaque status handle (RegisterServiceCtrlHandlerExW's). */
export type StatusHandle = Deno.PointerValue;

/** The SCM calls a service host makes; {@link windowsScm} is the real one. */
export interface ScmBox {
  /**
   * StartServiceCtrlDispatcherW for an own-process service. Resolves with its BOOL when it returns (after
   * the service reported STOPPED, or at once with 0 when the process was not started by the SCM).
   */
  dispatch(tableName: string, hooks: ServiceHooks): Promise<number>;
  /** RegisterServiceCtrlHandlerExW with the dispatcher's HandlerEx; null on failure. */
  register(serviceName: string): StatusHandle;
  /** SetServiceStatus; resolves with its BOOL. */
  setStatus(handle: StatusHandle, status: ServiceStatus): Promise<number>;
  /** Frees the callbacks (only after the dispatcher returned). */
  close(): void;
}

/** A fresh real box (one per service run: it owns the two callbacks). */
export function windowsScm(): ScmBox {
  let serviceMain: Deno.UnsafeCallback<typeof SERVICE_MAIN> | undefined;
  let handlerEx: Deno.UnsafeCallback<typeof HANDLER_EX> | undefined;
  const names: Uint16Array[] = []; // kept alive: the SCM holds pointers into them
  return {
    async dispatch(tableName, hooks) {
      serviceMain = Deno.UnsafeCallback.threadSafe(SERVICE_MAIN, (argc, argv) => {
        hooks.main(readWideArgv(argc, argv));
      });
      handlerEx = Deno.UnsafeCallback.threadSafe(HANDLER_EX, (control) => hooks.control(control));
      const name = wideZ(tableName);
      names.push(name);
      const table = serviceTable(addressOf(name), pointerValue(serviceMain.pointer));
      return await advapi32().StartServiceCtrlDispatcherW(table);
    },
    register(serviceName) {
      const name = wideZ(serviceName);
      names.push(name);
      return advapi32().RegisterServiceCtrlHandlerExW(name, handlerEx?.pointer ?? null, null);
    },
    setStatus: (handle, status) => advapi32().SetServiceStatus(handle, encodeServiceStatus(status)),
    close() {
      serviceMain?.close();
      handlerEx?.close();
    },
  };
}
