/**
 * The classic Port Reporter formats: PR-INITIAL, PR-PORTS and PR-PIDS headers, the PR-PORTS line and
 * the process entries. Headers and the PR-PORTS line are byte-compatible with Port Reporter 1.01 as
 * documented (see the README); the bodies of PR-INITIAL and PR-PIDS, never documented, follow the
 * layout described there.
 *
 * Every function returns text with `\n` line ends; the writer converts to the configured line end.
 *
 * Every value that came from another process (names, paths, command lines, user names, services,
 * module paths) is written through `escapeField` / `escapeUser` (src/model/text.ts): it can neither
 * add a field (a comma), nor a line or an entry (a line break), nor a terminal control sequence.
 * Values without a special character are written as they are, at no cost.
 *
 * @module
 */

import type { HostInfo, ProcessInfo, SocketRecord } from "../model/types.ts";
import { formatSystemDate, type LocalParts } from "./local_time.ts";
import type { ByteBuffer } from "./byte_buffer.ts";
import { logFileName } from "./file_names.ts";
import { escapeField, escapeUser } from "../model/text.ts";

/** The version the headers claim; old parsers look for 1.01. */
export const CLASSIC_VERSION = "1.01";

/** The `Log format:` line of PR-PORTS, verbatim. */
export const PORTS_LOG_FORMAT =
  "date,time,protocol,local port,local IP address,remote port,remote IP address,PID,module,user context";

/** The common header of PR-INITIAL and PR-PIDS (title: `Service initialization log` / `Process detail log`). */
export function detailHeader(title: string, start: LocalParts, host: HostInfo): string {
  return [
    `Port Reporter Version ${CLASSIC_VERSION} Log File`,
    "",
    title,
    "",
    `System Date: ${formatSystemDate(start)}`,
    "",
    "",
    "Local computer name:",
    "",
    ` ${escapeField(host.computerName)}`,
    "",
    `Operating System: ${escapeField(host.osName)}`,
    "",
    ...zoneLines(host),
  ].join("\n") + "\n";
}

/** `Time zone: Europe/Berlin` and a blank line when the zone is known (an addition to the original headers). */
function zoneLines(host: HostInfo | undefined): string[] {
  return host?.timeZone
    ? [`Time zone: ${host.timeZone} (the local time of every date and time in this file)`, ""]
    : [];
}

/** The header of PR-INITIAL. */
export function initialHeader(start: LocalParts, host: HostInfo): string {
  return detailHeader("Service initialization log", start, host);
}

/** The header of PR-PIDS. */
export function pidsHeader(start: LocalParts, host: HostInfo): string {
  return detailHeader("Process detail log", start, host);
}

/**
 * The header of PR-PORTS, pointing at the PR-PIDS file of the same stamp; with `host.timeZone`, a
 * `Time zone:` line before `Log format:`.
 */
export function portsHeader(stamp: string, host?: HostInfo): string {
  return [
    `Port Reporter Version ${CLASSIC_VERSION} Log File - Port usage log`,
    "",
    `Check ${logFileName("PIDS", stamp)} for corresponding process data`,
    "",
    ...zoneLines(host),
    "Log format:",
    PORTS_LOG_FORMAT,
  ].join("\n") + "\n";
}

/** `05/7/6` and `13:52:1`: the date and time fields of a PR-PORTS line (two-digit year, nothing padded). */
export function portsDateTime(p: LocalParts): [date: string, time: string] {
  return [
    `${String(p.year % 100).padStart(2, "0")}/${p.month}/${p.day}`,
    `${p.hour}:${p.minute}:${p.second}`,
  ];
}

/**
 * The user context field: `<DOMAIN\user>`, `<unknown>` when it could not be read. The name is
 * escaped with `escapeUser`, so the field holds exactly one `<` and one `>`.
 */
export function userContext(process: ProcessInfo | undefined): string {
  return `<${escapeUser(process?.user ?? "unknown")}>`;
}

/** The module field: the image base name (escaped), `unknown` when no owner is known. */
export function moduleName(process: ProcessInfo | undefined): string {
  return escapeField(process?.name ?? "unknown");
}

/**
 * One PR-PORTS line, without its line end:
 * `05/7/6,13:52:1,TCP,3389,0.0.0.0,,0.0.0.0,1096,svchost.exe,<NT AUTHORITY\SYSTEM>`.
 * A TCP listener has an empty remote port and remote IP `0.0.0.0` (`::` for IPv6); UDP has `*,*`.
 */
export function portsLine(time: LocalParts, socket: SocketRecord, process: ProcessInfo | undefined): string {
  let remote: string;
  if (socket.protocol === "udp") remote = "*,*";
  else if (socket.state === "LISTEN") remote = `,${socket.family === 6 ? "::" : "0.0.0.0"}`;
  else remote = `${socket.remotePort},${socket.remoteAddress}`;
  return `${portsStamp(time)}${
    socket.protocol === "tcp" ? "TCP" : "UDP"
  },${socket.localPort},${socket.localAddress},${remote},${socket.pid},${ownerFields(process)}`;
}

