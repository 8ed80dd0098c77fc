/**
 * The non-change records the writer itself puts into PR-EVENTS: `set-start` (the first line of every
 * PR-EVENTS file), `process` (one per process instance per set: its command line and modules, so a
 * change record need not repeat them), `gap` (changes lost while the disk was full), `retention` and
 * the file faults (`dir-recreated`, `log-file-lost`).
 *
 * @module
 */

import type { ProcessInfo } from "../model/types.ts";
import { fitJsonLine } from "./bounds.ts";
import { EVENT_SCHEMA_VERSION } from "./jsonl.ts";

/** A non-change record for PR-EVENTS; `v`, `time` and `host` are added when written. */
export interface EventsRecord {
  /** Kebab-case kind, e.g. `clock-jump`, `heartbeat`. */
  event: string;
  /** Any further fields (values must be JSON-safe). */
  [field: string]: unknown;
}

/** `record` as one bounded JSON line (no line end) with `v`, `event`, `time`, `host` first. */
export function recordLine(record: EventsRecord, time: number, host: string): string {
  const { event, ...fields } = record;
  return fitJsonLine({
    v: EVENT_SCHEMA_VERSION,
    event,
    time: new Date(time).toISOString(),
    host,
    ...fields,
  });
}

/** The `process` record of one (already bounded) process instance. */
export function processRecord(p: ProcessInfo): EventsRecord {
  return {
    event: "process",
    pid: p.pid,
    processName: p.name,
    processPath: p.path,
    processStart: p.startTime === undefined ? undefined : new Date(p.startTime).toISOString(),
    commandLine: p.commandLine,
    parentPid: p.parentPid,
    parentName: p.parentName,
    user: p.user,
    services: p.services?.length ? p.services : undefined,
    modules: p.modules?.map((m) => m.path),
    partial: p.partial,
  };
}

/** Changes, alerts and records that were never written, from the first to the last one lost. */
export interface Gap {
  /** Time of the first lost batch. */
  from: number;
  /** Time of the last lost batch. */
  to: number;
  /** Changes lost. */
  lostChanges: number;
  /** Alerts lost. */
  lostAlerts: number;
  /** Other records lost. */
  lostRecords: number;
}

/** The `gap` record of a {@link Gap}. */
export function gapRecord(gap: Gap): EventsRecord {
  return {
    event: "gap",
    reason: "write-failed",
    from: new Date(gap.from).toISOString(),
    to: new Date(gap.to).toISOString(),
    lostChanges: gap.lostChanges,
    lostAlerts: gap.lostAlerts,
    lostRecords: gap.lostRecords,
  };
}
