/**
 * Pure decoding for the `sock:inet_sock_set_state` tracepoint read through `perf_event_open`:
 * the tracepoint's record layout (from its tracefs `format` file), the perf ring records' layout (read by
 * `ring_reader.ts`), and the per-socket state machine that turns state changes into {@link TracedClose}s.
 *
 * Which state changes name a process: those made in process context (no hard or soft interrupt flag
 * in the record's `common_flags`): `CLOSE → SYN_SENT` (connect), `→ LISTEN`, and the changes a
 * `close(2)` makes (`→ FIN_WAIT1`, `→ LAST_ACK`, or `→ CLOSE` when it aborts with a reset). A passive
 * open (`SYN_RECV → ESTABLISHED`) and the changes driven by incoming packets run in softirq, where
 * the pid is whoever was interrupted. Sockets are joined by the kernel's socket address (`skaddr`):
 * at `SYN_SENT` the local port is still 0.
 *
 * The tracepoint sees every network namespace; the destroy notifications it is joined with are of
 * ours only.
 *
 * @module
 */

import type { TcpState } from "../../../model/types.ts";
import { joinKey4, joinKey6 } from "./join_key.ts";
import { SocketTable, type TableEntry } from "./socket_table.ts";
import { AF_INET6, IPPROTO_TCP } from "../netlink.ts";
import { linuxTcpStateName } from "../tcp_states.ts";
import type { TracedClose } from "./capture.ts";

/** Fields of the tracepoint record we read, by their names in the `format` file. */
export const TRACE_FIELDS = [
  "common_flags",
  "common_pid",
  "skaddr",
  "oldstate",
  "newstate",
  "sport",
  "dport",
  "family",
  "protocol",
  "saddr",
  "daddr",
  "saddr_v6",
  "daddr_v6",
] as const;

/** Byte offset of each field in the raw record. */
export type TraceLayout = Record<(typeof TRACE_FIELDS)[number], number>;

/** Parses a tracefs `format` file: the event id and the offsets of {@link TRACE_FIELDS}. Throws when one is missing. */
export function parseTraceFormat(text: string): { id: number; layout: TraceLayout } {
  return parseFormatFields(text, TRACE_FIELDS);
}

/** Parses a tracefs `format` file: the event id and the offset of each of `fields`. Throws when one is missing. */
export function parseFormatFields<F extends string>(
  text: string,
  fields: readonly F[],
): { id: number; layout: Record<F, number> } {
  const id = Number(/^ID:\s*(\d+)/m.exec(text)?.[1]);
  if (!Number.isInteger(id)) throw new Error("tracepoint format without an ID");
  const offsets = new Map<string, number>();
  for (const match of text.matchAll(/field:[^;]*?\s\**(\w+)(?:\[\d+\])?;\s*offset:(\d+);/g)) {
    offsets.set(match[1], Number(match[2]));
  }
  const layout = {} as Record<F, number>;
  for (const field of fields) {
    const offset = offsets.get(field);
    if (offset === undefined) throw new Error(`tracepoint format without field ${field}`);
    layout[field] = offset;
  }
  return { id, layout };
}

/** `PERF_RECORD_LOST`. */
export const PERF_RECORD_LOST = 2;
/** `PERF_RECORD_SAMPLE`. */
export const PERF_RECORD_SAMPLE = 9;
/** `struct perf_event_header` size: u32 type, u16 misc, u16 size. */
export const PERF_HEADER_SIZE = 8;
/** In a sample with `PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_RAW`: pid u32, tid u32, time u64, raw size u32. */
export const SAMPLE_RAW_OFFSET = PERF_HEADER_SIZE + 8 + 8 + 4;

/** One tracepoint sample. */
export interface TraceSample {
  /** Pid (thread group id) of the task the change ran in. */
  pid: number;
  /**
   * Time, ms since the Unix epoch with a fraction (the sample's clock moved by the offset given to
   * `RingReader.scan`).
   */
  time: number;
  /** Holds the raw tracepoint record at {@link at} (the ring itself, or a copy of a wrapped record). */
  raw: DataView;
  /** Where the record starts in {@link raw}. */
  at: number;
  /** The record's length in bytes. */
  size: number;
}

/** `common_flags` bits of a record made in interrupt context (`TRACE_FLAG_HARDIRQ | SOFTIRQ | NMI`). */
export const TRACE_FLAGS_INTERRUPT = 0x08 | 0x10 | 0x40;

/** Linux TCP state numbers the state machine looks at. */
const ESTABLISHED = 1, SYN_SENT = 2, SYN_RECV = 3, FIN_WAIT1 = 4, CLOSE = 7, LAST_ACK = 9, LISTEN = 10;

