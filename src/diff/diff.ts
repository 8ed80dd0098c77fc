/**
 * The pure diff between consecutive snapshots.
 *
 * Endpoints are keyed by protocol, family, local and remote address and port, and owning pid
 * ({@link socketKey}). On top of that key:
 * - a new TCP state on the same key is one `changed`, not a close plus an open;
 * - a pid that now belongs to another process (another start time or image) is a new process: its
 *   endpoints are closed and opened again;
 * - an ownerless row (pid 0, e.g. TIME_WAIT after the owner closed the socket) on the same endpoint
 *   as a row that had an owner in the previous poll is that owner letting go: the owned endpoint is
 *   `closed` then (its duration is the time the process held it), and the kernel's remnant is tracked
 *   silently until it goes away, so it is neither opened nor closed a second time.
 *
 * @module
 */

import {
  type Change,
  endpointKey,
  type ProcessInfo,
  type Snapshot,
  socketKey,
  type SocketRecord,
} from "../model/types.ts";

/** What the tracker remembers of an endpoint between polls. */
interface TrackedEndpoint {
  socket: SocketRecord;
  process?: ProcessInfo;
  firstSeen: number;
  /** An ownerless row left behind by an endpoint already reported closed: no further events. */
  remnant?: boolean;
}

/** Identity of a process beyond its pid: start time when known, else the image path or name. */
export function processIdentity(info: ProcessInfo | undefined): string {
  if (!info) return "";
  if (info.startTime !== undefined) return `t${info.startTime}`;
  return `i${info.path ?? info.name}`;
}

/**
 * Remembers the endpoints of the previous snapshot and turns each new snapshot into changes.
 * Holds no I/O and no clock: the time of a change is the snapshot's time.
 */
export class EndpointTracker {
  #endpoints = new Map<string, TrackedEndpoint>();
  #started = false;

  /** Number of endpoints currently tracked. */
  get size(): number {
    return this.#endpoints.size;
  }

  /** Whether a first snapshot has been observed. */
  get started(): boolean {
    return this.#started;
  }

  /**
   * Takes the next snapshot and returns what changed since the previous one. The first snapshot
   * returns every endpoint as `opened` (the monitor writes those to PR-INITIAL, not PR-PORTS).
   */
  observe(snapshot: Snapshot): Change[] {
    this.#started = true;
    const time = snapshot.time;
    const previous = this.#endpoints;
    const current = new Map<string, TrackedEndpoint>();
    const changes: Change[] = [];
    let ownerByEndpoint: Map<string, string> | undefined;

    const released = new Set<string>();
    for (const socket of snapshot.sockets) {
      const key = socketKey(socket);
      let before = previous.get(key);
      if (current.has(key)) continue; // the same endpoint listed twice (e.g. shared by fork): once is enough
      if (before?.remnant) {
        current.set(key, { ...before, socket });
        continue;
      }
      if (!before && socket.pid === 0) {
        ownerByEndpoint ??= ownersOf(previous);
        const ownedKey = ownerByEndpoint.get(endpointKey(socket));
        const owned = ownedKey === undefined ? undefined : previous.get(ownedKey);
        if (owned && ownedKey !== undefined) {
          released.add(ownedKey);
          changes.push(closedChange(owned, time));
          current.set(key, { socket, process: owned.process, firstSeen: owned.firstSeen, remnant: true });
          continue;
        }
      }
      const process = socket.pid === 0 ? undefined : snapshot.processes.get(socket.pid) ?? before?.process;
      if (
        before && before.process && process && processIdentity(before.process) !== processIdentity(process)
      ) {
        // the pid was reused by another process: the old endpoint closed, a new one opened
        changes.push(closedChange(before, time));
        before = undefined;
      }
      if (!before) {
        current.set(key, { socket, process, firstSeen: time });
        changes.push({ kind: "opened", time, socket, process, firstSeen: time });
        continue;
      }
      current.set(key, { socket, process, firstSeen: before.firstSeen });
      if (before.socket.state !== socket.state) {
        changes.push({
          kind: "changed",
          time,
          socket,
          process,
          firstSeen: before.firstSeen,
          previousState: before.socket.state,
        });
      }
    }
    for (const [key, before] of previous) {
      if (!current.has(key) && !released.has(key) && !before.remnant) {
        changes.push(closedChange(before, time));
      }
    }
    this.#endpoints = current;
    return changes;
  }
}

function closedChange(tracked: TrackedEndpoint, time: number): Change {
  return {
    kind: "closed",
    time,
    socket: tracked.socket,
    process: tracked.process,
    firstSeen: tracked.firstSeen,
    durationMs: time - tracked.firstSeen,
  };
}

/** Endpoint key → the socket key of its owned (pid ≠ 0) entry in `endpoints`. */
function ownersOf(endpoints: Map<string, TrackedEndpoint>): Map<string, string> {
  const owners = new Map<string, string>();
  for (const [key, { socket, remnant }] of endpoints) {
    if (socket.pid !== 0 && !remnant) owners.set(endpointKey(socket), key);
  }
  return owners;
}
