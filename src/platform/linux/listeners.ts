/**
 * Accepted connections belong to their listener's owner.
 *
 * A connection the kernel has accepted but the server has not yet taken with `accept(2)` waits in
 * the listener's queue: it has no file, so no inode and no owner in a poll; and a connection that
 * came and went between two polls has no owner in its destroy notification. Both are the accepted
 * side of a listener on the same local port: they are attributed to the listener's owner. A socket
 * already accepted (it has an inode) whose owner the poll has not found yet is hinted to the
 * listener's owner when that process alone holds the listener, which spares the descriptor scan.
 *
 * @module
 */

import type { SocketRecord, TcpState } from "../../model/types.ts";

/**
 * Listener owner pid by `family:port` (and `family:address:port` for listeners on one address); the
 * pid is negated when several processes hold the listener (a pre-forking server: any of them may
 * accept).
 */
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
    if (!owners.has(key)) owners.set(key, (socket.holders?.length ?? 0) > 1 ? -socket.pid : socket.pid);
  }
  return owners;
}

/** The owner of the listener a TCP socket was accepted from; undefined when there is none. */
function acceptedBy(socket: SocketRecord, owners: ListenerOwners): number | undefined {
  if (socket.protocol !== "tcp" || socket.remotePort === 0 || socket.state === "LISTEN") return undefined;
  return owners.get(`${socket.family}:${socket.localAddress}:${socket.localPort}`) ??
    owners.get(`${socket.family}:${socket.localPort}`);
}

/**
 * The owner hint for an accepted socket whose inode is not known yet: its listener's owner when one
 * process alone holds the listener (only that process can have accepted it, unless it passed the
 * socket on); undefined otherwise, so that the poll looks for the owner.
 */
export function acceptedOwnerHint(socket: SocketRecord, owners: ListenerOwners): number | undefined {
  const pid = acceptedBy(socket, owners);
  return pid !== undefined && pid > 0 ? pid : undefined;
}

/**
 * Sets the listener owner's pid on every ownerless TCP socket of `sockets` that is the accepted side
 * of a listener in `owners`: without an inode and in a queued state, or (`closed`, for close events)
 * in any state.
 */
export function attributeToListeners(sockets: SocketRecord[], owners: ListenerOwners, closed = false): void {
  if (owners.size === 0) return;
  for (let i = 0; i < sockets.length; i++) attributeToListener(sockets[i], owners, closed);
}

/** {@link attributeToListeners} for one socket. */
export function attributeToListener(socket: SocketRecord, owners: ListenerOwners, closed = false): void {
  if (socket.pid !== 0 || socket.protocol !== "tcp" || socket.remotePort === 0 || owners.size === 0) return;
  if (!closed && ((socket.inode ?? 0) !== 0 || !QUEUED_STATES.has(socket.state))) return;
  const pid = acceptedBy(socket, owners);
  if (pid !== undefined) socket.pid = Math.abs(pid); // a shared listener: its oldest holder
}
