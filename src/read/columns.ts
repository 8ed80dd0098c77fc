/**
 * The columns of `query` (one per change row field) and `connections` (one per lifetime field), by
 * the names `--fields` takes; the JSON keys and CSV headings are these names.
 *
 * @module
 */

import type { Lifetime } from "./connections.ts";
import { type Column, endpointCell } from "./format.ts";
import type { ReadRow } from "./rows.ts";

const change = <K extends string>(name: K, heading: string, right = false): Column<ReadRow> => ({
  name,
  heading,
  right,
  get: (r) =>
    r.type === "change" ? (r as unknown as Record<string, string | number | undefined>)[name] : undefined,
});

const instant = (name: "firstSeen" | "processStart", heading: string): Column<ReadRow> => ({
  name,
  heading,
  get: (r) => r.type === "change" && r[name] !== undefined ? { time: r[name]! } : undefined,
});

/** Every column of a row. */
export const ROW_COLUMNS: Column<ReadRow>[] = [
  { name: "time", heading: "Time", get: (r) => ({ time: r.time }) },
  { name: "event", heading: "Event", get: (r) => r.event },
  { name: "host", heading: "Host", get: (r) => r.host },
  {
    name: "protocol",
    heading: "Proto",
    get: (r) => r.type === "change" ? r.protocol : undefined,
    table: (r) => r.type === "change" ? r.protocol.toUpperCase() : "",
  },
  change("family", "Fam", true),
  {
    name: "local",
    heading: "Local Address",
    get: (r) => r.type === "change" ? endpointCell(r.localAddress, r.localPort, r.family) : undefined,
  },
  {
    name: "remote",
    heading: "Foreign Address",
    get: (r) =>
      r.type === "change"
        ? endpointCell(r.remoteAddress, r.remotePort, r.family, r.protocol === "udp" && r.remotePort === 0)
        : undefined,
  },
  change("localAddress", "Local IP"),
  change("localPort", "LPort", true),
  change("remoteAddress", "Remote IP"),
  change("remotePort", "RPort", true),
  { name: "state", heading: "State", get: (r) => r.type === "change" ? r.state ?? undefined : undefined },
  {
    name: "previousState",
    heading: "Before",
    get: (r) => r.type === "change" ? r.previousState ?? undefined : undefined,
  },
  change("pid", "PID", true),
  change("processName", "Process"),
  change("processPath", "Path"),
  change("commandLine", "Command line"),
  change("user", "User"),
  change("parentPid", "PPID", true),
  change("parentName", "Parent"),
  {
    name: "services",
    heading: "Services",
    get: (r) => r.type === "change" && r.services?.length ? r.services.join(" ") : undefined,
  },
  instant("processStart", "Process start"),
  instant("firstSeen", "First seen"),
  change("durationMs", "ms", true),
  change("bytesSent", "Sent", true),
  change("bytesReceived", "Received", true),
  { name: "source", heading: "Seen by", get: (r) => r.type === "change" ? r.seenBy : undefined },
  {
    name: "detail",
    heading: "Detail",
    get: (r) => r.type === "marker" ? markerDetail(r.record) : undefined,
  },
  { name: "file", heading: "File", get: (r) => r.source.file },
  { name: "line", heading: "Line", get: (r) => r.source.line, right: true },
];

function markerDetail(record: Record<string, unknown>): string {
  return Object.entries(record).filter(([k]) => !["v", "event", "time", "host"].includes(k))
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
}

/** The table's default columns of `query`. */
export const ROW_TABLE_DEFAULT = [
  "time",
  "event",
  "protocol",
  "local",
  "remote",
  "state",
  "pid",
  "processName",
  "user",
];

/** The CSV/JSONL default columns of `query`. */
export const ROW_DATA_DEFAULT = [
  "time",
  "event",
  "host",
  "protocol",
  "family",
  "localAddress",
  "localPort",
  "remoteAddress",
  "remotePort",
  "state",
  "previousState",
  "pid",
  "processName",
  "processPath",
  "commandLine",
  "user",
  "firstSeen",
  "durationMs",
  "bytesSent",
  "bytesReceived",
  "source",
  "detail",
];

const life = <K extends keyof Lifetime>(name: K, heading: string, right = false): Column<Lifetime> => ({
  name,
  heading,
  right,
  get: (l) => l[name] as string | number | undefined,
});

/** `1h02m03s`, `4.2s`, `350ms`; `≥` in front when it is a bound. */
export function durationText(ms: number, bound: boolean): string {
  const pre = bound ? "≥" : "";
  if (ms < 1000) return `${pre}${ms}ms`;
  if (ms < 60_000) return `${pre}${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return `${pre}${h ? `${h}h` : ""}${String(m).padStart(h ? 2 : 1, "0")}m${String(sec).padStart(2, "0")}s`;
}

/** Every column of a lifetime. */
export const LIFETIME_COLUMNS: Column<Lifetime>[] = [
  { name: "opened", heading: "Opened", get: (l) => ({ time: l.opened }) },
  { name: "openedBound", heading: "≤", get: (l) => l.openedBound },
  {
    name: "closed",
    heading: "Closed",
    get: (l) => l.closed === undefined ? undefined : { time: l.closed },
    table: (l) => l.closed === undefined ? "still open" : undefined,
  },
  { name: "closedBound", heading: "≥", get: (l) => l.closedBound },
  { name: "durationMs", heading: "ms", get: (l) => l.durationMs, right: true },
  { name: "durationBound", heading: "bound", get: (l) => l.durationBound },
  {
    name: "duration",
    heading: "Duration",
    get: (l) => durationText(l.durationMs, l.durationBound),
    right: true,
  },
  { name: "protocol", heading: "Proto", get: (l) => l.protocol, table: (l) => l.protocol.toUpperCase() },
  life("family", "Fam", true),
  {
    name: "local",
    heading: "Local Address",
    get: (l) => endpointCell(l.localAddress, l.localPort, l.family),
  },
  {
    name: "remote",
    heading: "Foreign Address",
    get: (l) =>
      endpointCell(l.remoteAddress, l.remotePort, l.family, l.protocol === "udp" && l.remotePort === 0),
  },
  life("localAddress", "Local IP"),
  life("localPort", "LPort", true),
  life("remoteAddress", "Remote IP"),
  life("remotePort", "RPort", true),
  { name: "state", heading: "State", get: (l) => l.state ?? undefined },
  { name: "lastState", heading: "Last state", get: (l) => l.lastState ?? undefined },
  life("pid", "PID", true),
  life("processName", "Process"),
  life("processPath", "Path"),
  life("user", "User"),
  life("host", "Host"),
  life("bytesSent", "Sent", true),
  life("bytesReceived", "Received", true),
];

/** The table's default columns of `connections`. */
export const LIFETIME_TABLE_DEFAULT = [
  "opened",
  "closed",
  "duration",
  "protocol",
  "local",
  "remote",
  "state",
  "pid",
  "processName",
  "user",
];

/** The CSV/JSONL default columns of `connections` (the fields issue 14 names, and more). */
export const LIFETIME_DATA_DEFAULT = [
  "protocol",
  "family",
  "localAddress",
  "localPort",
  "remoteAddress",
  "remotePort",
  "state",
  "lastState",
  "pid",
  "processName",
  "processPath",
  "user",
  "opened",
  "openedBound",
  "closed",
  "closedBound",
  "durationMs",
  "durationBound",
  "bytesSent",
  "bytesReceived",
  "host",
];
