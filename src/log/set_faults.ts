/**
 * What can happen to an open log set behind the writer's back, checked once per poll: the directory
 * removed (`rm -rf`) or replaced by another one, a file unlinked, replaced or truncated. Each is one
 * fault with the reason of the new set, a warning text and the PR-EVENTS record that says it.
 *
 * @module
 */

import type { LogFile, LogFileSystem } from "./log_file.ts";
import type { EventsRecord } from "./records.ts";

/** One fault found. */
export interface SetFault {
  /** The `reason` of the new set (`dir-recreated`, `dir-replaced`, `file-unlinked`, ...). */
  reason: string;
  /** What happened, for the warning line. */
  message: string;
  /** The record written after the new set's `set-start`. */
  record: EventsRecord;
}

/** Checks the directory, then each open file; the first fault found, or undefined. */
export function checkFaults(
  o: { dir: string; fs: LogFileSystem },
  dirId: string | undefined,
  files: Iterable<LogFile>,
): SetFault | undefined {
  const dir = o.fs.stat(o.dir);
  if (!dir) {
    return {
      reason: "dir-recreated",
      message: `the log directory ${o.dir} was removed; it is created again (mode 0700)`,
      record: { event: "dir-recreated", dir: o.dir, what: "removed" },
    };
  }
  if (dirId !== undefined && dir.id !== dirId) {
    return {
      reason: "dir-replaced",
      message: `the log directory ${o.dir} was replaced by another directory`,
      record: { event: "dir-recreated", dir: o.dir, what: "replaced" },
    };
  }
  for (const f of files) {
    const fault = f.check();
    if (!fault) continue;
    return {
      reason: `file-${fault}`,
      message: `the log file ${f.name} was ${fault} while open (${f.size} bytes had been written to it)`,
      record: { event: "log-file-lost", file: f.name, what: fault, bytesWritten: f.size },
    };
  }
  return undefined;
}
