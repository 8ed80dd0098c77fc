/**
 * Receives up to {@link DATAGRAM_BATCH_SLOTS} datagrams per system call (`recvmmsg(2)`), each into a
 * slot of one buffer (a datagram longer than its slot is cut: `MSG_TRUNC`): the vector of `struct mmsghdr` (x86_64 layout below) is built once, pointing at
 * the slots through one `struct iovec` each, and only read back (`msg_len`, `msg_flags`) after a call.
 *
 * @module
 */

import type { LibcLibrary } from "../ffi_libc.ts";

/** `struct msghdr` offsets: `msg_name` (pointer), `msg_namelen` (u32), `msg_iov` (pointer), `msg_iovlen` (size_t), `msg_control`, `msg_controllen`, `msg_flags` (int). */
export const MSGHDR_OFFSETS = {
  name: 0,
  nameLength: 8,
  iov: 16,
  iovLength: 24,
  control: 32,
  controlLength: 40,
  flags: 48,
} as const;
/** `struct mmsghdr`: a `struct msghdr` (56 bytes) then `unsigned int msg_len`, padded to 64. */
export const MMSGHDR_SIZE = 64;
/** `mmsghdr.msg_len` offset: bytes received into that slot. */
export const MMSGHDR_LEN_OFFSET = 56;
/** `struct iovec`: `void *iov_base`, `size_t iov_len`. */
export const IOVEC_SIZE = 16;
/** Datagrams received per call. */
export const DATAGRAM_BATCH_SLOTS = 32;
/** Bytes per slot: a destroy notification is 380 bytes on 6.18 (`inet_diag_msg`, protocol, `tcp_info`). */
export const DATAGRAM_SLOT_SIZE = 2048;

/** The receive vector and its slots; see the module description. */
export class DatagramBatch {
  /** Every slot, one after another. */
  readonly buffer: Uint8Array;
  /** A view of each slot. */
  readonly views: readonly DataView[];
  readonly #headers: Uint8Array;
  readonly #headerView: DataView;
  readonly #iovecs: Uint8Array;
  readonly #slots: number;
  readonly #slotSize: number;

  /** Builds the vector of `slots` slots of `slotSize` bytes each. */
  constructor(slots = DATAGRAM_BATCH_SLOTS, slotSize = DATAGRAM_SLOT_SIZE) {
    this.#slots = slots;
    this.#slotSize = slotSize;
    this.buffer = new Uint8Array(slots * slotSize);
    this.views = Array.from(
      { length: slots },
      (_, i) => new DataView(this.buffer.buffer, i * slotSize, slotSize),
    );
    this.#headers = new Uint8Array(slots * MMSGHDR_SIZE);
    this.#headerView = new DataView(this.#headers.buffer);
    this.#iovecs = new Uint8Array(slots * IOVEC_SIZE);
    const iovecs = new DataView(this.#iovecs.buffer);
    const base = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(this.buffer)));
    const iovBase = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(this.#iovecs)));
    for (let i = 0; i < slots; i++) {
      iovecs.setBigUint64(i * IOVEC_SIZE, base + BigInt(i * slotSize), true);
      iovecs.setBigUint64(i * IOVEC_SIZE + 8, BigInt(slotSize), true);
      const header = i * MMSGHDR_SIZE;
      this.#headerView.setBigUint64(header + MSGHDR_OFFSETS.iov, iovBase + BigInt(i * IOVEC_SIZE), true);
      this.#headerView.setBigUint64(header + MSGHDR_OFFSETS.iovLength, 1n, true);
    }
  }

  /**
   * Receives what is queued on `fd`, up to one datagram per slot (`flags`: e.g. `MSG_DONTWAIT`).
   * @returns how many datagrams came, or -1 with `errno` set (as `recvmmsg`).
   */
  receive(library: LibcLibrary, fd: number, flags: number): number {
    return library.symbols.recvmmsg(fd, this.#headers, this.#slots, flags, null);
  }

  /** The datagram received into slot `i` by the last call (a view of the slot, not a copy). */
  datagram(i: number): Uint8Array {
    return this.buffer.subarray(i * this.#slotSize, i * this.#slotSize + this.length(i));
  }

  /** Bytes received into slot `i` by the last call. */
  length(i: number): number {
    return this.#headerView.getUint32(i * MMSGHDR_SIZE + MMSGHDR_LEN_OFFSET, true);
  }
}
