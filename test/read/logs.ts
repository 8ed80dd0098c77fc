/**
 * Test log sets written by the real writer (`LogSet`, real files in a temporary directory) with an
 * injected clock and zone, plus original Port Reporter 1.01 files built from the published format.
 *
 * @module
 */

import { LogSet } from "../../src/log/log_set.ts";
import { LocalTime } from "../../src/log/local_time.ts";
import type {
  Change,
  ChangeKind,
  ProcessInfo,
  Snapshot,
  SocketRecord,
  TcpState,
} from "../../src/model/types.ts";

/** The host of the test logs. */
export const HOST = { computerName: "TESTHOST", osName: "Linux test" };

/** A socket. */
export function sock(
  localPort: number,
  o: Partial<SocketRecord> = {},
): SocketRecord {
  return {
    protocol: "tcp",
    family: 4,
    localAddress: "127.0.0.1",
    localPort,
    remoteAddress: "0.0.0.0",
    remotePort: 0,
    state: "LISTEN",
    pid: 42,
    ...o,
  };
}

/** A process. */
export function proc(pid: number, name: string, o: Partial<ProcessInfo> = {}): ProcessInfo {
  return { pid, name, path: `/usr/bin/${name}`, user: "alice", ...o };
}

/** A change. */
export function change(
  kind: ChangeKind,
  time: number,
  socket: SocketRecord,
  process?: ProcessInfo,
  o: Partial<Change> = {},
): Change {
  return { kind, time, socket, process, firstSeen: time, ...o };
}

/** A snapshot with no sockets (the start of a set). */
export function emptySnapshot(time: number): Snapshot {
  return { time, sockets: [], processes: new Map(), warnings: {} };
}

/** Writes batches through the real log set writer into `dir`; returns the writer (closed). */
export function writeSets(
  dir: string,
  timeZone: string,
  start: number,
  batches: { time: number; changes: Change[] }[],
  maxBytes?: number,
  initial: Snapshot = emptySnapshot(start),
): LogSet {
  const set = new LogSet({ dir, host: HOST, localTime: new LocalTime(timeZone), maxBytes });
  set.start(initial);
  for (const b of batches) set.write(b);
  set.close();
  return set;
}

/** A new temporary directory for one test. */
export async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "pr-read-" });
}

/** An open → state change → close sequence of one connection. */
export function connection(
  port: number,
  remotePort: number,
  opened: number,
  closed: number,
  p: ProcessInfo,
  state: TcpState = "ESTABLISHED",
): Change[] {
  const s = sock(port, { remoteAddress: "10.1.2.3", remotePort, state, pid: p.pid });
  return [
    change("opened", opened, s, p),
    change("closed", closed, s, p, { firstSeen: opened, durationMs: closed - opened }),
  ];
}

/**
 * Port Reporter 1.01 PR-PORTS header as published (KB 837243 / the O'Reilly article), CRLF.
 */
export function original101Ports(stamp: string, lines: string[]): string {
  return [
    "Port Reporter Version 1.01 Log File - Port usage log",
    "",
    `Check PR-PIDS-${stamp}.log for corresponding process data`,
    "",
    "Log format:",
    "date,time,protocol,local port,local IP address,remote port,remote IP address,PID,module,user context",
    ...lines,
  ].join("\r\n") + "\r\n";
}

const T0 = Date.parse("2026-11-26T09:59:00Z");

/**
 * A directory with one set written by the real writer: a web server on 8000 (a listener and two
 * connections, 10:01–10:01:05 and 10:01:30–10:06:30 UTC), ssh listening on :: port 22, an orphan TIME_WAIT.
 */
export async function fixture(): Promise<string> {
  const dir = await tempDir();
  const web = proc(100, "python3", { user: "alice" });
  const ssh = proc(7, "sshd", { user: "root", path: "/usr/sbin/sshd" });
  const listen = sock(8000, { pid: 100, localAddress: "0.0.0.0" });
  writeSets(dir, "Europe/Berlin", T0, [
    { time: T0 + 60_000, changes: [change("opened", T0 + 60_000, listen, web)] }, // 11:00 local
    { time: T0 + 120_000, changes: connection(8000, 50001, T0 + 120_000, T0 + 125_000, web) },
    {
      time: T0 + 130_000,
      changes: [
        change(
          "opened",
          T0 + 130_000,
          sock(22, { pid: 7, localAddress: "::", family: 6, remoteAddress: "::" }),
          ssh,
        ),
      ],
    },
    {
      time: T0 + 140_000,
      changes: [
        change(
          "opened",
          T0 + 140_000,
          sock(8000, { pid: 0, remoteAddress: "10.9.9.9", remotePort: 40000, state: "TIME_WAIT" }),
        ),
      ],
    },
    { time: T0 + 150_000, changes: connection(8000, 50002, T0 + 150_000, T0 + 450_000, web) },
  ]);
  return dir;
}
