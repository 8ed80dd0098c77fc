/**
 * The one vocabulary of portreporter, shared from the platform collectors up to the log files.
 *
 * Every field name here is also the field name in the JSON Lines stream, so a record means the same
 * thing in memory, in `portreporter snapshot --json` and in `PR-EVENTS-*.jsonl`.
 *
 * @module
 */

/** Transport protocol of an endpoint. */
export type Protocol = "tcp" | "udp";

/** IP version of an endpoint: 4 for IPv4, 6 for IPv6 (IPv4-mapped IPv6 addresses stay family 6). */
export type AddressFamily = 4 | 6;

/**
 * TCP connection states, named as `netstat` names them. `NEW_SYN_RECV` and `BOUND` exist only on
 * Linux, `DELETE_TCB` only on Windows.
 */
export type TcpState =
  | "CLOSED"
  | "LISTEN"
  | "SYN_SENT"
  | "SYN_RECEIVED"
  | "ESTABLISHED"
  | "FIN_WAIT1"
  | "FIN_WAIT2"
  | "CLOSE_WAIT"
  | "CLOSING"
  | "LAST_ACK"
  | "TIME_WAIT"
  | "DELETE_TCB"
  | "NEW_SYN_RECV"
  | "BOUND";

/** Every TCP state name, in the order above (useful for validation and for tests that want them all). */
export const TCP_STATES: readonly TcpState[] = [
  "CLOSED",
  "LISTEN",
  "SYN_SENT",
  "SYN_RECEIVED",
  "ESTABLISHED",
  "FIN_WAIT1",
  "FIN_WAIT2",
  "CLOSE_WAIT",
  "CLOSING",
  "LAST_ACK",
  "TIME_WAIT",
  "DELETE_TCB",
  "NEW_SYN_RECV",
  "BOUND",
];

/** One TCP or UDP endpoint as the operating system reports it at one instant. */
export interface SocketRecord {
  /** `tcp` or `udp`. */
  protocol: Protocol;
  /** 4 or 6. */
  family: AddressFamily;
  /** Local address in canonical text form: dotted quad for IPv4, RFC 5952 compressed for IPv6 (`::1`). */
  localAddress: string;
  /** Local port, host byte order, 0–65535. */
  localPort: number;
  /** Remote address; `0.0.0.0` or `::` when there is no peer (listeners, unconnected UDP). */
  remoteAddress: string;
  /** Remote port; 0 when there is no peer. */
  remotePort: number;
  /** TCP state; `null` for UDP, which has no connection state. */
  state: TcpState | null;
  /**
   * Owning process id. 0 when the OS names no owner (for example a TCP socket in TIME_WAIT, or a
   * socket of a process whose descriptors we may not read).
   */
  pid: number;
  /** IPv6 scope (zone) id as reported by the OS, for display only: never part of an identity. */
  scopeId?: number;
  /** Linux socket inode (the key to its owner); absent on Windows. */
  inode?: number;
  /**
   * Every process holding the socket when more than one does (e.g. a listener inherited by forked
   * workers), oldest first; `pid` is the oldest. Absent when one process (or none) holds it.
   */
  holders?: number[];
  /**
   * When the OS says the endpoint was created, ms since the Unix epoch (Windows: the OWNER_MODULE rows'
   * `liCreateTimestamp`); absent when the OS does not say (Linux, wine). With it, an endpoint first seen
   * mid-life gets its real open time, and its duration is exact.
   */
  openTime?: number;
}

/** One module (shared library / DLL, or the executable itself) mapped into a process. */
export interface ModuleInfo {
  /** File name, e.g. `kernel32.dll` or `libc.so.6`. */
  name: string;
  /** Full path of the file. */
  path: string;
  /** Base address where it is mapped, as `0x…` hex text; absent when unknown. */
  baseAddress?: string;
  /** Size of the mapping in bytes; absent when unknown. */
  size?: number;
}

/** What is known about a process that owns at least one endpoint. Fields that could not be read are absent. */
export interface ProcessInfo {
  /** Process id. */
  pid: number;
  /** Image base name, e.g. `svchost.exe`, `sshd`. Always present (`System`, `unknown` as a last resort). */
  name: string;
  /** Full path of the executable image. */
  path?: string;
  /** Full command line, arguments joined by spaces. */
  commandLine?: string;
  /** Parent process id. */
  parentPid?: number;
  /** Parent image base name, when the parent is still alive. */
  parentName?: string;
  /** Account the process runs as: `DOMAIN\user` on Windows, the user name on Linux. */
  user?: string;
  /** Process start time in milliseconds since the Unix epoch; with `pid` it identifies one process. */
  startTime?: number;
  /** Modules loaded in the process (the executable first when known). */
  modules?: ModuleInfo[];
  /** Names of the services hosted in the process (Windows); empty elsewhere. */
  services?: string[];
  /** Why some details are missing (e.g. `access denied: /proc/1/exe`), for the logs; absent when complete. */
  partial?: string;
}