interface TracedSocket extends TableEntry {
  pid: number;
  /** When it connected or was accepted; -1 until then. */
  openedAt: number;
  /** When its process closed it (`FIN_WAIT1`, `LAST_ACK`); -1 until then. */
  closedAt: number;
  openState: TcpState | undefined;
  /** The 4-tuple once connected (see {@link TcpStateMachine.connectedBy}), kept as the record's numbers. */
  tuple: Tuple | undefined;
  /** Its join key in the connected index, once made. */
  keyed: string | undefined;
  /** First seen after its start (its story began before the source, or already ended: see `observe`). */
  late: boolean;
}

/** A connection's addresses (4 words each, IPv4 in the first) and ports as the record carries them. */
interface Tuple {
  v6: boolean;
  local0: number;
  local1: number;
  local2: number;
  local3: number;
  remote0: number;
  remote1: number;
  remote2: number;
  remote3: number;
  localPort: number;
  remotePort: number;
}

/** Most sockets followed at once; the oldest are forgotten beyond (their close is then pid-less). */
export const MAX_TRACED_SOCKETS = 200_000;

/** Follows sockets by kernel address through their state changes; see the module description. */
export class TcpStateMachine {
  readonly #layout: TraceLayout;
  /** By kernel socket address. */
  readonly #sockets = new SocketTable<TracedSocket>();
  /** Connecting pid of each live connection by join key (from `SYN_SENT → ESTABLISHED` until CLOSE). */
  readonly #connected = new Map<string, number>();
  /** Connections made since the index was last brought up to date (most close before anyone asks). */
  #unindexed = new Set<TracedSocket>();
  readonly #onPid: (pid: number) => void;

  /**
   * @param layout the record layout ({@link parseTraceFormat}).
   * @param onPid called when a sample names the process of a socket (to read its details while it lives).
   */
  constructor(layout: TraceLayout, onPid: (pid: number) => void = () => {}) {
    this.#layout = layout;
    this.#onPid = onPid;
  }

