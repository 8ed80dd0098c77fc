/**
 * The endpoint table of PR-INITIAL (every endpoint open when the monitor started) back to rows, so
 * that `connections` knows the listeners and connections that were already open and never closed.
 * The table is the `netstat -ano` style one of `endpointTableLines` (src/log/classic.ts): columns
 * start where their headings start, so values are cut by position (a process name may hold spaces),
 * then unescaped.
 *
 * @module
 */

import { isIP } from "node:net";
import { unescapeField } from "../model/text.ts";
import type { TcpState } from "../model/types.ts";
import { TCP_STATES } from "../model/types.ts";
import { decodeClassicLine } from "./classic_ports.ts";
import { readLines } from "./lines.ts";
import type { ChangeRow } from "./rows.ts";

const HEADINGS = ["Proto", "Local Address", "Foreign Address", "State", "PID", "Process", "User"];
const STATES = new Set<string>([...TCP_STATES, "LISTENING"]);

function endpoint(text: string): [string, number] | undefined {
  if (text === "*:*") return ["", 0];
  const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(text);
  if (!m || !isIP(m[1])) return undefined;
  return [m[1], Number(m[2])];
}

/** One table line as a row (`event` `opened`, `initial` set), or `undefined` when it is not one. */
export function rowFromInitialLine(line: string, starts: number[], time: number, file: string, n: number) {
  const cell = (i: number) => line.slice(starts[i], i + 1 < starts.length ? starts[i + 1] : undefined).trim();
  const proto = cell(0).toLowerCase();
  if (proto !== "tcp" && proto !== "udp") return undefined;
  const local = endpoint(cell(1));
  const remote = endpoint(cell(2));
  const stateText = cell(3);
  const pid = cell(4);
  if (!local || !remote || !/^\d{1,10}$/.test(pid) || (stateText && !STATES.has(stateText))) return undefined;
  const family = isIP(local[0]) === 6 ? 6 : 4;
  const row: ChangeRow & { initial: true } = {
    type: "change",
    event: "opened",
    time,
    protocol: proto,
    family,
    localAddress: local[0],
    localPort: local[1],
    remoteAddress: remote[0] || (family === 6 ? "::" : "0.0.0.0"),
    remotePort: remote[1],
    state: proto === "udp" ? null : (stateText === "LISTENING" ? "LISTEN" : stateText as TcpState) || null,
    pid: Number(pid),
    source: { file, line: n, format: "classic" },
    initial: true,
  };
  const name = cell(5);
  if (name && name !== "-" && row.pid !== 0) row.processName = unescapeField(name);
  const user = cell(6);
  if (user) row.user = unescapeField(user);
  return row;
}

/**
 * The endpoints listed in a PR-INITIAL file, as `opened` rows at `time` (the set's start) with
 * `initial: true`. Reads only up to the end of the table (the process section that follows is
 * skipped); bounded like every reader (one chunk plus one line).
 */
export async function* readInitialRows(path: string, time: number): AsyncGenerator<ChangeRow> {
  let starts: number[] | undefined;
  try {
    for await (const raw of readLines(path, undefined, { includePartialTail: true })) {
      const line = decodeClassicLine(raw.bytes);
      if (!starts) {
        if (/^\s+Proto\s+Local Address\s+Foreign Address\s+State\s+PID/.test(line)) {
          starts = HEADINGS.map((h) => line.indexOf(h));
          if (starts.some((s) => s < 0)) starts = starts.slice(0, 5);
        }
        continue;
      }
      if (line.trim() === "") break; // the end of the table
      const row = rowFromInitialLine(line, starts, time, path, raw.number);
      if (row) yield row;
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied)) throw e;
  }
}
