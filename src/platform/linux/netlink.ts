/**
 * NETLINK_SOCK_DIAG dumps of the TCP and UDP socket tables (what `ss` uses), and their pure decoder.
 *
 * One request per table: a `nlmsghdr` of type `SOCK_DIAG_BY_FAMILY` with `NLM_F_REQUEST | NLM_F_DUMP`,
 * followed by an `inet_diag_req_v2` asking for every state. The kernel answers with a stream of
 * `inet_diag_msg` messages (plus attributes we do not ask for) ended by `NLMSG_DONE`.
 *
 * TCP is first asked for with the older `TCPDIAG_GETSOCK` request (`struct inet_diag_req`), which the
 * kernel answers for IPv4 and IPv6 together (`AF_UNSPEC`) in one walk of its connection hash table
 * instead of two: that walk (262 144 buckets on a 24 GiB machine) is a fixed cost of every poll. When a
 * kernel refuses the first such request, the client uses the two `SOCK_DIAG_BY_FAMILY` dumps for good.
 *
 * Layouts (`include/uapi/linux/netlink.h`, `include/uapi/linux/inet_diag.h`) are the named constants
 * below. Header fields, `uid` and `inode` are in host byte order (little-endian on the machines we run
 * on); ports and addresses in network order. Like /proc/net, netlink names the socket inode but not
 * its owner pid: see `owners.ts`.
 *
 * The I/O (`SockDiagClient`, `sock_diag_client.ts`) keeps one socket and one receive buffer for its whole life; the
 * decoder ({@link decodeInetDiagMessages}, {@link decodeNetlinkChunk}) reads bytes and nothing else.
 *
 * @module
 */

import type { AddressFamily, Protocol, SocketRecord } from "../../model/types.ts";
import { RAW_WORDS, type RecordCache } from "./record_cache.ts";
import { OsCallError } from "../../errors.ts";
import { ipv4Text, ipv6Text } from "./address.ts";
import { linuxTcpStateName } from "./tcp_states.ts";
import {
  AF_INET6,
  NLMSG_ALIGNTO,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLMSG_LEN_OFFSET,
  NLMSG_TYPE_OFFSET,
  SOCK_DIAG_BY_FAMILY,
  TCP_TIME_WAIT_NUMBER,
  TCPDIAG_GETSOCK,
} from "./netlink_request.ts";

export * from "./netlink_request.ts";

/** `struct inet_diag_msg` size in bytes (attributes may follow it). */
export const INET_DIAG_MSG_SIZE = 72;
/** `inet_diag_msg.idiag_family` offset (u8): AF_INET or AF_INET6. */
export const IDIAG_FAMILY_OFFSET = 0;
/** `inet_diag_msg.idiag_state` offset (u8): Linux TCP state number (UDP reports 1 or 7). */
export const IDIAG_STATE_OFFSET = 1;
/** `inet_diag_msg.id.idiag_sport` offset (u16, network order). */
export const IDIAG_SPORT_OFFSET = 4;
/** `inet_diag_msg.id.idiag_dport` offset (u16, network order). */
export const IDIAG_DPORT_OFFSET = 6;
/** `inet_diag_msg.id.idiag_src` offset (16 bytes, network order; IPv4 uses the first 4). */
export const IDIAG_SRC_OFFSET = 8;
/** `inet_diag_msg.id.idiag_dst` offset (16 bytes, network order). */
export const IDIAG_DST_OFFSET = 24;
/** `inet_diag_msg.id.idiag_if` offset (u32, host order): bound interface index (IPv6 scope). */
export const IDIAG_IF_OFFSET = 40;
/** `inet_diag_msg.id.idiag_cookie` offset (two u32 words, host order, low word first). */
export const IDIAG_COOKIE_OFFSET = 44;
/** `inet_diag_msg.idiag_uid` offset (u32, host order). */
export const IDIAG_UID_OFFSET = 64;
/** `inet_diag_msg.idiag_inode` offset (u32, host order); 0 for TIME_WAIT and request sockets. */
export const IDIAG_INODE_OFFSET = 68;

