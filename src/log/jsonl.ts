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
import { jsonLine } from "../model/text.ts";

/** The schema version written in every record as `v`. */
export const EVENT_SCHEMA_VERSION = 1;

/**
 * A change as one flat JSON object (no line end). Absent fields are omitted, never `null`-filled.
 * The strings that can come from another process are the owner's and the plugins' (`extra`). The
 * command line and modules of the process are not repeated here: they are in the set's `process`
 * record of that instance (pid + `processStart`), written once per set.
 *
 * The writer's hot path: without `extra` the line is put together from pieces, the owner's fields
 * once per process instance, the time's text once per second; byte for byte what `jsonLine` makes of
 * {@link eventObject} (pinned by a test over many shapes of change).
 */
export function eventRecord(change: Change, host: string): string {
  if (change.extra !== undefined) return jsonLine(eventObject(change, host));
  const s = change.socket;
  const p = change.process;
  const previous = change.previousState;
  // one template: each absent field is an empty string (fewer intermediate strings than appending)
  const state = s.state === undefined ? "" : `,"state":${s.state === null ? "null" : text(s.state)}`;
  const before = previous === undefined
    ? ""
    : `,"previousState":${previous === null ? "null" : text(previous)}`;
  const scope = s.scopeId === undefined ? "" : `,"scopeId":${number(s.scopeId)}`;
  const holders = s.holders === undefined ? "" : `,"holders":${jsonLine(s.holders)}`;
  const duration = change.durationMs === undefined ? "" : `,"durationMs":${number(change.durationMs)}`;
  const exact = change.durationExact === undefined ? "" : `,"durationExact":${change.durationExact}`;
  const after = change.seenAfterClose === undefined ? "" : `,"seenAfterClose":${change.seenAfterClose}`;
  const sent = change.bytesSent === undefined ? "" : `,"bytesSent":${number(change.bytesSent)}`;
  const received = change.bytesReceived === undefined
    ? ""
    : `,"bytesReceived":${number(change.bytesReceived)}`;
  return `{"v":${EVENT_SCHEMA_VERSION},"event":${text(change.kind)},"time":"${isoTime(change.time)}",` +
    `"host":${hostJson(host)},"protocol":${text(s.protocol)},"family":${number(s.family)},` +
    `"localAddress":${text(s.localAddress)},"localPort":${number(s.localPort)},` +
    `"remoteAddress":${text(s.remoteAddress)},"remotePort":${
      number(s.remotePort)
    }${state}${before}${scope},` +
    `"pid":${number(s.pid)}${holders}${p === undefined ? "" : processFields(p)},` +
    `"firstSeen":"${isoTime(change.firstSeen)}"${duration}${exact}${after},` +
    `"source":${text(change.source ?? "poll")}${sent}${received}}`;
}

/** Characters a JSON string may hold as they are, for {@link jsonLine} too. */
// deno-lint-ignore no-control-regex -- the control characters are what it rules out
const PLAIN_TEXT = /^[^"\\\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]*$/;

/** A string as {@link jsonLine} writes it (most are plain: quoted as they are). */
function text(value: string): string {
  return PLAIN_TEXT.test(value) ? `"${value}"` : jsonLine(value);
}

/** A number as JSON writes it (`null` when not finite). */
function number(n: number): string {
  return Number.isFinite(n) ? String(n) : "null";
}

let lastHost = "";
let lastHostJson = '""';
function hostJson(host: string): string {
  if (host !== lastHost) {
    lastHostJson = jsonLine(host);
    lastHost = host;
  }
  return lastHostJson;
}

/** The owner's fields of {@link eventObject} (`processName` … `processStart`) as JSON text, with a leading comma. */
const processJson = new WeakMap<ProcessInfo, string>();
function processFields(p: ProcessInfo): string {
  let json = processJson.get(p);
  if (json === undefined) {
    const text = jsonLine({
      processName: p.name,
      processPath: p.path,
      parentPid: p.parentPid,
      parentName: p.parentName,
      user: p.user,
      services: p.services?.length ? p.services : undefined,
      processStart: p.startTime === undefined ? undefined : new Date(p.startTime).toISOString(),
    });
    json = text.length > 2 ? "," + text.slice(1, -1) : "";
    processJson.set(p, json);
  }
  return json;
}

let isoSecond = NaN;
let isoPrefix = "";
/** `new Date(ms).toISOString()`, its text up to the second made once per second. */
export function isoTime(ms: number): string {
  const whole = Math.trunc(ms);
  const second = Math.floor(whole / 1000);
  if (second !== isoSecond) {
    const text = new Date(whole).toISOString(); // throws for an invalid time, as before
    isoPrefix = text.slice(0, -4);
    isoSecond = second;
  }
  const millis = whole - second * 1000;
  return `${isoPrefix}${millis < 10 ? "00" : millis < 100 ? "0" : ""}${millis}Z`;
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
