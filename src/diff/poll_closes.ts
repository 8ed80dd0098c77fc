/**
 * The `closed` records a poll logged while an event source reports every close — an endpoint closed
 * once its wait for its close event was over, or an owner letting go of a socket (its ownerless row
 * still listed) — remembered so that the endpoint's destroy notification, when it comes later still,
 * is taken as that close and not as a second endpoint (see `diff.ts`).
 *
 * @module
 */

import { endpointKey, type SocketEvent, type SocketRecord } from "../model/types.ts";

/** What is remembered of one such `closed`. */
interface PollClose {
  /** The time the `closed` gives. */
  closedAt: number;
  /** The poll that logged it, or that last listed the row its owner let go. */
  windowFrom: number;
  /** The owner it was closed with (0: none). */
  pid: number;
}

/** Endpoint key → its poll's `closed`, in the order they were remembered. */
export class PollCloses {
  readonly #closes = new Map<string, PollClose>();

  /**
   * @param waitMs how long after {@link PollClose.windowFrom} an untraced notification still counts.
   * @param max most closes remembered (more are not).
   */
  constructor(readonly waitMs: number, readonly max: number) {}

  /** How many are remembered. */
  get size(): number {
    return this.#closes.size;
  }

  /** Remembers the `closed` of `socket`'s endpoint at `closedAt`, logged at `windowFrom` with owner `pid`. */
  remember(socket: SocketRecord, closedAt: number, windowFrom: number, pid: number): void {
    const endpoint = endpointKey(socket);
    const known = this.#closes.delete(endpoint); // re-inserted last: the map stays in order
    if (known || this.#closes.size < this.max) this.#closes.set(endpoint, { closedAt, windowFrom, pid });
  }

  /** The row an owner let go is no longer listed (at `time`): an untraced notification is timed from then. */
  rowGone(socket: SocketRecord, time: number): void {
    const endpoint = endpointKey(socket);
    const known = this.#closes.get(endpoint);
    if (!known) return;
    this.#closes.delete(endpoint);
    known.windowFrom = time;
    this.#closes.set(endpoint, known);
  }

  /**
   * Whether `event` is the late notification of a remembered close (and forgets it then): the same
   * endpoint, opened before that close — a new connection on the same four numbers opens after it —
   * or, when its open was not traced, received at most {@link waitMs} after the poll that logged it
   * (or that last listed the let-go row) and not named as another process's (an untraced close is
   * timed when its notification is received, which is late by seconds in a burst).
   */
  isLate(event: SocketEvent): boolean {
    if (this.#closes.size === 0) return false;
    const endpoint = endpointKey(event.socket);
    const close = this.#closes.get(endpoint);
    if (close === undefined) return false;
    const pid = event.socket.pid;
    const late = event.openedAt === undefined
      ? event.time - close.windowFrom <= this.waitMs && (pid === 0 || close.pid === 0 || pid === close.pid)
      : event.openedAt <= close.closedAt;
    if (late) this.#closes.delete(endpoint);
    return late;
  }

  /** Forgets the closes remembered at or before `before` ({@link PollClose.windowFrom}). */
  prune(before: number): void {
    for (const [endpoint, close] of this.#closes) {
      if (close.windowFrom > before) return;
      this.#closes.delete(endpoint);
    }
  }
}
