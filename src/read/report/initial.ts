/**
 * The endpoints that were already open when the monitor started are in PR-INITIAL only (PR-EVENTS
 * lists changes). The readers yield its endpoint table as `opened` rows (`includeInitial`); the table
 * has no paths or services, so this reads them from PR-INITIAL's process entries (`PID:`, `Process:`,
 * `Path:`, `User context:`, `Services:`, then the `Ports:` lines) for the watchlist's path check and
 * the services table.
 *
 * @module
 */

import { unescapeField } from "../../model/text.ts";
import type { TcpState } from "../../model/types.ts";
import { fileLines, type ReadStats } from "./lines.ts";
import type { ReportChange, ReportRow } from "./rows.ts";

/** One endpoint of PR-INITIAL, without a time (the set's start gives it one). */
export type InitialEndpoint = Omit<ReportChange, "time">;

/** `127.0.0.1:80`, `[::1]:80`, `*:*` as address and port. */
function endpoint(text: string): [string, number] | undefined {
  if (text === "*:*") return ["*", 0];
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  return m ? [m[1], Number(m[2])] : undefined;
}

/** Parses one `Ports:` line (`TCP 127.0.0.1:8765 0.0.0.0:0 LISTEN`, `UDP [::1]:5353 *:*`). */
export function portLine(line: string, owner: Partial<InitialEndpoint>): InitialEndpoint | undefined {
  const [proto, local, remote, state] = line.trim().split(" ");
  const l = local ? endpoint(local) : undefined;
  const r = remote ? endpoint(remote) : undefined;
  if ((proto !== "TCP" && proto !== "UDP") || !l || !r) return undefined;
  const family = l[0].includes(":") ? 6 : 4;
  const none = family === 6 ? "::" : "0.0.0.0";
  return {
    ...owner,
    type: "change",
    event: "opened",
    protocol: proto === "TCP" ? "tcp" : "udp",
    family,
    localAddress: l[0],
    localPort: l[1],
    remoteAddress: r[0] === "*" ? none : r[0],
    remotePort: r[1],
    state: proto === "TCP" ? (state ?? "ESTABLISHED") as TcpState : null,
    pid: owner.pid ?? 0,
  };
}

/** The endpoints of the process entries of one PR-INITIAL file. */
export function readInitial(path: string, stats: ReadStats): InitialEndpoint[] {
  const out: InitialEndpoint[] = [];
  let owner: Partial<InitialEndpoint> = {};
  let inPorts = false;
  for (const line of fileLines(path, stats)) {
    const colon = line.indexOf(": ");
    const key = colon > 0 && !line.startsWith(" ") ? line.slice(0, colon) : "";
    const value = unescapeField(line.slice(colon + 2));
    if (inPorts && line.startsWith("  ")) {
      const e = portLine(line, owner);
      if (e) out.push(e);
      continue;
    }
    inPorts = line === "Ports:";
    if (key === "PID") owner = { pid: Number(value) || 0 };
    else if (key === "Process") owner.processName = value;
    else if (key === "Path") owner.processPath = value;
    else if (key === "User context") owner.user = value.replace(/^<(.*)>$/, "$1");
    else if (key === "Services" && value !== "none") owner.services = value.split(", ");
  }
  return out;
}

/** The owner details of PR-INITIAL's process entries by pid (path, services: the table lacks them). */
export function initialOwners(path: string): Map<number, Partial<InitialEndpoint>> {
  const owners = new Map<number, Partial<InitialEndpoint>>();
  for (const e of readInitial(path, { files: 0, lines: 0, skipped: 0 })) {
    if (!owners.has(e.pid)) owners.set(e.pid, { processPath: e.processPath, services: e.services });
  }
  return owners;
}

/**
 * The readers' rows with each PR-INITIAL endpoint given its process path and services from the
 * file's process entries (one file's owners held at a time).
 */
export async function* withInitialOwners<
  R extends ReportRow & { initial?: boolean; source?: { file: string } },
>(
  rows: AsyncIterable<R>,
): AsyncGenerator<R> {
  let file = "";
  let owners = new Map<number, Partial<InitialEndpoint>>();
  for await (const row of rows) {
    if (row.type === "change" && row.initial && row.source) {
      if (row.source.file !== file) file = row.source.file, owners = initialOwners(file);
      const o = owners.get(row.pid);
      if (o?.processPath !== undefined && row.processPath === undefined) row.processPath = o.processPath;
      if (o?.services?.length && !row.services?.length) row.services = o.services;
    }
    yield row;
  }
}
