/**
 * The typed rows every reader yields: one {@link ChangeRow} per endpoint change (from PR-EVENTS, or
 * from a classic PR-PORTS line where that is all a set has) and one {@link MarkerRow} per known
 * non-change record (`set-start`, `clock-jump`, `gap`, `heartbeat`, `monitor-start`, `monitor-stop`,
 * ...). Record kinds a reader does not know are skipped and counted, never fatal.
 *
 * @module
 */

import type { AddressFamily, ChangeKind, Protocol, TcpState } from "../model/types.ts";
import { TCP_STATES } from "../model/types.ts";

/** Where a row was read from: the file, its 1-based line number, and which format it was in. */
export interface RowSource {
  /** Path of the file. */
  file: string;
  /** 1-based line number in that file. */
  line: number;
  /** `events` (PR-EVENTS JSON Lines) or `classic` (a PR-PORTS line). */
  format: "events" | "classic";
}

/** One endpoint change, with every field the log had (absent when the log did not carry it). */
export interface ChangeRow {
  /** Discriminant. */
  type: "change";
  /** `opened`, `closed` or `changed` (a classic PR-PORTS line is always `opened`). */
  event: ChangeKind;
  /** When the change was seen, ms since the Unix epoch. */
  time: number;
  /** Computer name (PR-EVENTS only). */
  host?: string;
  /** `tcp` or `udp`. */
  protocol: Protocol;
  /** 4 or 6 (classic lines: from the address form). */
  family: AddressFamily;
  /** Local address. */
  localAddress: string;
  /** Local port. */
  localPort: number;
  /** Remote address (`0.0.0.0`/`::` when there is no peer). */
  remoteAddress: string;
  /** Remote port (0 when there is no peer). */
  remotePort: number;
  /**
   * TCP state, `null` for UDP. Classic lines carry no state: a listener reads as `LISTEN`, a TCP line
   * with a peer as `ESTABLISHED` (inferred, as the original logged new connections).
   */
  state: TcpState | null;
  /** On `changed`: the state before. */
  previousState?: TcpState | null;
  /** Owning pid (0: no owner named by the OS). */
  pid: number;
  /** Image name (classic: the module field). */
  processName?: string;
  /** Full image path. */
  processPath?: string;
  /** Command line. */
  commandLine?: string;
  /** User context (classic: the text inside `<…>`, unescaped). */
  user?: string;
  /** Parent pid. */
  parentPid?: number;
  /** Parent image name. */
  parentName?: string;
  /** Windows services hosted in the process. */
  services?: string[];
  /** Process start, ms since the Unix epoch. */
  processStart?: number;
  /** When the endpoint was first seen, ms since the Unix epoch. */
  firstSeen?: number;
  /** On `closed`: how long it lived, ms. */
  durationMs?: number;
  /** `false` when the writer marked `durationMs` as a bound rather than exact. */
  durationExact?: boolean;
  /** How the change was seen, where the log says: `poll` or `event` (PR-EVENTS field `source`). */
  seenBy?: string;
  /** Bytes sent, where the log carries them. */
  bytesSent?: number;
  /** Bytes received, where the log carries them. */
  bytesReceived?: number;
  /** Where the row came from. */
  source: RowSource;
  /** Set on a row from PR-INITIAL: the endpoint was already open when the monitor started. */
  initial?: boolean;
}

/** The non-change record kinds readers understand; any other `event` is skipped. */
export const MARKER_KINDS: readonly string[] = [
  "set-start",
  "monitor-start",
  "monitor-stop",
  "heartbeat",
  "clock-jump",
  "gap",
  "dir-recreated",
  "retention",
];

/** A known non-change record (see {@link MARKER_KINDS}), with the record as it was written. */
export interface MarkerRow {
  /** Discriminant. */
  type: "marker";
  /** The record kind, e.g. `set-start`. */
  event: string;
  /** When it was written, ms since the Unix epoch. */
  time: number;
  /** Computer name. */
  host?: string;
  /** The whole record (values from the file; untrusted). */
  record: Record<string, unknown>;
  /** Where it came from. */
  source: RowSource;
}

