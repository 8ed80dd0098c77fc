/**
 * `query --format ecs`: each row read back as the flat PR-EVENTS record it came from, then mapped to
 * the Elastic Common Schema by the same {@link toEcs} the shipping plugins use.
 *
 * @module
 */

import { type EventFields, toEcs } from "../log/ecs.ts";
import { jsonLine } from "../model/text.ts";
import type { ReadRow } from "./rows.ts";

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** A row as a flat PR-EVENTS record (classic rows too: their fields under the same names). */
export function rowFields(row: ReadRow): EventFields {
  if (row.type === "marker") return { ...row.record, event: row.event, time: iso(row.time)! };
  return {
    v: 1,
    event: row.event,
    time: iso(row.time)!,
    host: row.host,
    protocol: row.protocol,
    family: row.family,
    localAddress: row.localAddress,
    localPort: row.localPort,
    remoteAddress: row.remoteAddress,
    remotePort: row.remotePort,
    state: row.state,
    previousState: row.previousState,
    pid: row.pid,
    processName: row.processName,
    processPath: row.processPath,
    commandLine: row.commandLine,
    user: row.user,
    parentPid: row.parentPid,
    parentName: row.parentName,
    services: row.services,
    processStart: iso(row.processStart),
    firstSeen: iso(row.firstSeen),
    durationMs: row.durationMs,
    durationExact: row.durationExact,
    source: row.seenBy,
    bytesSent: row.bytesSent,
    bytesReceived: row.bytesReceived,
  };
}

/** One ECS document per line. */
export function ecsLine(row: ReadRow): string {
  return jsonLine(toEcs(rowFields(row))) + "\n";
}