/**
 * {@link portsLine} written straight into `out` as UTF-8 (no string made for the line): the same
 * bytes, pinned by a test.
 */
export function addPortsLine(
  out: ByteBuffer,
  time: LocalParts,
  socket: SocketRecord,
  process: ProcessInfo | undefined,
): void {
  const start = out.length;
  out.addAscii(portsStamp(time));
  out.addAscii(socket.protocol === "tcp" ? "TCP," : "UDP,");
  out.addDecimal(socket.localPort);
  out.addAscii(",");
  if (!addAsciiOnly(out, socket.localAddress)) {
    out.length = start; // not ASCII: the string's way
    return out.add(portsLine(time, socket, process));
  }
  if (socket.protocol === "udp") out.addAscii(",*,*,");
  else if (socket.state === "LISTEN") out.addAscii(socket.family === 6 ? ",,::," : ",,0.0.0.0,");
  else {
    out.addAscii(",");
    out.addDecimal(socket.remotePort);
    out.addAscii(",");
    if (!addAsciiOnly(out, socket.remoteAddress)) {
      out.length = start;
      return out.add(portsLine(time, socket, process));
    }
    out.addAscii(",");
  }
  out.addDecimal(socket.pid);
  out.addAscii(",");
  out.addBytes(ownerBytes(process));
}

/** Appends `text` when it is all ASCII; false (and nothing appended) when not. */
function addAsciiOnly(out: ByteBuffer, text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  out.addAscii(text);
  return true;
}

const ownerEncoded = new WeakMap<ProcessInfo, Uint8Array>();
const NO_OWNER_BYTES = new TextEncoder().encode(`${moduleName(undefined)},${userContext(undefined)}`);
function ownerBytes(process: ProcessInfo | undefined): Uint8Array {
  if (process === undefined) return NO_OWNER_BYTES;
  let bytes = ownerEncoded.get(process);
  if (bytes === undefined) ownerEncoded.set(process, bytes = new TextEncoder().encode(ownerFields(process)));
  return bytes;
}

const stamped: LocalParts = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, weekday: 0 };
let stampText = "";
/** `date,time,` of a PR-PORTS line, made once per second of lines. */
function portsStamp(t: LocalParts): string {
  const s = stamped;
  if (
    t.second !== s.second || t.minute !== s.minute || t.hour !== s.hour || t.day !== s.day ||
    t.month !== s.month || t.year !== s.year || stampText === ""
  ) {
    const [date, clock] = portsDateTime(t);
    stampText = `${date},${clock},`;
    Object.assign(s, t);
  }
  return stampText;
}

const ownerTexts = new WeakMap<ProcessInfo, string>();
const NO_OWNER = `${moduleName(undefined)},${userContext(undefined)}`;
/** The module and user fields of a PR-PORTS line, made once per process record. */
function ownerFields(process: ProcessInfo | undefined): string {
  if (process === undefined) return NO_OWNER;
  let text = ownerTexts.get(process);
  if (text === undefined) ownerTexts.set(process, text = `${moduleName(process)},${userContext(process)}`);
  return text;
}

