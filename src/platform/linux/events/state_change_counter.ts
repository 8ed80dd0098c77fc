/**
 * A count of every `sock:inet_sock_set_state` change, in every network namespace, kept by the kernel:
 * one counting perf event per CPU (no ring, no sample; `read(2)` gives the count). The kernel
 * increments it in the context of the change, before the new state is stored, so a count read before
 * a dump and read again unchanged later means no TCP socket changed state, appeared or went away in
 * between (`../tcp_dump_reuse.ts`).
 *
 * @module
 */

import { OsCallError } from "../../../errors.ts";
import type { LibcLibrary } from "../ffi_libc.ts";
import { readErrno } from "./destroy_listener.ts";
import {
  PERF_ATTR_OFFSETS,
  PERF_ATTR_SIZE,
  PERF_FLAG_FD_CLOEXEC,
  PERF_TYPE_TRACEPOINT,
  SYS_PERF_EVENT_OPEN,
} from "./perf_rings.ts";

/** Bytes `read(2)` gives for a counting event with `read_format` 0: the count, a u64. */
export const COUNT_SIZE = 8;

/** The per-CPU counting events of one tracepoint; see the module description. */
export class StateChangeCounter {
  readonly #library: LibcLibrary;
  readonly #fds: number[] = [];
  readonly #count = new BigUint64Array(1);
  readonly #bytes = new Uint8Array(this.#count.buffer);

  /**
   * Opens one counting event per CPU on the tracepoint `id`; throws when one cannot be opened (those
   * opened are closed again). The library stays the caller's.
   */
  constructor(library: LibcLibrary, id: number, cpus = navigator.hardwareConcurrency) {
    this.#library = library;
    const attr = new Uint8Array(PERF_ATTR_SIZE);
    const view = new DataView(attr.buffer);
    view.setUint32(PERF_ATTR_OFFSETS.type, PERF_TYPE_TRACEPOINT, true);
    view.setUint32(PERF_ATTR_OFFSETS.size, PERF_ATTR_SIZE, true);
    view.setBigUint64(PERF_ATTR_OFFSETS.config, BigInt(id), true);
    // sample_period 0, sample_type 0, flags 0 (enabled): a plain counter
    for (let cpu = 0; cpu < cpus; cpu++) {
      const fd = Number(
        library.symbols.syscall5(
          BigInt(SYS_PERF_EVENT_OPEN),
          attr,
          -1n,
          BigInt(cpu),
          -1n,
          PERF_FLAG_FD_CLOEXEC,
        ),
      );
      if (fd < 0) {
        const error = new OsCallError("perf_event_open", -readErrno(library), `counter, cpu ${cpu}`);
        this.close();
        throw error;
      }
      this.#fds.push(fd);
    }
  }

  /** The changes counted on every CPU since the counter was opened; undefined when a read fails. */
  read(): number | undefined {
    let total = 0;
    for (const fd of this.#fds) {
      const got = Number(this.#library.symbols.read(fd, this.#bytes, BigInt(COUNT_SIZE)));
      if (got !== COUNT_SIZE) return undefined;
      total += Number(this.#count[0]);
    }
    return total;
  }

  /** Closes every event. */
  close(): void {
    for (const fd of this.#fds.splice(0)) this.#library.symbols.close(fd);
  }
}