/** What the readers yield, in time order. */
export type ReadRow = ChangeRow | MarkerRow;

/** The three change kinds. */
export const CHANGE_KINDS: readonly ChangeKind[] = ["opened", "closed", "changed"];

const STATES = new Set<string>(TCP_STATES);

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function int(v: unknown): number | undefined {
  return typeof v === "number" && Number.isInteger(v) ? v : undefined;
}

function isoMs(v: unknown): number | undefined {
  if (typeof v !== "string") return undefined;
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
}

function state(v: unknown): TcpState | null | undefined {
  if (v === null) return null;
  return typeof v === "string" && STATES.has(v) ? v as TcpState : undefined;
}

/** Why {@link rowFromRecord} did not give a row. */
export type SkipReason = "malformed" | "unknown-kind";

function port(v: unknown): number | undefined {
  const n = int(v);
  return n !== undefined && n >= 0 && n <= 65535 ? n : undefined;
}

function changeRow(r: Record<string, unknown>, event: ChangeKind, time: number, source: RowSource) {
  const protocol = r.protocol;
  const family = r.family;
  const localPort = port(r.localPort);
  const remotePort = port(r.remotePort);
  const localAddress = str(r.localAddress);
  const remoteAddress = str(r.remoteAddress);
  const pid = int(r.pid);
  const st = state(r.state);
  if (
    (protocol !== "tcp" && protocol !== "udp") || (family !== 4 && family !== 6) ||
    localPort === undefined || remotePort === undefined || localAddress === undefined ||
    remoteAddress === undefined || pid === undefined || pid < 0 || st === undefined
  ) return "malformed" as const;
  const row: ChangeRow = {
    type: "change",
    event,
    time,
    host: str(r.host),
    protocol,
    family,
    localAddress,
    localPort,
    remoteAddress,
    remotePort,
    state: st,
    pid,
    source,
  };
  const prev = state(r.previousState);
  if (prev !== undefined) row.previousState = prev;
  for (const k of ["processName", "processPath", "commandLine", "user", "parentName"] as const) {
    const v = str(r[k]);
    if (v !== undefined) row[k] = v;
  }
  for (const k of ["parentPid", "durationMs", "bytesSent", "bytesReceived"] as const) {
    const v = int(r[k]);
    if (v !== undefined && v >= 0) row[k] = v;
  }
  if (Array.isArray(r.services)) row.services = r.services.filter((s): s is string => typeof s === "string");
  const processStart = isoMs(r.processStart);
  if (processStart !== undefined) row.processStart = processStart;
  const firstSeen = isoMs(r.firstSeen);
  if (firstSeen !== undefined) row.firstSeen = firstSeen;
  if (typeof r.durationExact === "boolean") row.durationExact = r.durationExact;
  if (typeof r.source === "string") row.seenBy = r.source;
  return row;
}

/**
 * One parsed PR-EVENTS record as a row: a {@link ChangeRow} for `opened`/`closed`/`changed`, a
 * {@link MarkerRow} for a kind in {@link MARKER_KINDS}, else why it was skipped.
 */
export function rowFromRecord(record: unknown, source: RowSource): ReadRow | SkipReason {
  if (typeof record !== "object" || record === null || Array.isArray(record)) return "malformed";
  const r = record as Record<string, unknown>;
  const event = r.event;
  const time = isoMs(r.time);
  if (typeof event !== "string" || time === undefined) return "malformed";
  if (event === "opened" || event === "closed" || event === "changed") {
    return changeRow(r, event, time, source);
  }
  if (!MARKER_KINDS.includes(event)) return "unknown-kind";
  return { type: "marker", event, time, host: str(r.host), record: r, source };
}

/** Parses one PR-EVENTS line (without its line end); see {@link rowFromRecord}. */
export function rowFromEventLine(line: string, source: RowSource): ReadRow | SkipReason {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return "malformed";
  }
  return rowFromRecord(record, source);
}
