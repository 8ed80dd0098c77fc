/**
 * Pure decoder of sock_diag destroy notifications: the `SOCK_DIAG_BY_FAMILY` messages the kernel
 * multicasts to the `SKNLGRP_*_DESTROY` groups as each TCP or UDP socket is freed.
 *
 * Each message is an `inet_diag_msg` (the layout of the dumps, see `../netlink.ts`) followed by netlink
 * attributes: `INET_DIAG_PROTOCOL` (u8) always, and for TCP `INET_DIAG_INFO` (`struct tcp_info`). The
 * kernel leaves `idiag_uid` and `idiag_inode` 0 here: the socket has no file any more.
 *
 * @module
 */

import type { Protocol, SocketRecord } from "../../../model/types.ts";
import { ipv4Text, ipv6Text } from "../address.ts";
import { linuxTcpStateName } from "../tcp_states.ts";
import { joinKey4, joinKey6 } from "./join_key.ts";
import {
  AF_INET6,
  decodeInetDiagMsg,
  EBADMSG,
  IDIAG_COOKIE_OFFSET,
  IDIAG_DPORT_OFFSET,
  IDIAG_DST_OFFSET,
  IDIAG_FAMILY_OFFSET,
  IDIAG_IF_OFFSET,
  IDIAG_INODE_OFFSET,
  IDIAG_SPORT_OFFSET,
  IDIAG_SRC_OFFSET,
  IDIAG_STATE_OFFSET,
  IDIAG_UID_OFFSET,
  INET_DIAG_MSG_SIZE,
  IPPROTO_TCP,
  IPPROTO_UDP,
  NLMSG_ALIGNTO,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLMSG_LEN_OFFSET,
  NLMSG_TYPE_OFFSET,
  SOCK_DIAG_BY_FAMILY,
} from "../netlink.ts";

/** `SKNLGRP_INET_TCP_DESTROY` multicast group number. */
export const SKNLGRP_INET_TCP_DESTROY = 1;
/** `SKNLGRP_INET_UDP_DESTROY` multicast group number. */
export const SKNLGRP_INET_UDP_DESTROY = 2;
/** `SKNLGRP_INET6_TCP_DESTROY` multicast group number. */
export const SKNLGRP_INET6_TCP_DESTROY = 3;
/** `SKNLGRP_INET6_UDP_DESTROY` multicast group number. */
export const SKNLGRP_INET6_UDP_DESTROY = 4;
/** `sockaddr_nl.nl_groups` bit mask of the four destroy groups (`1 << (group - 1)` each). */
export const DESTROY_GROUPS_MASK = (1 << (SKNLGRP_INET_TCP_DESTROY - 1)) |
  (1 << (SKNLGRP_INET_UDP_DESTROY - 1)) | (1 << (SKNLGRP_INET6_TCP_DESTROY - 1)) |
  (1 << (SKNLGRP_INET6_UDP_DESTROY - 1));

/** `struct nlattr` header size (`u16 nla_len`, `u16 nla_type`). */
export const NLA_HDRLEN = 4;
/** `INET_DIAG_INFO` attribute type: `struct tcp_info`. */
export const INET_DIAG_INFO = 2;
/** `INET_DIAG_PROTOCOL` attribute type: u8 IP protocol number. */
export const INET_DIAG_PROTOCOL = 10;

/** `tcp_info.tcpi_state` offset (u8). */
export const TCPI_STATE_OFFSET = 0;
/** `tcp_info.tcpi_bytes_acked` offset (u64, host order): bytes sent and acknowledged. */
export const TCPI_BYTES_ACKED_OFFSET = 120;
/** `tcp_info.tcpi_bytes_received` offset (u64, host order). */
export const TCPI_BYTES_RECEIVED_OFFSET = 128;
/** Smallest `tcp_info` that holds both byte counters. */
export const TCPI_MIN_SIZE_FOR_BYTES = TCPI_BYTES_RECEIVED_OFFSET + 8;

