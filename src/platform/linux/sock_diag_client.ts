/**
 * The I/O of NETLINK_SOCK_DIAG dumps (see `netlink.ts` for the requests, the replies and their decoder):
 * one socket with a reused request and receive buffer for the collector's whole life.
 *
 * @module
 */

import type { AddressFamily, Protocol, SocketRecord } from "../../model/types.ts";
import type { RecordCache } from "./record_cache.ts";
import { OsCallError } from "../../errors.ts";
import { type LibcLibrary, openLibc } from "./ffi_libc.ts";
import {
  AF_NETLINK,
  CHUNK_DONE,
  decodeNetlinkChunk,
  encodeSockDiagRequest,
  encodeTcpDiagCompatRequest,
  INET_DIAG_ALL_STATES,
  INET_DIAG_REQ_SIZE,
  INET_DIAG_REQ_V2_SIZE,
  NETLINK_SOCK_DIAG,
  NetlinkDumpError,
  NLMSG_HDRLEN,
  RECEIVE_BUFFER_SIZE,
  RECEIVE_TIMEOUT_SECONDS,
  SO_RCVTIMEO,
  SOCK_CLOEXEC,
  SOCK_DIAG_TABLES,
  SOCK_RAW,
  SOCKADDR_NL_SIZE,
  SOL_SOCKET,
} from "./netlink.ts";

// ---- I/O -----------------------------------------------------------------------------------------

/** Largest request we send (the v2 one; the compat one is 4 bytes shorter). */
const REQUEST_BUFFER_SIZE = NLMSG_HDRLEN + Math.max(INET_DIAG_REQ_V2_SIZE, INET_DIAG_REQ_SIZE);
/** Receive buffer length as the `size_t` argument of `recv`. */
const RECEIVE_LENGTH = BigInt(RECEIVE_BUFFER_SIZE);

/**
 * One NETLINK_SOCK_DIAG socket with a reused request and receive buffer. Not safe for concurrent use
 * (the collector never overlaps polls). Any failure closes the socket; the next dump opens a new one.
 */
export class SockDiagClient {
  #library: LibcLibrary;
  #socket = -1;
  #sequence = 0;
  readonly #request = new Uint8Array(REQUEST_BUFFER_SIZE);
  /** Whether the kernel answers `TCPDIAG_GETSOCK`; undefined until tried. */
  #tcpCompat: boolean | undefined;
  /**
   * The TCP states the dumps ask for (bit n = Linux state n): every state by default;
   * `INET_DIAG_STATES_BUT_TIME_WAIT` leaves TIME_WAIT remnants in the kernel. UDP is always dumped whole.
   */
  tcpStates = INET_DIAG_ALL_STATES;
  readonly #kernelAddress = new Uint8Array(SOCKADDR_NL_SIZE);
  readonly #receiveBuffer = new Uint8Array(RECEIVE_BUFFER_SIZE);
  readonly #receiveView = new DataView(this.#receiveBuffer.buffer);

  /**
   * Opens libc and the netlink socket. Throws when FFI is denied or the socket cannot be created.
   * @param options `tcpCompatDump: false` skips the `TCPDIAG_GETSOCK` request (see the module
   *   description) and dumps TCP per family, as after a refusal.
   */
  constructor(options: { tcpCompatDump?: false } = {}) {
    if (options.tcpCompatDump === false) this.#tcpCompat = false;
    this.#library = openLibc();
    new DataView(this.#kernelAddress.buffer).setUint16(0, AF_NETLINK, true);
    try {
      this.#openSocket();
    } catch (error) {
      this.#library.close();
      throw error;
    }
  }

  #openSocket(): number {
    if (this.#socket >= 0) return this.#socket;
    const libc = this.#library.symbols;
    const socket = libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (socket < 0) throw new OsCallError("socket", socket, "AF_NETLINK, NETLINK_SOCK_DIAG");
    const timeout = new BigInt64Array([BigInt(RECEIVE_TIMEOUT_SECONDS), 0n]); // struct timeval
    const status = libc.setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, new Uint8Array(timeout.buffer), 16);
    if (status !== 0) {
      libc.close(socket);
      throw new OsCallError("setsockopt", status, "SO_RCVTIMEO");
    }
    this.#socket = socket;
    return socket;
  }

  #closeSocket(): void {
    if (this.#socket >= 0) this.#library.symbols.close(this.#socket);
    this.#socket = -1;
  }

