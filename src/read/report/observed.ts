/**
 * When the monitor was running, from its own records: `monitor-start` opens a run, `monitor-stop`
 * closes it, and while heartbeats arrive (every 60 s) a silence of more than {@link GAP_MS} means the
 * monitor was not running (killed, machine suspended) and splits the run. Logs without heartbeats
 * (older writers) count as running from a run's first record to its last: the report says so.
 *
 * @module
 */

/** A silence longer than this, in a run that has heartbeats, is time the monitor did not observe. */
export const GAP_MS = 150_000;

/** One span of observed time, ms since the Unix epoch. */
export interface Run {
  /** Start. */
  start: number;
  /** End (the last record, or the stop). */
  end: number;
  /** Whether it ended with a `monitor-stop` record. */
  stopped: boolean;
}

/** What the tracker tells its owner so that open endpoints can be closed or paused with the run. */
export interface RunListener {
  /** The run ended at `end` (a stop, a new start, or a gap); nothing was observed until the next run. */
  runEnded(end: number, why: "stop" | "restart" | "gap"): void;
  /** A run started at `start`. */
  runStarted(start: number): void;
}

/** Follows the records in time order and keeps the observed runs. */
export class ObservedTime {
  /** Finished runs. */
  readonly runs: Run[] = [];
  /** Heartbeat records seen. */
  heartbeats = 0;
  /** Monitor starts seen. */
  starts = 0;
  /** Monitor stops seen. */
  stops = 0;
  #open: Run | undefined;
  #beatsInRun = 0;
  readonly #listener: RunListener;

  /** @param listener told when a run ends */
  constructor(listener: RunListener) {
    this.#listener = listener;
  }

  /** Feeds one record of kind `event` (a change kind or a marker kind) at `time`. */
  see(event: string, time: number): void {
    const open = this.#open;
    if (event === "monitor-start") {
      if (open) this.#close(open.end, false, "restart");
      this.starts++;
      this.#begin(time);
      return;
    }
    if (!open) this.#begin(time);
    else if (this.#beatsInRun > 0 && time - open.end > GAP_MS) {
      this.#close(open.end, false, "gap");
      this.#begin(time);
    } else if (time > open.end) open.end = time;
    if (event === "heartbeat") this.heartbeats++, this.#beatsInRun++;
    if (event === "monitor-stop") {
      this.stops++;
      this.#close(time, true, "stop");
    }
  }

  /** Ends the open run at its last record (end of input). */
  finish(): void {
    if (this.#open) this.#close(this.#open.end, false, "restart");
  }

  /** Total observed time, ms. */
  get totalMs(): number {
    return this.runs.reduce((sum, r) => sum + (r.end - r.start), 0);
  }

  /** Whether `time` falls in the run being observed now. */
  get running(): boolean {
    return this.#open !== undefined;
  }

  #begin(time: number): void {
    this.#open = { start: time, end: time, stopped: false };
    this.#beatsInRun = 0;
    this.#listener.runStarted(time);
  }

  #close(end: number, stopped: boolean, why: "stop" | "restart" | "gap"): void {
    const run = this.#open!;
    run.end = Math.max(run.start, end);
    run.stopped = stopped;
    this.#open = undefined;
    if (run.end === run.start && !stopped) return; // a set-start just before a monitor-start is no run
    this.runs.push(run);
    this.#listener.runEnded(run.end, why);
  }
}

/**
 * Union of the time each key (a port, a process, a user) had at least one open endpoint: a counter
 * per key, time added when it drops to zero. Fed in time order; {@link BusyTime.pause} stops every
 * clock at a run's end.
 */
export class BusyTime {
  readonly #keys = new Map<string, { open: number; since: number; total: number; lastEnd: number }>();
  #paused = false;

  /** One more endpoint open for `key` from `time`. */
  inc(key: string, time: number): void {
    const k = this.#keys.get(key);
    if (!k) this.#keys.set(key, { open: 1, since: time, total: 0, lastEnd: -Infinity });
    else if (k.open++ === 0) k.since = time;
  }

  /** One endpoint of `key` closed at `time`. */
  dec(key: string, time: number): void {
    const k = this.#keys.get(key);
    if (!k || k.open === 0) return;
    if (--k.open === 0) {
      k.total += Math.max(0, time - k.since);
      k.lastEnd = time;
    }
  }

  /** An endpoint of `key` that lived from `start` to `end` but was not seen opening (logs began later). */
  addPast(key: string, start: number, end: number): void {
    let k = this.#keys.get(key);
    if (!k) this.#keys.set(key, k = { open: 0, since: end, total: 0, lastEnd: -Infinity });
    const upTo = k.open > 0 ? Math.min(end, k.since) : end;
    k.total += Math.max(0, upTo - Math.max(start, k.lastEnd));
    if (k.open === 0) k.lastEnd = Math.max(k.lastEnd, end);
  }

  /** Every clock stops at `time` (unobserved time follows); open counts are kept for {@link resume}. */
  pause(time: number): void {
    if (this.#paused) return;
    this.#paused = true;
    for (const k of this.#keys.values()) {
      if (k.open > 0) k.total += Math.max(0, time - k.since), k.lastEnd = time;
    }
  }

  /** The clocks of keys still open run again from `time`. */
  resume(time: number): void {
    if (!this.#paused) return;
    this.#paused = false;
    for (const k of this.#keys.values()) if (k.open > 0) k.since = time;
  }

  /** Busy time per key, ms (keys still open are counted up to `now`). */
  totals(now: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const [key, k] of this.#keys) {
      out.set(key, k.total + (k.open > 0 && !this.#paused ? Math.max(0, now - k.since) : 0));
    }
    return out;
  }
}