  /** The pid that connected the live connection with this join key (`join_key.ts`); undefined when not seen. */
  connectedBy(key: string): number | undefined {
    if (this.#unindexed.size) {
      if (this.#connected.size + this.#unindexed.size > MAX_TRACED_SOCKETS) this.#connected.clear();
      for (const socket of this.#unindexed) {
        socket.keyed = tupleKey(socket.tuple!);
        this.#connected.set(socket.keyed, socket.pid);
      }
      this.#unindexed.clear();
    }
    return this.#connected.get(key);
  }

  /** Number of sockets followed. */
  get size(): number {
    return this.#sockets.size;
  }

  /** Takes one sample; a change to `CLOSE` adds its {@link TracedClose} to `closes` by join key (`join_key.ts`). */
  observe(sample: TraceSample, closes: Map<string, TracedClose>): void {
    const { raw, pid, at } = sample;
    const time = Math.round(sample.time);
    const l = this.#layout;
    if (sample.size < l.daddr_v6 + 16 || raw.getUint16(at + l.protocol, true) !== IPPROTO_TCP) return;
    const low = raw.getUint32(at + l.skaddr, true), high = raw.getUint32(at + l.skaddr + 4, true);
    const oldState = raw.getInt32(at + l.oldstate, true);
    const newState = raw.getInt32(at + l.newstate, true);
    let socket = this.#sockets.get(low, high);
    if (!socket) {
      socket = {
        pid: 0,
        openedAt: -1,
        closedAt: -1,
        openState: undefined,
        tuple: undefined,
        keyed: undefined,
        late: newState !== SYN_SENT && newState !== LISTEN && oldState !== SYN_RECV,
        skHigh: 0,
        skSeq: 0,
      };
      if (this.#sockets.size >= MAX_TRACED_SOCKETS) this.#sockets.forgetOldest(MAX_TRACED_SOCKETS / 10);
      this.#sockets.add(low, high, socket);
    }
    const processContext = (raw.getUint8(at + l.common_flags) & TRACE_FLAGS_INTERRUPT) === 0;
    if (newState === SYN_SENT || newState === LISTEN) {
      socket.pid = pid; // connect(2) / listen(2)
      socket.openedAt = time;
      this.#onPid(pid);
    } else if (oldState === SYN_RECV) {
      socket.openedAt = time; // accepted (softirq: no pid; the listener's owner is named later)
    } else if (processContext && (newState === FIN_WAIT1 || newState === LAST_ACK || newState === CLOSE)) {
      if (socket.closedAt < 0) socket.closedAt = time; // close(2) by the process holding it: it let go
      if (socket.pid === 0) {
        socket.pid = pid;
        this.#onPid(pid);
      }
    } else if ((newState === FIN_WAIT1 || newState === LAST_ACK) && socket.closedAt < 0) {
      socket.closedAt = time;
    }
    if (newState === SYN_SENT || newState === LISTEN || newState === ESTABLISHED) {
      if (socket.openState !== "ESTABLISHED") socket.openState = linuxTcpStateName(newState);
    } else if (socket.openState === "SYN_SENT" && oldState !== SYN_SENT) {
      socket.openState = "ESTABLISHED"; // it left SYN_SENT other than by failing (the kernel filter drops that change)
    }
    if (oldState === SYN_SENT && newState === ESTABLISHED && socket.pid !== 0) {
      socket.tuple = this.#tupleOf(raw, at);
      this.#unindexed.add(socket);
    }
    // Its story ends at CLOSE, or already when its process closes it (FIN_WAIT1, LAST_ACK): the kernel
    // filter leaves out the CLOSE that follows those (see `TRACE_FILTER`).
    if (newState !== CLOSE && newState !== FIN_WAIT1 && newState !== LAST_ACK) return;
    this.#sockets.delete(low, high);
    if (socket.tuple) this.#unindexed.delete(socket);
    if (socket.keyed !== undefined) this.#connected.delete(socket.keyed);
    const key = this.#keyOf(raw, at);
    // A change after the story ended (the CLOSE of a kernel without the filter, a reset after
    // FIN_WAIT1, a second FIN_WAIT1 from close after shutdown) adds nothing to the close already told.
    if (socket.late && closes.has(key)) return;
    // Every field at once (those not known undefined): one object of one shape, no property added later.
    const traced: TracedClose = {
      pid: socket.pid,
      openedAt: socket.openedAt >= 0 ? socket.openedAt : undefined,
      closedAt: socket.closedAt < 0 ? time : socket.closedAt,
      openState: socket.openState,
    };
    closes.set(key, traced);
  }

  #tupleOf(raw: DataView, at: number): Tuple {
    const l = this.#layout;
    const v6 = raw.getUint16(at + l.family, true) === AF_INET6;
    const local = at + (v6 ? l.saddr_v6 : l.saddr), remote = at + (v6 ? l.daddr_v6 : l.daddr);
    return {
      v6,
      local0: raw.getUint32(local, false),
      local1: v6 ? raw.getUint32(local + 4, false) : 0,
      local2: v6 ? raw.getUint32(local + 8, false) : 0,
      local3: v6 ? raw.getUint32(local + 12, false) : 0,
      remote0: raw.getUint32(remote, false),
      remote1: v6 ? raw.getUint32(remote + 4, false) : 0,
      remote2: v6 ? raw.getUint32(remote + 8, false) : 0,
      remote3: v6 ? raw.getUint32(remote + 12, false) : 0,
      localPort: raw.getUint16(at + l.sport, true),
      remotePort: raw.getUint16(at + l.dport, true),
    };
  }

  /** The join key of the record's 4-tuple (as {@link tupleKey}, without a tuple made). */
  #keyOf(raw: DataView, at: number): string {
    const l = this.#layout;
    const localPort = raw.getUint16(at + l.sport, true), remotePort = raw.getUint16(at + l.dport, true);
    if (raw.getUint16(at + l.family, true) !== AF_INET6) {
      return joinKey4(
        raw.getUint32(at + l.saddr, false),
        localPort,
        raw.getUint32(at + l.daddr, false),
        remotePort,
      );
    }
    const local = at + l.saddr_v6, remote = at + l.daddr_v6;
    return joinKey6(
      raw.getUint32(local, false),
      raw.getUint32(local + 4, false),
      raw.getUint32(local + 8, false),
      raw.getUint32(local + 12, false),
      localPort,
      raw.getUint32(remote, false),
      raw.getUint32(remote + 4, false),
      raw.getUint32(remote + 8, false),
      raw.getUint32(remote + 12, false),
      remotePort,
    );
  }
}

/** The join key of a tuple (see `join_key.ts`). */
function tupleKey(t: Tuple): string {
  return t.v6
    ? joinKey6(
      t.local0,
      t.local1,
      t.local2,
      t.local3,
      t.localPort,
      t.remote0,
      t.remote1,
      t.remote2,
      t.remote3,
      t.remotePort,
    )
    : joinKey4(t.local0, t.localPort, t.remote0, t.remotePort);
}
