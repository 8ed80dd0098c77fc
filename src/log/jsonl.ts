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
import type { ByteBuffer } from "./byte_buffer.ts";

const encoder = new TextEncoder();

/** The schema version written in every record as `v`. */
export const EVENT_SCHEMA_VERSION = 1;

/**
 * A change as one flat JSON object (no line end). Absent fields are omitted, never `null`-filled.
 * The strings that can come from another process are the owner's and the plugins' (`extra`). The
 * command line and modules of the process are not repeated here: they are in the set's `process`
 * record of that instance (pid + `processStart`), written once per set.
 *
 * The writer's hot path: without `extra` the line is put together from its fields' JSON texts, with
 * the owner's part (name to start) made once per process record and the host's once per host, the
 * time's text once per second. Byte for byte what `jsonLine` makes of {@link eventObject} (pinned by
 * a test over many shapes of change, hostile strings among them).
 */
export function eventRecord(change: Change, host: string): string {
  if (change.extra !== undefined) return jsonLine(eventObject(change, host));
  const s = change.socket;
  const p = change.process;
  let line = `{"v":${EVENT_SCHEMA_VERSION},"event":${json(change.kind)},"time":"${isoTime(change.time)}"` +
    hostField(host) + `,"protocol":${json(s.protocol)}` + field(',"family":', s.family) +
    field(',"localAddress":', s.localAddress) + field(',"localPort":', s.localPort) +
    field(',"remoteAddress":', s.remoteAddress) + field(',"remotePort":', s.remotePort) +
    field(',"state":', s.state) + field(',"previousState":', change.previousState) +
    field(',"scopeId":', s.scopeId) + field(',"pid":', s.pid) + field(',"holders":', s.holders);
  if (p !== undefined) line += processFields(p);
  line += `,"firstSeen":"${isoTime(change.firstSeen)}"` + field(',"durationMs":', change.durationMs) +
    field(',"durationExact":', change.durationExact) + field(',"seenAfterClose":', change.seenAfterClose) +
    `,"source":${json(change.source ?? "poll")}` + field(',"bytesSent":', change.bytesSent) +
    field(',"bytesReceived":', change.bytesReceived);
  return line + "}";
}

/** The keys of an event line with their lead (`{"v":1,"event":` and `,"<key>":` for the rest). */
const KEY = Object.fromEntries(
  [
    "time",
    "protocol",
    "family",
    "localAddress",
    "localPort",
    "remoteAddress",
    "remotePort",
    "state",
    "previousState",
    "scopeId",
    "pid",
    "holders",
    "firstSeen",
    "durationMs",
    "durationExact",
    "seenAfterClose",
    "source",
    "bytesSent",
    "bytesReceived",
  ].map((key) => [key, encoder.encode(`,"${key}":`)]),
);
const LINE_START = encoder.encode(`{"v":${EVENT_SCHEMA_VERSION},"event":`);

/**
 * {@link eventRecord} written straight into `out` as UTF-8, no string made for the line: the same
 * bytes (pinned by a test). Records with `extra` go through {@link eventRecord}.
 */
export function addEventLine(out: ByteBuffer, change: Change, host: string): void {
  if (change.extra !== undefined) return out.add(eventRecord(change, host));
  const s = change.socket;
  const p = change.process;
  out.addBytes(LINE_START);
  out.addJsonString(change.kind, jsonLine);
  out.addBytes(KEY.time);
  addIsoTime(out, change.time);
  out.addBytes(hostBytes(host));
  out.addBytes(KEY.protocol);
  out.addJsonString(s.protocol, jsonLine);
  addField(out, KEY.family, s.family);
  addField(out, KEY.localAddress, s.localAddress);
  addField(out, KEY.localPort, s.localPort);
  addField(out, KEY.remoteAddress, s.remoteAddress);
  addField(out, KEY.remotePort, s.remotePort);
  addField(out, KEY.state, s.state);
  addField(out, KEY.previousState, change.previousState);
  addField(out, KEY.scopeId, s.scopeId);
  addField(out, KEY.pid, s.pid);
  addField(out, KEY.holders, s.holders);
  if (p !== undefined) out.addBytes(processBytes(p));
  out.addBytes(KEY.firstSeen);
  addIsoTime(out, change.firstSeen);
  addField(out, KEY.durationMs, change.durationMs);
  addField(out, KEY.durationExact, change.durationExact);
  addField(out, KEY.seenAfterClose, change.seenAfterClose);
  out.addBytes(KEY.source);
  out.addJsonString(change.source ?? "poll", jsonLine);
  addField(out, KEY.bytesSent, change.bytesSent);
  addField(out, KEY.bytesReceived, change.bytesReceived);
  out.addAscii("}");
}

