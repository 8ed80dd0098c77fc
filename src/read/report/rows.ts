/**
 * What the report reads: a time-ordered stream of endpoint changes and monitor markers. The shapes are
 * the subset of the log readers' rows the report uses, so any reader of log sets can feed it.
 *
 * @module
 */

import type { AddressFamily, ChangeKind, Protocol, TcpState } from "../../model/types.ts";

/** One endpoint change (`opened`, `closed`, `changed`), times in ms since the Unix epoch. */
export interface ReportChange {
  /** Discriminant. */
  type: "change";
  /** What happened. */
  event: ChangeKind;
  /** When the change was seen. */
  time: number;
  /** Computer name, when the log carries it. */
  host?: string;
  /** `tcp` or `udp`. */
  protocol: Protocol;
  /** 4 or 6. */
  family: AddressFamily;
  /** Local address. */
  localAddress: string;
  /** Local port. */
  localPort: number;
  /** Remote address (`0.0.0.0`/`::` without a peer). */
  remoteAddress: string;
  /** Remote port (0 without a peer). */
  remotePort: number;
  /** TCP state; `null` for UDP. */
  state: TcpState | null;
  /** Owning pid (0: no owner named). */
  pid: number;
  /** Image name. */
  processName?: string;
  /** Full image path. */
  processPath?: string;
  /** User context. */
  user?: string;
  /** Windows services hosted in the process. */
  services?: string[];
  /** When the endpoint was first seen. */
  firstSeen?: number;
  /** On `closed`: how long it lived. */
  durationMs?: number;
  /** Bytes sent, where the log carries them. */
  bytesSent?: number;
  /** Bytes received, where the log carries them. */
  bytesReceived?: number;
}

/** A non-change record (`monitor-start`, `monitor-stop`, `heartbeat`, `set-start`, ...). */
export interface ReportMarker {
  /** Discriminant. */
  type: "marker";
  /** The record kind. */
  event: string;
  /** When it was written. */
  time: number;
  /** Computer name. */
  host?: string;
}

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
