/**
 * Event capture beside the poll (Linux): the sources that see sockets close between two polls, read
 * when readable and drained again by each poll, turned into {@link SocketEvent}s for the diff.
 *
 * - sock_diag destroy notifications (`destroy_listener.ts`): every freed TCP/UDP socket, with its
 *   bytes; no owner.
 * - the `sock:inet_sock_set_state` tracepoint (`tracepoint.ts`, root): the pid of the process that
 *   connected, listened or closed, and the times of the connect and the close, joined to the destroy
 *   notification by the socket's 4-tuple. (It sees every network namespace, so it is used only
 *   joined to a notification of ours: without destroy notifications it adds nothing.)
 *
 * A source that cannot be opened is reported once (a warning kind in the first snapshot) and the
 * monitor goes on with what is left; the poll remains the reconciling baseline.
 *
 * @module
 */

import type { Clock, ProcessInfo, SocketEvent, TcpState } from "../../../model/types.ts";
import { countWarning, type WarningCounts } from "../warnings.ts";
import type { DestroyedSocket } from "./destroy_decode.ts";
import { DestroyListener } from "./destroy_listener.ts";
import { ReadableWaiter } from "./readable_waiter.ts";
import { RecentMap } from "./recent_map.ts";
import { joinKeyOf } from "./join_key.ts";
import { PerfTracepointSource } from "./tracepoint.ts";
import { type ExecInfo, type ExecSource, ExecTraceSource } from "./exec_trace.ts";
import { UNKNOWN_PROCESS_NAME } from "../process.ts";

/** Warning kind: the destroy notifications cannot be received; short connections and UDP sockets are missed. */
export const WARNING_DESTROY_UNAVAILABLE = "events-destroy-unavailable";
/** Warning kind: the tracepoint cannot be read; short connections are logged without their process. */
export const WARNING_TRACE_UNAVAILABLE = "events-trace-unavailable";
/** Warning kind: execs cannot be traced; a process that exits at once after connecting is logged as `unknown`. */
export const WARNING_EXEC_UNAVAILABLE = "events-exec-unavailable";
/** Warning kind: event buffers overflowed; some short connections were lost (counted, not all known). */
export const WARNING_EVENTS_DROPPED = "events-dropped";

/**
 * How long a traced close waits for its destroy notification before it is forgotten, ms. A close is
 * traced when the process closes the socket; the kernel frees it once the connection is finished
 * (at once on a healthy path; after retransmissions to a peer that stopped answering). Closes that
 * never get theirs are of other network namespaces (the tracepoint sees them all, the notifications
 * are of ours), or their notification was lost.
 */
export const TRACED_CLOSE_WAIT_MS = 60_000;

/** Most traced closes waiting for their destroy notification (the oldest are forgotten first). */
export const MAX_TRACED_CLOSES = 50_000;

/** Most process details remembered for events (the oldest are forgotten first). */
export const MAX_DESCRIBED_PROCESSES = 4096;

/** Most events held between two polls; more are counted as dropped. */
export const MAX_PENDING_EVENTS = 200_000;

/** What a tracepoint source tells about one socket that went to `CLOSE` (see `tracepoint.ts`). */
export interface TracedClose {
  /** Pid of the process that connected or listened (0 when only softirq context saw it). */
  pid: number;
  /** When it connected (`SYN_SENT`) or was accepted, ms since the Unix epoch. */
  openedAt?: number;
  /** When its process closed it (`FIN_WAIT1`, `LAST_ACK`), else when it reached `CLOSE`; ms since the Unix epoch. */
  closedAt: number;
  /** The state it reached once open (see `SocketEvent.openState`). */
  openState?: TcpState;
}

/** What {@link EventCapture} needs from a tracepoint source. */
export interface TraceSource {
  /** Descriptors to wait on. */
  readonly fds: number[];
  /** Reads everything buffered now; adds the closes seen to `into` by join key (`join_key.ts`). */
  drain(into: Map<string, TracedClose>): void;
  /** Samples the kernel reported lost. */
  readonly lost: number;
  /** The process that connected the live connection with this join key (`join_key.ts`), when seen. */
  connectedBy(key: string): number | undefined;
  /** Every TCP state change so far, in every network namespace; undefined when not counted. */
  stateChanges?(): number | undefined;
  /** Releases the source. */
  close(): void;
}