/** Size of the reused receive buffer. Dump replies come in datagrams of at most 32 KiB. */
export const RECEIVE_BUFFER_SIZE = 256 * 1024;
/** Receive timeout: a dump that stalls longer than this fails instead of hanging the poll. */
export const RECEIVE_TIMEOUT_SECONDS = 2;

/** The four tables, one `SOCK_DIAG_BY_FAMILY` dump each (TCP is dumped in one request instead when the kernel allows it). */
export const SOCK_DIAG_TABLES: readonly { protocol: Protocol; family: AddressFamily }[] = [
  { protocol: "tcp", family: 4 },
  { protocol: "tcp", family: 6 },
  { protocol: "udp", family: 4 },
  { protocol: "udp", family: 6 },
];

// ---- pure decoder --------------------------------------------------------------------------------

/** {@link decodeNetlinkChunk} result: more datagrams of this dump follow. */
export const CHUNK_MORE = 0;
/** {@link decodeNetlinkChunk} result: `NLMSG_DONE` seen, the dump is complete. */
export const CHUNK_DONE = 1;

/**
 * Decodes the netlink messages in `view[0, length)` (one received datagram, or several concatenated),
 * appending one record per `SOCK_DIAG_BY_FAMILY` or `TCPDIAG_GETSOCK` message to `rows` (pid 0).
 *
 * @returns {@link CHUNK_MORE}, {@link CHUNK_DONE}, or a negative errno from an `NLMSG_ERROR` message
 *   (or from `NLMSG_DONE` when the kernel reports a failed dump).
 */
export function decodeNetlinkChunk(
  view: DataView,
  length: number,
  protocol: Protocol,
  rows: SocketRecord[],
  cache?: RecordCache,
): number {
  const words = cache && (view.byteOffset & 3) === 0
    ? new Uint32Array(view.buffer, view.byteOffset, length >> 2)
    : undefined;
  let offset = 0;
  while (offset + NLMSG_HDRLEN <= length) {
    const messageLength = view.getUint32(offset + NLMSG_LEN_OFFSET, true);
    if (messageLength < NLMSG_HDRLEN || offset + messageLength > length) {
      return -EBADMSG; // truncated or corrupt
    }
    const type = view.getUint16(offset + NLMSG_TYPE_OFFSET, true);
    const payload = offset + NLMSG_HDRLEN;
    if (type === SOCK_DIAG_BY_FAMILY || type === TCPDIAG_GETSOCK) {
      if (messageLength - NLMSG_HDRLEN >= INET_DIAG_MSG_SIZE) {
        rows.push(
          cache
            ? decodeOrReuse(view, words, payload, protocol, cache)
            : decodeInetDiagMsg(view, payload, protocol),
        );
      }
    } else if (type === NLMSG_DONE) {
      const status = messageLength - NLMSG_HDRLEN >= 4 ? view.getInt32(payload, true) : 0;
      return status < 0 ? status : CHUNK_DONE;
    } else if (type === NLMSG_ERROR) {
      const status = messageLength - NLMSG_HDRLEN >= 4 ? view.getInt32(payload, true) : -EBADMSG;
      if (status !== 0) return status;
    }
    offset += (messageLength + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1);
  }
  return CHUNK_MORE;
}

/** `EBADMSG`: what we report for a truncated or corrupt message. */
export const EBADMSG = 74;

