/**
 * `portreporter service`: the monitor as a Windows service (SERVICE_WIN32_OWN_PROCESS), on top of the
 * SCM box in src/platform/windows/scm.ts (a fake of it drives this host in windows_service_test.ts; the
 * real one runs under wine's services.exe in test/windows/scm/).
 *
 * Life cycle:
 * - ServiceMain: RegisterServiceCtrlHandlerExW; START_PENDING. The checkpoint advances on real progress
 *   (settings read, the first socket tables read, every {@link PROGRESS_BATCH} processes of the first
 *   read; see status_reporter.ts). The first read yields to the event loop, so HandlerEx (which runs on
 *   the JS thread) is served during it. A start that is not RUNNING after {@link START_LIMIT_MS} fails.
 *   Once the first log set is open: the original's two events and RUNNING, accepting STOP and SHUTDOWN.
 * - STOP / SHUTDOWN: STOP_PENDING, abort the monitor, wait until it has flushed and closed every file
 *   (checkpoint per step), "The Port Reporter service was stopped.", STOPPED last.
 * - A fatal error: an error event with the reason, then STOPPED with exit codes chosen for the SCM's
 *   failure actions (install.ps1 sets `sc failureflag <name> 1`, so they fire for a STOPPED with a
 *   non-zero win32 exit code, not only for a crash — see {@link stoppedStatus}):
 *   a runtime fault (a first poll that keeps failing, the monitor failing later, a start past its bound)
 *   reports ERROR_SERVICE_SPECIFIC_ERROR (1066) with service code 1 and is restarted by the SCM; a usage
 *   or configuration error (bad settings or start parameters, a log directory that cannot be used) would
 *   only fail again, so it reports win32 exit code 0 (no restart loop) and the event log says why; the
 *   process exits with 2.
 * - The monitor's diagnostic lines become warning events, at most 10 at once and then one per 6 minutes.
 * - Not started by the SCM: the dispatcher returns FALSE without calling ServiceMain; one line on stderr,
 *   exit code 2.
 *
 * @module
 */

import { runWithSettings } from "../cli/run_monitor.ts";
import { parseRunFlags, resolveSettings, type SettingFlags, type Settings } from "../cli/settings.ts";
import { platformDefaults } from "../platform/collector.ts";
import type { UsageError } from "../errors.ts";
import type { Collector } from "../model/types.ts";
import { type ScmBox, windowsScm } from "../platform/windows/scm.ts";
import { StatusReporter } from "./status_reporter.ts";
import {
  ERROR_CALL_NOT_IMPLEMENTED,
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
} from "../platform/windows/service_layouts.ts";
import {
  droppedWarningsMessage,
  fatalMessage,
  logDirectoryMessage,
  mergeServiceFlags,
  NOT_STARTED_BY_SCM,
  SERVICE_EVENT_ID,
  SERVICE_TABLE_NAME,
  serviceExitCode,
  STARTED_MESSAGE,
  STOPPED_MESSAGE,
  stoppedStatus,
  WarningLimiter,
  warningMessage,
} from "./service_support.ts";

/** A start that has not reached RUNNING after this long fails (runtime fault: the SCM may restart it). */
export const START_LIMIT_MS = 120_000;
/** The first read reports progress every this many processes. */
export const PROGRESS_BATCH = 32;

/** One event for the Application log. */
export type EventWriter = (type: "info" | "warning" | "error", eventId: number, message: string) => void;

/** What the host runs on; the defaults are the real ones, tests inject fakes. */
export interface ServiceDeps {
  /** The SCM box. */
  scm: ScmBox;
  /** Writes one event (must not throw). */
  event: EventWriter;
  /** The settings from the merged flags. */
  settings: (flags: SettingFlags) => Promise<Settings>;
  /** The collector, reporting progress of its first collect. */
  collector: (progress: () => void) => Promise<Collector>;
  /** The monitor. */
  run: typeof runWithSettings;
  /** The start bound, ms (default {@link START_LIMIT_MS}). */
  startLimitMs?: number;
}

async function realDeps(): Promise<ServiceDeps> {
  const { writeEventLog } = await import("../platform/windows/eventlog.ts");
  const { createWindowsCollector } = await import("../platform/windows/collector.ts");
  return {
    scm: windowsScm(),
    event: (type, eventId, message) => {
      try {
        writeEventLog({ type, message, eventId });
      } catch {
        // nowhere left to report it: a service has no console
      }
    },
    settings: (flags) => resolveSettings(flags, platformDefaults()),
    collector: (progress) => Promise.resolve(createWindowsCollector({ onFirstProgress: progress })),
    run: runWithSettings,
  };
}

/** One run of the service: what ServiceMain starts and HandlerEx stops. */
export class ServiceRun {
  readonly #deps: ServiceDeps;
  readonly #flags: SettingFlags;
  readonly #commandLineError: UsageError | undefined;
  readonly #controller = new AbortController();
  readonly #limiter = new WarningLimiter();
  #status: StatusReporter | undefined;
  #done = Promise.withResolvers<void>();
  #abandoned = Promise.withResolvers<void>();

  /** True once the SCM called ServiceMain. */
  mainCalled = false;
  /** The process exit code once the run is over. */
  exitCode = 0;

  /** @param deps the SCM box and the rest. @param flags the registered command line's. @param commandLineError its parse error. */
  constructor(deps: ServiceDeps, flags: SettingFlags, commandLineError?: UsageError) {
    this.#deps = deps;
    this.#flags = flags;
    this.#commandLineError = commandLineError;
  }