/** Counters of an {@link EventCapture}, since it was created. */
export interface EventCaptureStats {
  /** Close events received (destroy notifications, and traced closes). */
  received: number;
  /** Events known lost: buffer overruns, tracepoint samples lost, more than {@link MAX_PENDING_EVENTS}. */
  dropped: number;
}

/** Options of {@link EventCapture}. */
export interface EventCaptureOptions {
  /** Source of "now" for the receive time of destroy notifications. */
  clock: Clock;
  /** Opens the destroy listener; `new DestroyListener()` by default. */
  openDestroy?: () => DestroyListener;
  /**
   * Opens the tracepoint source (`new PerfTracepointSource(onPid)` by default); throws when
   * unavailable. `onPid` is to be called when the source names a socket's process.
   */
  openTrace?: (onPid: (pid: number) => void) => TraceSource;
  /** Reads a process's details (called as soon as a source names it, while it may still run). */
  describe?: (pid: number) => ProcessInfo;
  /** Opens the exec source (`new ExecTraceSource()` by default); throws when unavailable. */
  openExec?: () => ExecSource;
  /** The user name of a uid (the owner of a socket whose process was gone before it could be read). */
  userOf?: (uid: number) => string | undefined;
  /** Pause after each read under load, ms (see `readable_waiter.ts`). */
  batchMs?: number;
}

/** The running capture; see the module description. */
export class EventCapture {
  readonly #clock: Clock;
  #destroy: DestroyListener | undefined;
  #trace: TraceSource | undefined;
  #exec: ExecSource | undefined;
  readonly #userOf: ((uid: number) => string | undefined) | undefined;
  #waiter: ReadableWaiter | undefined;
  #pending: SocketEvent[] = [];
  readonly #scratch: DestroyedSocket[] = [];
  readonly #traced = new Map<string, TracedClose>();
  readonly #describe: ((pid: number) => ProcessInfo) | undefined;
  readonly #described = new RecentMap<ProcessInfo>(MAX_DESCRIBED_PROCESSES);
  /**
   * Pids read as `unknown` (gone, or not readable) since the last {@link take}: not read again before
   * it. A process exiting with 65 000 sockets names itself in 65 000 close samples; each read of a
   * vanished /proc entry throws two errors with their stacks (about 600 bytes of garbage each).
   */
  readonly #unknownThisPoll = new Set<number>();
  #startWarnings: WarningCounts | undefined = {};
  #reportedDropped = 0;
  #lastTraceLost = 0;
  #overflow = 0;
  /** Whether {@link ownerHint} re-read the rings since the last {@link take}. */
  #hintsRefreshed = false;
  /** Counters (see {@link EventCaptureStats}). */
  readonly stats: EventCaptureStats = { received: 0, dropped: 0 };

