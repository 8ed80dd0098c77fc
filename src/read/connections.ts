/**
 * Connection and listener lifetimes from the rows: an `opened` row starts one, `changed` rows move
 * its state, a `closed` row ends it. Keyed like the diff (protocol, family, local and remote address
 * and port, pid).
 *
 * - An endpoint listed in PR-INITIAL (an `opened` row with `initial`) opened at or before the
 *   monitor started: `openedBound` is set.
 * - A `closed` row whose `opened` was never read (the endpoint was there when the monitor started,
 *   so it is only in PR-INITIAL, or its set was retained away) is a lifetime from its `firstSeen`,
 *   with `openedBound` set: it opened at or before then.
 * - A monitor start (`monitor-start`, or a `set-start` with reason `start`) or `monitor-stop` ends
 *   every open lifetime at the last time the monitor was seen running, with `closedBound` set: the
 *   endpoint was not watched after that.
 * - Once a `heartbeat` was seen, silence longer than {@link HEARTBEAT_GAP_MS} (the monitor died
 *   without a `monitor-stop`) ends open lifetimes the same way, at the last record before it; so does
 *   the end of the logs when the last record is older than that.
 * - Lifetimes still open at the end are yielded last, oldest first, with no `closed`.
 *
 * Rows are yielded as lifetimes end, so memory is bounded by the endpoints open at one time (at most
 * {@link MAX_OPEN} are tracked; beyond that the oldest is yielded as it stands, with `closedBound`).
 *
 * @module
 */

import { endpointKey } from "../model/types.ts";
import type { AddressFamily, Protocol, TcpState } from "../model/types.ts";
import type { ChangeRow, ReadRow } from "./rows.ts";

/**
 * Silence longer than this after a heartbeat was seen means the monitor was not running (it writes
 * one every 60 s): open lifetimes end, as bounds, at the last record before the silence.
 */
export const HEARTBEAT_GAP_MS = 180_000;

/** Endpoints tracked at once; a system rarely has more than a few hundred thousand. */
export const MAX_OPEN = 1_000_000;

/** One connection or listener lifetime. */
export interface Lifetime {
  /** `tcp` or `udp`. */
  protocol: Protocol;
  /** 4 or 6. */
  family: AddressFamily;
  /** Local address. */
  localAddress: string;
  /** Local port. */
  localPort: number;
  /** Remote address (`0.0.0.0`/`::` for a listener). */
  remoteAddress: string;
  /** Remote port (0 for a listener). */
  remotePort: number;
  /** TCP state when it opened (`null` for UDP). */
  state: TcpState | null;
  /** The last TCP state seen. */
  lastState: TcpState | null;
  /** Owner pid. */
  pid: number;
  /** Owner image name. */
  processName?: string;
  /** Owner image path. */
  processPath?: string;
  /** Owner user context. */
  user?: string;
  /** Computer name. */
  host?: string;
  /** When it opened (or was first seen), ms since the Unix epoch. */
  opened: number;
  /** `opened` is a bound: it was already open then. */
  openedBound: boolean;
  /** When it closed (or stopped being watched), ms; absent while still open. */
  closed?: number;
  /** `closed` is a bound: the monitor stopped watching then (it closed at or after). */
  closedBound: boolean;
  /** `closed - opened`, or up to `now` when still open, ms. */
  durationMs: number;
  /** `durationMs` is a lower bound (either end is a bound, or it is still open, or the log said so). */
  durationBound: boolean;
  /** Bytes sent, where the log carries them. */
  bytesSent?: number;
  /** Bytes received, where the log carries them. */
  bytesReceived?: number;
}

/** Options of {@link lifetimes}. */
export interface LifetimeOptions {
  /** The end of the observation for still-open lifetimes (their duration runs to here); default now. */
  now?: number;
  /** Keep only rows this accepts (the endpoint filters); lifetimes of rejected rows are not tracked. */
  accept?: (row: ChangeRow) => boolean;
  /** Keep only lifetimes overlapping [since, until]. */
  since?: number;
  /** See `since`. */
  until?: number;
  /** Override {@link MAX_OPEN} (tests). */
  maxOpen?: number;
}

function keyOf(r: ChangeRow): string {
  return `${endpointKey(r)} ${r.pid}`;
}