  /**
   * Runs one dump — `family` 4 or 6 through `SOCK_DIAG_BY_FAMILY`, or `"both"` (TCP only) through
   * `TCPDIAG_GETSOCK` — and hands each received datagram to `onDatagram` (which must not keep the
   * view: the buffer is reused). Throws {@link OsCallError} / {@link NetlinkDumpError} on failure.
   */
  #dump(
    protocol: Protocol,
    family: AddressFamily | "both",
    onDatagram: (view: DataView, length: number) => number,
  ): void {
    const libc = this.#library.symbols;
    const socket = this.#openSocket();
    const detail = `${protocol}${family === 6 ? "6" : family === "both" ? " (TCPDIAG_GETSOCK)" : ""}`;
    try {
      this.#sequence = (this.#sequence + 1) >>> 0;
      const length = family === "both"
        ? (encodeTcpDiagCompatRequest(this.#request, this.#sequence, this.tcpStates),
          NLMSG_HDRLEN + INET_DIAG_REQ_SIZE)
        : (encodeSockDiagRequest(
          this.#request,
          protocol,
          family,
          this.#sequence,
          protocol === "tcp" ? this.tcpStates : INET_DIAG_ALL_STATES,
        ),
          NLMSG_HDRLEN + INET_DIAG_REQ_V2_SIZE);
      const sent = Number(
        libc.sendto(socket, this.#request, BigInt(length), 0, this.#kernelAddress, SOCKADDR_NL_SIZE),
      );
      if (sent !== length) throw new OsCallError("sendto", sent, detail);
      for (;;) {
        const received = Number(libc.recv(socket, this.#receiveBuffer, RECEIVE_LENGTH, 0));
        if (received <= 0) throw new OsCallError("recv", received, detail);
        const status = onDatagram(this.#receiveView, received);
        if (status === CHUNK_DONE) return;
        if (status < 0) throw new NetlinkDumpError(status, detail);
      }
    } catch (error) {
      this.#closeSocket(); // never leave half a dump in the socket for the next request
      throw error;
    }
  }

  /**
   * Dumps one table, appending its records to `rows` (pid 0, or — when a `cache` is given and the
   * socket is unchanged — the previous poll's record, with its pid).
   */
  dumpTable(
    protocol: Protocol,
    family: AddressFamily,
    rows: SocketRecord[],
    cache?: RecordCache,
  ): SocketRecord[] {
    this.#dump(protocol, family, (view, length) => decodeNetlinkChunk(view, length, protocol, rows, cache));
    return rows;
  }

  /**
   * Dumps TCP of both families in one `TCPDIAG_GETSOCK` request (see the module description),
   * appending to `rows` like {@link dumpTable}. Throws {@link NetlinkDumpError} when the kernel refuses
   * the request.
   */
  dumpTcpBothFamilies(rows: SocketRecord[], cache?: RecordCache): SocketRecord[] {
    this.#dump("tcp", "both", (view, length) => decodeNetlinkChunk(view, length, "tcp", rows, cache));
    return rows;
  }

  /**
   * Whether TCP is dumped with one `TCPDIAG_GETSOCK` request: undefined until the first
   * {@link dumpAll}, false when the kernel refused the first one.
   */
  get tcpCompatDump(): boolean | undefined {
    return this.#tcpCompat;
  }

  /**
   * Dumps every TCP and UDP socket of both families, appending every record to `rows` (see
   * {@link dumpTable}): {@link dumpTcp}, then {@link dumpUdp}.
   */
  dumpAll(rows: SocketRecord[] = [], cache?: RecordCache): SocketRecord[] {
    return this.dumpUdp(this.dumpTcp(rows, cache), cache);
  }

  /**
   * Dumps every TCP socket of both families into `rows` (see {@link dumpTable}): through
   * {@link dumpTcpBothFamilies} while the kernel answers it, else through the tcp4 and tcp6 dumps.
   */
  dumpTcp(rows: SocketRecord[] = [], cache?: RecordCache): SocketRecord[] {
    if (this.#tcpCompat !== false) {
      const before = rows.length;
      try {
        this.dumpTcpBothFamilies(rows, cache);
        this.#tcpCompat = true;
        return rows;
      } catch (error) {
        // Only a first attempt that fails (an NLMSG_ERROR refusal, or a failed send or receive) means
        // this kernel does not answer the request; once it worked, a failure is the poll's failure.
        if (!(error instanceof OsCallError) || this.#tcpCompat === true) throw error;
        rows.length = before; // a refused request leaves no partial rows behind
        this.#tcpCompat = false;
      }
    }
    for (const table of SOCK_DIAG_TABLES) {
      if (table.protocol === "tcp") this.dumpTable(table.protocol, table.family, rows, cache);
    }
    return rows;
  }

  /** Dumps every UDP socket of both families (udp4, then udp6) into `rows` (see {@link dumpTable}). */
  dumpUdp(rows: SocketRecord[] = [], cache?: RecordCache): SocketRecord[] {
    for (const table of SOCK_DIAG_TABLES) {
      if (table.protocol === "udp") this.dumpTable(table.protocol, table.family, rows, cache);
    }
    return rows;
  }

  /**
   * Dumps one table and returns the raw reply, every datagram concatenated (for fixtures and
   * debugging; {@link decodeInetDiagMessages} reads it back).
   */
  dumpRaw(protocol: Protocol, family: AddressFamily): Uint8Array {
    const parts: Uint8Array[] = [];
    this.#dump(protocol, family, (view, length) => {
      parts.push(new Uint8Array(view.buffer, 0, length).slice());
      return decodeNetlinkChunk(view, length, protocol, []);
    });
    const total = parts.reduce((sum, part) => sum + part.byteLength, 0);
    const raw = new Uint8Array(total);
    let offset = 0;
    for (const part of parts) {
      raw.set(part, offset);
      offset += part.byteLength;
    }
    return raw;
  }

  /** Closes the socket and the library. The client cannot be used afterwards. */
  close(): void {
    this.#closeSocket();
    this.#library.close();
  }
}
