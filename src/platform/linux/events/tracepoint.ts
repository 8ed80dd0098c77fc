/**
 * The `sock:inet_sock_set_state` tracepoint through `perf_event_open(2)` (root, or CAP_PERFMON), its
 * rings read by `perf_rings.ts` and its samples followed by `tracepoint_decode.ts`. No tracefs instance is
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
import { parseTraceFormat, TcpStateMachine, type TraceSample } from "./tracepoint_decode.ts";
import { PAGE_SIZE, PerfRings } from "./perf_rings.ts";
import { StateChangeCounter } from "./state_change_counter.ts";

/** Data pages per CPU ring (a power of two): 1 MiB, about 10 000 state changes. */
export const RING_DATA_PAGES = 256;
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
/** The `format` file of `sock:inet_sock_set_state`, under tracefs. */
export const EVENT_PATH = "events/sock/inet_sock_set_state/format";

const encoder = new TextEncoder();
const cString = (text: string) => encoder.encode(`${text}\0`);

/** Reads a tracepoint's `format` file (`events/<system>/<name>/format`) from tracefs, mounting it privately when it is not mounted. */
export function readTracepointFormat(library: LibcLibrary, eventPath: string): string {
  try {
    return Deno.readTextFileSync(`${TRACEFS}/${eventPath}`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  removeStaleMounts(library);
  const dir = Deno.makeTempDirSync({ prefix: `${PRIVATE_MOUNT_PREFIX}${Deno.pid}-` });
  try {
    const status = library.symbols.mount(cString("nodev"), cString(dir), cString("tracefs"), 0n, null);
    if (status !== 0) throw new OsCallError("mount", -readErrno(library), "tracefs");
    try {
      return Deno.readTextFileSync(`${dir}/${eventPath}`);
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

/** The tracepoint source; see the module description. Throws from the constructor when unavailable. */
export class PerfTracepointSource implements TraceSource {
  readonly #library: LibcLibrary;
  readonly #rings: PerfRings;
  readonly #machine: TcpStateMachine;
  /** Every state change, unfiltered; undefined when it could not be opened. */
  readonly #counter: StateChangeCounter | undefined;

  /**
   * Opens one perf event and ring per CPU.
   * @param onPid see {@link TcpStateMachine}.
   */
  constructor(onPid?: (pid: number) => void, cpus = navigator.hardwareConcurrency) {
    this.#library = openLibc();
    try {
      const { id, layout } = parseTraceFormat(readTracepointFormat(this.#library, EVENT_PATH));
      this.#machine = new TcpStateMachine(layout, onPid);
      // Samples matter only joined to a destroy notification, whose arrival drains the rings too; the
      // rings wake the reader by themselves only when half full (the tracepoint sees every network
      // namespace: other namespaces' connections alone never wake the monitor).
      this.#rings = new PerfRings(this.#library, {
        id,
        dataPages: RING_DATA_PAGES,
        wakeupBytes: (PAGE_SIZE * RING_DATA_PAGES) / 2,
        filter: TRACE_FILTER,
        cpus,
      });
      try {
        this.#counter = new StateChangeCounter(this.#library, id, cpus);
      } catch {
        this.#counter = undefined; // the dumps are then never reused
      }
    } catch (error) {
      this.#library.close();
      throw error;
    }
  }

  /** The ring descriptors (readable when samples are waiting). */
  get fds(): number[] {
    return this.#rings.fds;
  }

  /** Samples the kernel reported lost (a ring was full). */
  get lost(): number {
    return this.#rings.lost;
  }

  /** Every TCP state change in every network namespace so far (`state_change_counter.ts`); undefined when not counted. */
  stateChanges(): number | undefined {
    return this.#counter?.read();
  }

  /** The process that connected a live connection (see {@link TcpStateMachine.connectedBy}). */
  connectedBy(key: string): number | undefined {
    return this.#machine.connectedBy(key);
  }

  /** Number of sockets followed between their open and close. */
  get followed(): number {
    return this.#machine.size;
  }

  /** Reads every ring (see {@link PerfRings.read}); adds each close seen to `into`; hands each sample to `onSample` when given (fixtures; the sample is reused, copy what is kept). */
  drain(into: Map<string, TracedClose>, onSample?: (sample: TraceSample) => void): void {
    this.#rings.read((sample) => {
      onSample?.(sample);
      this.#machine.observe(sample, into);
    });
  }

  /** Unmaps and closes every ring. */
  close(): void {
    this.#counter?.close();
    this.#rings.close();
    this.#library.close();
  }
}