/** One freed socket as a destroy notification describes it. */
export interface DestroyedSocket {
  /** The endpoint (pid 0, no inode); `state` is the kernel's state at destruction (usually `CLOSED`). */
  socket: SocketRecord;
  /** The kernel's socket cookie (the same one its dumps carry; a counter, exact as a number). */
  cookie: number;
  /** The uid that owned the socket (`sk_uid`: the creating process's effective uid). */
  uid: number;
  /** `tcpi_bytes_acked` (TCP only). */
  bytesSent?: number;
  /** `tcpi_bytes_received` (TCP only). */
  bytesReceived?: number;
  /** Its join key with the tracepoint's view of it (`join_key.ts`; TCP only). */
  joinKey?: string;
}

/**
 * Decodes every destroy notification in `view[0, length)` (one received datagram), appending to `out`.
 * Messages of other types, and messages too short for an `inet_diag_msg`, are skipped.
 *
 * @returns the number of messages appended, or a negative errno when the datagram is corrupt or is
 *   an `NLMSG_ERROR`.
 */
export function decodeDestroyDatagram(view: DataView, length: number, out: DestroyedSocket[]): number {
  let offset = 0;
  let count = 0;
  while (offset + NLMSG_HDRLEN <= length) {
    const messageLength = view.getUint32(offset + NLMSG_LEN_OFFSET, true);
    if (messageLength < NLMSG_HDRLEN || offset + messageLength > length) return -EBADMSG;
    const type = view.getUint16(offset + NLMSG_TYPE_OFFSET, true);
    if (type === NLMSG_ERROR) {
      const status = messageLength - NLMSG_HDRLEN >= 4
        ? view.getInt32(offset + NLMSG_HDRLEN, true)
        : -EBADMSG;
      if (status !== 0) return status;
    } else if (type === SOCK_DIAG_BY_FAMILY && messageLength - NLMSG_HDRLEN >= INET_DIAG_MSG_SIZE) {
      const decoded = decodeDestroyMessage(view, offset, messageLength);
      if (decoded) {
        out.push(decoded);
        count++;
      }
    }
    offset += (messageLength + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1);
  }
  return count;
}

/** Decodes one message (header at `at`, `messageLength` bytes); undefined for a protocol we do not log. */
function decodeDestroyMessage(
  view: DataView,
  at: number,
  messageLength: number,
): DestroyedSocket | undefined {
  const payload = at + NLMSG_HDRLEN;
  let protocolNumber = -1;
  let info = -1;
  let infoLength = 0;
  let attr = payload + INET_DIAG_MSG_SIZE;
  const end = at + messageLength;
  while (attr + NLA_HDRLEN <= end) {
    const attrLength = view.getUint16(attr, true);
    if (attrLength < NLA_HDRLEN || attr + attrLength > end) break;
    const attrType = view.getUint16(attr + 2, true) & 0x3fff; // without NLA_F_NESTED / NLA_F_NET_BYTEORDER
    if (attrType === INET_DIAG_PROTOCOL && attrLength > NLA_HDRLEN) protocolNumber = view.getUint8(attr + 4);
    if (attrType === INET_DIAG_INFO) {
      info = attr + NLA_HDRLEN;
      infoLength = attrLength - NLA_HDRLEN;
    }
    attr += (attrLength + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1);
  }
  if (protocolNumber !== IPPROTO_TCP && protocolNumber !== IPPROTO_UDP) return undefined;
  const protocol = protocolNumber === IPPROTO_TCP ? "tcp" : "udp";
  const socket = view.getUint32(payload + IDIAG_INODE_OFFSET, true) === 0
    ? decodeFreedSocket(view, payload, protocol)
    : decodeInetDiagMsg(view, payload, protocol);
  const counted = protocol === "tcp" && info >= 0 && infoLength >= TCPI_MIN_SIZE_FOR_BYTES;
  // Every field at once (those not known undefined): one object of one shape, no property added later.
  const destroyed: DestroyedSocket = {
    socket,
    cookie: readU64(view, payload + IDIAG_COOKIE_OFFSET),
    uid: view.getUint32(payload + IDIAG_UID_OFFSET, true),
    bytesSent: counted ? readU64(view, info + TCPI_BYTES_ACKED_OFFSET) : undefined,
    bytesReceived: counted ? readU64(view, info + TCPI_BYTES_RECEIVED_OFFSET) : undefined,
    joinKey: protocol === "tcp" ? messageJoinKey(view, payload) : undefined,
  };
  return destroyed;
}

