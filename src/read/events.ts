/**
 * Every row of a list of log sets, in time order, streamed: sets oldest first (see `sets.ts`), each
 * set's rows in the order they were written. A set's rows come from its PR-EVENTS file, or from its
 * classic PR-PORTS file where that is all the set has (an original Port Reporter 1.01 set, or ours
 * written without PR-EVENTS).
 *
 * Memory is bounded by one read chunk plus one line (`lines.ts`: 256 KiB + at most 1 MiB), whatever
 * the size or number of the files; one file is open at a time.
 *
 * Across a clock jump the writer starts a new set, so the rows of each set stay in written order and
 * the `clock-jump` marker tells where the clock moved.
 *
 * @module
 */

import { type LineCursor, readLines, readTextChunks, type TextChunk } from "./lines.ts";
import { decodeClassicLine, rowFromPortsLine } from "./classic_ports.ts";
import { readInitialRows } from "./initial.ts";
import { type ReadRow, rowFromEventLine } from "./rows.ts";
import type { LogSetInfo } from "./sets.ts";

/** Counters of what reading skipped, for one line on stderr at the end. */
export interface ReadStats {
  /** Rows yielded. */
  rows: number;
  /** Lines that were not valid records (bad JSON, missing fields). */
  malformed: number;
  /** Records of a kind this reader does not know (skipped by design). */
  unknownKinds: number;
  /** Lines longer than the line cap. */
  tooLong: number;
  /** Files that vanished or could not be read while reading. */
  unreadable: number;
}

/** A new zeroed {@link ReadStats}. */
export function newReadStats(): ReadStats {
  return { rows: 0, malformed: 0, unknownKinds: 0, tooLong: 0, unreadable: 0 };
}

/** Options of {@link readRows} and {@link readSetRows}. */
export interface ReadRowsOptions {
  /** Zone of classic lines' local times; the system zone when absent. */
  timeZone?: string;
  /** Counters to add to. */
  stats?: ReadStats;
  /**
   * A pattern every wanted PR-EVENTS line contains (see `filters.ts` `RowFilter.prefilter`): chunks
   * are searched for it and only the lines it hits are parsed. Marker records are always read.
   */
  prefilter?: RegExp;
  /** Rows before this instant need not be yielded (sets that end before it are skipped whole). */
  since?: number;
  /** Treat the last line of the newest set as unfinished when it has no line end (default true). */
  openSetLast?: boolean;
  /**
   * Yield the endpoints of each set's PR-INITIAL (open when the monitor started) first, as `opened`
   * rows with `initial: true` at the set's start (for lifetimes; `query` leaves them out).
   */
  includeInitial?: boolean;
}

/** Every marker kind has a hyphen or is `heartbeat`; the change kinds are plain words. */
const MARKER_TEXT = String.raw`"event"\s*:\s*"(?:[a-z]+-[a-z-]+|heartbeat)"`;

const searchers = new WeakMap<RegExp, RegExp>();

/** The prefilter or a marker, as one global pattern for searching a chunk. */
function searcher(prefilter: RegExp): RegExp {
  let re = searchers.get(prefilter);
  if (!re) searchers.set(prefilter, re = new RegExp(`${prefilter.source}|${MARKER_TEXT}`, "g"));
  return re;
}

/** The lines of a chunk `search` hits (each once), with their numbers; every line when there is no search. */
function* linesOf(chunk: TextChunk, search: RegExp | undefined): Generator<[string, number]> {
  const text = chunk.text;
  let pos = 0; // start of the line numbered `n`
  let n = chunk.firstLine;
  const advance = (to: number) => {
    for (let lf = text.indexOf("\n", pos); lf >= 0 && lf < to; lf = text.indexOf("\n", pos)) {
      pos = lf + 1, n++;
    }
  };
  const line = (from: number) => {
    const end = text.indexOf("\n", from);
    return text.charCodeAt(end - 1) === 13 ? text.slice(from, end - 1) : text.slice(from, end);
  };
  if (!search) {
    for (let lf = text.indexOf("\n"); lf >= 0; lf = text.indexOf("\n", pos)) {
      yield [line(pos), n];
      pos = lf + 1;
      n++;
    }
    return;
  }
  search.lastIndex = 0;
  for (let m = search.exec(text); m; m = search.exec(text)) {
    advance(m.index);
    yield [line(pos), n];
    const end = text.indexOf("\n", pos);
    search.lastIndex = end + 1;
    pos = end + 1;
    n++;
  }
}

/**
 * The rows of one set from byte offset `cursor` on (updated as it reads, so a follower can resume).
 * `finished` says whether the set is closed (its last line without a line end is then read too).
 */
export async function* readSetRows(
  set: LogSetInfo,
  cursor: LineCursor,
  finished: boolean,
  options: ReadRowsOptions = {},
): AsyncGenerator<ReadRow> {
  const primary = set.primary;
  if (!primary) return;
  const stats = options.stats ?? newReadStats();
  const tooLongBefore = cursor.tooLong;
  const source = {
    file: primary.path,
    line: 0,
    format: primary.kind === "EVENTS" ? "events" as const : "classic" as const,
  };
  let hint: number | undefined = set.start - 3_600_000;
  try {
    if (primary.kind === "EVENTS") {
      const search = options.prefilter ? searcher(options.prefilter) : undefined;
      for await (const chunk of readTextChunks(primary.path, cursor, { includePartialTail: finished })) {
        for (const [text, line] of linesOf(chunk, search)) {
          if (text.length === 0) continue;
          const row = rowFromEventLine(text, { ...source, line });
          if (row === "malformed") stats.malformed++;
          else if (row === "unknown-kind") stats.unknownKinds++;
          else {
            stats.rows++;
            yield row;
          }
        }
      }
    } else {
      for await (const raw of readLines(primary.path, cursor, { includePartialTail: finished })) {
        const row = rowFromPortsLine(
          decodeClassicLine(raw.bytes),
          { ...source, line: raw.number },
          options.timeZone,
          hint,
        );
        if (!row) continue;
        hint = row.time;
        stats.rows++;
        yield row;
      }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied)) throw e;
    stats.unreadable++;
  }
  stats.tooLong += cursor.tooLong - tooLongBefore;
}

/**
 * Every row of `sets` (as {@link listLogSets} orders them), oldest set first. The newest set is
 * taken to be open: a last line without its line end is left out (it is being written).
 */
export async function* readRows(sets: LogSetInfo[], options: ReadRowsOptions = {}): AsyncGenerator<ReadRow> {
  for (let i = 0; i < sets.length; i++) {
    const next = sets[i + 1];
    const jumped = sets[i].reason === "clock-jump" || next?.reason === "clock-jump";
    if (options.since !== undefined && next && !jumped && next.start <= options.since) {
      continue; // the whole set is older than --since (the next one started before it)
    }
    const last = i === sets.length - 1;
    const finished = !last || options.openSetLast === false;
    const rows = readSetRows(sets[i], { offset: 0, lines: 0, tooLong: 0 }, finished, options);
    const initial = options.includeInitial && sets[i].primary ? sets[i].files.INITIAL : undefined;
    if (!initial) {
      yield* rows;
      continue;
    }
    // PR-INITIAL's endpoints come after the set's leading records (set-start, monitor-start), before its first change
    let injected = false;
    for await (const row of rows) {
      if (!injected && row.type === "change") {
        injected = true;
        yield* readInitialRows(initial, sets[i].start);
      }
      yield row;
    }
    if (!injected) yield* readInitialRows(initial, sets[i].start);
  }
}
