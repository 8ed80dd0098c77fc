/**
 * The Linux collector: sockets from netlink sock_diag (or /proc/net as the fallback), owners from the
 * incremental inode → pid map, and process details from the per-process cache.
 *
 * Everything here reads /proc, which Deno allows only with `--allow-all` (`-A`).
 *
 * @module
 */

import {
  type Clock,
  type Collector,
  type HostInfo,
  type ProcessInfo,
  type Snapshot,
  type SocketRecord,
  systemClock,
} from "../../model/types.ts";
import { INET_DIAG_ALL_STATES, INET_DIAG_STATES_BUT_TIME_WAIT } from "./netlink.ts";
import { SockDiagClient } from "./sock_diag_client.ts";
import { readProcNetTables } from "./procnet.ts";
import { RecordCache } from "./record_cache.ts";
import { TcpDumpReuse, type TcpDumpStats } from "./tcp_dump_reuse.ts";
import { SocketOwnerMap, type SocketOwnerMapOptions } from "./owners.ts";
import { ProcessInfoReader } from "./process.ts";
import { readLinuxHostInfo } from "./host.ts";
import { countWarning, WARNING_NETLINK_FALLBACK, type WarningCounts } from "./warnings.ts";
import { EventCapture, type EventCaptureOptions } from "./events/capture.ts";
import {
  acceptedOwnerHint,
  attributeToListener,
  attributeToListeners,
  type ListenerOwners,
  listenerOwners,
} from "./listeners.ts";

/** Where the socket tables come from: netlink, /proc/net, or netlink with /proc/net as fallback. */
export type LinuxSocketSource = "auto" | "netlink" | "proc";

/** Options of {@link createLinuxCollector}. */
export interface LinuxCollectorOptions {
  /** Source of "now" for `Snapshot.time`; the system clock by default. */
  clock?: Clock;
  /** Root of the proc file system; `/proc` by default. */
  procRoot?: string;
  /**
   * `auto` (default): netlink, switching to /proc/net for good (with a counted warning) the first
   * time netlink fails; `netlink`: netlink only, failures throw; `proc`: /proc/net only.
   */
  source?: LinuxSocketSource;
  /**
   * Capture socket closes between polls from kernel events (see `events/capture.ts`); off by default
   * (the monitor turns it on). An object gives the capture's options.
   */
  events?: boolean | Omit<EventCaptureOptions, "clock">;
}

/** What the collector needs from a netlink sock_diag client ({@link SockDiagClient}); a seam for tests. */
export interface SocketTableDumper {
  /**
   * Appends every TCP and UDP socket to `rows` (pid 0, or a reused record from `cache`); throws on
   * failure.
   */
  dumpAll(rows: SocketRecord[], cache?: RecordCache): SocketRecord[];
  /** Appends every UDP socket to `rows`, as {@link dumpAll} does (the poll then reuses its TCP rows). */
  dumpUdp?(rows: SocketRecord[], cache?: RecordCache): SocketRecord[];
  /** The TCP states dumped (bit n = Linux state n); see {@link SockDiagClient.tcpStates}. */
  tcpStates?: number;
  /** Releases the client. */
  close(): void;
}

/** Seams for tests and benchmarks, on top of {@link LinuxCollectorOptions}. */
export interface LinuxCollectorInternals {
  /** Options for the owner map (miss retry period, fd scan hook); its `procRoot` is the collector's. */
  ownerMap?: Omit<SocketOwnerMapOptions, "procRoot">;
  /** Opens the netlink client; `new SockDiagClient()` by default. */
  openNetlink?: () => SocketTableDumper;
}

/** A Linux {@link Collector} with access to its internals for tests and benchmarks. */
export interface LinuxCollector extends Collector {
  /** The source the next poll will use (`auto` resolves to one of the two after a netlink failure). */
  readonly activeSource: "netlink" | "proc";
  /** The inode → pid map (its `stats` count fd directory scans). */
  readonly owners: SocketOwnerMap;
  /** The process details reader (its `stats` count detail reads). */
  readonly processes: ProcessInfoReader;
  /** The event capture, when on. */
  readonly events: EventCapture | undefined;
  /** TCP dumps made and reused (`tcp_dump_reuse.ts`). */
  readonly tcpDumps: TcpDumpStats;
  /** Settles once the event capture has stopped after {@link Collector.close}. */
  closed(): Promise<void>;
}

/**
 * Creates the Linux collector.
 * @param options see {@link LinuxCollectorOptions} and {@link LinuxCollectorInternals}.
 */
