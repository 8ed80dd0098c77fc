/**
 * The part of the log set the monitor uses beyond batches: non-change records, a new set on demand,
 * and the losses for the stop summary (the `LogSet` interface of src/log/log_set.ts). Methods the
 * log set does not offer are skipped, so the monitor runs against any version of it.
 *
 * @module
 */

import type { LogSet } from "../log/log_set.ts";

/** One non-change record for PR-EVENTS; the log set adds `v`, `time` and `host`. */
export interface SetRecord {
  /** Kebab-case kind, e.g. `heartbeat`. */
  event: string;
  /** Anything else the record carries (JSON values). */
  [field: string]: unknown;
}

/** What the log set lost or failed to write, for the stop summary. */
export interface SetLosses {
  /** Writes that failed. */
  writeFailures: number;
  /** Changes that never reached a file. */
  lostChanges: number;
  /** Other records (alerts, events) that never reached a file. */
  droppedRecords: number;
}

/** The records interface of a log set. */
export interface SetRecords {
  /** Writes one non-change record into the current set's PR-EVENTS. */
  writeRecord(record: SetRecord): void;
  /** Closes the current set and opens a new one with every header. */
  startNewSet(reason: string): void;
  /** What was lost so far. */
  readonly losses: SetLosses;
}

/** The records interface of `logSet`; a method it does not have is a no-op, missing losses count 0. */
export function setRecords(logSet: LogSet): SetRecords {
  const full = logSet as unknown as Partial<SetRecords>;
  return {
    writeRecord: (record) => full.writeRecord?.call(logSet, record),
    startNewSet: (reason) => full.startNewSet?.call(logSet, reason),
    get losses() {
      return { writeFailures: 0, lostChanges: 0, droppedRecords: 0, ...full.losses };
    },
  };
}
