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

/** What the tracker remembers of an endpoint between polls (updated in place: no garbage per poll). */
interface TrackedEndpoint {
  socket: SocketRecord;
  process?: ProcessInfo;
  firstSeen: number;
  /** The generation (poll number) that last saw it. */
  seen: number;
  /** An ownerless row left behind by an endpoint already reported closed: no further events. */
  remnant?: boolean;
}

/** Identity of a process beyond its pid: start time when known, else the image path or name. */
export function processIdentity(info: ProcessInfo | undefined): string {
  if (!info) return "";
  if (info.startTime !== undefined) return `t${info.startTime}`;
  return `i${info.path ?? info.name}`;
}

/** Whether two records of the same pid describe the same process (allocation-free {@link processIdentity} equality). */
export function sameProcess(a: ProcessInfo, b: ProcessInfo): boolean {
  if (a.startTime !== undefined || b.startTime !== undefined) return a.startTime === b.startTime;
  return (a.path ?? a.name) === (b.path ?? b.name);
}

/**
 * Remembers the endpoints of the previous snapshot and turns each new snapshot into changes.
 * Holds no I/O and no clock: the time of a change is the snapshot's time. One map lives across
 * polls and its entries are updated in place. Collectors that hand back the same (immutable) record
 * object for an unchanged socket (the Linux netlink collector does) are recognised by identity, so a
 * steady state builds no key and allocates nothing per endpoint.
 */
export class EndpointTracker {
  #endpoints = new Map<string, TrackedEndpoint>();
  /** The entry that last took each record object: the identity fast path. */
  #byRecord = new WeakMap<SocketRecord, TrackedEndpoint>();
  #generation = 0;

  /** Number of endpoints currently tracked. */
  get size(): number {
    return this.#endpoints.size;
  }

  /** Whether a first snapshot has been observed. */
  get started(): boolean {
    return this.#generation > 0;
  }

  /**
   * Takes the next snapshot and returns what changed since the previous one. The first snapshot
   * returns every endpoint as `opened` (the monitor writes those to PR-INITIAL, not PR-PORTS).
   */
  observe(snapshot: Snapshot): Change[] {
    const generation = ++this.#generation;
    const time = snapshot.time;
    const endpoints = this.#endpoints;
    const changes: Change[] = [];
    let ownerByEndpoint: Map<string, string> | undefined;

    for (const socket of snapshot.sockets) {
      const known = this.#byRecord.get(socket);
      if (known && known.socket === socket && known.seen === generation - 1 && !known.remnant) {
        const process = socket.pid === 0 ? undefined : snapshot.processes.get(socket.pid) ?? known.process;
        if (!known.process || !process || sameProcess(known.process, process)) {
          known.process = process;
          known.seen = generation;
          continue; // the very record of the previous poll: nothing changed
        }
      }
      const key = socketKey(socket);
      let tracked = endpoints.get(key);
      if (tracked?.seen === generation) continue; // the same endpoint listed twice (e.g. shared by fork)
      if (tracked?.remnant) {
        tracked.socket = socket;
        tracked.seen = generation;
        this.#byRecord.set(socket, tracked);
        continue;
      }
      if (!tracked && socket.pid === 0) {
        ownerByEndpoint ??= ownersOf(endpoints, generation - 1);
        const ownedKey = ownerByEndpoint.get(endpointKey(socket));
        const owned = ownedKey === undefined ? undefined : endpoints.get(ownedKey);
        if (owned && ownedKey !== undefined && owned.seen === generation - 1) {
          changes.push(closedChange(owned, time));
          endpoints.delete(ownedKey);
          endpoints.set(key, {
            socket,
            process: owned.process,
            firstSeen: owned.firstSeen,
            seen: generation,
            remnant: true,
          });
          continue;
        }
      }
      const process = socket.pid === 0 ? undefined : snapshot.processes.get(socket.pid) ?? tracked?.process;
      if (tracked?.process && process && !sameProcess(tracked.process, process)) {
        // the pid was reused by another process: the old endpoint closed, a new one opened
        changes.push(closedChange(tracked, time));
        tracked = undefined;
      }
      if (!tracked) {
        const entry = { socket, process, firstSeen: time, seen: generation };
        endpoints.set(key, entry);
        this.#byRecord.set(socket, entry);
        changes.push({ kind: "opened", time, socket, process, firstSeen: time });
        continue;
      }
      const previousState = tracked.socket.state;
      tracked.socket = socket;
      tracked.process = process;
      tracked.seen = generation;
      this.#byRecord.set(socket, tracked);
      if (previousState !== socket.state) {
        changes.push({ kind: "changed", time, socket, process, firstSeen: tracked.firstSeen, previousState });
      }
    }
    endpoints.forEach((tracked, key) => { // forEach: no [key, value] array per entry
      if (tracked.seen === generation) return;
      endpoints.delete(key);
      if (!tracked.remnant) changes.push(closedChange(tracked, time));
    });
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

/** Endpoint key → the socket key of its owned (pid ≠ 0) entry last seen in `generation`. */
function ownersOf(endpoints: Map<string, TrackedEndpoint>, generation: number): Map<string, string> {
  const owners = new Map<string, string>();
  for (const [key, { socket, remnant, seen }] of endpoints) {
    if (socket.pid !== 0 && !remnant && seen === generation) owners.set(endpointKey(socket), key);
  }
  return owners;
}
