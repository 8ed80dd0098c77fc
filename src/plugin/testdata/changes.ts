/**
 * Builders of synthetic changes for plugin tests.
 *
 * @module
 */

import type { Change, ProcessInfo, SocketRecord } from "../../model/types.ts";

/** A socket record with sensible defaults (an established IPv4 TCP connection). */
export function socket(over: Partial<SocketRecord> = {}): SocketRecord {
  const family = over.family ?? ((over.localAddress ?? "").includes(":") ? 6 : 4);
  return {
    protocol: "tcp",
    family,
    localAddress: family === 6 ? "2001:db8::10" : "10.0.0.10",
    localPort: 50000,
    remoteAddress: family === 6 ? "2001:db8::20" : "93.184.216.34",
    remotePort: 443,
    state: "ESTABLISHED",
    pid: 4242,
    ...over,
  };
}

/** A change (`opened` by default) of a socket built by {@link socket}, owned by `curl` unless told otherwise. */
export function change(
  over: Partial<SocketRecord> = {},
  extra: Partial<Omit<Change, "socket" | "process">> & { process?: Partial<ProcessInfo> | null } = {},
): Change {
  const s = socket(over);
  const { process, ...rest } = extra;
  const c: Change = {
    kind: "opened",
    time: 1_700_000_000_000,
    socket: s,
    firstSeen: 1_700_000_000_000,
    ...rest,
  };
  if (process !== null) {
    c.process = { pid: s.pid, name: "curl", path: "/usr/bin/curl", user: "alice", ...process };
  }
  return c;
}

/** A TCP listener change. */
export function listener(
  port: number,
  over: Partial<SocketRecord> = {},
  proc: Partial<ProcessInfo> = {},
): Change {
  return change(
    {
      localAddress: "0.0.0.0",
      localPort: port,
      remoteAddress: "0.0.0.0",
      remotePort: 0,
      state: "LISTEN",
      ...over,
    },
    { process: proc },
  );
}
