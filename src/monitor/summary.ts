/**
 * The words the monitor says to an administrator: the stop summary (every kind of loss counted, even
 * when it is zero) and the start/recover lines of a fault that repeats every poll.
 *
 * @module
 */

import type { SetLosses } from "./log_set_port.ts";

/** `1 poll`, `2 polls`; `irregular` for words whose plural is not `-s`. */
export function plural(n: number, word: string, irregular?: string): string {
  return `${n} ${n === 1 ? word : irregular ?? `${word}s`}`;
}

/** What the stop summary reports. */
export interface SummaryCounts {
  /** Polls completed. */
  polls: number;
  /** Changes written. */
  changes: number;
  /** Alerts written. */
  alerts: number;
  /** Polls whose collection failed. */
  collectErrors: number;
  /** Polls slower than the interval. */
  overruns: number;
  /** Batches the log set refused (their changes are lost). */
  writeErrors: number;
  /** Changes in those batches. */
  refusedChanges: number;
  /** Collector warnings by kind. */
  warnings: Record<string, number>;
  /** The log set's own losses. */
  losses: SetLosses;
  /** Kernel socket events received, known dropped, merged with a poll (Linux event capture). */
  events?: { received: number; dropped: number; merged: number };
}

/** The one stop line: what was written, then every kind of loss with its count. */
export function stopSummary(c: SummaryCounts): string {
  const warnings = Object.entries(c.warnings).filter(([, n]) => n > 0);
  const warningText = warnings.length
    ? `${plural(warnings.reduce((sum, [, n]) => sum + n, 0), "warning")} (${
      warnings.map(([k, n]) => `${k} ${n}`).join(", ")
    })`
    : "0 warnings";
  const losses = [
    plural(c.losses.writeFailures + c.writeErrors, "write failure"),
    plural(c.losses.lostChanges + c.refusedChanges, "lost change"),
    plural(c.losses.droppedRecords, "dropped record"),
    plural(c.collectErrors, "failed poll"),
    plural(c.overruns, "overrun"),
    warningText,
  ];
  const events = c.events && (c.events.received || c.events.dropped)
    ? `; events ${c.events.received} received, ${c.events.dropped} dropped, ${c.events.merged} merged`
    : "";
  return `stopped after ${plural(c.polls, "poll")}: ${plural(c.changes, "change")} and ${
    plural(c.alerts, "alert")
  } written; ${losses.join(", ")}${events}`;
}

/**
 * A fault that may repeat every poll: one line when it starts, one when it ends, nothing between
 * (the count goes into the summary).
 */
export class RepeatedFault {
  #failing = 0;
  #since = 0;

  /**
   * @param what what fails, e.g. `polling`.
   * @param log where the two lines go.
   */
  constructor(readonly what: string, readonly log: (line: string) => void) {}

  /** One more failure at monotonic time `mono`; reported when it is the first of a run. */
  failed(message: string, mono: number): void {
    if (this.#failing++ === 0) {
      this.#since = mono;
      this.log(`${this.what} failed: ${message}; retrying, one line when it works again`);
    }
  }

  /** A success at monotonic time `mono`; reports the recovery after a run of failures. */
  succeeded(mono: number): void {
    if (this.#failing === 0) return;
    const seconds = Math.round((mono - this.#since) / 1000);
    this.log(`${this.what} works again after ${plural(this.#failing, "failure")} in ${seconds} s`);
    this.#failing = 0;
  }
}