  /** Opens what can be opened and starts waiting for events. */
  constructor(options: EventCaptureOptions) {
    this.#clock = options.clock;
    this.#describe = options.describe;
    this.#userOf = options.userOf;
    const onPid = (pid: number) => this.#learnPid(pid);
    try {
      this.#destroy = (options.openDestroy ?? (() => new DestroyListener()))();
    } catch {
      countWarning(this.#startWarnings!, WARNING_DESTROY_UNAVAILABLE);
    }
    try {
      this.#trace = (options.openTrace ?? ((onPid) => new PerfTracepointSource(onPid)))(onPid);
    } catch {
      countWarning(this.#startWarnings!, WARNING_TRACE_UNAVAILABLE);
    }
    if (this.#trace) {
      try {
        this.#exec = (options.openExec ?? (() => new ExecTraceSource()))();
      } catch {
        countWarning(this.#startWarnings!, WARNING_EXEC_UNAVAILABLE);
      }
    }
    const fds = [
      ...(this.#destroy ? [this.#destroy.fd] : []),
      ...(this.#trace?.fds ?? []),
      ...(this.#exec?.fds ?? []),
    ];
    if (fds.length) {
      this.#waiter = new ReadableWaiter(fds, () => this.#read(), () => this.#stopSources(), options.batchMs);
    }
  }

  /**
   * The process an event source saw connect this live socket (its owner, unless it handed the socket
   * on); undefined when not seen. Reads what is buffered first.
   */
  ownerHint(socket: SocketEvent["socket"]): number | undefined {
    if (!this.#trace || socket.protocol !== "tcp" || socket.remotePort === 0) return undefined;
    const key = joinKeyOf(socket);
    if (key === undefined) return undefined;
    const pid = this.#trace.connectedBy(key) ?? this.#closedBy(key);
    if (pid !== undefined || this.#hintsRefreshed) return pid;
    this.#hintsRefreshed = true; // once per poll: the connection may have been made since the last read
    this.#exec?.drain();
    this.#trace.drain(this.#traced);
    return this.#trace.connectedBy(key) ?? this.#closedBy(key);
  }

  /**
   * The process of a connection that closed after the dump listed it (its close is read, its destroy
   * notification not yet): the dump is older than the rings it is named from.
   */
  #closedBy(key: string): number | undefined {
    const pid = this.#traced.get(key)?.pid;
    return pid === 0 ? undefined : pid;
  }

  /**
   * Every TCP state change so far, in every network namespace, as the kernel counts them (see
   * `state_change_counter.ts`); undefined without the tracepoint, or when the count cannot be read.
   */
  tcpStateChanges(): number | undefined {
    return this.#trace?.stateChanges?.();
  }

  /** Which sources run. */
  get sources(): { destroy: boolean; trace: boolean } {
    return { destroy: this.#destroy !== undefined, trace: this.#trace !== undefined };
  }

  /** Reads the details of a pid a source just named (once per process, while it may still run). */
  #learnPid(pid: number): void {
    if (!this.#describe || pid === 0) return;
    const known = this.#described.get(pid);
    if (known && known.name !== UNKNOWN_PROCESS_NAME) {
      this.#described.touch(pid); // most recently used
      return;
    }
    if (known && this.#unknownThisPoll.has(pid)) {
      // not read again this poll; but its exec may have been read since: a map lookup, no /proc read
      const exec = this.#exec?.execOf(pid);
      if (exec) {
        this.#described.set(pid, fromExec(known, exec));
        this.#unknownThisPoll.delete(pid);
      }
      return;
    }
    if (this.#described.size >= MAX_DESCRIBED_PROCESSES) this.#described.deleteOldest();
    const info = this.#describe(pid);
    const exec = info.path === undefined ? this.#exec?.execOf(pid) : undefined;
    this.#described.set(pid, exec ? fromExec(info, exec) : info);
    if (!exec && info.name === UNKNOWN_PROCESS_NAME && this.#unknownThisPoll.size < MAX_DESCRIBED_PROCESSES) {
      this.#unknownThisPoll.add(pid);
    }
  }

  /** Reads every source; returns how many destroy notifications came. */
  #read(): number {
    const scratch = this.#scratch;
    scratch.length = 0;
    const now = this.#clock.now();
    this.#destroy?.drain(scratch);
    this.#exec?.drain(); // before the socket changes that may name a process it started
    // After the destroy notifications: the kernel records a socket's change to CLOSE before it
    // frees the socket, so every notification read has its tracepoint sample in the rings by now.
    this.#trace?.drain(this.#traced);
    for (let i = 0; i < scratch.length; i++) this.#push(this.#joined(scratch[i], now));
    if (this.#traced.size) this.#pruneTraced(now);
    return scratch.length;
  }

  /** Forgets traced closes whose destroy notification did not come (another namespace's, or dropped). */
  #pruneTraced(now: number): void {
    for (const [key, traced] of this.#traced) {
      if (now - traced.closedAt < TRACED_CLOSE_WAIT_MS && this.#traced.size <= MAX_TRACED_CLOSES) return;
      this.#traced.delete(key);
    }
  }

  /** A destroy notification with what the tracepoint saw of the same socket. */
  #joined(destroyed: DestroyedSocket, now: number): SocketEvent {
    const event: SocketEvent = { time: now, socket: destroyed.socket };
    if (destroyed.bytesSent !== undefined) event.bytesSent = destroyed.bytesSent;
    if (destroyed.bytesReceived !== undefined) event.bytesReceived = destroyed.bytesReceived;
    if (destroyed.socket.protocol !== "tcp" || this.#traced.size === 0) return event;
    const key = destroyed.joinKey ?? joinKeyOf(destroyed.socket);
    const traced = key === undefined ? undefined : this.#traced.get(key);
    if (!traced) return event;
    this.#traced.delete(key!);
    event.time = Math.min(now, traced.closedAt);
    if (traced.openedAt !== undefined) event.openedAt = traced.openedAt;
    if (traced.openState) event.openState = traced.openState;
    if (traced.pid !== 0) {
      destroyed.socket.pid = traced.pid;
      const process = this.#described.get(traced.pid);
      if (process) event.process = this.#withSocketUser(process, destroyed.uid);
    }
    return event;
  }

  /** A process known only from its exec takes its user from the socket's owner uid. */
  #withSocketUser(process: ProcessInfo, uid: number | undefined): ProcessInfo {
    if (process.user !== undefined || uid === undefined || !execOnly.has(process)) return process;
    const user = this.#userOf?.(uid);
    return user === undefined
      ? process
      : { ...process, user, partial: `${process.partial}; user from its socket` };
  }

  #push(event: SocketEvent): void {
    this.stats.received++;
    if (this.#pending.length >= MAX_PENDING_EVENTS) {
      this.#overflow++;
      return;
    }
    this.#pending.push(event);
  }

  /**
   * Reads what is buffered now and hands over every event since the last call, oldest first. Counts
   * start warnings (first call) and newly dropped events into `warnings`.
   */
  take(warnings: WarningCounts): SocketEvent[] {
    if (this.#startWarnings) {
      for (const [kind, n] of Object.entries(this.#startWarnings)) warnings[kind] = (warnings[kind] ?? 0) + n;
      this.#startWarnings = undefined;
    }
    this.#hintsRefreshed = false;
    this.#unknownThisPoll.clear();
    try {
      this.#read();
    } catch {
      this.#stopSources(); // an unexpected read error: the poll carries on alone
      countWarning(warnings, WARNING_DESTROY_UNAVAILABLE);
    }
    const traceLost = this.#trace ? this.#trace.lost + (this.#exec?.lost ?? 0) : this.#lastTraceLost;
    this.#lastTraceLost = traceLost;
    this.stats.dropped = (this.#destroy?.stats.overruns ?? 0) + traceLost + this.#overflow;
    if (this.stats.dropped > this.#reportedDropped) {
      warnings[WARNING_EVENTS_DROPPED] = (warnings[WARNING_EVENTS_DROPPED] ?? 0) + this.stats.dropped -
        this.#reportedDropped;
      this.#reportedDropped = this.stats.dropped;
    }
    const events = this.#pending;
    this.#pending = [];
    if (events.length > 1) events.sort((a, b) => a.time - b.time);
    return events;
  }

  #stopSources(): void {
    void this.close();
  }

  /** Stops waiting and closes every source; settles when the waiting thread has returned. */
  close(): Promise<void> {
    const done = this.#waiter?.stop() ?? Promise.resolve();
    this.#destroy?.close();
    this.#destroy = undefined;
    this.#trace?.close();
    this.#trace = undefined;
    this.#exec?.close();
    this.#exec = undefined;
    return done;
  }
}

/** Processes known only from their exec (see {@link fromExec}). */
const execOnly = new WeakSet<ProcessInfo>();

/**
 * A process whose image could not be read, completed from its exec: gone before it could be read, it
 * takes its path and its name from that; caught exiting (its name read, not its image), its path.
 */
function fromExec(read: ProcessInfo, exec: ExecInfo): ProcessInfo {
  if (read.name !== UNKNOWN_PROCESS_NAME) {
    const partial = read.partial ? `${read.partial}; path from its exec` : "path from its exec";
    return { ...read, path: exec.path, partial };
  }
  const name = exec.path.slice(exec.path.lastIndexOf("/") + 1) || exec.path;
  const why = "exited before it could be read: name and path from its exec";
  const info: ProcessInfo = { pid: read.pid, name, path: exec.path, partial: why };
  execOnly.add(info);
  return info;
}
