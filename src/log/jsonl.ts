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

/** Per process instance: whether none of its strings needs more than JSON.stringify's escaping. */
const plainProcesses = new WeakMap<ProcessInfo, boolean>();

function isPlainProcess(p: ProcessInfo): boolean {
  let plain = plainProcesses.get(p);
  if (plain === undefined) {
    const strings = [p.name, p.path, p.commandLine, p.user, p.parentName, ...(p.services ?? [])];
    plain = !strings.some((v) => v !== undefined && needsJsonEscape(v));
    plainProcesses.set(p, plain);
  }
  return plain;
}

/**
 * A change as one flat JSON object (no line end). Absent fields are omitted, never `null`-filled.
 * The strings that can come from another process are the owner's and the plugins' (`extra`); when
 * none of them needs it, the line is not scanned again (the hot path of the writer). The command line
 * and modules of the process are not repeated here: they are in the set's `process` record of that
 * instance (pid + `processStart`), written once per set.
 */
export function eventRecord(change: Change, host: string): string {
  const record = eventObject(change, host);
  const plain = change.extra === undefined && !needsJsonEscape(host) &&
    (change.process === undefined || isPlainProcess(change.process));
  return plain ? JSON.stringify(record) : jsonLine(record);
}

function eventObject(change: Change, host: string): Record<string, unknown> {
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
