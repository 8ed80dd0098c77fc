/**
 * Writing to the Windows Application event log through RegisterEventSourceW / ReportEventW /
 * DeregisterEventSource.
 *
 * The message goes in as the event's single insertion string. install.ps1 registers
 * {@link EVENT_SOURCE} with .NET's `EventLogMessages.dll` as its EventMessageFile (a `%1` message for
 * every event id), so Event Viewer shows the text itself; an event written under a source that is NOT
 * registered shows "The description for Event ID … cannot be found" instead (ReportEventW documentation,
 * https://learn.microsoft.com/windows/win32/eventlog/event-sources). So the service and the eventlog
 * plugin both default to this one constant. Under wine these APIs
 * are stubs that succeed; with `WINEDEBUG=-all,+eventlog` wine traces every string to stderr
 * (`trace:eventlog:ReportEventW L"…"`), which the lab tests grep.
 *
 * @module
 */

import { OsCallError } from "../../errors.ts";
import { EVENT_SOURCE } from "./event_source.ts";
import { advapi32 } from "./ffi/advapi32.ts";
import { kernel32 } from "./ffi/kernel32.ts";
import { addressArray, wideZ } from "./ffi/memory.ts";
import { EVENTLOG_ERROR_TYPE, EVENTLOG_INFORMATION_TYPE, EVENTLOG_WARNING_TYPE } from "./layouts.ts";

export { EVENT_SOURCE } from "./event_source.ts";

/** One event to write. */
export interface EventLogEntry {
  /** Event source name shown in Event Viewer (default {@link EVENT_SOURCE}, the registered one). */
  source?: string;
  /** Severity. */
  type: "info" | "warning" | "error";
  /** The text; longer than 31,839 characters (the API's limit per string) is truncated. */
  message: string;
  /** Event id, 0-65535 (default 1). */
  eventId?: number;
}

/** ReportEventW's documented limit for one insertion string, in characters. */
const MAX_STRING_CHARS = 31839;

const TYPES = {
  info: EVENTLOG_INFORMATION_TYPE,
  warning: EVENTLOG_WARNING_TYPE,
  error: EVENTLOG_ERROR_TYPE,
} as const;

/**
 * Writes one event to the Application log. Synchronous; registers and deregisters the source on
 * every call (events are rare, and nothing is left open).
 *
 * @throws {OsCallError} when RegisterEventSourceW or ReportEventW fails (the code is GetLastError's,
 *   the only status these BOOL/HANDLE APIs give); an `Error` off Windows, where there is no event log.
 */
export function writeEventLog(entry: EventLogEntry): void {
  if (Deno.build.os !== "windows") {
    throw new Error("writeEventLog: the Windows event log exists only on Windows");
  }
  const A = advapi32();
  const K = kernel32();
  const eventId = entry.eventId ?? 1;
  if (!Number.isInteger(eventId) || eventId < 0 || eventId > 0xffff) {
    throw new RangeError(`writeEventLog: eventId must be an integer 0-65535, got ${eventId}`);
  }
  const source = entry.source ?? EVENT_SOURCE;
  const h = A.RegisterEventSourceW(null, wideZ(source));
  if (!h) throw new OsCallError("RegisterEventSourceW", K.GetLastError(), source);
  try {
    const text = wideZ(
      entry.message.length > MAX_STRING_CHARS ? entry.message.slice(0, MAX_STRING_CHARS) : entry.message,
    );
    const strings = addressArray([text]);
    const ok = A.ReportEventW(h, TYPES[entry.type], 0, eventId, null, 1, 0, strings, null);
    if (!ok) throw new OsCallError("ReportEventW", K.GetLastError(), `${source} event ${eventId}`);
  } finally {
    A.DeregisterEventSource(h);
  }
}
