/**
 * Linux TCP state numbers (`include/net/tcp_states.h`) and their portreporter names.
 *
 * @module
 */

import type { TcpState } from "../../model/types.ts";

/**
 * TcpState name by Linux state number. Index 0 is unused by the kernel; 13 (`TCP_BOUND_INACTIVE`,
 * a bound TCP socket that neither listens nor connects) is reported only by netlink on kernel ≥ 6.7.
 */
export const LINUX_TCP_STATE_NAMES: readonly TcpState[] = [
  "CLOSED", // 0: not a kernel state
  "ESTABLISHED", // 1 TCP_ESTABLISHED
  "SYN_SENT", // 2 TCP_SYN_SENT
  "SYN_RECEIVED", // 3 TCP_SYN_RECV
  "FIN_WAIT1", // 4 TCP_FIN_WAIT1
  "FIN_WAIT2", // 5 TCP_FIN_WAIT2
  "TIME_WAIT", // 6 TCP_TIME_WAIT
  "CLOSED", // 7 TCP_CLOSE
  "CLOSE_WAIT", // 8 TCP_CLOSE_WAIT
  "LAST_ACK", // 9 TCP_LAST_ACK
  "LISTEN", // 10 TCP_LISTEN
  "CLOSING", // 11 TCP_CLOSING
  "NEW_SYN_RECV", // 12 TCP_NEW_SYN_RECV
  "BOUND", // 13 TCP_BOUND_INACTIVE
];

/** TcpState name of a Linux TCP state number; numbers the kernel does not define read as `CLOSED`. */
export function linuxTcpStateName(stateNumber: number): TcpState {
  return LINUX_TCP_STATE_NAMES[stateNumber] ?? "CLOSED";
}
