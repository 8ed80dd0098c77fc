/**
 * Warning kinds the Linux collector counts in `Snapshot.warnings`, and the counting helper.
 *
 * @module
 */

/** A process listed in /proc vanished before its fd directory could be read. */
export const WARNING_OWNER_PID_VANISHED = "owner-scan-vanished";
/** The fd directory of a process could not be read (EACCES): its sockets stay without owner. */
export const WARNING_OWNER_ACCESS_DENIED = "owner-scan-denied";
/** A process that owns a socket vanished before its details could be read. */
export const WARNING_PROCESS_VANISHED = "process-vanished";
/** Some details of a process could not be read (EACCES). */
export const WARNING_PROCESS_ACCESS_DENIED = "process-access-denied";
/** A detail of a process could not be read for another reason (an I/O error): its entry is partial. */
export const WARNING_PROCESS_DETAIL_UNREADABLE = "process-detail-unreadable";
/** Netlink sock_diag failed; this poll (and every later one) reads /proc/net instead. */
export const WARNING_NETLINK_FALLBACK = "netlink-unavailable";

/** Warning counts by kind, as in `Snapshot.warnings`. */
export type WarningCounts = Record<string, number>;

/** Adds one to the count of `kind`. */
export function countWarning(warnings: WarningCounts, kind: string): void {
  warnings[kind] = (warnings[kind] ?? 0) + 1;
}
