/**
 * The pure parts of the Windows service host: its names and event texts, how the registered command
 * line and the start parameters merge, the exit code of a failure, and the rate limit on warning
 * events. No FFI here, so it is tested on every OS (`service_support_test.ts`).
 *
 * @module
 */

import type { SettingFlags } from "../cli/settings.ts";
import { UsageError } from "../errors.ts";
import {
  ERROR_SERVICE_SPECIFIC_ERROR,
  SERVICE_STOPPED,
  type ServiceStatus,
} from "../platform/windows/service_layouts.ts";

/** The name in the dispatch table (wine and Windows ignore it for an own-process service; argv[0] is used). */
export const SERVICE_TABLE_NAME = "PortReporter";

/** Event source in the Application log (the original's name; the one constant, see eventlog.ts). */
export { EVENT_SOURCE } from "../platform/windows/event_source.ts";

/** Event ids of the service's events. */
export const SERVICE_EVENT_ID = {
  /** "The Port Reporter service was started." */
  started: 1,
  /** "… successfully created log files in the following directory: <dir>" */
  logDirectory: 2,
  /** "The Port Reporter service was stopped." */
  stopped: 3,
  /** A warning line of the monitor (rate-limited). */
  warning: 4,
  /** A fatal error: the service stopped. */
  fatal: 5,
} as const;

/** The start event, verbatim from the original. */
export const STARTED_MESSAGE = "The Port Reporter service was started.";
/** The stop event. */
export const STOPPED_MESSAGE = "The Port Reporter service was stopped.";

/** The second start event, verbatim from the original, with the log directory. */
export function logDirectoryMessage(dir: string): string {
  return `The Port Reporter service successfully created log files in the following directory: ${dir}`;
}

/** The error event of a fatal failure; `started` says whether RUNNING had been reported. */
export function fatalMessage(error: unknown, started: boolean): string {
  const reason = error instanceof Error ? error.message : String(error);
  return started
    ? `The Port Reporter service stopped because of an error: ${reason}`
    : `The Port Reporter service could not start: ${reason}`;
}

/** What `portreporter service` prints when it was not started by the service control manager. */
export const NOT_STARTED_BY_SCM =
  "portreporter service must be started by the service control manager; use 'portreporter run' to run in a console";

/** The process exit code of a failure: 2 for a usage or configuration error, 1 otherwise. */
export function serviceExitCode(error: unknown): number {
  return error instanceof UsageError ? error.exitCode : 1;
}

/**
 * The STOPPED status of a failure. install.ps1 sets `sc failureflag <name> 1`: the SCM then runs the
 * failure actions (restart) also when the service "enters the SERVICE_STOPPED state but the
 * dwWin32ExitCode member of the SERVICE_STATUS structure is not ERROR_SUCCESS"
 * (https://learn.microsoft.com/windows/win32/api/winsvc/ns-winsvc-service_failure_actions_flag).
 * A runtime fault is worth a restart: ERROR_SERVICE_SPECIFIC_ERROR (1066) with service code 1. A usage or
 * configuration error would fail the same way again, in a loop: win32 exit code 0, no restart; the error
 * event says what to fix.
 */
export function stoppedStatus(error: unknown): ServiceStatus {
  if (error instanceof UsageError) return { currentState: SERVICE_STOPPED };
  return {
    currentState: SERVICE_STOPPED,
    win32ExitCode: ERROR_SERVICE_SPECIFIC_ERROR,
    serviceSpecificExitCode: 1,
  };
}

/**
 * The registered command line's flags with the start parameters' on top: every setting given as a
 * start parameter wins; the others come from the command line. `help` is not a setting and is dropped.
 */
export function mergeServiceFlags(registered: SettingFlags, start: SettingFlags): SettingFlags {
  const out: Record<string, unknown> = {};
  for (const source of [registered, start] as Record<string, unknown>[]) {
    for (const [key, value] of Object.entries(source)) {
      if (key !== "help" && value !== undefined) out[key] = value;
    }
  }
  return out as SettingFlags;
}

/** Settings of {@link WarningLimiter}. */
export interface WarningLimiterOptions {
  /** Events allowed at once before the limit applies (default 10). */
  burst?: number;
  /** One more event is allowed every this many ms (default 6 minutes: 10 an hour). */
  refillMs?: number;
  /** The clock, ms. */
  now?: () => number;
}

/** The verdict on one warning. */
export interface WarningVerdict {
  /** Write this one. */
  write: boolean;
  /** When writing: how many were dropped since the last one written (say so in the text). */
  dropped: number;
}

/**
 * A token bucket for warning events, so that a flood of warnings cannot fill the event log: `burst`
 * at once, then one every `refillMs`. Dropped warnings are counted and reported with the next one written
 * (and by {@link WarningLimiter.drain} at stop).
 */
export class WarningLimiter {
  readonly #burst: number;
  readonly #refillMs: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;
  #dropped = 0;

  /** @param options the bucket's size and refill rate. */
  constructor(options: WarningLimiterOptions = {}) {
    this.#burst = options.burst ?? 10;
    this.#refillMs = options.refillMs ?? 6 * 60_000;
    this.#now = options.now ?? Date.now;
    this.#tokens = this.#burst;
    this.#last = this.#now();
  }

  /** Takes a token for one warning. */
  take(): WarningVerdict {
    const now = this.#now();
    const refill = Math.floor((now - this.#last) / this.#refillMs);
    if (refill > 0) {
      this.#tokens = Math.min(this.#burst, this.#tokens + refill);
      this.#last += refill * this.#refillMs;
    }
    if (this.#tokens >= this.#burst) this.#last = now; // a full bucket does not bank time
    if (this.#tokens <= 0) {
      this.#dropped++;
      return { write: false, dropped: 0 };
    }
    this.#tokens--;
    const dropped = this.#dropped;
    this.#dropped = 0;
    return { write: true, dropped };
  }

  /** The count of dropped warnings not yet reported; resets it. */
  drain(): number {
    const dropped = this.#dropped;
    this.#dropped = 0;
    return dropped;
  }
}

/** The text of a warning event, with the count of warnings dropped before it. */
export function warningMessage(line: string, dropped: number): string {
  const text = `Port Reporter: ${line}`;
  return dropped
    ? `${text} (${dropped} earlier warnings were not written to the event log: rate limit)`
    : text;
}

/** The warning event written at stop when warnings were dropped since the last one written. */
export function droppedWarningsMessage(dropped: number): string {
  return `Port Reporter: ${dropped} warnings were not written to the event log (rate limit)`;
}