function addField(out: ByteBuffer, key: Uint8Array, value: unknown): void {
  if (value === undefined) return;
  out.addBytes(key);
  if (typeof value === "number") out.addNumber(value);
  else if (typeof value === "string") out.addJsonString(value, jsonLine);
  else out.add(json(value));
}

/** `"` and the ISO text up to the second, of the last two seconds written (a line has two times). */
const isoSeconds = [NaN, NaN];
const isoPrefixes = [new Uint8Array(0), new Uint8Array(0)];
/** `123Z"` for each millisecond. */
const MILLIS_BYTES = Array.from(
  { length: 1000 },
  (_, ms) => encoder.encode(`${String(ms).padStart(3, "0")}Z"`),
);

/** `isoTime(ms)` in quotes. */
function addIsoTime(out: ByteBuffer, ms: number): void {
  const whole = Math.trunc(ms);
  const second = Math.floor(whole / 1000);
  let slot = second === isoSeconds[0] ? 0 : second === isoSeconds[1] ? 1 : -1;
  if (slot < 0) {
    const text = isoTime(whole); // throws for an invalid time
    slot = Number.isNaN(isoSeconds[0]) || isoSeconds[0] < isoSeconds[1] ? 0 : 1; // the older one goes
    isoSeconds[slot] = second;
    isoPrefixes[slot] = encoder.encode(`"${text.slice(0, -4)}`);
  }
  out.addBytes(isoPrefixes[slot]);
  out.addBytes(MILLIS_BYTES[whole - second * 1000]);
}

let bytesHost = "";
let bytesHostField = encoder.encode(',"host":""');
function hostBytes(host: string): Uint8Array {
  if (host !== bytesHost) {
    bytesHostField = encoder.encode(hostField(host));
    bytesHost = host;
  }
  return bytesHostField;
}

const processEncoded = new WeakMap<ProcessInfo, Uint8Array>();
function processBytes(p: ProcessInfo): Uint8Array {
  let bytes = processEncoded.get(p);
  if (bytes === undefined) processEncoded.set(p, bytes = encoder.encode(processFields(p)));
  return bytes;
}

/** Characters a JSON string cannot hold as they are, for `JSON.stringify` or `jsonLine`. */
// deno-lint-ignore no-control-regex
const NEEDS_ESCAPE = /["\\\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]/;

/** `jsonLine(value)` for a defined value: strings without escapes and numbers written directly. */
function json(value: unknown): string {
  if (typeof value === "string") return NEEDS_ESCAPE.test(value) ? jsonLine(value) : `"${value}"`;
  if (typeof value === "number") return Number.isFinite(value) ? `${value}` : "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  return jsonLine(value);
}

/** `prefix` and the JSON of `value`; nothing when it is undefined (as `JSON.stringify` leaves it out). */
function field(prefix: string, value: unknown): string {
  return value === undefined ? "" : prefix + json(value);
}

let lastHost = "";
let lastHostField = ',"host":""';
function hostField(host: string): string {
  if (host !== lastHost) {
    lastHostField = `,"host":${json(host)}`;
    lastHost = host;
  }
  return lastHostField;
}

/** Per process record: its fields of a PR-EVENTS line, `processName` to `processStart`. */
const processParts = new WeakMap<ProcessInfo, string>();
function processFields(p: ProcessInfo): string {
  let text = processParts.get(p);
  if (text === undefined) {
    text = field(',"processName":', p.name) + field(',"processPath":', p.path) +
      field(',"parentPid":', p.parentPid) + field(',"parentName":', p.parentName) +
      field(',"user":', p.user) + field(',"services":', p.services?.length ? p.services : undefined) +
      field(',"processStart":', p.startTime === undefined ? undefined : new Date(p.startTime).toISOString());
    processParts.set(p, text);
  }
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
