/**
 * The requests of NETLINK_SOCK_DIAG dumps (see `netlink.ts`): the socket(2) and netlink constants,
 * the layouts of `inet_diag_req_v2` (`SOCK_DIAG_BY_FAMILY`) and `inet_diag_req` (`TCPDIAG_GETSOCK`),
 * and their pure encoders.
 *
 * @module
 */

import type { AddressFamily, Protocol } from "../../model/types.ts";

// ---- socket(2) and netlink constants -------------------------------------------------------------

/** `AF_NETLINK` address family. */
export const AF_NETLINK = 16;
/** `AF_INET` address family. */
export const AF_INET = 2;
/** `AF_INET6` address family. */
export const AF_INET6 = 10;
/** `SOCK_RAW` socket type. */
export const SOCK_RAW = 3;
/** `SOCK_CLOEXEC` flag for the socket type. */
export const SOCK_CLOEXEC = 0o2000000;
/** `NETLINK_SOCK_DIAG` netlink protocol. */
export const NETLINK_SOCK_DIAG = 4;
/** `IPPROTO_TCP`. */
export const IPPROTO_TCP = 6;
/** `IPPROTO_UDP`. */
export const IPPROTO_UDP = 17;
/** `SOL_SOCKET` option level. */
export const SOL_SOCKET = 1;
/** `SO_RCVTIMEO` option (x86_64 / aarch64 `struct timeval` flavour). */
export const SO_RCVTIMEO = 20;

/** `struct nlmsghdr` size in bytes (`NLMSG_HDRLEN`). */
export const NLMSG_HDRLEN = 16;
/** `nlmsghdr.nlmsg_len` offset (u32, host order): length of header plus payload. */
export const NLMSG_LEN_OFFSET = 0;
/** `nlmsghdr.nlmsg_type` offset (u16, host order). */
export const NLMSG_TYPE_OFFSET = 4;
/** `nlmsghdr.nlmsg_flags` offset (u16, host order). */
export const NLMSG_FLAGS_OFFSET = 6;
/** `nlmsghdr.nlmsg_seq` offset (u32, host order). */
export const NLMSG_SEQ_OFFSET = 8;
/** `nlmsghdr.nlmsg_pid` offset (u32, host order). */
export const NLMSG_PID_OFFSET = 12;
/** Netlink messages are padded to this alignment (`NLMSG_ALIGNTO`). */
export const NLMSG_ALIGNTO = 4;
/** `NLMSG_ERROR` message type; payload starts with a negative errno (0 = ack). */
export const NLMSG_ERROR = 2;
/** `NLMSG_DONE` message type: end of a dump. */
export const NLMSG_DONE = 3;
/** `SOCK_DIAG_BY_FAMILY` request and reply message type. */
export const SOCK_DIAG_BY_FAMILY = 20;
/** `TCPDIAG_GETSOCK` request and reply message type: TCP of both address families in one dump. */
export const TCPDIAG_GETSOCK = 18;
/** `NLM_F_REQUEST` flag. */
export const NLM_F_REQUEST = 0x1;
/** `NLM_F_DUMP` flags (`NLM_F_ROOT | NLM_F_MATCH`). */
export const NLM_F_DUMP = 0x300;

/** `struct sockaddr_nl` size: family u16, pad u16, pid u32 (0 = the kernel), groups u32. */
export const SOCKADDR_NL_SIZE = 12;

/** `struct inet_diag_req_v2` size in bytes. */
export const INET_DIAG_REQ_V2_SIZE = 56;
/** `inet_diag_req_v2.sdiag_family` offset (u8). */
export const INET_DIAG_REQ_FAMILY_OFFSET = 0;
/** `inet_diag_req_v2.sdiag_protocol` offset (u8). */
export const INET_DIAG_REQ_PROTOCOL_OFFSET = 1;
/** `inet_diag_req_v2.idiag_ext` offset (u8): extensions wanted, none. */
export const INET_DIAG_REQ_EXT_OFFSET = 2;
/** `inet_diag_req_v2.idiag_states` offset (u32 bit mask, bit n = state n). */
export const INET_DIAG_REQ_STATES_OFFSET = 4;
/** Every state bit set: dump sockets in any state. */
export const INET_DIAG_ALL_STATES = 0xffffffff;

