/**
 * The tracked endpoints a poll's close events may close, found without a key string per endpoint or
 * per event (a burst of 65 000 closes among 65 000 tracked endpoints would otherwise build 130 000
 * keys per poll, for as many polls as the burst lasts).
 *
 * @module
 */

import type { SocketEvent, SocketRecord } from "../model/types.ts";
import { portPair, type TrackedEndpoint } from "./endpoint_changes.ts";

/** Whether two records name the same endpoint (the fields of `endpointKey`). */
export function sameEndpoint(a: SocketRecord, b: SocketRecord): boolean {
  return a.localPort === b.localPort && a.remotePort === b.remotePort && a.protocol === b.protocol &&
    a.family === b.family && a.localAddress === b.localAddress && a.remoteAddress === b.remoteAddress;
}

/**
 * The tracked endpoints (by the tracker's key) that a close event of this poll can be the close of —
 * seen by the previous poll, or missing and waiting for their close event; never remnants — indexed by
 * the {@link portPair} of the events.
 */
export class EventCandidates {
  /** Tracker keys by port pair (only the pairs of the events). */
  readonly #byPair = new Map<number, string[]>();
  readonly #endpoints: ReadonlyMap<string, TrackedEndpoint>;

  /**
   * @param endpoints the tracker's endpoints.
   * @param events the poll's close events.
   * @param generation the poll being observed.
   */
  constructor(
    endpoints: ReadonlyMap<string, TrackedEndpoint>,
    events: readonly SocketEvent[],
    generation: number,
  ) {
    this.#endpoints = endpoints;
    const pairs = new Set<number>();
    for (let i = 0; i < events.length; i++) pairs.add(portPair(events[i].socket));
    const byPair = this.#byPair;
    endpoints.forEach((tracked, key) => { // forEach: no [key, value] array per entry
      if (tracked.remnant || (tracked.seen !== generation - 1 && tracked.missingSince === undefined)) return;
      const pair = portPair(tracked.socket);
      if (!pairs.has(pair)) return;
      const keys = byPair.get(pair);
      if (keys) keys.push(key);
      else byPair.set(pair, [key]);
    });
  }

  /** Whether some tracked endpoint shares the event socket's port pair (else it cannot be tracked). */
  mayBeTracked(socket: SocketRecord): boolean {
    return this.#byPair.has(portPair(socket));
  }

  /**
   * The key of the tracked endpoint this socket's close event closes — the last owned (pid ≠ 0) entry
   * of its endpoint, else the first ownerless one — and forgets every candidate of that endpoint (a
   * second event for it in the same poll is another connection). Undefined when none is tracked.
   */
  take(socket: SocketRecord): string | undefined {
    const pair = portPair(socket);
    const keys = this.#byPair.get(pair);
    if (!keys) return undefined;
    let chosen: string | undefined;
    let kept = 0;
    for (let i = 0; i < keys.length; i++) {
      const tracked = this.#endpoints.get(keys[i]);
      if (!tracked || !sameEndpoint(tracked.socket, socket)) {
        keys[kept++] = keys[i];
        continue;
      }
      if (tracked.socket.pid !== 0 || chosen === undefined) chosen = keys[i];
    }
    keys.length = kept;
    if (kept === 0) this.#byPair.delete(pair);
    return chosen;
  }
}
