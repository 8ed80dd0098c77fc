/**
 * The diff's pieces below the tracker (see `diff.ts`): what it remembers of an endpoint, and the
 * changes it makes of one.
 *
 * @module
 */

import type { Change, ProcessInfo, SocketEvent, SocketRecord } from "../model/types.ts";
import { endpointKey } from "../model/types.ts";

/**
 * What the tracker remembers of an endpoint between polls (updated in place: no garbage per poll).
 * Made only by {@link trackedEndpoint}, so that every entry has all its fields from the start: one
 * object shape, with its fields inside the object (a field added later would move the added ones to
 * a separate property array, 40 bytes more per endpoint).
 */
export interface TrackedEndpoint {
  socket: SocketRecord;
  process: ProcessInfo | undefined;
  firstSeen: number;
  /** The generation (poll number) that last saw it. */
  seen: number;
  /** An ownerless row left behind by an endpoint already reported closed: no further events. */
  remnant: boolean;
  /** Seen in the first snapshot: it opened before the monitor started. */
  atStart: boolean;
  /** A remnant left by its owner letting go, whose `closed` a poll logged while events report every close. */
  letGo: boolean;
  /**
   * When a poll first missed it while an event source reports every close: its close event may still
   * be on its way; closed at this time if none comes within `CLOSE_EVENT_WAIT_MS` (`diff.ts`).
   */
  missingSince: number | undefined;
}

/** A new {@link TrackedEndpoint} (not a remnant, not missing). */
export function trackedEndpoint(
  socket: SocketRecord,
  process: ProcessInfo | undefined,
  firstSeen: number,
  seen: number,
  remnant = false,
  atStart = false,
  letGo = false,
): TrackedEndpoint {
  return { socket, process, firstSeen, seen, remnant, atStart, letGo, missingSince: undefined };
}

/** TCP states of a socket its owner has closed (the kernel finishes the connection without a file). */
const CLOSING_STATES = new Set(["FIN_WAIT1", "FIN_WAIT2", "CLOSING", "LAST_ACK", "TIME_WAIT"]);

/** A row of a TCP socket its owner has closed: no file (no inode), in a closing state. */
export function isOrphan(socket: SocketRecord): boolean {
  return socket.protocol === "tcp" && !socket.inode && socket.state !== null &&
    CLOSING_STATES.has(socket.state);
}

/** Appends to `changes` the `opened` and `closed` of an endpoint only an event saw. */
export function eventOnlyChanges(
  event: SocketEvent,
  process: ProcessInfo | undefined,
  changes: Change[],
): void {
  const { socket } = event;
  const opened = event.openedAt ?? event.time;
  const openedSocket = event.openState && event.openState !== socket.state
    ? { ...socket, state: event.openState }
    : socket;
  const closed: Change = {
    kind: "closed",
    time: event.time,
    socket,
    process,
    firstSeen: opened,
    source: "event",
  };
  if (event.openedAt !== undefined) closed.durationMs = event.time - event.openedAt;
  else closed.durationExact = false;
  addBytes(closed, event);
  changes.push(
    { kind: "opened", time: opened, socket: openedSocket, process, firstSeen: opened, source: "event" },
    closed,
  );
}

export function addBytes(change: Change, event: SocketEvent): void {
  if (event.bytesSent !== undefined) change.bytesSent = event.bytesSent;
  if (event.bytesReceived !== undefined) change.bytesReceived = event.bytesReceived;
}

export function closedChange(tracked: TrackedEndpoint, time: number): Change {
  const change: Change = {
    kind: "closed",
    time,
    socket: tracked.socket,
    process: tracked.process,
    firstSeen: tracked.firstSeen,
    durationMs: time - tracked.firstSeen,
    source: "poll",
  };
  if (tracked.atStart) change.durationExact = false;
  return change;
}

/** A number from an endpoint's two ports (equal for the same endpoint; rarely for others). */
export function portPair(socket: SocketRecord): number {
  return (socket.localPort << 14) ^ socket.remotePort;
}

/**
 * Endpoint key → the socket key of its owned (pid ≠ 0) entry last seen in `generation`, for the
 * endpoints whose {@link portPair} is in `wanted` (a key is made only for those: the index of a poll
 * with a few ownerless rows among 65 000 endpoints is a few entries, not 65 000 keys).
 */
export function ownersOf(
  endpoints: Map<string, TrackedEndpoint>,
  generation: number,
  wanted: ReadonlySet<number>,
): Map<string, string> {
  const owners = new Map<string, string>();
  if (wanted.size === 0) return owners;
  endpoints.forEach(({ socket, remnant, seen }, key) => { // forEach: no [key, value] array per entry
    if (socket.pid !== 0 && !remnant && seen === generation && wanted.has(portPair(socket))) {
      owners.set(endpointKey(socket), key);
    }
  });
  return owners;
}

/** The {@link portPair}s of the ownerless (pid 0) rows of `sockets`. */
export function ownerlessPortPairs(sockets: readonly SocketRecord[]): Set<number> {
  const pairs = new Set<number>();
  for (let i = 0; i < sockets.length; i++) if (sockets[i].pid === 0) pairs.add(portPair(sockets[i]));
  return pairs;
}

/** Identity of a process beyond its pid: start time when known, else the image path or name. */
export function processIdentity(info: ProcessInfo | undefined): string {
  if (!info) return "";
  if (info.startTime !== undefined) return `t${info.startTime}`;
  return `i${info.path ?? info.name}`;
}

/**
 * Whether two records of the same pid describe the same process (allocation-free {@link processIdentity}
 * equality). A read without the start time the other has (the process was exiting: its /proc entry
 * went while it was read) says nothing of another process: the same.
 */
export function sameProcess(a: ProcessInfo, b: ProcessInfo): boolean {
  if (a.startTime !== undefined && b.startTime !== undefined) return a.startTime === b.startTime;
  if (a.startTime !== undefined || b.startTime !== undefined) return true;
  return (a.path ?? a.name) === (b.path ?? b.name);
}

/** The record kept for an endpoint: the new read, unless it lost the start time the kept one has. */
export function laterRead(
  kept: ProcessInfo | undefined,
  read: ProcessInfo | undefined,
): ProcessInfo | undefined {
  return read !== undefined && read.startTime === undefined && kept?.startTime !== undefined ? kept : read;
}
