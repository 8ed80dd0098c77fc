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
 * Kernel events (`Snapshot.events`, Linux) are merged before the poll's rows: a close event for an
 * endpoint a poll saw is its `closed` (at the event's time, `source: "event"`); a close event for an
 * endpoint no poll saw is one `opened` plus one `closed`. Either way the endpoint's later ownerless
 * TIME_WAIT row is a silent remnant (not remembered when the snapshots leave TIME_WAIT out,
 * `Snapshot.omitsTimeWait`: no row of a destroyed socket can follow its event).
 *
 * While an event source reports every close, an endpoint a poll no longer lists is closed
 * {@link CLOSE_EVENT_WAIT_MS} later, at the time of the poll that missed it, unless its close event
 * comes first (the kernel sends it after the socket left its tables): one `closed`, never a poll's
 * and then an event's. A close event later still (or after a poll logged an owner letting go), opened
 * before that `closed` (or, when its open was not traced, received within the wait after the poll that
 * logged it or last listed the let-go row, and not named as another process's; `poll_closes.ts`), is the
 * same close (counted merged); one opened after it is a new connection on the same numbers.
 *
 * An orphan — a TCP row without a file in a closing state (FIN_WAIT1/2, CLOSING, LAST_ACK, TIME_WAIT):
 * its owner has closed it — is never a new endpoint. While an event source reports every close
 * (`omitsTimeWait`) it is silent: the endpoint its owner held stays open until its close event, and
 * an orphan no poll saw owned is logged, opened and closed, by that event. Without events, an orphan
 * nobody was seen owning is one `closed` marked `seenAfterClose` (its open and owner were missed),
 * never an `opened` with a `closed` a minute later. Endpoints of the first snapshot were open before
 * the monitor started: their `closed` marks the duration as a bound (`durationExact: false`).
 *
 * @module
 */

import { type Change, endpointKey, type Snapshot, socketKey, type SocketRecord } from "../model/types.ts";
import { EventCandidates } from "./event_candidates.ts";
import { PollCloses } from "./poll_closes.ts";
import {
  addBytes,
  closedChange,
  eventOnlyChanges,
  isOrphan,
  laterRead,
  ownerlessPortPairs,
  ownersOf,
  sameProcess,
  type TrackedEndpoint,
  trackedEndpoint,
} from "./endpoint_changes.ts";

export { processIdentity, sameProcess } from "./endpoint_changes.ts";

/** How long a close event keeps an endpoint's later ownerless rows silent (TIME_WAIT lasts 60 s). */
export const CLOSED_ENDPOINT_MEMORY_MS = 120_000;

/**
 * How long an endpoint a poll no longer lists waits for its close event while an event source reports
 * every close, ms: the kernel sends a socket's destroy notification after it has left the tables
 * (after an RCU grace period, from a work queue), late by seconds when tens of thousands close at once (10 s for 65 000 on a 2-core machine).
 */
export const CLOSE_EVENT_WAIT_MS = 10_000;

/** Most endpoints remembered as closed by a poll after their wait (see `EndpointTracker`). */
export const MAX_CLOSED_AFTER_WAIT = 100_000;

/** Counters of an {@link EndpointTracker}, since it was created. */
export interface TrackerStats {
  /** Close events for endpoints a poll also saw (one `closed`, not two). */
  merged: number;
  /** Close events for endpoints no poll saw (one `opened` and one `closed`). */
  eventOnly: number;
  /** Ownerless TIME_WAIT rows first seen after their close (one `closed` marked `seenAfterClose`). */
  seenAfterClose: number;
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
  /** Time of the snapshot being observed. */
  #time = 0;
  /** Rows of the snapshot being observed (empty between observations). */
  #rows: readonly SocketRecord[] = [];
  /** Whether an event source reports every close in the snapshot being observed (`Snapshot.omitsTimeWait`). */
  #closesReported = false;
  /** Endpoint key → time of its close event, oldest first (pruned after {@link CLOSED_ENDPOINT_MEMORY_MS}). */
  #closedByEvent = new Map<string, number>();
  /** The `closed`s a poll logged while events report every close (see {@link PollCloses}). */
  readonly #pollCloses = new PollCloses(CLOSE_EVENT_WAIT_MS, MAX_CLOSED_AFTER_WAIT);
  /** Counters (see {@link TrackerStats}). */
  readonly stats: TrackerStats = { merged: 0, eventOnly: 0, seenAfterClose: 0 };

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
    const time = this.#time = snapshot.time;
    this.#closesReported = snapshot.omitsTimeWait === true;
    const endpoints = this.#endpoints;
    const changes: Change[] = [];
    const first = generation === 1;
    if (snapshot.events?.length && !first) this.#applyEvents(snapshot, changes, generation);
    this.#pruneClosed(time);
    let ownerByEndpoint: { map?: Map<string, string> } | undefined;

    this.#rows = snapshot.sockets;
    for (const socket of snapshot.sockets) {
      const known = this.#byRecord.get(socket);
      if (known && known.socket === socket && known.seen === generation - 1 && known.remnant) {
        known.seen = generation; // the same remnant row as in the previous poll
        continue;
      }
      if (known && known.socket === socket && known.seen === generation - 1 && !known.remnant) {
        const process = socket.pid === 0
          ? undefined
          : laterRead(known.process, snapshot.processes.get(socket.pid)) ?? known.process;
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
        ownerByEndpoint ??= { map: undefined };
        if (this.#ownerlessRow(socket, key, generation, changes, ownerByEndpoint)) continue;
      }
      const process = socket.pid === 0
        ? undefined
        : laterRead(tracked?.process, snapshot.processes.get(socket.pid)) ?? tracked?.process;
      if (tracked?.process && process && !sameProcess(tracked.process, process)) {
        // the pid was reused by another process: the old endpoint closed, a new one opened
        changes.push(closedChange(tracked, time));
        tracked = undefined;
      }
      if (!tracked) {
        // the OS's creation time when it gives one (Windows): then even an endpoint present at start has
        // an exact duration; else this poll
        const osTime = socket.openTime !== undefined && socket.openTime <= time ? socket.openTime : undefined;
        const firstSeen = osTime ?? time;
        const entry = trackedEndpoint(
          socket,
          process,
          firstSeen,
          generation,
          false,
          first && osTime === undefined,
        );
        endpoints.set(key, entry);
        this.#byRecord.set(socket, entry);
        if (this.#closedByEvent.size) this.#closedByEvent.delete(endpointKey(socket)); // a new socket
        changes.push({ kind: "opened", time, socket, process, firstSeen, source: "poll" });
        continue;
      }
      const previousState = tracked.socket.state;
      tracked.socket = socket;
      tracked.process = process;
      tracked.seen = generation;
      tracked.missingSince = undefined; // listed again: it was not gone
      this.#byRecord.set(socket, tracked);
      if (previousState !== socket.state) {
        changes.push({
          kind: "changed",
          time,
          socket,
          process,
          firstSeen: tracked.firstSeen,
          previousState,
          source: "poll",
        });
      }
    }
    this.#rows = [];
    this.#closeUnseen(changes, generation, time);
    return changes;
  }

  /** Closes the endpoints this snapshot did not list (see the module description for the wait). */
  #closeUnseen(changes: Change[], generation: number, time: number): void {
    const endpoints = this.#endpoints;
    const holdBack = this.#closesReported;
    endpoints.forEach((tracked, key) => { // forEach: no [key, value] array per entry
      if (tracked.seen === generation) return;
      if (holdBack && !tracked.remnant && time - (tracked.missingSince ??= time) < CLOSE_EVENT_WAIT_MS) {
        return; // its close event, if one is on its way, says when
      }
      endpoints.delete(key);
      if (tracked.remnant) {
        // the row its owner let go is gone: its notification may still come, timed from now
        if (tracked.letGo && holdBack) this.#pollCloses.rowGone(tracked.socket, time);
        return;
      }
      changes.push(closedChange(tracked, tracked.missingSince ?? time));
      if (holdBack) {
        this.#pollCloses.remember(tracked.socket, tracked.missingSince ?? time, time, tracked.socket.pid);
      }
    });
  }

  /**
   * A new ownerless row (pid 0): the remnant of an endpoint closed by an event (silent); the owner of
   * the same endpoint in the previous poll letting go (its `closed`, then a silent remnant); or
   * {@link #takeRemnant}. Returns true when the row is handled; `owners` caches the owner index of
   * the previous poll (built on first need).
   */
  #ownerlessRow(
    socket: SocketRecord,
    key: string,
    generation: number,
    changes: Change[],
    owners: { map?: Map<string, string> },
  ): boolean {
    const endpoints = this.#endpoints;
    const first = generation === 1;
    const time = this.#time;
    if (this.#closedByEvent.size && this.#closedByEvent.has(endpointKey(socket))) {
      return this.#takeRemnant(socket, key, generation, changes, first, time); // closed by an event: silent
    }
    owners.map ??= ownersOf(endpoints, generation - 1, ownerlessPortPairs(this.#rows));
    const ownedKey = owners.map.get(endpointKey(socket));
    const owned = ownedKey === undefined ? undefined : endpoints.get(ownedKey);
    if (owned && ownedKey !== undefined && owned.seen === generation - 1) {
      if (this.#closesReported && isOrphan(socket)) {
        owned.seen = generation; // closed by its owner, still in the kernel: its close event says when it ends
        return true;
      }
      changes.push(closedChange(owned, time));
      if (this.#closesReported) this.#pollCloses.remember(socket, time, time, owned.socket.pid); // its late notification
      endpoints.delete(ownedKey);
      const letGo = this.#closesReported;
      const entry = trackedEndpoint(socket, owned.process, owned.firstSeen, generation, true, false, letGo);
      endpoints.set(key, entry);
      this.#byRecord.set(socket, entry);
      return true;
    }
    return this.#takeRemnant(socket, key, generation, changes, first, time);
  }

  /**
   * An ownerless row nobody is seen owning now: the remnant of an endpoint closed by an event (silent),
   * or a TIME_WAIT first seen after its close (one `closed`, marked; silent in the first snapshot).
   * Tracks it as a remnant and returns true; false for any other row.
   */
  #takeRemnant(
    socket: SocketRecord,
    key: string,
    generation: number,
    changes: Change[],
    first: boolean,
    time: number,
  ): boolean {
    const closedByEvent = this.#closedByEvent.size > 0 && this.#closedByEvent.has(endpointKey(socket));
    if (!closedByEvent && !isOrphan(socket)) return false;
    const entry = trackedEndpoint(socket, undefined, time, generation, true);
    this.#endpoints.set(key, entry);
    this.#byRecord.set(socket, entry);
    if (closedByEvent || first || this.#closesReported) return true; // (the close event logs it, open and close)
    this.stats.seenAfterClose++;
    changes.push({
      kind: "closed",
      time,
      socket,
      firstSeen: time,
      source: "poll",
      durationExact: false,
      seenAfterClose: true,
    });
    return true;
  }

  /** Merges the close events of one snapshot (see the module description). */
  #applyEvents(
    { events = [], processes, omitsTimeWait }: Snapshot,
    changes: Change[],
    generation: number,
  ): void {
    const candidates = new EventCandidates(this.#endpoints, events, generation);
    for (let i = 0; i < events.length; i++) { // indexed: no iterator per poll
      const event = events[i];
      const candidate = candidates.mayBeTracked(event.socket);
      if (!candidate && omitsTimeWait && this.#pollCloses.size === 0) { // none tracked, nothing to remember
        this.stats.eventOnly++;
        const pid = event.socket.pid;
        eventOnlyChanges(event, pid === 0 ? undefined : processes.get(pid), changes);
        continue;
      }
      const key = candidate ? candidates.take(event) : undefined;
      const tracked = key === undefined ? undefined : this.#endpoints.get(key);
      if (tracked && key !== undefined) {
        this.stats.merged++;
        this.#endpoints.delete(key);
        const closed = closedChange(tracked, event.time);
        closed.source = "event";
        if (tracked.socket.pid === 0 && event.socket.pid !== 0) {
          // the poll could not name the owner; the event source did
          closed.socket = { ...tracked.socket, pid: event.socket.pid };
          closed.process = processes.get(event.socket.pid);
        }
        if (event.openedAt !== undefined && event.openedAt <= tracked.firstSeen) {
          closed.durationMs = event.time - event.openedAt;
          delete closed.durationExact;
        }
        addBytes(closed, event);
        changes.push(closed);
      } else if (this.#pollCloses.isLate(event)) {
        this.stats.merged++; // its endpoint's `closed` is logged already
      } else {
        this.stats.eventOnly++;
        const pid = event.socket.pid;
        eventOnlyChanges(event, pid === 0 ? undefined : processes.get(pid), changes);
      }
      if (omitsTimeWait) continue; // no remnant row can follow: nothing to remember
      const endpoint = endpointKey(event.socket);
      this.#closedByEvent.delete(endpoint); // re-inserted last: the map stays in time order
      this.#closedByEvent.set(endpoint, event.time);
    }
  }

  /** Forgets close events older than {@link CLOSED_ENDPOINT_MEMORY_MS}. */
  #pruneClosed(time: number): void {
    this.#pollCloses.prune(time - CLOSED_ENDPOINT_MEMORY_MS);
    for (const [endpoint, closedAt] of this.#closedByEvent) {
      if (time - closedAt < CLOSED_ENDPOINT_MEMORY_MS) return;
      this.#closedByEvent.delete(endpoint);
    }
  }
}