  /** Resolves when the run is over and STOPPED was reported. */
  get done(): Promise<void> {
    return this.#done.promise;
  }

  /** Resolves if the service cannot report any status (RegisterServiceCtrlHandlerExW failed or ServiceMain threw). */
  get abandoned(): Promise<void> {
    return this.#abandoned.promise;
  }

  /** The statuses reported so far (tests). */
  get statuses(): readonly ServiceStatus[] {
    return this.#status?.sent ?? [];
  }

  /** ServiceMain's body (on the JS thread; the SCM's thread waits): register, START_PENDING, start the run. */
  serviceMain(argv: string[]): void {
    if (this.mainCalled) return;
    this.mainCalled = true;
    const [name = SERVICE_TABLE_NAME, ...params] = argv;
    const handle = this.#deps.scm.register(name);
    if (!handle) {
      const e = new Error(`RegisterServiceCtrlHandlerExW failed for ${name}`);
      this.#deps.event("error", SERVICE_EVENT_ID.fatal, fatalMessage(e, false));
      this.exitCode = 1;
      this.#abandoned.resolve();
      return;
    }
    this.#status = new StatusReporter(this.#deps.scm, handle);
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
    this.#deps.event(
      "error",
      SERVICE_EVENT_ID.fatal,
      fatalMessage(error, this.#status?.state === SERVICE_RUNNING),
    );
    this.#controller.abort();
    if (!this.#status) {
      this.exitCode = 1;
      this.#abandoned.resolve();
    }
  }

  #warn(line: string): void {
    const verdict = this.#limiter.take();
    if (verdict.write) {
      this.#deps.event("warning", SERVICE_EVENT_ID.warning, warningMessage(line, verdict.dropped));
    }
  }

  async #run(params: string[]): Promise<void> {
    const status = this.#status!;
    const { event } = this.#deps;
    let started = false;
    const limitMs = this.#deps.startLimitMs ?? START_LIMIT_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // the bound holds even when a step never returns: the race ends the run, STOPPED is reported
    const bound = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        if (started) return;
        this.#controller.abort();
        reject(new Error(`the start did not finish within ${limitMs / 1000} s`));
      }, limitMs);
    });
    const work = async () => {
      if (this.#commandLineError) throw this.#commandLineError; // reported like any other fatal error
      const settings = await this.#deps.settings(
        mergeServiceFlags(this.#flags, parseRunFlags("service", params)),
      );
      void status.progress();
      const collector = await this.#deps.collector(() => void status.progress());
      using _closed = { [Symbol.dispose]: () => collector.close() }; // also when run throws before using it
      await this.#deps.run(settings, {
        signal: this.#controller.signal,
        collector,
        log: (line) => this.#warn(line),
        onStarted: (dir) => {
          started = true;
          clearTimeout(timer);
          event("info", SERVICE_EVENT_ID.started, STARTED_MESSAGE);
          event("info", SERVICE_EVENT_ID.logDirectory, logDirectoryMessage(dir));
          status.report({
            currentState: SERVICE_RUNNING,
            controlsAccepted: SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN,
          });
        },
      });
    };
    try {
      await Promise.race([work(), bound]);
      void status.progress(); // the monitor has flushed and closed its files
      const dropped = this.#limiter.drain();
      if (dropped) event("warning", SERVICE_EVENT_ID.warning, droppedWarningsMessage(dropped));
      event("info", SERVICE_EVENT_ID.stopped, STOPPED_MESSAGE);
      this.exitCode = 0;
      await status.report({ currentState: SERVICE_STOPPED });
    } catch (e) {
      this.exitCode = serviceExitCode(e);
      event("error", SERVICE_EVENT_ID.fatal, fatalMessage(e, started));
      await status.report(stoppedStatus(e));
    } finally {
      clearTimeout(timer);
      this.#done.resolve();
    }
  }
}

/**
 * Runs as the Windows service: connects to the SCM and serves one ServiceMain (see the module doc).
 * `flags` are the registered command line's (`portreporter service [run options]`); start parameters
 * override them. Returns the process exit code: 0 after a clean stop, 1 after a runtime fault, 2 after a
 * usage error or when the process was not started by the SCM. A `commandLineError` (the registered
 * command line did not parse) is reported to the SCM and the event log as a fatal error.
 */
export async function runService(
  flags: SettingFlags,
  commandLineError?: UsageError,
  deps?: ServiceDeps,
): Promise<number> {
  const d = deps ?? await realDeps();
  const run = new ServiceRun(d, flags, commandLineError);
  const dispatcher = d.scm.dispatch(SERVICE_TABLE_NAME, {
    main: (argv) => {
      try {
        run.serviceMain(argv);
      } catch (e) {
        run.crash(e);
      }
    },
    control: (code) => {
      try {
        return run.control(code);
      } catch (e) {
        run.crash(e);
        return SERVICE_NO_ERROR;
      }
    },
  });
  const outcome = await Promise.race([dispatcher, run.abandoned.then(() => "abandoned" as const)]);
  // abandoned: the dispatcher may still call the callbacks, so they stay open; the process exits instead
  if (outcome === "abandoned") return run.exitCode;
  if (outcome && run.mainCalled) await run.done;
  d.scm.close();
  if (!outcome && !run.mainCalled) {
    console.error(NOT_STARTED_BY_SCM);
    return 2;
  }
  if (!outcome) {
    console.error("portreporter: service: the service control dispatcher failed");
    return 1;
  }
  return run.exitCode;
}
