/**
 * The pure diff between consecutive snapshots.
 *
 * Endpoints are keyed by protocol, family, local and remote address and port, and owning pid
 * ({@link socketKey}). On top of that key:
 * - a new TCP state on the same key is one `changed`, not a close plus an open;
 * - a pid that now belongs to another process (another start time or image) is a new process: its
 *   endpoints are closed and opened again;
 * - an ownerless row (pid 0, e.g. TIME_WAIT after the owner closed the socket) on the same endpoint
 *   as a row that had an owner in the previous poll stays attributed to that owner, so a socket that
 *   goes from ESTABLISHED to TIME_WAIT is one `changed` and later one `closed`, with its real duration.
 *
 * @module
 */

import { type Change, endpointKey, type ProcessInfo, type Snapshot, type SocketRecord, socketKey } from "../model/types.ts";

/** What the tracker remembers of an endpoint between polls. */
interface TrackedEndpoint {
  socket: SocketRecord;
  process?: ProcessInfo;
  firstSeen: number;
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
    let ownerByEndpoint: Map<string, number> | undefined;

    for (const row of snapshot.sockets) {
      let socket = row;
      let key = socketKey(socket);
      let before = previous.get(key);
      if (!before && socket.pid === 0) {
        ownerByEndpoint ??= ownersOf(previous);
        const owner = ownerByEndpoint.get(endpointKey(socket));
        if (owner !== undefined) {
          socket = { ...socket, pid: owner };
          key = socketKey(socket);
          before = previous.get(key);
        }
      }
      if (current.has(key)) continue; // the same endpoint listed twice (e.g. shared by fork): once is enough
      const process = socket.pid === 0 ? before?.process : snapshot.processes.get(socket.pid) ?? before?.process;
      if (before && processIdentity(before.process) !== processIdentity(process) && before.process && process) {
        // the pid was reused by another process: the old endpoint closed, a new one opened
        changes.push(closedChange(before, time));
        before = undefined;
      }
      if (!before) {
        const tracked = { socket, process, firstSeen: time };
        current.set(key, tracked);
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
      if (!current.has(key)) changes.push(closedChange(before, time));
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

function ownersOf(endpoints: Map<string, TrackedEndpoint>): Map<string, number> {
  const owners = new Map<string, number>();
  for (const { socket } of endpoints.values()) {
    if (socket.pid !== 0) owners.set(endpointKey(socket), socket.pid);
  }
  return owners;
}