/** `TCP    127.0.0.1:80` style endpoint text; IPv6 in brackets. */
export function endpointText(address: string, port: number, family: number): string {
  return family === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The foreign address: `*:*` for UDP without a peer, the peer of a connected UDP socket, else the endpoint. */
export function remoteText(s: SocketRecord): string {
  if (s.protocol === "udp" && s.remotePort === 0) return "*:*";
  return endpointText(s.remoteAddress, s.remotePort, s.family);
}

/** The cells of one endpoint row of {@link endpointTable} (states spelled as everywhere else: `LISTEN`). */
function endpointCells(s: SocketRecord, processes: Map<number, ProcessInfo>, withOwner: boolean): string[] {
  const local = endpointText(s.localAddress, s.localPort, s.family);
  const remote = remoteText(s);
  const state = s.state ?? "";
  const cells = [s.protocol.toUpperCase(), local, remote, state, String(s.pid)];
  if (withOwner) {
    const p = processes.get(s.pid);
    cells.push(p ? escapeField(p.name) : (s.pid === 0 ? "-" : "unknown"), escapeField(p?.user ?? ""));
  }
  return cells;
}

/**
 * A `netstat -ano` style table of endpoints (PR-INITIAL's first section and `portreporter snapshot`),
 * one line at a time: two passes over the sockets (widths, then lines), never the whole table in memory.
 */
export function* endpointTableLines(
  sockets: SocketRecord[],
  processes: Map<number, ProcessInfo>,
  withOwner = true,
): Generator<string> {
  const sorted = [...sockets].sort(compareSockets);
  const head = ["Proto", "Local Address", "Foreign Address", "State", "PID"];
  if (withOwner) head.push("Process", "User");
  const widths = head.map((h) => h.length);
  for (const s of sorted) {
    endpointCells(s, processes, withOwner).forEach((c, i) => (widths[i] = Math.max(widths[i], c.length)));
  }
  const line = (r: string[]) =>
    "  " + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd();
  yield line(head) + "\n";
  for (const s of sorted) yield line(endpointCells(s, processes, withOwner)) + "\n";
}

/** The whole {@link endpointTableLines} table as one string. */
export function endpointTable(
  sockets: SocketRecord[],
  processes: Map<number, ProcessInfo>,
  withOwner = true,
): string {
  return [...endpointTableLines(sockets, processes, withOwner)].join("");
}

/** Orders endpoints as netstat does: protocol, family, local address, local port, remote. */
export function compareSockets(a: SocketRecord, b: SocketRecord): number {
  return a.protocol.localeCompare(b.protocol) || a.family - b.family ||
    a.localAddress.localeCompare(b.localAddress) || a.localPort - b.localPort ||
    a.remoteAddress.localeCompare(b.remoteAddress) || a.remotePort - b.remotePort || a.pid - b.pid;
}

/**
 * One process entry of PR-PIDS and PR-INITIAL:
 *
 * ```
 * PID: 1096
 * Process: svchost.exe
 * Path: C:\WINDOWS\system32\svchost.exe
 * ...
 * Modules:
 *   0x7c900000 729088 C:\WINDOWS\system32\ntdll.dll
 * ```
 *
 * `logged` (PR-PIDS only) is the PR-PORTS time of the line that caused the entry.
 */
export function processEntry(process: ProcessInfo, ports: SocketRecord[], logged?: LocalParts): string {
  const lines: string[] = [];
  if (logged) lines.push(`Logged: ${portsDateTime(logged).join(",")}`);
  lines.push(`PID: ${process.pid}`, `Process: ${escapeField(process.name)}`);
  if (process.path) lines.push(`Path: ${escapeField(process.path)}`);
  if (process.commandLine) lines.push(`Command line: ${escapeField(process.commandLine)}`);
  lines.push(`User context: ${userContext(process)}`);
  if (process.parentPid !== undefined) {
    const parent = process.parentName ? ` (${escapeField(process.parentName)})` : "";
    lines.push(`Parent PID: ${process.parentPid}${parent}`);
  }
  if (process.startTime !== undefined) lines.push(`Started: ${new Date(process.startTime).toISOString()}`);
  const services = process.services?.length ? process.services.map(escapeField).join(", ") : "none";
  lines.push(`Services: ${services}`);
  if (process.partial) lines.push(`Incomplete: ${escapeField(process.partial)}`);
  lines.push("Ports:");
  for (const s of [...ports].sort(compareSockets)) {
    const remote = remoteText(s);
    lines.push(
      `  ${s.protocol.toUpperCase()} ${endpointText(s.localAddress, s.localPort, s.family)} ${remote}${
        s.state ? ` ${s.state}` : ""
      }`,
    );
  }
  lines.push(`Modules: ${process.modules ? process.modules.length : "unknown"}`);
  for (const m of process.modules ?? []) {
    lines.push(`  ${escapeField(m.baseAddress ?? "-")} ${m.size ?? "-"} ${escapeField(m.path)}`);
  }
  return lines.join("\n") + "\n\n";
}

/**
 * The body of PR-INITIAL: every endpoint, then every process that owns one, with its modules; yielded
 * in pieces of about `chunkChars` characters so that a large first snapshot is never one huge string.
 */
export function* initialBody(
  sockets: SocketRecord[],
  processes: Map<number, ProcessInfo>,
  chunkChars = 64 * 1024,
): Generator<string> {
  const byPid = new Map<number, SocketRecord[]>();
  for (const s of sockets) {
    const list = byPid.get(s.pid);
    if (list) list.push(s);
    else byPid.set(s.pid, [s]);
  }
  let chunk = `\nActive endpoints: ${sockets.length}\n\n`;
  for (const line of endpointTableLines(sockets, processes)) {
    chunk += line;
    if (chunk.length >= chunkChars) {
      yield chunk;
      chunk = "";
    }
  }
  chunk += `\nProcesses: ${processes.size}\n\n`;
  for (const pid of [...processes.keys()].sort((a, b) => a - b)) {
    chunk += processEntry(processes.get(pid)!, byPid.get(pid) ?? []);
    if (chunk.length >= chunkChars) {
      yield chunk;
      chunk = "";
    }
  }
  yield chunk;
}
