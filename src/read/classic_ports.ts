/**
 * PR-PORTS lines back to rows, ours and original Port Reporter 1.01 ones alike, with a tolerant
 * grammar: `yy/m/d,H:M:S` with or without padding, CRLF or LF (handled by the line reader), UTF-8 or
 * ANSI (a line that is not valid UTF-8 is read as Windows-1252), the first nine commas split and the
 * rest kept as the user context (so a 1.01 account name with a comma survives), the Windows 2000
 * variant without pid/module/user, and our escaping (`\x2c`, `\\`, `\xHH`, `\uHHHH`) read back with
 * {@link unescapeField}. Header lines and anything else that is not a data line are skipped.
 *
 * @module
 */

import { isIP } from "node:net";
import { unescapeField } from "../model/text.ts";
import { localToInstant } from "./local_instant.ts";
import type { ChangeRow, RowSource } from "./rows.ts";

const DATA = /^\s*(\d{1,4})\/(\d{1,2})\/(\d{1,2}),(\d{1,2}):(\d{1,2}):(\d{1,2}),(TCP|UDP),/i;

const utf8 = new TextDecoder("utf-8", { fatal: true });
const ansi = new TextDecoder("windows-1252");

/** Decodes a classic line: UTF-8 when valid, else Windows-1252 (the original's ANSI code page). */
export function decodeClassicLine(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return ansi.decode(bytes);
  }
}

function fullYear(y: number): number {
  return y < 100 ? 2000 + y : y;
}

function portOf(text: string): number | undefined {
  if (text === "" || text === "*") return 0;
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

function addressOf(text: string): string | undefined {
  if (text === "*" || text === "") return "";
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  return isIP(bare) ? bare : undefined;
}

/**
 * One PR-PORTS data line as an `opened` row, or `undefined` when it is not a data line. `hint` is
 * the previous row's instant (it picks the right instant of a wall time a DST change repeats).
 */
export function rowFromPortsLine(
  line: string,
  source: RowSource,
  timeZone?: string,
  hint?: number,
): ChangeRow | undefined {
  const m = DATA.exec(line);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return undefined;
  const rest = line.slice(m[0].length).replace(/\s+$/, "");
  const fields: string[] = [];
  let from = 0;
  while (fields.length < 6) { // local port, local IP, remote port, remote IP, PID, module; the rest is the user
    const comma = rest.indexOf(",", from);
    if (comma < 0) break;
    fields.push(rest.slice(from, comma));
    from = comma + 1;
  }
  fields.push(rest.slice(from));
  if (fields.length < 4) return undefined;
  const protocol = m[7].toLowerCase() as "tcp" | "udp";
  const localPort = portOf(fields[0].trim());
  const localAddress = addressOf(fields[1].trim());
  const remotePort = portOf(fields[2].trim());
  let remoteAddress = addressOf(fields[3].trim());
  if (localPort === undefined || !localAddress || remotePort === undefined || remoteAddress === undefined) {
    return undefined;
  }
  const family = isIP(localAddress) === 6 ? 6 : 4;
  if (remoteAddress === "") remoteAddress = family === 6 ? "::" : "0.0.0.0";
  const listener = protocol === "tcp" && remotePort === 0;
  const row: ChangeRow = {
    type: "change",
    event: "opened",
    time: localToInstant(
      { year: fullYear(y), month: mo, day: d, hour: h, minute: mi, second: s },
      timeZone,
      hint,
    ),
    protocol,
    family,
    localAddress,
    localPort,
    remoteAddress,
    remotePort,
    state: protocol === "udp" ? null : listener ? "LISTEN" : "ESTABLISHED",
    pid: 0,
    source,
  };
  if (fields.length >= 5) {
    const pid = fields[4].trim();
    if (!/^\d{1,10}$/.test(pid)) return undefined;
    row.pid = Number(pid);
  }
  if (fields.length >= 7 && !fields[6].startsWith("<")) {
    // a 1.01 module name with a comma in it: the user context is the last `,<...>`
    const at = fields[6].lastIndexOf(",<");
    if (at >= 0 && fields[6].endsWith(">")) {
      fields[5] += "," + fields[6].slice(0, at);
      fields[6] = fields[6].slice(at + 1);
    }
  }
  if (fields.length >= 6) row.processName = unescapeField(fields[5]);
  if (fields.length >= 7) {
    const u = fields[6];
    const inner = u.startsWith("<") && u.endsWith(">") ? u.slice(1, -1) : u;
    row.user = unescapeField(inner);
  }
  return row;
}