/**
 * The `inet_diag_msg` at `at` of a socket without a file (inode 0) as a record without `inode`: the
 * fields of {@link decodeInetDiagMsg}'s record in the same order, but for that one (made without
 * it: a `delete` would turn every record of a burst into a dictionary-mode object of about 480 bytes
 * instead of about 130, and a copy without it costs a second object).
 */
export function decodeFreedSocket(view: DataView, at: number, protocol: Protocol): SocketRecord {
  const isIpv6 = view.getUint8(at + IDIAG_FAMILY_OFFSET) === AF_INET6;
  const socket: SocketRecord = {
    protocol,
    family: isIpv6 ? 6 : 4,
    localAddress: isIpv6
      ? readIpv6(view, at + IDIAG_SRC_OFFSET)
      : ipv4Text(view.getUint32(at + IDIAG_SRC_OFFSET, false)),
    localPort: view.getUint16(at + IDIAG_SPORT_OFFSET, false),
    remoteAddress: isIpv6
      ? readIpv6(view, at + IDIAG_DST_OFFSET)
      : ipv4Text(view.getUint32(at + IDIAG_DST_OFFSET, false)),
    remotePort: view.getUint16(at + IDIAG_DPORT_OFFSET, false),
    state: protocol === "tcp" ? linuxTcpStateName(view.getUint8(at + IDIAG_STATE_OFFSET)) : null,
    pid: 0,
  };
  if (isIpv6) {
    const scopeId = view.getUint32(at + IDIAG_IF_OFFSET, true);
    if (scopeId !== 0) socket.scopeId = scopeId;
  }
  return socket;
}

/** The join key of the `inet_diag_msg` at `at`, from its raw numbers. */
function messageJoinKey(view: DataView, at: number): string {
  const localPort = view.getUint16(at + IDIAG_SPORT_OFFSET, false);
  const remotePort = view.getUint16(at + IDIAG_DPORT_OFFSET, false);
  const local = at + IDIAG_SRC_OFFSET, remote = at + IDIAG_DST_OFFSET;
  if (view.getUint8(at + IDIAG_FAMILY_OFFSET) !== AF_INET6) {
    return joinKey4(view.getUint32(local, false), localPort, view.getUint32(remote, false), remotePort);
  }
  return joinKey6(
    view.getUint32(local, false),
    view.getUint32(local + 4, false),
    view.getUint32(local + 8, false),
    view.getUint32(local + 12, false),
    localPort,
    view.getUint32(remote, false),
    view.getUint32(remote + 4, false),
    view.getUint32(remote + 8, false),
    view.getUint32(remote + 12, false),
    remotePort,
  );
}

function readIpv6(view: DataView, at: number): string {
  return ipv6Text(
    view.getUint32(at, false),
    view.getUint32(at + 4, false),
    view.getUint32(at + 8, false),
    view.getUint32(at + 12, false),
  );
}

/** A little-endian u64 as a number (exact below 2^53, no bigint made). */
function readU64(view: DataView, at: number): number {
  return view.getUint32(at + 4, true) * 0x1_0000_0000 + view.getUint32(at, true);
}

/**
 * Decodes captured datagrams (a fixture: each datagram preceded by its u32 length, host order).
 * Throws on a corrupt datagram.
 */
export function decodeDestroyCapture(bytes: Uint8Array): DestroyedSocket[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: DestroyedSocket[] = [];
  let offset = 0;
  while (offset + 4 <= bytes.byteLength) {
    const length = view.getUint32(offset, true);
    if (offset + 4 + length > bytes.byteLength) throw new Error("truncated capture");
    const status = decodeDestroyDatagram(
      new DataView(bytes.buffer, bytes.byteOffset + offset + 4, length),
      length,
      out,
    );
    if (status < 0) throw new Error(`corrupt destroy datagram (errno ${-status})`);
    offset += 4 + length;
  }
  return out;
}
