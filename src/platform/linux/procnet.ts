/**
 * The `/proc/net/{tcp,tcp6,udp,udp6}` parser: the fallback source when netlink sock_diag is not
 * available.
 *
 * Line format (`net/ipv4/tcp_ipv4.c`, `net/ipv6/tcp_ipv6.c`, `net/ipv4/udp.c`):
 *
 * ```
 *   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ...
 *    0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 12345 ...
 * ```
 *
 * An IPv4 address is one 32-bit word printed as `%08X` from host memory (little-endian on the machines
 * we run on), an IPv6 address four such words; ports are `%04X` in host order. The parser walks the text
 * with an index instead of splitting it, so a poll allocates only the records themselves.
 *
 * @module
 */

import type { AddressFamily, Protocol, SocketRecord, TcpState } from "../../model/types.ts";
import { ipv4Text, ipv6Text, swapBytes32 } from "./address.ts";
import { linuxTcpStateName } from "./tcp_states.ts";

/** The four /proc/net tables, by protocol and family, with their file names under `<procRoot>/net/`. */
export const PROC_NET_TABLES: readonly { protocol: Protocol; family: AddressFamily; fileName: string }[] = [
  { protocol: "tcp", family: 4, fileName: "tcp" },
  { protocol: "tcp", family: 6, fileName: "tcp6" },
  { protocol: "udp", family: 4, fileName: "udp" },
  { protocol: "udp", family: 6, fileName: "udp6" },
];

/** Number of whitespace-separated fields between the state and the inode (tx:rx, tr:when, retrnsmt, uid, timeout). */
const FIELDS_BETWEEN_STATE_AND_INODE = 5;

const CHAR_SPACE = 0x20;
const CHAR_TAB = 0x09;
const CHAR_NEWLINE = 0x0a;
const CHAR_COLON = 0x3a;

/** Cursor into the text being parsed (module-local so the helpers return plain numbers). */
let cursor = 0;

function hexDigit(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

/** Reads `digits` hex digits at the cursor; -1 when one is not a hex digit. */
function readHex(text: string, digits: number): number {
  let value = 0;
  for (let k = 0; k < digits; k++) {
    const digit = hexDigit(text.charCodeAt(cursor + k));
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  cursor += digits;
  return value;
}

/** Reads an unsigned decimal number at the cursor; -1 when there is none. */
function readDecimal(text: string): number {
  const start = cursor;
  let value = 0;
  for (;;) {
    const code = text.charCodeAt(cursor);
    if (code < 0x30 || code > 0x39) break;
    value = value * 10 + (code - 0x30);
    cursor++;
  }
  return cursor > start ? value : -1;
}

function skipBlanks(text: string): void {
  for (;;) {
    const code = text.charCodeAt(cursor);
    if (code !== CHAR_SPACE && code !== CHAR_TAB) return;
    cursor++;
  }
}

function skipField(text: string): void {
  const length = text.length;
  while (cursor < length) {
    const code = text.charCodeAt(cursor);
    if (code === CHAR_SPACE || code === CHAR_TAB || code === CHAR_NEWLINE) return;
    cursor++;
  }
}

/** Reads an address (8 or 32 hex digits) at the cursor; undefined when malformed. */
function readAddress(text: string, family: AddressFamily): string | undefined {
  if (family === 4) {
    const word = readHex(text, 8);
    return word < 0 ? undefined : ipv4Text(swapBytes32(word));
  }
  const word0 = readHex(text, 8);
  const word1 = readHex(text, 8);
  const word2 = readHex(text, 8);
  const word3 = readHex(text, 8);
  if (word0 < 0 || word1 < 0 || word2 < 0 || word3 < 0) return undefined;
  return ipv6Text(swapBytes32(word0), swapBytes32(word1), swapBytes32(word2), swapBytes32(word3));
}

/** Reads `:PPPP` (the port after an address) at the cursor; -1 when malformed. */
function readPort(text: string): number {
  if (text.charCodeAt(cursor) !== CHAR_COLON) return -1;
  cursor++;
  return readHex(text, 4);
}

/**
 * Parses one /proc/net table into socket records (pid 0: owners are resolved elsewhere). The header
 * line and malformed lines are skipped.
 *
 * @param text the whole file, e.g. the text of `/proc/net/tcp6`.
 * @param protocol `tcp` for tcp/tcp6, `udp` for udp/udp6 (UDP records get state `null`).
 * @param family 4 for tcp/udp, 6 for tcp6/udp6 (IPv4-mapped addresses stay family 6).
 * @param rows records are appended here; a new array when omitted.
 * @returns `rows`.
 */
export function parseProcNet(
  text: string,
  protocol: Protocol,
  family: AddressFamily,
  rows: SocketRecord[] = [],
): SocketRecord[] {
  const length = text.length;
  cursor = text.indexOf("\n") + 1; // skip the header line
  if (cursor === 0) return rows;
  while (cursor < length) {
    const lineEnd = text.indexOf("\n", cursor);
    const end = lineEnd < 0 ? length : lineEnd;
    skipBlanks(text);
    skipField(text); // "sl:"
    skipBlanks(text);
    const localAddress = readAddress(text, family);
    const localPort = readPort(text);
    skipBlanks(text);
    const remoteAddress = readAddress(text, family);
    const remotePort = readPort(text);
    skipBlanks(text);
    const stateNumber = readHex(text, 2);
    for (let field = 0; field < FIELDS_BETWEEN_STATE_AND_INODE; field++) {
      skipBlanks(text);
      skipField(text);
    }
    skipBlanks(text);
    const inode = readDecimal(text);
    if (
      localAddress !== undefined && remoteAddress !== undefined && localPort >= 0 && remotePort >= 0 &&
      stateNumber >= 0 && inode >= 0 && cursor <= end
    ) {
      const state: TcpState | null = protocol === "tcp" ? linuxTcpStateName(stateNumber) : null;
      rows.push({
        protocol,
        family,
        localAddress,
        localPort,
        remoteAddress,
        remotePort,
        state,
        pid: 0,
        inode,
      });
    }
    cursor = end + 1;
  }
  return rows;
}

/**
 * Reads and parses all four tables under `<procRoot>/net/`. A missing table (IPv6 disabled) counts as
 * empty.
 * @param procRoot usually `/proc`.
 * @param rows records are appended here.
 */
export function readProcNetTables(procRoot: string, rows: SocketRecord[] = []): SocketRecord[] {
  for (const table of PROC_NET_TABLES) {
    let text: string;
    try {
      text = Deno.readTextFileSync(`${procRoot}/net/${table.fileName}`);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    parseProcNet(text, table.protocol, table.family, rows);
  }
  return rows;
}
