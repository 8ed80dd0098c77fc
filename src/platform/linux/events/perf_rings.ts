/**
 * One tracepoint through `perf_event_open(2)` (root, or CAP_PERFMON): one event per CPU with
 * `PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_RAW` on `CLOCK_MONOTONIC` (the kernel refuses
 * `CLOCK_REALTIME` for tracepoints; times are moved to the wall clock at each read), each with a
 * memory-mapped ring buffer that the readable waiter watches. The samples of every ring are handed
 * over in time order (see {@link PerfRings.read}).
 *
 * @module
 */

import { OsCallError } from "../../../errors.ts";
import type { LibcLibrary } from "../ffi_libc.ts";
import { readErrno } from "./destroy_listener.ts";
import type { TraceSample } from "./tracepoint_decode.ts";
import { RingReader, type RingSpan } from "./ring_reader.ts";

/** `SYS_perf_event_open` on x86_64. */
export const SYS_PERF_EVENT_OPEN = 298;
/** `PERF_TYPE_TRACEPOINT`. */
export const PERF_TYPE_TRACEPOINT = 2;
/** `struct perf_event_attr` size we pass (`PERF_ATTR_SIZE_VER5`). */
export const PERF_ATTR_SIZE = 112;
/**
 * `perf_event_attr` offsets: type u32, size u32, config u64, sample_period u64, sample_type u64,
 * flags u64, wakeup_events / wakeup_watermark u32, clockid i32.
 */
export const PERF_ATTR_OFFSETS = {
  type: 0,
  size: 4,
  config: 8,
  samplePeriod: 16,
  sampleType: 24,
  flags: 40,
  wakeupEvents: 48,
  clockid: 92,
} as const;
/** `PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_RAW`. */
export const SAMPLE_TYPE = (1n << 1n) | (1n << 2n) | (1n << 10n);
/** `perf_event_attr` flag bit `use_clockid`. */
export const FLAG_USE_CLOCKID = 1n << 25n;
/** `perf_event_attr` flag bit `watermark`: wake the reader by bytes buffered, not by samples. */
export const FLAG_WATERMARK = 1n << 14n;
/** `CLOCK_MONOTONIC`. */
export const CLOCK_MONOTONIC = 1;
/** `PERF_FLAG_FD_CLOEXEC`. */
export const PERF_FLAG_FD_CLOEXEC = 8n;
/** `struct perf_event_mmap_page` offsets of `data_head`, `data_tail` (u64 each). */
export const MMAP_DATA_HEAD_OFFSET = 1024;
/** See {@link MMAP_DATA_HEAD_OFFSET}. */
export const MMAP_DATA_TAIL_OFFSET = 1032;
/** Page size on x86_64. */
export const PAGE_SIZE = 4096;
/** `PERF_EVENT_IOC_SET_FILTER` (`_IOW('$', 6, char *)`). */
export const PERF_EVENT_IOC_SET_FILTER = 0x40082406n;

interface Ring extends RingSpan {
  fd: number;
  base: Deno.PointerObject;
  bytes: number;
  header: DataView;
}

function isEmpty(ring: Ring): boolean {
  return ring.header.getBigUint64(MMAP_DATA_HEAD_OFFSET, true) ===
    ring.header.getBigUint64(MMAP_DATA_TAIL_OFFSET, true);
}

