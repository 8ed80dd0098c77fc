/**
 * Reads a log directory for the report: the sets in order (by parsed stamp, never by name), each
 * PR-EVENTS file line by line in bounded memory (one 64 KiB chunk plus one line of at most 1 MiB), and the module lists
 * of the PR-PIDS and PR-INITIAL files. A line that is not a JSON object, or a record of a kind the report does not use, is
 * skipped and counted.
 *
 * @module
 */

import { join } from "node:path";
import { UsageError } from "../../errors.ts";
import { parseLogFileName } from "../../log/file_names.ts";
import { unescapeField } from "../../model/text.ts";
import type { ModuleSighting, ReportChange, ReportRow } from "./rows.ts";

const CHUNK = 64 * 1024; // small enough that each decoded chunk is a young-generation string
const MAX_LINE = 1 << 20;

/** Counts of what was read and skipped. */
export interface ReadStats {
  /** Files read. */
  files: number;
  /** Lines read. */
  lines: number;
  /** Lines skipped (not JSON, not an object, malformed fields, or longer than 1 MiB). */
  skipped: number;
}

/** The files of one log set (one stamp). */
export interface SetFiles {
  /** The set's stamp as local time, ms (the system zone). */
  start: number;
  /** PR-EVENTS path. */
  events?: string;
  /** PR-INITIAL path. */
  initial?: string;
  /** PR-PIDS path. */
  pids?: string;
}

/** The log sets of a directory, oldest first (by parsed stamp, never by name). */
export function logSets(dir: string): SetFiles[] {
  let names: string[];
  try {
    names = [...Deno.readDirSync(dir)].filter((e) => e.isFile).map((e) => e.name);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "no such directory" : (e as Error).message;
    throw new UsageError(`cannot read log directory ${dir}: ${why}`);
  }
  const sets = new Map<number, SetFiles>();
  for (const name of names) {
    const p = parseLogFileName(name);
    if (!p || p.kind === "PORTS" || p.kind === "ALERTS") continue;
    const s = p.stamp;
    let set = sets.get(p.order);
    if (!set) {
      sets.set(
        p.order,
        set = { start: new Date(s.year, s.month - 1, s.day, s.hour, s.minute, s.second).getTime() },
      );
    }
    set[p.kind === "EVENTS" ? "events" : p.kind === "INITIAL" ? "initial" : "pids"] = join(dir, name);
  }
  return [...sets].sort((a, b) => a[0] - b[0]).map(([, set]) => set);
}

/** The lines of a file as text (UTF-8, undecodable bytes replaced), without line ends. */
export function* fileLines(path: string, stats: ReadStats): Generator<string> {
  const file = Deno.openSync(path, { read: true });
  const decoder = new TextDecoder();
  const buf = new Uint8Array(CHUNK);
  let rest = "";
  try {
    for (;;) {
      const n = file.readSync(buf);
      if (n === null) break;
      const text = rest + decoder.decode(buf.subarray(0, n), { stream: true });
      let from = 0;
      for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", from)) {
        yield text.slice(from, nl > from && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl);
        from = nl + 1;
      }
      rest = text.slice(from);
      if (rest.length > MAX_LINE) rest = "", stats.skipped++;
    }
    rest += decoder.decode();
    if (rest) yield rest;
  } finally {
    file.close();
  }
}

const TEXT_FIELDS = ["host", "processName", "processPath", "user"] as const;
const NUMBER_FIELDS = ["durationMs", "bytesSent", "bytesReceived"] as const;
let lastTimeText = "";
let lastTime = Number.NaN;

/** `Date.parse` with the last answer kept: consecutive records mostly share one poll's time. */
function iso(v: unknown): number {
  if (typeof v !== "string") return Number.NaN;
  if (v !== lastTimeText) lastTimeText = v, lastTime = Date.parse(v);
  return lastTime;
}

/**
 * One PR-EVENTS record as a row (the parsed object itself, checked and given its `type` and numeric
 * times, so a large log costs no copy); `undefined` when it is malformed. Fields of the wrong type are
 * dropped.
 */
export function rowFromRecord(r: Record<string, unknown>): ReportRow | undefined {
  const time = iso(r.time);
  if (!Number.isFinite(time) || typeof r.event !== "string") return undefined;
  if (r.event !== "opened" && r.event !== "closed" && r.event !== "changed") {
    return { type: "marker", event: r.event, time, host: typeof r.host === "string" ? r.host : undefined };
  }
  const { protocol, family, localAddress, localPort, remoteAddress, remotePort, pid, state } = r;
  if (
    (protocol !== "tcp" && protocol !== "udp") || (family !== 4 && family !== 6) ||
    typeof localAddress !== "string" || typeof remoteAddress !== "string" ||
    typeof localPort !== "number" || typeof remotePort !== "number" || typeof pid !== "number" ||
    (state !== null && typeof state !== "string")
  ) return undefined;
  for (const k of TEXT_FIELDS) if (r[k] !== undefined && typeof r[k] !== "string") delete r[k];
  for (const k of NUMBER_FIELDS) if (r[k] !== undefined && !Number.isFinite(r[k])) delete r[k];
  if (r.services !== undefined) {
    r.services = Array.isArray(r.services) ? r.services.filter((s) => typeof s === "string") : undefined;
  }
  r.type = "change";
  r.time = time;
  if (r.firstSeen !== undefined) {
    // only a close without its open needs it: parsed then, not for every record
    const first = r.event === "closed" && typeof r.firstSeen === "string"
      ? Date.parse(r.firstSeen)
      : Number.NaN;
    r.firstSeen = Number.isFinite(first) ? first : undefined;
  }
  return r as unknown as ReportChange;
}

/** Every row of one PR-EVENTS file. */
export function* readEventRows(path: string, stats: ReadStats): Generator<ReportRow> {
  stats.files++;
  for (const line of fileLines(path, stats)) {
    stats.lines++;
    if (!line) continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      stats.skipped++;
      continue;
    }
    const row = typeof record === "object" && record !== null && !Array.isArray(record)
      ? rowFromRecord(record as Record<string, unknown>)
      : undefined;
    if (row) yield row;
    else stats.skipped++;
  }
}

/**
 * The modules of each PR-PIDS entry (`PID:`, `Process:`, then the lines after `Modules: N`, whose last
 * field is the path), values unescaped from the classic grammar.
 */
export function* readModules(files: string[], stats: ReadStats): Generator<ModuleSighting> {
  for (const path of files) {
    let pid = 0;
    let name = "";
    let left = 0;
    for (const line of fileLines(path, stats)) {
      if (left > 0) {
        left--;
        const m = /^\s+0x[0-9a-fA-F]+ \d+ (.*)$/.exec(line) ?? /^\s+(.*)$/.exec(line);
        if (m) yield { pid, processName: name, path: unescapeField(m[1]) };
        continue;
      }
      if (line.startsWith("PID: ")) pid = Number(line.slice(5)) || 0;
      else if (line.startsWith("Process: ")) name = unescapeField(line.slice(9));
      else if (line.startsWith("Modules: ")) left = Math.min(Number(line.slice(9)) || 0, 100_000);
    }
  }
}
