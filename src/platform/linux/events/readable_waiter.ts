/**
 * Waits, off the JS thread, until one of a set of descriptors is readable, then calls back on the JS
 * thread: `poll(2)` as a non-blocking FFI call (it runs on Deno's blocking thread pool and returns a
 * Promise) over the event descriptors plus an `eventfd` that {@link ReadableWaiter.stop} writes to.
 *
 * At rest nothing runs: one pool thread sleeps in `poll`. Under load the callback runs at most once
 * per {@link ReadableWaiter} batch period, so a burst of events is read in batches, not one by one.
 *
 * @module
 */

import { OsCallError } from "../../../errors.ts";
import { type LibcLibrary, openLibc } from "../ffi_libc.ts";
import { readErrno } from "./destroy_listener.ts";

/** `struct pollfd` size: `int fd`, `short events`, `short revents`. */
export const POLLFD_SIZE = 8;
/** `POLLIN`. */
export const POLLIN = 1;
/** `EFD_CLOEXEC | EFD_NONBLOCK`. */
export const EFD_FLAGS = 0o2000000 | 0o4000;

/** Default pause after each read under load, ms. */
export const READABLE_BATCH_MS = 20;

/** Events read at once that make a burst: the next read follows without the pause. */
export const BURST_EVENTS = 256;

/** Calls `onReadable` whenever a descriptor is readable; see the module description. */
export class ReadableWaiter {
  readonly #library: LibcLibrary;
  readonly #wake: number;
  readonly #pollfds: Uint8Array;
  readonly #count: number;
  #stopped = false;
  /** Settles when the waiting loop has ended (after {@link stop}). */
  readonly done: Promise<void>;

  /**
   * Starts waiting.
   * @param fds the descriptors to watch.
   * @param onReadable called on the JS thread after a descriptor became readable; must read them (or
   *   the next wait returns at once) and returns how many events it read: after
   *   {@link BURST_EVENTS} or more (a burst that could fill the kernel's buffers) it is called again
   *   without the pause. Exceptions are passed to `onError` and end the loop.
   * @param batchMs pause after each callback, so that a burst is read in batches (each wait is a
   *   call on Deno's blocking pool: under load, fewer of them cost less than the reads they gather).
   */
  constructor(
    fds: number[],
    onReadable: () => number,
    onError: (error: unknown) => void,
    batchMs = READABLE_BATCH_MS,
  ) {
    this.#library = openLibc();
    const wake = this.#library.symbols.eventfd(0, EFD_FLAGS);
    if (wake < 0) {
      const errno = readErrno(this.#library);
      this.#library.close();
      throw new OsCallError("eventfd", -errno);
    }
    this.#wake = wake;
    this.#count = fds.length + 1;
    this.#pollfds = new Uint8Array(POLLFD_SIZE * this.#count);
    const view = new DataView(this.#pollfds.buffer);
    [wake, ...fds].forEach((fd, i) => {
      view.setInt32(i * POLLFD_SIZE, fd, true);
      view.setInt16(i * POLLFD_SIZE + 4, POLLIN, true);
    });
    this.done = this.#loop(onReadable, onError, batchMs);
  }

  async #loop(onReadable: () => number, onError: (error: unknown) => void, batchMs: number): Promise<void> {
    const libc = this.#library.symbols;
    const count = BigInt(this.#count);
    try {
      while (!this.#stopped) {
        const ready = await libc.pollWait(this.#pollfds, count, -1);
        if (this.#stopped) break;
        if (ready < 0) continue; // EINTR
        if (onReadable() < BURST_EVENTS) await new Promise((resolve) => setTimeout(resolve, batchMs));
      }
    } catch (error) {
      onError(error);
    } finally {
      libc.close(this.#wake);
      this.#library.close();
    }
  }

  /** Ends the wait: the pending `poll` returns at once, and {@link done} settles. */
  stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      const one = new BigUint64Array([1n]);
      this.#library.symbols.write(this.#wake, new Uint8Array(one.buffer), 8n);
    }
    return this.done;
  }
}