function start(r: ChangeRow, opened: number, openedBound: boolean): Lifetime {
  return {
    protocol: r.protocol,
    family: r.family,
    localAddress: r.localAddress,
    localPort: r.localPort,
    remoteAddress: r.remoteAddress,
    remotePort: r.remotePort,
    state: r.event === "changed" ? r.previousState ?? r.state : r.state,
    lastState: r.state,
    pid: r.pid,
    processName: r.processName,
    processPath: r.processPath,
    user: r.user,
    host: r.host,
    opened,
    openedBound,
    closedBound: false,
    durationMs: 0,
    durationBound: openedBound,
  };
}

function finish(l: Lifetime, closed: number | undefined, closedBound: boolean, now: number): Lifetime {
  l.closed = closed;
  l.closedBound = closedBound;
  l.durationMs = Math.max(0, (closed ?? now) - l.opened);
  l.durationBound = l.openedBound || closedBound || closed === undefined || l.durationBound;
  return l;
}

function inWindow(l: Lifetime, o: LifetimeOptions): boolean {
  if (o.until !== undefined && l.opened > o.until) return false;
  if (o.since !== undefined && l.closed !== undefined && l.closed < o.since) return false;
  return true;
}

function fill(l: Lifetime, r: ChangeRow): void {
  l.lastState = r.state;
  l.processName ??= r.processName;
  l.processPath ??= r.processPath;
  l.user ??= r.user;
  if (r.bytesSent !== undefined) l.bytesSent = r.bytesSent;
  if (r.bytesReceived !== undefined) l.bytesReceived = r.bytesReceived;
}

/** Pairs the rows (in time order, as `readRows` yields them) into lifetimes; see the module doc. */
export async function* lifetimes(
  rows: AsyncIterable<ReadRow>,
  options: LifetimeOptions = {},
): AsyncGenerator<Lifetime> {
  const now = options.now ?? Date.now();
  const maxOpen = options.maxOpen ?? MAX_OPEN;
  const open = new Map<string, Lifetime>(); // insertion order = opening order
  let lastSeen: number | undefined;
  const flushAll = function* (at: number | undefined) {
    for (const l of open.values()) {
      const done = finish(l, at ?? l.opened, true, now);
      if (inWindow(done, options)) yield done;
    }
    open.clear();
  };
  let heartbeats = false;
  for await (const row of rows) {
    if (heartbeats && lastSeen !== undefined && row.time - lastSeen > HEARTBEAT_GAP_MS) {
      yield* flushAll(lastSeen);
    }
    if (row.type === "marker") {
      if (row.event === "heartbeat") heartbeats = true;
      const restart = row.event === "monitor-start" ||
        (row.event === "set-start" && row.record.reason === "start");
      if (restart || row.event === "monitor-stop") {
        yield* flushAll(row.event === "monitor-stop" ? row.time : lastSeen);
      }
      lastSeen = row.time;
      continue;
    }
    lastSeen = row.time;
    if (options.accept && !options.accept(row)) continue;
    const key = keyOf(row);
    let l = open.get(key);
    if (row.event === "opened") {
      if (l) { // opened twice without a close: the first ended unseen
        const done = finish(l, row.time, true, now);
        if (inWindow(done, options)) yield done;
      }
      open.delete(key);
      open.set(key, start(row, row.time, row.initial === true));
      if (open.size > maxOpen) {
        const [oldKey, oldest] = open.entries().next().value!;
        open.delete(oldKey);
        const done = finish(oldest, row.time, true, now);
        if (inWindow(done, options)) yield done;
      }
      continue;
    }
    if (!l) {
      const first = row.firstSeen ?? row.time;
      l = start(row, first, true);
      if (row.event === "changed") open.set(key, l);
    }
    fill(l, row);
    if (row.event === "closed") {
      open.delete(key);
      if (row.durationExact === false) l.durationBound = true;
      const done = finish(l, row.time, false, now);
      if (row.durationMs !== undefined && !l.openedBound) {
        done.durationMs = row.durationMs;
        // a duration the kernel timed can start before the poll that first listed the endpoint
        if (row.durationExact !== false) done.opened = Math.min(done.opened, row.time - row.durationMs);
      }
      if (inWindow(done, options)) yield done;
    }
  }
  if (heartbeats && lastSeen !== undefined && now - lastSeen > HEARTBEAT_GAP_MS) yield* flushAll(lastSeen);
  for (const l of open.values()) {
    const done = finish(l, undefined, false, now);
    if (inWindow(done, options)) yield done;
  }
}
