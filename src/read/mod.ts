/**
 * The reader API, one import for the commands that read log sets back (`query`, `connections`,
 * `follow`, `sets`, `report`):
 *
 * ```ts
 * const sets = await listLogSets(dir, { timeZone });            // oldest first, the open set last
 * const filter = filterFromFlags(values, { now: Date.now(), timeZone });
 * for await (const row of readRows(sets, { timeZone, prefilter: filter.prefilter, since: filter.since })) {
 *   if (row.type === "change" && filter.matches(row)) ...        // markers: set-start, heartbeat, ...
 * }
 * for await (const l of lifetimes(readRows(sets), { accept: filter.matchesEndpoint })) ...
 * ```
 *
 * @module
 */

export * from "./rows.ts";
export * from "./sets.ts";
export * from "./events.ts";
export * from "./filters.ts";
export * from "./time_forms.ts";
export * from "./connections.ts";
export * from "./local_instant.ts";
export * from "./format.ts";
export { CHUNK_BYTES, type LineCursor, MAX_LINE_BYTES, readLines } from "./lines.ts";
export { decodeClassicLine, rowFromPortsLine } from "./classic_ports.ts";
export { readInitialRows, rowFromInitialLine } from "./initial.ts";
export * from "./follow.ts";
