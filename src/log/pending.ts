/**
 * Work that could not be written yet (a full disk, a directory that cannot be recreated): a bounded
 * queue, oldest first. When it is full the oldest work is dropped and summed into one {@link Gap}, so
 * that a `gap` record can say from when to when and how much was lost.
 *
 * @module
 */

import type { Alert, Change } from "../model/types.ts";
import type { EventsRecord, Gap } from "./records.ts";

/** At most this many batches wait (10 minutes of polls at the default 1 s interval). */
export const MAX_PENDING_BATCHES = 600;
/** At most this many changes wait, whatever the number of batches. */
export const MAX_PENDING_CHANGES = 100_000;

/** A unit of work for the writer: records, then changes, then alerts, all at one time. */
export interface Work {
  /** Time of the poll (or of the records). */
  time: number;
  /** Records to write before the changes, each with its own time. */
  records: { record: EventsRecord; time: number }[];
  /** Changes. */
  changes: Change[];
  /** Alerts. */
  alerts: Alert[];
  /** Items already written (records, then changes, then alerts), when a batch was split. */
  done: number;
}

/** Items of a work unit in total. */
export function workSize(w: Work): number {
  return w.records.length + w.changes.length + w.alerts.length;
}

const clamp = (n: number, max: number) => Math.max(0, Math.min(n, max));

/** What of a work unit is not written yet. */
export function remaining(w: Work): { records: number; changes: number; alerts: number } {
  const r = w.records.length;
  const c = w.changes.length;
  return {
    records: clamp(r - w.done, r),
    changes: clamp(r + c - w.done, c),
    alerts: clamp(r + c + w.alerts.length - w.done, w.alerts.length),
  };
}

/** The bounded queue of pending work. */
export class PendingQueue {
  #items: Work[] = [];
  #changes = 0;
  /** What was dropped since the last gap record was written. */
  gap: Gap | undefined;

  /** Work waiting. */
  get length(): number {
    return this.#items.length;
  }

  /** Changes waiting. */
  get changes(): number {
    return this.#changes;
  }

  /** Adds work at the end; drops the oldest when over a bound. Returns what was dropped. */
  push(work: Work): { changes: number; other: number } {
    this.#items.push(work);
    this.#changes += work.changes.length;
    const dropped = { changes: 0, other: 0 };
    while (this.#items.length > MAX_PENDING_BATCHES || this.#changes > MAX_PENDING_CHANGES) {
      const old = this.#items.shift()!;
      const { records, changes, alerts } = remaining(old);
      this.#changes -= old.changes.length;
      dropped.changes += changes;
      dropped.other += records + alerts;
      const g = this.gap ?? { from: old.time, to: old.time, lostChanges: 0, lostAlerts: 0, lostRecords: 0 };
      g.to = old.time;
      g.lostChanges += changes;
      g.lostAlerts += alerts;
      g.lostRecords += records;
      this.gap = g;
    }
    return dropped;
  }

  /** The oldest work, not removed. */
  peek(): Work | undefined {
    return this.#items[0];
  }

  /** Removes the oldest work (once written). */
  shift(): void {
    const w = this.#items.shift();
    if (w) this.#changes -= w.changes.length;
  }

  /** Removes everything; returns how many changes and other items were still waiting. */
  drain(): { changes: number; other: number } {
    let changes = 0;
    let other = 0;
    for (const w of this.#items) {
      const left = remaining(w);
      changes += left.changes;
      other += left.records + left.alerts;
    }
    this.#items = [];
    this.#changes = 0;
    return { changes, other };
  }
}
