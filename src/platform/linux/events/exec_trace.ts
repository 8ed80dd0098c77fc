/**
 * The `sched:sched_process_exec` tracepoint (root): the image each process executes, told as it
 * executes it. A process that connects and exits within milliseconds (`bash -c 'exec 3<>/dev/tcp/…'`)
 * is gone before `/proc/<pid>` can be read; its exec still names it: the path it executed, and so its
 * name. The rings are read with the socket tracepoint's (before it, so that an exec is known when a
 * connect names its pid).
 *
 * @module
 */

import { decodeBytes } from "../../../model/text.ts";
import { type LibcLibrary, openLibc } from "../ffi_libc.ts";
import { PAGE_SIZE, PerfRings } from "./perf_rings.ts";
import { readTracepointFormat } from "./tracepoint.ts";
import { parseFormatFields, type TraceSample } from "./tracepoint_decode.ts";

/** The `format` file of `sched:sched_process_exec`, under tracefs. */
export const EXEC_EVENT_PATH = "events/sched/sched_process_exec/format";
/** Fields of the exec record we read: `filename` is a `__data_loc` (u32: length << 16 | offset). */
export const EXEC_FIELDS = ["filename", "pid"] as const;
/** Byte offset of each field in the raw record. */
export type ExecLayout = Record<(typeof EXEC_FIELDS)[number], number>;
/** Data pages per CPU ring (execs are rare next to socket changes). */
export const EXEC_RING_DATA_PAGES = 16;
/** Most execs remembered (the oldest are forgotten first). */
export const MAX_EXECS = 4096;
/** Longest path kept from an exec record (the kernel's `PATH_MAX`). */
export const MAX_EXEC_PATH_BYTES = 4096;

/** What an exec tells of a process. */
export interface ExecInfo {
  /** The path it executed, as given to `execve` (raw bytes decoded losslessly). */
  path: string;
  /** When, ms since the Unix epoch. */
  time: number;
}

/** One exec from its raw record; undefined when the record is too short or malformed. */
export function decodeExecSample(
  sample: TraceSample,
  layout: ExecLayout,
): { pid: number; info: ExecInfo } | undefined {
  const { raw, at, size } = sample;
  if (size < layout.pid + 4 || size < layout.filename + 4) return undefined;
  const location = raw.getUint32(at + layout.filename, true);
  const offset = location & 0xffff;
  let length = location >>> 16;
  if (offset + length > size || length === 0) return undefined;
  const bytes = new Uint8Array(
    raw.buffer,
    raw.byteOffset + at + offset,
    Math.min(length, MAX_EXEC_PATH_BYTES),
  );
  length = bytes.indexOf(0);
  const path = decodeBytes(length < 0 ? bytes : bytes.subarray(0, length));
  return { pid: raw.getInt32(at + layout.pid, true), info: { path, time: sample.time } };
}

/** What {@link EventCapture} needs from an exec source (see `capture.ts`). */
export interface ExecSource {
  /** Descriptors to wait on. */
  readonly fds: number[];
  /** Reads every exec buffered now. */
  drain(): void;
  /** The last exec of `pid` seen, if any. */
  execOf(pid: number): ExecInfo | undefined;
  /** Samples the kernel reported lost. */
  readonly lost: number;
  /** Releases the source. */
  close(): void;
}

/** The exec tracepoint source; throws from the constructor when unavailable. */
export class ExecTraceSource implements ExecSource {
  readonly #library: LibcLibrary;
  readonly #rings: PerfRings;
  readonly #layout: ExecLayout;
  readonly #execs = new Map<number, ExecInfo>();

  /** Opens one perf event and ring per CPU. */
  constructor(cpus = navigator.hardwareConcurrency) {
    this.#library = openLibc();
    try {
      const { id, layout } = parseFormatFields(
        readTracepointFormat(this.#library, EXEC_EVENT_PATH),
        EXEC_FIELDS,
      );
      this.#layout = layout;
      this.#rings = new PerfRings(this.#library, {
        id,
        dataPages: EXEC_RING_DATA_PAGES,
        wakeupBytes: (PAGE_SIZE * EXEC_RING_DATA_PAGES) / 2,
        cpus,
      });
    } catch (error) {
      this.#library.close();
      throw error;
    }
  }

  /** The ring descriptors. */
  get fds(): number[] {
    return this.#rings.fds;
  }

  /** Samples the kernel reported lost. */
  get lost(): number {
    return this.#rings.lost;
  }

  /** Reads every exec buffered now. */
  drain(): void {
    this.#rings.read((sample) => {
      const exec = decodeExecSample(sample, this.#layout);
      if (!exec) return;
      this.#execs.delete(exec.pid); // re-inserted last: the map stays oldest first
      if (this.#execs.size >= MAX_EXECS) this.#execs.delete(this.#execs.keys().next().value!);
      this.#execs.set(exec.pid, exec.info);
    });
  }

  /** The last exec of `pid` seen, if any. */
  execOf(pid: number): ExecInfo | undefined {
    return this.#execs.get(pid);
  }

  /** Unmaps and closes every ring. */
  close(): void {
    this.#rings.close();
    this.#library.close();
  }
}
