/**
 * writeEventLog under wine (lab only). The advapi32 event-log calls are stubs there that succeed,
 * so this checks the FFI plumbing and argument checks; that the strings reach ReportEventW intact
 * is checked by `run.sh`, which runs `eventlog_trace.ts` with WINEDEBUG=-all,+eventlog and greps
 * wine's trace (wine writes it to the Unix stderr of the wine process, which a child process's
 * piped stderr does not capture).
 */
import assert from "node:assert/strict";
import { writeEventLog } from "../../src/platform/windows/eventlog.ts";
import { ignore } from "./lab_util.ts";

Deno.test({ name: "eventlog: info, warning and error events are accepted", ignore }, () => {
  writeEventLog({ source: "PortReporterTest", type: "info", message: "lab test info", eventId: 100 });
  writeEventLog({ source: "PortReporterTest", type: "warning", message: "lab test warning" });
  writeEventLog({ source: "PortReporterTest", type: "error", message: "x".repeat(40000), eventId: 65535 });
});

Deno.test({ name: "eventlog: an event id outside 0-65535 is a RangeError", ignore }, () => {
  assert.throws(
    () => writeEventLog({ source: "PortReporterTest", type: "info", message: "m", eventId: 70000 }),
    RangeError,
  );
  assert.throws(
    () => writeEventLog({ source: "PortReporterTest", type: "info", message: "m", eventId: 1.5 }),
    RangeError,
  );
});