export function createLinuxCollector(
  options: LinuxCollectorOptions & LinuxCollectorInternals = {},
): LinuxCollector {
  const clock = options.clock ?? systemClock;
  const procRoot = options.procRoot ?? "/proc";
  const requested = options.source ?? "auto";
  const owners = new SocketOwnerMap({ ...options.ownerMap, procRoot });
  const processes = new ProcessInfoReader({ procRoot });
  let activeSource: "netlink" | "proc" = requested === "proc" ? "proc" : "netlink";
  const openNetlink = options.openNetlink ?? (() => new SockDiagClient());
  let netlink: SocketTableDumper | undefined;
  let hostInfo: HostInfo | undefined;
  const recordCache = new RecordCache();
  const tcpReuse = new TcpDumpReuse();
  /** The TCP change count read before this poll's dump, and whether the poll dumped TCP. */
  const tcpPoll = { count: undefined as number | undefined, dumped: true };
  const capture = options.events
    ? new EventCapture({
      describe: (pid) => processes.read(pid, {}),
      userOf: (uid) => processes.userName(uid),
      ...(options.events === true ? {} : options.events),
      clock,
    })
    : undefined;
  let stopped: Promise<void> = Promise.resolve();
  let lastListeners: ListenerOwners = new Map();
  const ownerHint = (socket: SocketRecord) =>
    capture?.ownerHint(socket) ?? (capture ? acceptedOwnerHint(socket, lastListeners) : undefined);

  function readSockets(warnings: WarningCounts): SocketRecord[] {
    if (activeSource === "netlink") {
      try {
        netlink ??= openNetlink();
        // While destroy notifications report every close, a TIME_WAIT remnant tells nothing new.
        netlink.tcpStates = capture?.sources.destroy ? INET_DIAG_STATES_BUT_TIME_WAIT : INET_DIAG_ALL_STATES;
        recordCache.beginPoll();
        return dumpSockets(netlink);
      } catch (error) {
        if (requested === "netlink") throw error;
        netlink?.close();
        netlink = undefined;
        activeSource = "proc";
        countWarning(warnings, WARNING_NETLINK_FALLBACK);
      }
    }
    tcpPoll.count = undefined;
    tcpPoll.dumped = true;
    return readProcNetTables(procRoot, []);
  }

  /** The netlink dumps of one poll: TCP reused when no TCP socket changed (`tcp_dump_reuse.ts`), else dumped. */
  function dumpSockets(dumper: SocketTableDumper): SocketRecord[] {
    const count = tcpPoll.count = capture?.tcpStateChanges(); // before the dump
    const kept = dumper.dumpUdp ? tcpReuse.reusable(count) : undefined;
    tcpPoll.dumped = !kept || !kept.every((row) => recordCache.keep(row));
    return tcpPoll.dumped ? dumper.dumpAll([], recordCache) : dumper.dumpUdp!([...kept!], recordCache);
  }

  return {
    get activeSource() {
      return activeSource;
    },
    owners,
    processes,
    events: capture,
    tcpDumps: tcpReuse.stats,
    closed: () => stopped,

    collect(): Promise<Snapshot> {
      try {
        const time = clock.now();
        const warnings: WarningCounts = {};
        const events = capture?.take(warnings); // before the dump: a socket closed since is in the next
        const sockets = readSockets(warnings);
        owners.assignOwners(sockets, warnings, capture ? ownerHint : undefined);
        if (activeSource === "netlink") recordCache.settleOwners(sockets);
        tcpReuse.settled(tcpPoll.count, sockets, tcpPoll.dumped);
        const listeners = lastListeners = listenerOwners(sockets);
        attributeToListeners(sockets, listeners);
        const processMap = new Map<number, ProcessInfo>();
        const addProcess = (pid: number) => {
          if (pid !== 0 && !processMap.has(pid)) processMap.set(pid, processes.read(pid, warnings));
        };
        for (let i = 0; i < sockets.length; i++) addProcess(sockets[i].pid);
        const snapshot: Snapshot = { time, sockets, processes: processMap, warnings };
        if (netlink?.tcpStates === INET_DIAG_STATES_BUT_TIME_WAIT && activeSource === "netlink") {
          snapshot.omitsTimeWait = true;
        }
        if (capture && events) {
          for (let i = 0; i < events.length; i++) { // indexed: no iterator, no array per poll
            const { socket, process } = events[i];
            attributeToListener(socket, listeners, true);
            if (process && !processMap.has(socket.pid)) processMap.set(socket.pid, process);
            else addProcess(socket.pid);
          }
          snapshot.events = events;
          snapshot.eventCounts = { ...capture.stats };
        }
        processes.endPoll();
        return Promise.resolve(snapshot);
      } catch (error) {
        return Promise.reject(error);
      }
    },

    hostInfo(): HostInfo {
      return hostInfo ??= readLinuxHostInfo();
    },

    close(): void {
      netlink?.close();
      netlink = undefined;
      if (capture) stopped = capture.close();
    },
  };
}