/** The rings of one tracepoint; see the module description. */
export class PerfRings {
  readonly #library: LibcLibrary;
  readonly #rings: Ring[] = [];
  readonly #reader = new RingReader();
  readonly #onLost = (count: number) => {
    this.lost += count;
  };
  readonly #timespec = new BigInt64Array(2);
  readonly #timespecBytes = new Uint8Array(this.#timespec.buffer);
  /** Samples the kernel reported lost (a ring was full). */
  lost = 0;

  /**
   * Opens one event and ring of `dataPages` pages (a power of two) per CPU; throws when one cannot
   * be opened (the ones opened are closed again).
   * @param filter a tracefs filter expression (refused by an old kernel: the samples come unfiltered).
   * @param wakeupBytes the rings wake the reader when this many bytes wait.
   */
  constructor(
    library: LibcLibrary,
    options: { id: number; dataPages: number; wakeupBytes: number; filter?: string; cpus?: number },
  ) {
    this.#library = library;
    try {
      for (let cpu = 0; cpu < (options.cpus ?? navigator.hardwareConcurrency); cpu++) {
        this.#rings.push(this.#openRing(cpu, options));
      }
    } catch (error) {
      this.close();
      throw error;
    }
  }

  #openRing(cpu: number, o: { id: number; dataPages: number; wakeupBytes: number; filter?: string }): Ring {
    const libc = this.#library.symbols;
    const attr = new Uint8Array(PERF_ATTR_SIZE);
    const view = new DataView(attr.buffer);
    view.setUint32(PERF_ATTR_OFFSETS.type, PERF_TYPE_TRACEPOINT, true);
    view.setUint32(PERF_ATTR_OFFSETS.size, PERF_ATTR_SIZE, true);
    view.setBigUint64(PERF_ATTR_OFFSETS.config, BigInt(o.id), true);
    view.setBigUint64(PERF_ATTR_OFFSETS.samplePeriod, 1n, true);
    view.setBigUint64(PERF_ATTR_OFFSETS.sampleType, SAMPLE_TYPE, true);
    view.setBigUint64(PERF_ATTR_OFFSETS.flags, FLAG_USE_CLOCKID | FLAG_WATERMARK, true);
    view.setUint32(PERF_ATTR_OFFSETS.wakeupEvents, o.wakeupBytes, true);
    view.setInt32(PERF_ATTR_OFFSETS.clockid, CLOCK_MONOTONIC, true);
    const fd = Number(
      libc.syscall5(BigInt(SYS_PERF_EVENT_OPEN), attr, -1n, BigInt(cpu), -1n, PERF_FLAG_FD_CLOEXEC),
    );
    if (fd < 0) throw new OsCallError("perf_event_open", -readErrno(this.#library), `cpu ${cpu}`);
    if (o.filter) libc.ioctl(fd, PERF_EVENT_IOC_SET_FILTER, new TextEncoder().encode(`${o.filter}\0`));
    const bytes = PAGE_SIZE * (1 + o.dataPages);
    const base = libc.mmap(null, BigInt(bytes), 3, /* PROT_READ|PROT_WRITE */ 1, /* MAP_SHARED */ fd, 0n);
    if (base === null || Deno.UnsafePointer.value(base) === 0xffffffffffffffffn) {
      const errno = readErrno(this.#library);
      libc.close(fd);
      throw new OsCallError("mmap", -errno, "perf ring");
    }
    const memory = Deno.UnsafePointerView.getArrayBuffer(base, bytes);
    return {
      fd,
      base,
      bytes,
      header: new DataView(memory, 0, PAGE_SIZE),
      data: new Uint8Array(memory, PAGE_SIZE, PAGE_SIZE * o.dataPages),
      view: new DataView(memory, PAGE_SIZE, PAGE_SIZE * o.dataPages),
      tail: 0,
      head: 0,
    };
  }

  /** The ring descriptors (readable when samples are waiting). */
  get fds(): number[] {
    return this.#rings.map((ring) => ring.fd);
  }

  /** `CLOCK_MONOTONIC` now, ms with a fraction. */
  #monotonicNow(): number {
    const timespec = this.#timespec;
    this.#library.symbols.clock_gettime(CLOCK_MONOTONIC, this.#timespecBytes);
    return Number(timespec[0]) * 1000 + Number(timespec[1]) / 1e6;
  }

  /**
   * Hands every sample waiting to `onSample`, in time order (times on the wall clock), then frees
   * their place in the rings. The sample handed over is reused for the next: it must not be kept.
   *
   * The rings are read one after another, so a sample written to the first just after it was read
   * could be older than one read from the second: one socket's changes (and a freed socket's address
   * taken by the next one) would then be seen out of order. So only the samples older than the moment
   * the reading began are handed over now; the newer ones are kept for the next read.
   */
  read(onSample: (sample: TraceSample) => void): void {
    if (!this.#reader.holding && this.#rings.every(isEmpty)) return; // the usual case at rest
    const monotonic = this.#monotonicNow();
    const offset = Date.now() - monotonic;
    const cut = monotonic + offset; // on the samples' time scale
    const reader = this.#reader;
    reader.begin();
    for (const ring of this.#rings) {
      ring.head = Number(ring.header.getBigUint64(MMAP_DATA_HEAD_OFFSET, true));
      ring.tail = Number(ring.header.getBigUint64(MMAP_DATA_TAIL_OFFSET, true));
      reader.scan(ring, offset, this.#onLost);
    }
    // Those newer than the cut leave the rings with their tails below: copied out, first in the next read.
    reader.finish(cut, onSample);
    for (const ring of this.#rings) ring.header.setBigUint64(MMAP_DATA_TAIL_OFFSET, BigInt(ring.head), true);
  }

  /** Unmaps and closes every ring (the library stays open: it is the caller's). */
  close(): void {
    const libc = this.#library.symbols;
    for (const ring of this.#rings.splice(0)) {
      libc.munmap(ring.base, BigInt(ring.bytes));
      libc.close(ring.fd);
    }
  }
}
