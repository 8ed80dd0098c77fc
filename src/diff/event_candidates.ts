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
   * The key of the tracked endpoint this close event closes, and forgets it. Several entries of one
   * endpoint are several sockets (`SO_REUSEPORT` listeners, or sockets of several processes), and each
   * event takes one: the entry of the event's process when it names one; else one missing from the
   * last dump (already gone: its notification is the likeliest); else the last owned (pid ≠ 0) entry;
   * else the first ownerless one. An entry missing since before the event's traced open is never
   * taken: that socket had left the table before this one opened. A second event for an endpoint with
   * a single entry finds none (another connection on the same numbers). Undefined when none is tracked.
   */
  take(event: SocketEvent): string | undefined {
    const { socket, openedAt } = event;
    const keys = this.#byPair.get(portPair(socket));
    if (!keys) return undefined;
    let chosen = -1;
    let rank = 0; // of the chosen entry: 3 its process, 2 missing, 1 owned, 0 ownerless
    for (let i = 0; i < keys.length; i++) {
      const tracked = this.#endpoints.get(keys[i]);
      if (!tracked || !sameEndpoint(tracked.socket, socket)) continue;
      const missing = tracked.missingSince;
      if (openedAt !== undefined && missing !== undefined && openedAt > missing) continue;
      const pid = tracked.socket.pid;
      const r = socket.pid !== 0 && pid === socket.pid ? 3 : missing !== undefined ? 2 : pid !== 0 ? 1 : 0;
      if (chosen < 0 || r > rank || (r === 1 && rank === 1)) [chosen, rank] = [i, r];
      if (r === 3) break;
    }
    if (chosen < 0) return undefined;
    const key = keys[chosen];
    keys.splice(chosen, 1);
    if (keys.length === 0) this.#byPair.delete(portPair(socket));
    return key;
  }
}
