/**
 * What the report reads: a time-ordered stream of endpoint changes and monitor markers. The shapes are
 * the subset of the log readers' rows the report uses, so any reader of log sets can feed it.
 *
 * @module
 */

import type { ChangeRow, MarkerRow } from "../rows.ts";

/**
 * One endpoint change (`opened`, `closed`, `changed`), times in ms since the Unix epoch: the fields of
 * the readers' {@link ChangeRow} the report uses.
 */
export type ReportChange = Pick<
  ChangeRow,
  | "type"
  | "event"
  | "time"
  | "host"
  | "protocol"
  | "family"
  | "localAddress"
  | "localPort"
  | "remoteAddress"
  | "remotePort"
  | "state"
  | "pid"
  | "processName"
  | "processPath"
  | "user"
  | "services"
  | "firstSeen"
  | "durationMs"
  | "bytesSent"
  | "bytesReceived"
>;

/** A non-change record (`monitor-start`, `monitor-stop`, `heartbeat`, `set-start`, ...). */
export type ReportMarker = Pick<MarkerRow, "type" | "event" | "time" | "host">;

/** One input row of the report. */
export type ReportRow = ReportChange | ReportMarker;

/** One loaded module of a process, from PR-PIDS (for the watchlist's module rules). */
export interface ModuleSighting {
  /** Process id. */
  pid: number;
  /** Image name. */
  processName: string;
  /** Full path of the module file. */
  path: string;
}
