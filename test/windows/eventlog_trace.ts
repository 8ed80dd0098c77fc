/**
 * Run by `test/windows/run.sh` under wine with WINEDEBUG=-all,+eventlog: writes one event of each
 * type; run.sh then finds `ReportEventW L"<message>"` for each in wine's stderr trace.
 *
 * @module
 */
import { writeEventLog } from "../../src/platform/windows/eventlog.ts";

/** The messages written, in order (run.sh greps for them). */
export const TRACE_MESSAGES = [
  "portreporter eventlog trace: info",
  "portreporter eventlog trace: warning",
  "portreporter eventlog trace: error",
] as const;

if (import.meta.main) {
  writeEventLog({ source: "PortReporter", type: "info", message: TRACE_MESSAGES[0], eventId: 1 });
  writeEventLog({ source: "PortReporter", type: "warning", message: TRACE_MESSAGES[1], eventId: 2 });
  writeEventLog({ source: "PortReporter", type: "error", message: TRACE_MESSAGES[2], eventId: 3 });
}
