/**
 * Flood caps: how much of another process's values one change may cost in the logs.
 *
 * Every value that came from another process is cut (with {@link cutText}'s marker) before it is
 * formatted, so that no line of any file exceeds {@link MAX_LINE_BYTES} even after escaping (which
 * writes a control character as four bytes, `\x01`), and one PR-PIDS entry stays under
 * {@link MAX_ENTRY_BYTES}. A JSON line that still exceeds the cap (JSON writes a control character as
 * six bytes) is cut further by {@link fitJsonLine}.
 *
 * @module
 */

import { cutMarker, cutText, jsonLine } from "../model/text.ts";
import { compareSockets } from "./classic.ts";
import type { ModuleInfo, ProcessInfo, SocketRecord } from "../model/types.ts";

/** No line of any log file is longer than this (bytes, line end excluded). */
export const MAX_LINE_BYTES = 16 * 1024;
/**
 * One PR-PIDS entry (all its lines) stays under this: the sum of the caps below, escaped (4 bytes per
 * byte at most), plus the fixed text. It is below the smallest `--max-size` (64 KiB) with a header.
 */
export const MAX_ENTRY_BYTES = 58 * 1024;
/** Caps of single values, in UTF-8 bytes before escaping (escaped: at most 4× as many). */
export const FIELD_CAPS = {
  name: 1024,
  path: 2048,
  commandLine: 2500,
  user: 512,
  partial: 512,
  service: 128,
} as const;
/** At most this many services, ports and modules are listed in one PR-PIDS entry. */
export const LIST_CAPS = { services: 16, ports: 64, modules: 256 } as const;
/** Module paths of one entry together stay under this (UTF-8 bytes before escaping). */
export const MODULES_BYTES = 3 * 1024;

const bounded = new WeakMap<ProcessInfo, ProcessInfo>();

/** Whether `s` is certainly within `bytes` (3 bytes per UTF-16 unit at most). */
const small = (s: string | undefined, bytes: number) => s === undefined || s.length * 3 <= bytes;

function smallProcess(p: ProcessInfo): boolean {
  if (!small(p.name, FIELD_CAPS.name) || !small(p.path, FIELD_CAPS.path)) return false;
  if (!small(p.commandLine, FIELD_CAPS.commandLine) || !small(p.user, FIELD_CAPS.user)) return false;
  if (!small(p.parentName, FIELD_CAPS.name) || !small(p.partial, FIELD_CAPS.partial)) return false;
  if ((p.services?.length ?? 0) > LIST_CAPS.services) return false;
  if (p.services?.some((s) => !small(s, FIELD_CAPS.service))) return false;
  const modules = p.modules ?? [];
  if (modules.length > LIST_CAPS.modules) return false;
  let chars = 0;
  for (const m of modules) chars += m.path.length + m.name.length;
  return chars * 3 <= MODULES_BYTES;
}

function cutModules(modules: ModuleInfo[]): ModuleInfo[] {
  const out: ModuleInfo[] = [];
  let bytes = 0;
  for (const m of modules) {
    const path = cutText(m.path, FIELD_CAPS.path);
    const cost = new TextEncoder().encode(path).length + 40;
    if (out.length >= LIST_CAPS.modules || bytes + cost > MODULES_BYTES) break;
    bytes += cost;
    out.push({ ...m, name: cutText(m.name, FIELD_CAPS.name), path });
  }
  if (out.length < modules.length) {
    out.push({ name: "", path: `…[cut ${modules.length - out.length} modules]` });
  }
  return out;
}

const MARKER_AT_END = /…\[cut (\d+) bytes\]$/;

/**
 * {@link cutText} for a value that may already end with a cut marker (the collector reads only the
 * first 32 KB of a command line): the new marker counts every byte cut, the collector's too.
 */
export function recut(text: string, maxBytes: number): string {
  const m = MARKER_AT_END.exec(text);
  if (!m || encoder.encode(text).length <= maxBytes) return cutText(text, maxBytes);
  const head = text.slice(0, m.index);
  const cut = cutText(head, maxBytes);
  const again = MARKER_AT_END.exec(cut);
  const kept = again ? cut.slice(0, again.index) : cut;
  const total = Number(m[1]) + encoder.encode(head).length - encoder.encode(kept).length;
  return kept + cutMarker(total);
}

/** `p` with every value within its cap (the same object when it already is; cached per object). */
export function boundProcess(p: ProcessInfo): ProcessInfo {
  const cached = bounded.get(p);
  if (cached) return cached;
  let out = p;
  if (!smallProcess(p)) {
    out = {
      ...p,
      name: cutText(p.name, FIELD_CAPS.name),
      path: p.path === undefined ? undefined : cutText(p.path, FIELD_CAPS.path),
      commandLine: p.commandLine === undefined ? undefined : recut(p.commandLine, FIELD_CAPS.commandLine),
      user: p.user === undefined ? undefined : cutText(p.user, FIELD_CAPS.user),
      parentName: p.parentName === undefined ? undefined : cutText(p.parentName, FIELD_CAPS.name),
      partial: p.partial === undefined ? undefined : cutText(p.partial, FIELD_CAPS.partial),
      services: p.services?.slice(0, LIST_CAPS.services).map((s) => cutText(s, FIELD_CAPS.service)),
      modules: p.modules === undefined ? undefined : cutModules(p.modules),
    };
    if (out.path === undefined) delete out.path;
    if (out.commandLine === undefined) delete out.commandLine;
  }
  bounded.set(p, out);
  return out;
}

/** The ports listed in one PR-PIDS entry: the first {@link LIST_CAPS}.ports in the entry's order. */
export function boundPorts(ports: SocketRecord[]): SocketRecord[] {
  return ports.length > LIST_CAPS.ports ? [...ports].sort(compareSockets).slice(0, LIST_CAPS.ports) : ports;
}

const encoder = new TextEncoder();

function cutValue(value: unknown, budget: number): unknown {
  if (typeof value === "string") return cutText(value, budget);
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    let used = 0;
    for (const v of value) {
      const c = cutValue(v, budget);
      used += jsonLine(c).length;
      if (used > budget * 2) {
        out.push(cutMarker(value.length - out.length) + " items");
        break;
      }
      out.push(c);
    }
    return out;
  }
  if (value !== null && typeof value === "object") {
    const json = jsonLine(value);
    return json.length * 3 <= budget ? value : cutText(json, budget);
  }
  return value;
}

/**
 * One JSON line (no line end) of at most `max` bytes: `record` as it is when it fits, else with its
 * values cut ever shorter (strings by {@link cutText}, arrays and objects to their first items or
 * to cut JSON text) and `"cut": true` added.
 */
export function fitJsonLine(record: Record<string, unknown>, max = MAX_LINE_BYTES): string {
  const line = jsonLine(record);
  if (line.length * 3 <= max || encoder.encode(line).length <= max) return line;
  for (let budget = 4096; budget >= 16; budget = Math.floor(budget / 4)) {
    const cut: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(record)) {
      cut[k] = k === "event" || k === "v" ? v : cutValue(v, budget);
    }
    cut.cut = true;
    const text = jsonLine(cut);
    if (encoder.encode(text).length <= max) return text;
  }
  return jsonLine({ v: record.v, event: record.event, time: record.time, host: record.host, cut: true });
}
