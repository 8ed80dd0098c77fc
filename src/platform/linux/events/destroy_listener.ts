/**
 * The sock_diag destroy listener: a `NETLINK_SOCK_DIAG` socket bound to the four destroy groups
 * (no privilege needed, kernel ≥ 4.2). It is non-blocking and read only when readable (see
 * `readable_waiter.ts`) or when a poll drains it, many datagrams per call (`datagram_batch.ts`).
 *
 * The receive buffer is sized for bursts (`SO_RCVBUFFORCE` as root, else `SO_RCVBUF`, which the
 * kernel caps at `net.core.rmem_max`). When it overflows the kernel drops notifications and the next
 * receive fails with `ENOBUFS` once: that is counted as an overrun (how many were lost is unknown; the
 * poll still reconciles what is left).
 *
 * @module
 */

import { OsCallError } from "../../../errors.ts";
import { type LibcLibrary, openLibc } from "../ffi_libc.ts";
import {
  AF_NETLINK,
  NETLINK_SOCK_DIAG,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOCKADDR_NL_SIZE,
  SOL_SOCKET,
} from "../netlink.ts";
import { decodeDestroyDatagram, DESTROY_GROUPS_MASK, type DestroyedSocket } from "./destroy_decode.ts";
import { DatagramBatch } from "./datagram_batch.ts";

/** `SOCK_NONBLOCK` flag for the socket type. */
export const SOCK_NONBLOCK = 0o4000;
/** `SO_RCVBUF` option. */
export const SO_RCVBUF = 8;
/** `SO_RCVBUFFORCE` option (CAP_NET_ADMIN: above `rmem_max`). */
export const SO_RCVBUFFORCE = 33;
/** `MSG_DONTWAIT` recv flag. */
export const MSG_DONTWAIT = 0x40;
/** `EAGAIN` / `EWOULDBLOCK`. */
export const EAGAIN = 11;
/** `EINTR`. */
export const EINTR = 4;
/** `ENOBUFS`: the receive buffer overflowed and notifications were dropped. */
export const ENOBUFS = 105;
/** `sockaddr_nl.nl_groups` offset. */
export const SOCKADDR_NL_GROUPS_OFFSET = 8;
/**
 * Receive buffer asked for. The kernel doubles it and charges 1 280 bytes per notification (measured
 * on 6.18: a TCP notification with its `tcp_info`), so it holds about 78 000 unread: a mass close of
 * 65 000 sockets while a long poll keeps the reader away. Kernel memory, used only while unread.
 */
export const DESTROY_RCVBUF_BYTES = 48 * 1024 * 1024;

/** Reads the calling thread's `errno` through libc. */
export function readErrno(library: LibcLibrary): number {
  const pointer = library.symbols.__errno_location();
  return pointer === null ? 0 : new Deno.UnsafePointerView(pointer).getInt32(0);
}

/** Counters of a {@link DestroyListener}. */
export interface DestroyListenerStats {
  /** Notifications decoded. */
  received: number;
  /** Times the kernel reported an overflowed receive buffer (`ENOBUFS`): notifications were lost. */
  overruns: number;
}

/** The destroy-notification socket; see the module description. */
export class DestroyListener {
  readonly #library: LibcLibrary;
  #fd: number;
  readonly #batch = new DatagramBatch();
  /** Counters since creation. */
  readonly stats: DestroyListenerStats = { received: 0, overruns: 0 };
  /** The receive buffer size the kernel granted (`SO_RCVBUF` reads back double the request). */
  readonly receiveBufferBytes: number;

  /** Opens and binds the socket. Throws {@link OsCallError} when the kernel refuses. */
  constructor() {
    this.#library = openLibc();
    const libc = this.#library.symbols;
    const fd = libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_SOCK_DIAG);
    if (fd < 0) {
      const errno = readErrno(this.#library);
      this.#library.close();
      throw new OsCallError("socket", -errno, "NETLINK_SOCK_DIAG destroy groups");
    }
    this.#fd = fd;
    const size = new Int32Array([DESTROY_RCVBUF_BYTES]);
    const sizeBytes = new Uint8Array(size.buffer);
    if (libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, sizeBytes, 4) !== 0) {
      libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, sizeBytes, 4); // capped at rmem_max: fine
    }
    this.receiveBufferBytes = DESTROY_RCVBUF_BYTES;
    const address = new Uint8Array(SOCKADDR_NL_SIZE);
    const view = new DataView(address.buffer);
    view.setUint16(0, AF_NETLINK, true);
    view.setUint32(SOCKADDR_NL_GROUPS_OFFSET, DESTROY_GROUPS_MASK, true);
    if (libc.bind(fd, address, SOCKADDR_NL_SIZE) !== 0) {
      const errno = readErrno(this.#library);
      this.close();
      throw new OsCallError("bind", -errno, "NETLINK_SOCK_DIAG destroy groups");
    }
  }

  /** The socket descriptor (for the readable waiter); -1 once closed. */
  get fd(): number {
    return this.#fd;
  }

  /**
   * Reads every notification queued now (never blocks), appending them to `out`; calls `onRaw` with
   * each datagram when given (fixture capture). Throws {@link OsCallError} on an unexpected error.
   * @returns how many were appended.
   */
  drain(out: DestroyedSocket[], onRaw?: (datagram: Uint8Array) => void): number {
    if (this.#fd < 0) return 0;
    const batch = this.#batch;
    let count = 0;
    for (;;) {
      const received = batch.receive(this.#library, this.#fd, MSG_DONTWAIT);
      if (received < 0) {
        const errno = readErrno(this.#library);
        if (errno === EAGAIN) return count;
        if (errno === EINTR) continue;
        if (errno === ENOBUFS) {
          this.stats.overruns++;
          continue;
        }
        throw new OsCallError("recvmmsg", -errno, "NETLINK_SOCK_DIAG destroy groups");
      }
      if (received === 0) return count;
      for (let i = 0; i < received; i++) {
        onRaw?.(batch.datagram(i).slice());
        const decoded = decodeDestroyDatagram(batch.views[i], batch.length(i), out);
        if (decoded > 0) {
          count += decoded;
          this.stats.received += decoded;
        }
      }
    }
  }

  /** Closes the socket and the library. */
  close(): void {
    if (this.#fd >= 0) this.#library.symbols.close(this.#fd);
    this.#fd = -1;
    this.#library.close();
  }
}
