/**
 * Reading PR-PIDS and PR-INITIAL for the report's module rules and process details: each file line by
 * line in bounded memory (one 64 KiB chunk plus one line of at most 1 MiB), values unescaped from the
 * classic grammar.
 *
 * @module
 */

import { unescapeField } from "../../model/text.ts";
import type { ModuleSighting } from "./rows.ts";

const CHUNK = 64 * 1024;
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
