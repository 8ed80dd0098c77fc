/**
 * `portreporter service`: the monitor as a Windows service (SERVICE_WIN32_OWN_PROCESS).
 *
 * The process hands the SCM its dispatch table with StartServiceCtrlDispatcherW, a `nonblocking` FFI
 * call that occupies a worker thread until the service has stopped, so the JS thread stays free. The SCM
 * calls ServiceMain and HandlerEx from threads of its own; both are `Deno.UnsafeCallback.threadSafe`
 * (queued to the JS thread; the calling thread waits until the JS body returns, so the bodies are short,
 * never throw, and leave the work to promises).
 *
 * Life cycle:
 * - ServiceMain: RegisterServiceCtrlHandlerExW; START_PENDING with a rising checkpoint every second;
 *   the settings are the registered command line's flags with the start parameters (argv[1..]) on top;
 *   then the shared `runWithSettings`. Once the first log set is open: the original's two events
 *   ("The Port Reporter service was started.", "… created log files in the following directory: <dir>")
 *   and RUNNING, accepting STOP and SHUTDOWN.
 * - STOP / SHUTDOWN: STOP_PENDING (rising checkpoints), abort the monitor, wait until it has flushed and
 *   closed every file, write "The Port Reporter service was stopped.", and report STOPPED last.
 * - A fatal error (bad settings or start parameters, a log directory that cannot be created, a first poll
 *   that fails, or the monitor failing later): an error event with the reason, then STOPPED with
 *   `ERROR_SERVICE_SPECIFIC_ERROR` (1066) and service-specific code 2 (usage/config) or 1 (other).
 * - The monitor's diagnostic lines become warning events, at most 10 at once and then one per 6 minutes.
 * - Not started by the SCM: StartServiceCtrlDispatcherW returns FALSE without calling ServiceMain (its
 *   error, 1063, is set on the worker thread and cannot be read from JS); one line on stderr, exit code 2.
 *
 * The callbacks are closed only after the dispatcher call has returned.
 *
 * @module
 */

import { platformDefaults } from "../collector.ts";
import { runWithSettings } from "../../cli/run_monitor.ts";
import { parseRunFlags, resolveSettings, type SettingFlags } from "../../cli/settings.ts";
import type { UsageError } from "../../errors.ts";
import { writeEventLog } from "./eventlog.ts";
import { advapi32 } from "./ffi/advapi32.ts";
import { readWideArgv } from "./ffi/argv.ts";
import { addressOf, pointerValue, wideZ } from "./ffi/memory.ts";
import {
  encodeServiceStatus,
  ERROR_CALL_NOT_IMPLEMENTED,
  ERROR_SERVICE_SPECIFIC_ERROR,
  SERVICE_ACCEPT_SHUTDOWN,
  SERVICE_ACCEPT_STOP,
  SERVICE_CONTROL_INTERROGATE,
  SERVICE_CONTROL_SHUTDOWN,
  SERVICE_CONTROL_STOP,
  SERVICE_NO_ERROR,
  SERVICE_RUNNING,
  SERVICE_START_PENDING,
  SERVICE_STOP_PENDING,
  SERVICE_STOPPED,
  type ServiceStatus,
  serviceTable,
} from "./service_layouts.ts";
import {
  droppedWarningsMessage,
  EVENT_SOURCE,
  fatalMessage,
  logDirectoryMessage,
  mergeServiceFlags,
  NOT_STARTED_BY_SCM,
  SERVICE_EVENT_ID,
  SERVICE_TABLE_NAME,
  serviceExitCode,
  STARTED_MESSAGE,
  STOPPED_MESSAGE,
  WarningLimiter,
  warningMessage,
} from "./service_support.ts";

/** `VOID WINAPI ServiceMain(DWORD dwNumServicesArgs, LPWSTR *lpServiceArgVectors)`. */
const SERVICE_MAIN = { parameters: ["u32", "pointer"], result: "void" } as const;
/** `DWORD WINAPI HandlerEx(DWORD dwControl, DWORD dwEventType, LPVOID lpEventData, LPVOID lpContext)`. */
const HANDLER_EX = { parameters: ["u32", "u32", "pointer", "pointer"], result: "u32" } as const;

/** Wait hint of the pending states, ms (the checkpoint rises every {@link CHECKPOINT_MS}). */
const WAIT_HINT_MS = 10_000;
/** How often a pending state is re-reported with the next checkpoint, ms. */
const CHECKPOINT_MS = 1_000;

type EventType = "info" | "warning" | "error";

/** Writes one event; a failing event log never takes the service down. */
function event(type: EventType, eventId: number, message: string): void {
  try {
    writeEventLog({ source: EVENT_SOURCE, type, message, eventId });
  } catch {
    // nowhere left to report it: a service has no console
  }
}