/** Everything one poll saw: the sockets, and the process details of every pid that owns one. */
export interface Snapshot {
  /** When the poll started, milliseconds since the Unix epoch (from the injected clock). */
  time: number;
  /** Every endpoint, in no particular order. */
  sockets: SocketRecord[];
  /** Process details by pid, for every non-zero pid in `sockets`. */
  processes: Map<number, ProcessInfo>;
  /** Warnings counted during this poll (vanished processes, denied reads, ...), by kind. */
  warnings: Record<string, number>;
  /** Sockets the event sources saw close since the previous poll, oldest first (Linux). */
  events?: SocketEvent[];
  /** Events received and known dropped by the event sources since the collector started (Linux). */
  eventCounts?: { received: number; dropped: number };
  /**
   * `true` when `sockets` leave out TCP TIME_WAIT remnants because an event source reports every
   * close (Linux destroy notifications): no row of a socket closed by an event can follow it then.
   */
  omitsTimeWait?: true;
}

/**
 * A socket the kernel reported as closed between two polls (Linux event capture), with what the
 * event sources learnt of it. The diff merges it with what the polls saw.
 */
export interface SocketEvent {
  /** When the socket closed, ms since the Unix epoch. */
  time: number;
  /** The endpoint; `pid` is the owner named by an event source or the listener, 0 when unknown. */
  socket: SocketRecord;
  /** When the connection started (connect or accept), when an event source saw it. */
  openedAt?: number;
  /** The TCP state the socket reached once open (`ESTABLISHED`, `SYN_SENT`, `LISTEN`), when an event source saw it. */
  openState?: TcpState;
  /** Bytes sent and acknowledged (TCP, from `tcp_info`). */
  bytesSent?: number;
  /** Bytes received (TCP, from `tcp_info`). */
  bytesReceived?: number;
  /** The owner's details as read when the event source named it (it may have exited since). */
  process?: ProcessInfo;
}

/** How a change was seen: by a kernel event, or by comparing two polls. */
export type ChangeSource = "event" | "poll";

/** What happened to an endpoint between two polls. */
export type ChangeKind = "opened" | "closed" | "changed";

/** One change between two consecutive snapshots. */
export interface Change {
  /** `opened`: a new endpoint; `closed`: it is gone; `changed`: same endpoint, new TCP state. */
  kind: ChangeKind;
  /** Time of the poll that saw the change, ms since the Unix epoch. */
  time: number;
  /** The endpoint as last seen (for `closed`, as it was in the previous poll). */
  socket: SocketRecord;
  /** The owning process, when known. */
  process?: ProcessInfo;
  /** When this endpoint was first seen, ms since the Unix epoch. */
  firstSeen: number;
  /**
   * For `closed`: how long the endpoint lived, in ms: from its open to its close when an event
   * source timed them, else from first seen to the poll that missed it (or the close event).
   */
  durationMs?: number;
  /** How the change was seen; absent means `poll`. */
  source?: ChangeSource;
  /**
   * `false` on a `closed` whose `durationMs` is a bound, not a measurement (the endpoint was already
   * open when the monitor started, or its open was not seen); absent when measured.
   */
  durationExact?: false;
  /** `true` on a `closed` for an endpoint first seen after its owner had closed it (an ownerless TIME_WAIT). */
  seenAfterClose?: true;
  /** For TCP `closed` from an event: bytes sent and acknowledged (`tcp_info`). */
  bytesSent?: number;
  /** For TCP `closed` from an event: bytes received (`tcp_info`). */
  bytesReceived?: number;
  /** For `changed`: the state before. */
  previousState?: TcpState | null;
  /** Fields added by `enrich` plugins, by plugin id (written to PR-EVENTS as `extra`). */
  extra?: Record<string, Record<string, unknown>>;
}

/** The machine the logs describe, for the classic headers. */
export interface HostInfo {
  /** Computer name, e.g. `TEST` (NetBIOS name on Windows, host name on Linux). */
  computerName: string;
  /** Operating system in words, e.g. `Windows 10 Pro (10.0.19045)` or `Linux 6.1.0 (Debian GNU/Linux 12)`. */
  osName: string;
  /** IANA zone of the classic files' local times, written as `Time zone:` in their headers when set. */
  timeZone?: string;
}

/** A platform collector: one per OS, the same interface everywhere. */
export interface Collector {
  /** Reads every socket and the details of every owning process. Never throws for one bad process. */
  collect(): Promise<Snapshot>;
  /** Computer name and OS version for the log headers. */
  hostInfo(): HostInfo;
  /** Releases OS resources (sockets, libraries). */
  close(): void;
}

/** Canonical key of an endpoint without its owner: protocol, family, local and remote address and port. */
export function endpointKey(s: SocketRecord): string {
  return `${s.protocol}${s.family} ${s.localAddress} ${s.localPort} ${s.remoteAddress} ${s.remotePort}`;
}

/** Identity key of an endpoint as the diff uses it: the endpoint key plus the owning pid. */
export function socketKey(s: SocketRecord): string {
  return `${endpointKey(s)} ${s.pid}`;
}

/** How urgent an alert is. */
export type AlertSeverity = "info" | "warning" | "critical";

/** An alert raised by a plugin; written to `PR-ALERTS-<stamp>.jsonl` and handed to alert plugins. */
export interface Alert {
  /** When it was raised, ms since the Unix epoch. */
  time: number;
  /** Id of the plugin that raised it. */
  pluginId: string;
  /** How urgent it is. */
  severity: AlertSeverity;
  /** One line for a human. */
  message: string;
  /** The change that caused it, when there is one. */
  change?: Change;
  /** Anything else the plugin wants to carry (must be JSON-serialisable). */
  data?: Record<string, unknown>;
}

/** The injected clock: the only source of "now" in the core. */
export interface Clock {
  /** Current time in ms since the Unix epoch. */
  now(): number;
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now() };
