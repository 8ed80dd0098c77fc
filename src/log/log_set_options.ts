/**
 * The options, input and loss counters of {@link LogSet} (src/log/log_set.ts).
 *
 * @module
 */

import type { Alert, Change, HostInfo, Snapshot } from "../model/types.ts";
import type { LocalTime } from "./local_time.ts";
import type { LogFileSystem } from "./log_file.ts";
import type { RetentionPolicy } from "./retention.ts";

/** Settings of a log set writer. */
export interface LogSetOptions {
  /** Directory of the log files. */
  dir: string;
  /** Host facts for the headers. */
  host: HostInfo;
  /** Local time conversion (system zone in production, a pinned zone in tests). */
  localTime: LocalTime;
  /** Size limit of one file in bytes (default 5 MB). */
  maxBytes?: number;
  /** Line end of the classic files: `\r\n` (Windows, as the original) or `\n`. JSONL always uses `\n`. */
  eol?: "\r\n" | "\n";
  /** File operations (default: the real disk). */
  fs?: LogFileSystem;
  /** Source of "now" for records and sets started outside a batch (default `Date.now`). */
  now?: () => number;
  /** One-line diagnostics (write failures and recoveries, faults); default: none. */
  log?: (line: string) => void;
  /** Retention limits (default 90 days, 1 GB; 0 disables one). */
  retention?: Partial<RetentionPolicy>;
  /**
   * Whether a directory found in place of the log directory may be used: a problem text, or
   * undefined when it is fine (the start-time trust check; default: always fine).
   */
  checkDir?: (dir: string) => string | undefined;
}

/** One poll's worth of output. */
export interface LogBatch {
  /** Time of the poll. */
  time: number;
  /** The changes to log (after plugins). */
  changes: Change[];
  /** Alerts raised while handling them. */
  alerts?: Alert[];
  /** The snapshot the changes came from: lists every port of a process in its PR-PIDS entry. */
  snapshot?: Snapshot;
}

/** What was lost or failed, for the stop summary. */
export interface LogLosses {
  /** Batches and records whose write failed when they came (they waited in the queue). */
  writeFailures: number;
  /** Changes that were never written (the queue overflowed, or writing still failed at stop). */
  lostChanges: number;
  /** Alerts and other records that were never written. */
  droppedRecords: number;
  /** Old sets removed by retention. */
  removedSets: number;
}