/**
 * Reports the service's status to the SCM, in order (SetServiceStatus calls are chained), re-reporting a
 * pending state with a rising checkpoint every second. Once STOP_PENDING was reported, RUNNING is not;
 * after STOPPED nothing is.
 */
class StatusReporter {
  readonly #handle: Deno.PointerValue;
  #chain: Promise<void> = Promise.resolve();
  #state = 0;
  #checkPoint = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(handle: Deno.PointerValue) {
    this.#handle = handle;
  }

  /** The last state reported (0 before the first). */
  get state(): number {
    return this.#state;
  }

  /** Reports `status`; resolves once it (and every earlier report) reached the SCM. */
  report(status: ServiceStatus): Promise<void> {
    const state = status.currentState;
    if (this.#state === SERVICE_STOPPED) return this.#chain;
    if (state === SERVICE_RUNNING && this.#state === SERVICE_STOP_PENDING) return this.#chain;
    clearInterval(this.#timer);
    this.#timer = undefined;
    const pending = state === SERVICE_START_PENDING || state === SERVICE_STOP_PENDING;
    this.#checkPoint = pending ? (state === this.#state ? this.#checkPoint + 1 : 1) : 0;
    this.#state = state;
    const send = () => {
      const bytes = encodeServiceStatus({
        ...status,
        checkPoint: this.#checkPoint,
        waitHint: pending ? WAIT_HINT_MS : 0,
      });
      this.#chain = this.#chain
        .then(() => advapi32().SetServiceStatus(this.#handle, bytes))
        .then(() => {}, () => {});
    };
    send();
    if (pending) {
      this.#timer = setInterval(() => {
        this.#checkPoint++;
        send();
      }, CHECKPOINT_MS);
    }
    return this.#chain;
  }
}

/** One run of the service: what ServiceMain starts and HandlerEx stops. */
class ServiceRun {
  readonly #flags: SettingFlags;
  readonly #commandLineError: UsageError | undefined;
  readonly #controller = new AbortController();
  readonly #limiter = new WarningLimiter();
  #status: StatusReporter | undefined;
  #handlerPointer: Deno.PointerObject | null = null;
  #nameBuffer: Uint16Array | undefined;
  #done = Promise.withResolvers<void>();
  #abandoned = Promise.withResolvers<void>();

  /** True once the SCM called ServiceMain. */
  mainCalled = false;
  /** The process exit code once the run is over. */
  exitCode = 0;

  constructor(flags: SettingFlags, commandLineError?: UsageError) {
    this.#flags = flags;
    this.#commandLineError = commandLineError;
  }

  /** Resolves when the run is over and STOPPED was reported. */
  get done(): Promise<void> {
    return this.#done.promise;
  }

  /** Resolves if the service cannot report any status (no handle: RegisterServiceCtrlHandlerExW failed or ServiceMain threw). */
  get abandoned(): Promise<void> {
    return this.#abandoned.promise;
  }

  /** The HandlerEx callback to register. */
  set handler(pointer: Deno.PointerObject | null) {
    this.#handlerPointer = pointer;
  }

  /** ServiceMain's body (on the JS thread; the SCM's thread waits): register, START_PENDING, start the run. */
  serviceMain(argv: string[]): void {
    if (this.mainCalled) return;
    this.mainCalled = true;
    const [name = SERVICE_TABLE_NAME, ...params] = argv;
    this.#nameBuffer = wideZ(name);
    const handle = advapi32().RegisterServiceCtrlHandlerExW(this.#nameBuffer, this.#handlerPointer, null);
    if (!handle) {
      event(
        "error",
        SERVICE_EVENT_ID.fatal,
        fatalMessage(new Error(`RegisterServiceCtrlHandlerExW failed for ${name}`), false),
      );
      this.exitCode = 1;
      this.#abandoned.resolve();
      return;
    }
    this.#status = new StatusReporter(handle);
    this.#status.report({ currentState: SERVICE_START_PENDING });
    void this.#run(params);
  }

  /** HandlerEx's body (on the JS thread; the SCM's dispatcher waits): returns at once. */
  control(code: number): number {
    switch (code) {
      case SERVICE_CONTROL_STOP:
      case SERVICE_CONTROL_SHUTDOWN:
        if (this.#status && !this.#controller.signal.aborted && this.#status.state !== SERVICE_STOPPED) {
          this.#status.report({ currentState: SERVICE_STOP_PENDING });
          this.#controller.abort();
        }
        return SERVICE_NO_ERROR;
      case SERVICE_CONTROL_INTERROGATE:
        return SERVICE_NO_ERROR;
      default:
        return ERROR_CALL_NOT_IMPLEMENTED;
    }
  }

  /** A callback body threw (a bug): record it; a run in progress is stopped (and reports STOPPED). */
  crash(error: unknown): void {
    event("error", SERVICE_EVENT_ID.fatal, fatalMessage(error, this.#status?.state === SERVICE_RUNNING));
    this.#controller.abort();
    if (!this.#status) {
      // no status handle: the SCM cannot be told; end the process rather than hang in START_PENDING
      this.exitCode = 1;
      this.#abandoned.resolve();
    }
  }

  #warn(line: string): void {
    const verdict = this.#limiter.take();
    if (verdict.write) event("warning", SERVICE_EVENT_ID.warning, warningMessage(line, verdict.dropped));
  }

  async #run(params: string[]): Promise<void> {
    const status = this.#status!;
    let started = false;
    try {
      if (this.#commandLineError) throw this.#commandLineError; // reported like any other fatal error
      const settings = await resolveSettings(
        mergeServiceFlags(this.#flags, parseRunFlags("service", params)),
        platformDefaults(),
      );
      await runWithSettings(settings, {
        signal: this.#controller.signal,
        log: (line) => this.#warn(line),
        onStarted: (dir) => {
          started = true;
          event("info", SERVICE_EVENT_ID.started, STARTED_MESSAGE);
          event("info", SERVICE_EVENT_ID.logDirectory, logDirectoryMessage(dir));
          status.report({
            currentState: SERVICE_RUNNING,
            controlsAccepted: SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN,
          });
        },
      });
      const dropped = this.#limiter.drain();
      if (dropped) event("warning", SERVICE_EVENT_ID.warning, droppedWarningsMessage(dropped));
      event("info", SERVICE_EVENT_ID.stopped, STOPPED_MESSAGE);
      this.exitCode = 0;
      await status.report({ currentState: SERVICE_STOPPED });
    } catch (e) {
      this.exitCode = serviceExitCode(e);
      event("error", SERVICE_EVENT_ID.fatal, fatalMessage(e, started));
      await status.report({
        currentState: SERVICE_STOPPED,
        win32ExitCode: ERROR_SERVICE_SPECIFIC_ERROR,
        serviceSpecificExitCode: this.exitCode,
      });
    } finally {
      this.#done.resolve();
    }
  }
}

/**
 * Runs as the Windows service: connects to the SCM and serves one ServiceMain (see the module doc).
 * `flags` are the registered command line's (`portreporter service [run options]`); start parameters
 * override them. Returns the process exit code: 0 after a clean stop, the service-specific code after a
 * fatal error, 2 when the process was not started by the SCM. A `commandLineError` (the registered
 * command line did not parse) is reported to the SCM and the event log as a fatal error, so an
 * administrator sees it, instead of the service timing out silently.
 */
export async function runService(flags: SettingFlags, commandLineError?: UsageError): Promise<number> {
  const run = new ServiceRun(flags, commandLineError);
  const serviceMain = Deno.UnsafeCallback.threadSafe(SERVICE_MAIN, (argc, argv) => {
    try {
      run.serviceMain(readWideArgv(argc, argv));
    } catch (e) {
      run.crash(e);
    }
  });
  const handlerEx = Deno.UnsafeCallback.threadSafe(HANDLER_EX, (control) => {
    try {
      return run.control(control);
    } catch (e) {
      run.crash(e);
      return SERVICE_NO_ERROR;
    }
  });
  run.handler = handlerEx.pointer;
  const name = wideZ(SERVICE_TABLE_NAME);
  const table = serviceTable(addressOf(name), pointerValue(serviceMain.pointer));
  let ok = 0;
  let abandoned = false;
  try {
    const dispatcher = advapi32().StartServiceCtrlDispatcherW(table);
    const outcome = await Promise.race([dispatcher, run.abandoned.then(() => "abandoned" as const)]);
    if (outcome === "abandoned") abandoned = true;
    else {
      ok = outcome;
      if (ok && run.mainCalled) await run.done;
    }
  } finally {
    if (!abandoned) {
      serviceMain.close();
      handlerEx.close();
    }
    // (abandoned: the dispatcher may still call them; the process exits with its exit code right away)
  }
  void name; // the table points into it: keep it alive until the dispatcher has returned
  if (abandoned) return run.exitCode;
  if (!ok && !run.mainCalled) {
    console.error(NOT_STARTED_BY_SCM);
    return 2;
  }
  if (!ok) {
    console.error("portreporter: service: the service control dispatcher failed");
    return 1;
  }
  return run.exitCode;
}
