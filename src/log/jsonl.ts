/**
 * The structured streams: one JSON object per line. `PR-EVENTS-<stamp>.jsonl` carries every change
 * with every field of the model; `PR-ALERTS-<stamp>.jsonl` every alert. The schema is in the README.
 *
 * Records are written with `jsonLine` (src/model/text.ts): valid JSON on one line, with U+2028,
 * U+2029 and U+0085 escaped too, so a reader that splits lines on them still sees one record per line.
 *
 * @module
 */

import type { Alert, Change, ProcessInfo } from "../model/types.ts";
import { jsonLine, needsJsonEscape } from "../model/text.ts";

/** The schema version written in every record as `v`. */
export const EVENT_SCHEMA_VERSION = 1;

/**
 * A change as one flat JSON object (no line end). Absent fields are omitted, never `null`-filled.
 * The strings that can come from another process are the owner's and the plugins' (`extra`). The
 * command line and modules of the process are not repeated here: they are in the set's `process`
 * record of that instance (pid + `processStart`), written once per set.
 *
 * The writer's hot path: without `extra` one record object of a fixed shape is filled and handed to
 * `JSON.stringify` (whose result is then the only string made), the time's text made once per
 * second; the line is scanned for `jsonLine`'s further escapes only when the host's or the owner's
 * strings need them. Byte for byte what `jsonLine` makes of {@link eventObject} (pinned by a test
 * over many shapes of change).
 */
export function eventRecord(change: Change, host: string): string {
  if (change.extra !== undefined) return jsonLine(eventObject(change, host));
  const s = change.socket;
  const p = change.process;
  const r = reused;
  r.event = change.kind;
  r.time = isoTime(change.time);
  r.host = host;
  r.protocol = s.protocol;
  r.family = s.family;
  r.localAddress = s.localAddress;
  r.localPort = s.localPort;
  r.remoteAddress = s.remoteAddress;
  r.remotePort = s.remotePort;
  r.state = s.state;
  r.previousState = change.previousState;
  r.scopeId = s.scopeId;
  r.pid = s.pid;
  r.holders = s.holders;
  r.processName = p?.name;
  r.processPath = p?.path;
  r.parentPid = p?.parentPid;
  r.parentName = p?.parentName;
  r.user = p?.user;
  r.services = p?.services?.length ? p.services : undefined;
  r.processStart = p?.startTime === undefined ? undefined : processStart(p);
  r.firstSeen = isoTime(change.firstSeen);
  r.durationMs = change.durationMs;
  r.durationExact = change.durationExact;
  r.seenAfterClose = change.seenAfterClose;
  r.source = change.source ?? "poll";
  r.bytesSent = change.bytesSent;
  r.bytesReceived = change.bytesReceived;
  const line = JSON.stringify(r);
  r.host =
    r.processName =
    r.processPath =
    r.parentName =
    r.user =
    r.services =
      undefined; // hold no one's strings
  return plainHost(host) && (p === undefined || isPlainProcess(p)) ? line : jsonLine(JSON.parse(line));
}

/** The record {@link eventRecord} fills, its fields in the order of {@link eventObject}. */
const reused: Record<string, unknown> = {
  v: EVENT_SCHEMA_VERSION,
  event: undefined,
  time: undefined,
  host: undefined,
  protocol: undefined,
  family: undefined,
  localAddress: undefined,
  localPort: undefined,
  remoteAddress: undefined,
  remotePort: undefined,
  state: undefined,
  previousState: undefined,
  scopeId: undefined,
  pid: undefined,
  holders: undefined,
  processName: undefined,
  processPath: undefined,
  parentPid: undefined,
  parentName: undefined,
  user: undefined,
  services: undefined,
  processStart: undefined,
  firstSeen: undefined,
  durationMs: undefined,
  durationExact: undefined,
  seenAfterClose: undefined,
  source: undefined,
  bytesSent: undefined,
  bytesReceived: undefined,
};

let lastHost = "";
let lastHostPlain = true;
function plainHost(host: string): boolean {
  if (host !== lastHost) {
    lastHostPlain = !needsJsonEscape(host);
    lastHost = host;
  }
  return lastHostPlain;
}

/** Per process instance: whether none of its strings needs more than JSON.stringify's escaping. */
const plainProcesses = new WeakMap<ProcessInfo, boolean>();
function isPlainProcess(p: ProcessInfo): boolean {
  let plain = plainProcesses.get(p);
  if (plain === undefined) {
    const strings = [p.name, p.path, p.user, p.parentName, ...(p.services ?? [])];
    plain = !strings.some((v) => v !== undefined && needsJsonEscape(v));
    plainProcesses.set(p, plain);
  }
  return plain;
}

/** A process's start as ISO text, made once per process record. */
const processStarts = new WeakMap<ProcessInfo, string>();
function processStart(p: ProcessInfo): string {
  let text = processStarts.get(p);
  if (text === undefined) processStarts.set(p, text = new Date(p.startTime!).toISOString());
  return text;
}

let isoSecond = NaN;
let isoPrefix = "";
/** `000Z` … `999Z`. */
const MILLIS = Array.from({ length: 1000 }, (_, ms) => `${String(ms).padStart(3, "0")}Z`);
/** `new Date(ms).toISOString()`, its text up to the second made once per second. */
export function isoTime(ms: number): string {
  const whole = Math.trunc(ms);
  const second = Math.floor(whole / 1000);
  if (second !== isoSecond) {
    const text = new Date(whole).toISOString(); // throws for an invalid time, as before
    isoPrefix = text.slice(0, -4);
    isoSecond = second;
  }
  return isoPrefix + MILLIS[whole - second * 1000];
}

/** The flat object of {@link eventRecord}, for records with plugin fields and for alerts. */
export function eventObject(change: Change, host: string): Record<string, unknown> {
  const s = change.socket;
  const p = change.process;
  return {
    v: EVENT_SCHEMA_VERSION,
    event: change.kind,
    time: new Date(change.time).toISOString(),
    host,
    protocol: s.protocol,
    family: s.family,
    localAddress: s.localAddress,
    localPort: s.localPort,
    remoteAddress: s.remoteAddress,
    remotePort: s.remotePort,
    state: s.state,
    previousState: change.previousState,
    scopeId: s.scopeId,
    pid: s.pid,
    holders: s.holders,
    processName: p?.name,
    processPath: p?.path,
    parentPid: p?.parentPid,
    parentName: p?.parentName,
    user: p?.user,
    services: p?.services?.length ? p.services : undefined,
    processStart: p?.startTime === undefined ? undefined : new Date(p.startTime).toISOString(),
    firstSeen: new Date(change.firstSeen).toISOString(),
    durationMs: change.durationMs,
    durationExact: change.durationExact,
    seenAfterClose: change.seenAfterClose,
    source: change.source ?? "poll",
    bytesSent: change.bytesSent,
    bytesReceived: change.bytesReceived,
    extra: change.extra,
  };
}

/** An alert as one JSON object (no line end); the change that caused it is flattened as in {@link eventRecord}. */
export function alertRecord(alert: Alert, host: string): string {
  return jsonLine({
    v: EVENT_SCHEMA_VERSION,
    event: "alert",
    time: new Date(alert.time).toISOString(),
    host,
    plugin: alert.pluginId,
    severity: alert.severity,
    message: alert.message,
    // an alert stands alone: its change carries the owner's command line too
    change: alert.change
      ? { ...eventObject(alert.change, host), commandLine: alert.change.process?.commandLine }
      : undefined,
    data: alert.data,
  });
}
