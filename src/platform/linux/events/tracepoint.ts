/**
 * The `sock:inet_sock_set_state` tracepoint through `perf_event_open(2)` (root, or CAP_PERFMON):
 * one event per CPU with `PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_RAW` on `CLOCK_MONOTONIC`
 * (the kernel refuses `CLOCK_REALTIME` for tracepoints; times are moved to the wall clock at each
 * read), each with a memory-mapped ring buffer that the readable waiter watches. No tracefs instance is
 * created: tracefs is only read for the tracepoint's id and record layout, from
 * `/sys/kernel/tracing` when mounted, else from a private mount on a temporary directory that is
 * unmounted and removed at once (and, should the process die in between, at the next start).
 *
 * @module
 */

import { OsCallError } from "../../../errors.ts";
import { type LibcLibrary, openLibc } from "../ffi_libc.ts";
import type { TracedClose, TraceSource } from "./capture.ts";
import { readErrno } from "./destroy_listener.ts";
import {
  parseTraceFormat,
  readPerfRecords,
  TcpStateMachine,
  type TraceLayout,
  type TraceSample,
} from "./tracepoint_decode.ts";

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
/** Data pages per CPU ring (a power of two): 1 MiB, about 10 000 state changes. */
export const RING_DATA_PAGES = 256;
/** `PERF_EVENT_IOC_SET_FILTER` (`_IOW('$', 6, char *)`). */
export const PERF_EVENT_IOC_SET_FILTER = 0x40082406n;
/**
 * Kernel-side filter: TCP, and only the changes the state machine uses (connect, connected, listen,
 * accept, close by the process, CLOSE). A CLOSE after FIN_WAIT2, LAST_ACK or CLOSING is left out:
 * the close by the process (FIN_WAIT1, LAST_ACK) came before it and already ended the socket's story.
 */
export const TRACE_FILTER = "protocol == 6 && (newstate == 2 || newstate == 10 || newstate == 4 || " +
  "newstate == 9 || (newstate == 7 && oldstate != 5 && oldstate != 9 && oldstate != 11) || " +
  "oldstate == 2 || oldstate == 3)";
/** Tracefs mount point used by every tool. */
export const TRACEFS = "/sys/kernel/tracing";
/** Prefix of the temporary private tracefs mount points (followed by the pid of the process that made one). */
export const PRIVATE_MOUNT_PREFIX = "portreporter-tracefs-";
const EVENT_PATH = "events/sock/inet_sock_set_state/format";

const encoder = new TextEncoder();
const cString = (text: string) => encoder.encode(`${text}\0`);
/** {@link TRACE_FILTER} as a C string. */
const FILTER = cString(TRACE_FILTER);