/** `struct inet_diag_req` (the `TCPDIAG_GETSOCK` request) size in bytes. */
export const INET_DIAG_REQ_SIZE = 60;
/**
 * `inet_diag_req.idiag_states` offset (u32 bit mask), after family, two lengths, ext (u8 each) and the
 * 48-byte `inet_diag_sockid`. The family byte is ignored by the kernel (it dumps both).
 */
export const INET_DIAG_REQ_COMPAT_STATES_OFFSET = 52;

/** Linux state number of `TCP_TIME_WAIT`. */
export const TCP_TIME_WAIT_NUMBER = 6;
/**
 * Every state but `TIME_WAIT`: what the monitor dumps while destroy notifications report each close
 * (a TIME_WAIT remnant then tells nothing new, and connection churn leaves tens of thousands).
 */
export const INET_DIAG_STATES_BUT_TIME_WAIT = (INET_DIAG_ALL_STATES & ~(1 << TCP_TIME_WAIT_NUMBER)) >>> 0;

// ---- encoders ---------------------------------------------------------------------------------

/**
 * Writes the 72-byte `SOCK_DIAG_BY_FAMILY` dump request for one table into `into` (zeroed first): the sockets in the states
 * of the `states` bit mask (bit n = Linux state n; every state by default).
 * @returns `into`.
 */
export function encodeSockDiagRequest(
  into: Uint8Array,
  protocol: Protocol,
  family: AddressFamily,
  sequence: number,
  states = INET_DIAG_ALL_STATES,
): Uint8Array {
  into.fill(0, 0, NLMSG_HDRLEN + INET_DIAG_REQ_V2_SIZE);
  const view = new DataView(into.buffer, into.byteOffset, into.byteLength);
  view.setUint32(NLMSG_LEN_OFFSET, NLMSG_HDRLEN + INET_DIAG_REQ_V2_SIZE, true);
  view.setUint16(NLMSG_TYPE_OFFSET, SOCK_DIAG_BY_FAMILY, true);
  view.setUint16(NLMSG_FLAGS_OFFSET, NLM_F_REQUEST | NLM_F_DUMP, true);
  view.setUint32(NLMSG_SEQ_OFFSET, sequence >>> 0, true);
  const request = NLMSG_HDRLEN;
  view.setUint8(request + INET_DIAG_REQ_FAMILY_OFFSET, family === 6 ? AF_INET6 : AF_INET);
  view.setUint8(request + INET_DIAG_REQ_PROTOCOL_OFFSET, protocol === "tcp" ? IPPROTO_TCP : IPPROTO_UDP);
  view.setUint8(request + INET_DIAG_REQ_EXT_OFFSET, 0);
  view.setUint32(request + INET_DIAG_REQ_STATES_OFFSET, states >>> 0, true);
  return into;
}

/**
 * Writes the 76-byte `TCPDIAG_GETSOCK` dump request (TCP, IPv4 and IPv6, the states in `states`, every state by default) into `into`
 * (zeroed first).
 * @returns `into`.
 */
export function encodeTcpDiagCompatRequest(
  into: Uint8Array,
  sequence: number,
  states = INET_DIAG_ALL_STATES,
): Uint8Array {
  into.fill(0, 0, NLMSG_HDRLEN + INET_DIAG_REQ_SIZE);
  const view = new DataView(into.buffer, into.byteOffset, into.byteLength);
  view.setUint32(NLMSG_LEN_OFFSET, NLMSG_HDRLEN + INET_DIAG_REQ_SIZE, true);
  view.setUint16(NLMSG_TYPE_OFFSET, TCPDIAG_GETSOCK, true);
  view.setUint16(NLMSG_FLAGS_OFFSET, NLM_F_REQUEST | NLM_F_DUMP, true);
  view.setUint32(NLMSG_SEQ_OFFSET, sequence >>> 0, true);
  view.setUint32(NLMSG_HDRLEN + INET_DIAG_REQ_COMPAT_STATES_OFFSET, states >>> 0, true);
  return into;
}
