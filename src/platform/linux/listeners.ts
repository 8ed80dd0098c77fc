/**
 * Accepted connections belong to their listener's owner.
 *
 * A connection the kernel has accepted but the server has not yet taken with `accept(2)` waits in
 * the listener's queue: it has no file, so no inode and no owner in a poll; and a connection that
 * came and went between two polls has no owner in its destroy notification. Both are the accepted
 * side of a listener on the same local port: they are attributed to the listener's owner.
 *
 * @module
 */

import type { SocketRecord, TcpState } from "../../model/types.ts";

/** Listener owner pid by `family:port` (and `family:address:port` for listeners on one address). */
export type ListenerOwners = Map<string, number>;

/** States of a socket that can be waiting in an accept queue (it has no file yet). */
const QUEUED_STATES: ReadonlySet<TcpState | null> = new Set<TcpState | null>([
  "ESTABLISHED",
  "SYN_RECEIVED",
  "CLOSE_WAIT",
]);

/** The owners of every owned TCP listener among `sockets`. */
export function listenerOwners(sockets: readonly SocketRecord[]): ListenerOwners {
  const owners: ListenerOwners = new Map();
  for (const socket of sockets) {
    if (socket.state !== "LISTEN" || socket.pid === 0 || socket.protocol !== "tcp") continue;
    const wildcard = socket.localAddress === "0.0.0.0" || socket.localAddress === "::";
    const key = wildcard
      ? `${socket.family}:${socket.localPort}`
      : `${socket.family}:${socket.localAddress}:${socket.localPort}`;
    if (!owners.has(key)) owners.set(key, socket.pid);
  }
  return owners;
}

/**
 * Sets the listener owner's pid on every ownerless TCP socket of `sockets` that is the accepted side
 * of a listener in `owners`: without an inode and in a queued state, or (`closed`, for close events)
 * in any state.
 */
export function attributeToListeners(sockets: SocketRecord[], owners: ListenerOwners, closed = false): void {
  if (owners.size === 0) return;
  for (const socket of sockets) {
    if (socket.pid !== 0 || socket.protocol !== "tcp" || socket.remotePort === 0) continue;
    if (!closed && ((socket.inode ?? 0) !== 0 || !QUEUED_STATES.has(socket.state))) continue;
    const pid = owners.get(`${socket.family}:${socket.localAddress}:${socket.localPort}`) ??
      owners.get(`${socket.family}:${socket.localPort}`);
    if (pid !== undefined) socket.pid = pid;
  }
}
