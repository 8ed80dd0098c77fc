/**
 * Following a log directory as it is written, across rollovers: every poll lists the sets, and each
 * set's primary file (PR-EVENTS, else PR-PORTS) is read on from where the last poll stopped, in set
 * order. A set that rolled over is read to its end before its successor, and a set keeps its cursor
 * for as long as it exists, so a line written to an older set after a new one appeared is not lost
 * either (unlike `tail -F` on a glob). A line without its line end is left for the next poll.
 *
 * Memory: one cursor per set present in the directory (bounded by retention) plus one read chunk.
 *
 * @module
 */

import type { LineCursor } from "./lines.ts";
import { newReadStats, readSetRows, type ReadStats } from "./events.ts";
import type { ReadRow } from "./rows.ts";
import { listLogSets, type SetStart } from "./sets.ts";

/** Something `follow` says about the files themselves (one stderr line each). */
export interface FollowNotice {
  /** `shrank`: a file got shorter than what was already read (it is read again from the start). */
  kind: "shrank";
  /** The file. */
  file: string;
  /** Bytes read before. */
  was: number;
  /** Its size now. */
  now: number;
}

/** Options of {@link LogFollower}. */
export interface FollowOptions {
  /** Zone of classic lines. */
  timeZone?: string;
  /** Read the sets present at start from this instant on (`--since`); from their end when absent. */
  since?: number;
  /** Cheap raw-line test (see `filters.ts`). */
  prefilter?: RegExp;
  /** Counters. */
  stats?: ReadStats;
}

interface Tracked {
  cursor: LineCursor;
  path: string;
}

/** Follows the log sets of one directory; call {@link poll} repeatedly. */
export class LogFollower {
  readonly #dir: string;
  readonly #options: FollowOptions;
  readonly #tracked = new Map<string, Tracked>(); // by primary path
  readonly #heads = new Map<string, SetStart>(); // first records, read once per file
  readonly stats: ReadStats;
  #started = false;
  /** Notices from the last poll (a file that shrank, ...). */
  notices: FollowNotice[] = [];

  /** @param dir the log directory */
  constructor(dir: string, options: FollowOptions = {}) {
    this.#dir = dir;
    this.#options = options;
    this.stats = options.stats ?? newReadStats();
  }

  async #sizeOf(path: string): Promise<number> {
    try {
      return (await Deno.stat(path)).size;
    } catch {
      return -1;
    }
  }

  /** Where to start reading a set seen for the first time. */
  async #initialCursor(path: string): Promise<LineCursor> {
    const fresh = { offset: 0, lines: 0, tooLong: 0 };
    if (this.#started) return fresh; // a set that appeared while following: all of it
    if (this.#options.since !== undefined) return fresh; // the rows are filtered by time afterwards
    // present at start: from its end (only new lines), counting its lines for the line numbers
    const size = await this.#sizeOf(path);
    let lines = 0;
    if (size > 0) {
      const file = await Deno.open(path);
      try {
        const buf = new Uint8Array(256 * 1024);
        let offset = 0;
        let lastLf = 0;
        for (;;) {
          const n = await file.read(buf);
          if (!n) break;
          for (let i = 0; i < n; i++) if (buf[i] === 10) lines++, lastLf = offset + i + 1;
          offset += n;
        }
        return { offset: lastLf, lines, tooLong: 0 };
      } finally {
        file.close();
      }
    }
    return fresh;
  }

  /**
   * Takes note of the sets present now and where each ends (from the start with `since`), so that the
   * first {@link poll} yields exactly what is written after this call. Called by the first poll if
   * not called before; call it before telling the user that following has begun.
   */
  async prime(): Promise<void> {
    if (this.#started) return;
    for (
      const set of await listLogSets(this.#dir, { timeZone: this.#options.timeZone, heads: this.#heads })
    ) {
      if (!set.primary || this.#tracked.has(set.primary.path)) continue;
      this.#tracked.set(set.primary.path, {
        path: set.primary.path,
        cursor: await this.#initialCursor(set.primary.path),
      });
    }
    this.#started = true;
  }

  /**
   * The new rows since the last poll, oldest set first. A line without its line end waits for the
   * next poll (it is being written), in every set.
   */
  async *poll(): AsyncGenerator<ReadRow> {
    await this.prime();
    this.notices = [];
    const sets = await listLogSets(this.#dir, { timeZone: this.#options.timeZone, heads: this.#heads });
    const present = new Set<string>();
    for (const set of sets) {
      if (!set.primary) continue;
      const path = set.primary.path;
      present.add(path);
      let t = this.#tracked.get(path);
      if (!t) {
        t = { path, cursor: await this.#initialCursor(path) };
        this.#tracked.set(path, t);
      }
      const size = await this.#sizeOf(path);
      if (size < 0 || size === t.cursor.offset) continue;
      if (size < t.cursor.offset) {
        this.notices.push({ kind: "shrank", file: path, was: t.cursor.offset, now: size });
        t.cursor = { offset: 0, lines: 0, tooLong: 0 };
        this.#heads.delete(path);
      }
      yield* readSetRows(set, t.cursor, false, {
        timeZone: this.#options.timeZone,
        stats: this.stats,
        prefilter: this.#options.prefilter,
      });
    }
    for (const path of this.#tracked.keys()) if (!present.has(path)) this.#tracked.delete(path);
    for (const path of this.#heads.keys()) if (!present.has(path)) this.#heads.delete(path);
  }
}