/** Reads the tracepoint's format from tracefs, mounting it privately when it is not mounted. */
export function readTraceFormat(library: LibcLibrary): { id: number; layout: TraceLayout } {
  try {
    return parseTraceFormat(Deno.readTextFileSync(`${TRACEFS}/${EVENT_PATH}`));
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  removeStaleMounts(library);
  const dir = Deno.makeTempDirSync({ prefix: `${PRIVATE_MOUNT_PREFIX}${Deno.pid}-` });
  try {
    const status = library.symbols.mount(cString("nodev"), cString(dir), cString("tracefs"), 0n, null);
    if (status !== 0) throw new OsCallError("mount", -readErrno(library), "tracefs");
    try {
      return parseTraceFormat(Deno.readTextFileSync(`${dir}/${EVENT_PATH}`));
    } finally {
      library.symbols.umount2(cString(dir), 2 /* MNT_DETACH */);
    }
  } finally {
    Deno.removeSync(dir);
  }
}

/**
 * Unmounts and removes private tracefs mounts a previous run left behind (it died while reading):
 * those whose name carries the pid of a process that no longer runs.
 */
function removeStaleMounts(library: LibcLibrary): void {
  const tmp = Deno.env.get("TMPDIR") || "/tmp";
  let mounts = "";
  try {
    mounts = Deno.readTextFileSync("/proc/self/mounts");
  } catch {
    return;
  }
  for (const line of mounts.split("\n")) {
    const [, target, type] = line.split(" ");
    if (type !== "tracefs" || !target?.startsWith(`${tmp}/${PRIVATE_MOUNT_PREFIX}`)) continue;
    const owner = Number(target.slice(tmp.length + 1 + PRIVATE_MOUNT_PREFIX.length).split("-")[0]);
    if (owner === Deno.pid || pidAlive(owner)) continue;
    library.symbols.umount2(cString(target), 2);
    try {
      Deno.removeSync(target);
    } catch { /* in use or gone */ }
  }
}

function pidAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

interface Ring {
  fd: number;
  base: Deno.PointerObject;
  header: DataView;
  data: Uint8Array;
}

/** A sample with its own copy of the record (it outlives its place in the ring). */
function copySample(sample: TraceSample): TraceSample {
  const bytes = new Uint8Array(sample.raw.buffer, sample.raw.byteOffset + sample.at, sample.size).slice();
  return { ...sample, raw: new DataView(bytes.buffer), at: 0 };
}

/** The tracepoint source; see the module description. Throws from the constructor when unavailable. */
export class PerfTracepointSource implements TraceSource {
  readonly #library: LibcLibrary;
  readonly #rings: Ring[] = [];
  readonly #machine: TcpStateMachine;
  readonly #samples: TraceSample[] = [];
  readonly #timespec = new BigInt64Array(2);
  readonly #timespecBytes = new Uint8Array(this.#timespec.buffer);
  #lost = 0;

  /**
   * Opens one perf event and ring per CPU.
   * @param onPid see {@link TcpStateMachine}.
   */
  constructor(onPid?: (pid: number) => void, cpus = navigator.hardwareConcurrency) {
    this.#library = openLibc();
    try {
      const { id, layout } = readTraceFormat(this.#library);
      this.#machine = new TcpStateMachine(layout, onPid);
      for (let cpu = 0; cpu < cpus; cpu++) this.#rings.push(this.#openRing(id, cpu));
    } catch (error) {
      this.close();
      throw error;
    }
  }

  #openRing(id: number, cpu: number): Ring {
    const libc = this.#library.symbols;
    const attr = new Uint8Array(PERF_ATTR_SIZE);
    const view = new DataView(attr.buffer);
    view.setUint32(PERF_ATTR_OFFSETS.type, PERF_TYPE_TRACEPOINT, true);
    view.setUint32(PERF_ATTR_OFFSETS.size, PERF_ATTR_SIZE, true);
    view.setBigUint64(PERF_ATTR_OFFSETS.config, BigInt(id), true);
    view.setBigUint64(PERF_ATTR_OFFSETS.samplePeriod, 1n, true);
    view.setBigUint64(PERF_ATTR_OFFSETS.sampleType, SAMPLE_TYPE, true);
    view.setBigUint64(PERF_ATTR_OFFSETS.flags, FLAG_USE_CLOCKID | FLAG_WATERMARK, true);
    // Samples matter only joined to a destroy notification, whose arrival drains the rings too; the
    // rings wake the reader by themselves only when half full (the tracepoint sees every network
    // namespace: other namespaces' connections alone never wake the monitor).
    view.setUint32(PERF_ATTR_OFFSETS.wakeupEvents, (PAGE_SIZE * RING_DATA_PAGES) / 2, true);
    view.setInt32(PERF_ATTR_OFFSETS.clockid, CLOCK_MONOTONIC, true);
    const fd = Number(
      libc.syscall5(BigInt(SYS_PERF_EVENT_OPEN), attr, -1n, BigInt(cpu), -1n, PERF_FLAG_FD_CLOEXEC),
    );
    if (fd < 0) throw new OsCallError("perf_event_open", -readErrno(this.#library), `cpu ${cpu}`);
    libc.ioctl(fd, PERF_EVENT_IOC_SET_FILTER, FILTER); // refused by an old kernel: unfiltered, still right
    const length = PAGE_SIZE * (1 + RING_DATA_PAGES);
    const base = libc.mmap(null, BigInt(length), 3, /* PROT_READ|PROT_WRITE */ 1, /* MAP_SHARED */ fd, 0n);
    if (base === null || Deno.UnsafePointer.value(base) === 0xffffffffffffffffn) {
      const errno = readErrno(this.#library);
      libc.close(fd);
      throw new OsCallError("mmap", -errno, "perf ring");
    }
    const memory = Deno.UnsafePointerView.getArrayBuffer(base, length);
    return {
      fd,
      base,
      header: new DataView(memory, 0, PAGE_SIZE),
      data: new Uint8Array(memory, PAGE_SIZE, PAGE_SIZE * RING_DATA_PAGES),
    };
  }

  /** The ring descriptors (readable when samples are waiting). */
  get fds(): number[] {
    return this.#rings.map((ring) => ring.fd);
  }

  /** Samples the kernel reported lost (a ring was full). */
  get lost(): number {
    return this.#lost;
  }

  /** The process that connected a live connection (see {@link TcpStateMachine.connectedBy}). */
  connectedBy(endpointKey: string): number | undefined {
    return this.#machine.connectedBy(endpointKey);
  }

  /** Number of sockets followed between their open and close. */
  get followed(): number {
    return this.#machine.size;
  }

  /** `CLOCK_MONOTONIC` now, ms with a fraction. */
  #monotonicNow(): number {
    const timespec = this.#timespec;
    this.#library.symbols.clock_gettime(CLOCK_MONOTONIC, this.#timespecBytes);
    return Number(timespec[0]) * 1000 + Number(timespec[1]) / 1e6;
  }

  /**
   * Reads every ring; adds each close seen to `into`; hands each sample to `onSample` when given
   * (fixtures).
   *
   * The rings are read one after another, so a sample written to the first just after it was read
   * could be older than one read from the second: one socket's changes (and a freed socket's address
   * taken by the next one) would then be seen out of order. So only the samples older than the moment
   * the reading began are taken now, in time order; the newer ones wait for the next drain.
   */
  drain(into: Map<string, TracedClose>, onSample?: (sample: TraceSample) => void): void {
    const monotonic = this.#monotonicNow();
    const offset = Date.now() - monotonic;
    const cut = monotonic + offset; // on the samples' time scale
    const samples = this.#samples;
    const heads: number[] = [];
    for (const ring of this.#rings) {
      const head = Number(ring.header.getBigUint64(MMAP_DATA_HEAD_OFFSET, true));
      const tail = Number(ring.header.getBigUint64(MMAP_DATA_TAIL_OFFSET, true));
      heads.push(head);
      if (head === tail) continue;
      readPerfRecords(ring.data, tail, head, offset, (sample) => samples.push(sample), (count) => {
        this.#lost += count;
      });
    }
    if (samples.length > 1) samples.sort((a, b) => a.time - b.time);
    let taken = 0;
    for (; taken < samples.length && samples[taken].time <= cut; taken++) {
      onSample?.(samples[taken]);
      this.#machine.observe(samples[taken], into);
    }
    // The rest leave the rings with their tails below: copied out, first in the next drain.
    if (taken === samples.length) samples.length = 0;
    else samples.splice(0, samples.length, ...samples.slice(taken).map(copySample));
    this.#rings.forEach((ring, i) => ring.header.setBigUint64(MMAP_DATA_TAIL_OFFSET, BigInt(heads[i]), true));
  }

  /** Unmaps and closes every ring. */
  close(): void {
    const libc = this.#library.symbols;
    for (const ring of this.#rings.splice(0)) {
      libc.munmap(ring.base, BigInt(PAGE_SIZE * (1 + RING_DATA_PAGES)));
      libc.close(ring.fd);
    }
    this.#library.close();
  }
}