/** Decodes one `inet_diag_msg` starting at `at` (pid 0). */
export function decodeInetDiagMsg(view: DataView, at: number, protocol: Protocol): SocketRecord {
  const isIpv6 = view.getUint8(at + IDIAG_FAMILY_OFFSET) === AF_INET6;
  const family: AddressFamily = isIpv6 ? 6 : 4;
  const stateNumber = view.getUint8(at + IDIAG_STATE_OFFSET);
  const localPort = view.getUint16(at + IDIAG_SPORT_OFFSET, false);
  const remotePort = view.getUint16(at + IDIAG_DPORT_OFFSET, false);
  const localAddress = isIpv6
    ? readIpv6(view, at + IDIAG_SRC_OFFSET)
    : ipv4Text(view.getUint32(at + IDIAG_SRC_OFFSET, false));
  const remoteAddress = isIpv6
    ? readIpv6(view, at + IDIAG_DST_OFFSET)
    : ipv4Text(view.getUint32(at + IDIAG_DST_OFFSET, false));
  const inode = view.getUint32(at + IDIAG_INODE_OFFSET, true);
  const state = protocol === "tcp" ? linuxTcpStateName(stateNumber) : null;
  const row: SocketRecord = {
    protocol,
    family,
    localAddress,
    localPort,
    remoteAddress,
    remotePort,
    state,
    pid: 0,
    inode,
  };
  if (isIpv6) {
    const scopeId = view.getUint32(at + IDIAG_IF_OFFSET, true);
    if (scopeId !== 0) row.scopeId = scopeId;
  }
  return row;
}

/**
 * Returns the cached record when the message's raw words are unchanged, else decodes and caches it.
 * `words` is a 32-bit view of the same memory as `view` when that memory is 4-byte aligned (the
 * receive buffer is); otherwise the words are copied into the cache's scratch array first.
 */
function decodeOrReuse(
  view: DataView,
  words: Uint32Array | undefined,
  at: number,
  protocol: Protocol,
  cache: RecordCache,
): SocketRecord {
  let inode = view.getUint32(at + IDIAG_INODE_OFFSET, true);
  if (inode === 0) {
    // No file: TIME_WAIT remnants (tens of thousands under connection churn) are keyed by their
    // cookie instead, as a negative number; other fileless sockets (accept queues) are not reused.
    if (view.getUint8(at + IDIAG_STATE_OFFSET) !== TCP_TIME_WAIT_NUMBER) {
      return decodeInetDiagMsg(view, at, protocol);
    }
    inode = -(view.getUint32(at + IDIAG_COOKIE_OFFSET + 4, true) * 0x1_0000_0000 +
      view.getUint32(at + IDIAG_COOKIE_OFFSET, true)) - 1;
  }
  let base = at >> 2;
  if (!words) {
    words = cache.raw;
    for (let i = 0; i < RAW_WORDS; i++) words[i] = view.getUint32(at + 4 * i, true);
    base = 0;
  }
  const previous = cache.lookup(inode, words, base);
  if (previous) return previous;
  const record = decodeInetDiagMsg(view, at, protocol);
  cache.store(inode, record, words, base);
  return record;
}

function readIpv6(view: DataView, at: number): string {
  return ipv6Text(
    view.getUint32(at, false),
    view.getUint32(at + 4, false),
    view.getUint32(at + 8, false),
    view.getUint32(at + 12, false),
  );
}

/** A dump that the kernel answered with an error (or that we could not read). */
export class NetlinkDumpError extends OsCallError {
  /**
   * @param code the negative errno from the reply.
   * @param detail which dump, e.g. `tcp6`.
   */
  constructor(code: number, detail: string) {
    super("NETLINK_SOCK_DIAG", code, detail);
    this.name = "NetlinkDumpError";
  }
}

/**
 * Decodes a complete captured reply (all datagrams of one dump, concatenated) into socket records.
 * Stops at `NLMSG_DONE`; throws {@link NetlinkDumpError} when the reply carries an error.
 *
 * @param bytes the reply bytes.
 * @param protocol which table was dumped (`tcp` records carry a state, `udp` records `null`).
 * @param rows records are appended here; a new array when omitted.
 * @returns `rows`.
 */
export function decodeInetDiagMessages(
  bytes: Uint8Array,
  protocol: Protocol,
  rows: SocketRecord[] = [],
): SocketRecord[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const status = decodeNetlinkChunk(view, bytes.byteLength, protocol, rows);
  if (status < 0) throw new NetlinkDumpError(status, protocol);
  return rows;
}
