/**
 * The monitor loop: poll the collector on an interval, diff, pass the changes through the plugins,
 * write the log set. Polls never overlap (each awaits the previous); a poll that takes longer than the
 * interval is counted as an overrun and the missed ticks are skipped, not queued. An OS fault in one
 * poll is counted and reported (one line when polls start failing, one when they work again), and the
 * loop goes on. The schedule and every duration run on the monotonic clock; the wall clock only
 * stamps times, and a jump of it (see src/monitor/timeline.ts) is reported and starts a new set. The
 * monitor writes `monitor-start`, a `heartbeat` every minute and `monitor-stop` into PR-EVENTS. The
 * loop ends when the signal aborts, after the poll in flight has been written; then every file is
 * closed.
 *
 * @module
 */

import { abortableSleep } from "../abortable_sleep.ts";
import { EndpointTracker } from "../diff/diff.ts";
import type { LogSet } from "../log/log_set.ts";
import type { Alert, Change, Clock, Collector, Snapshot } from "../model/types.ts";
import { type SetLosses, type SetRecords, setRecords } from "./log_set_port.ts";
import { RepeatedFault } from "./summary.ts";
import type { HeapBudget } from "./heap_budget.ts";
import { type ClockJump, FirstSeenWall, monotonicClock, restampChanges, Timeline } from "./timeline.ts";

/** Smallest allowed interval between two polls, in ms. */
export const MIN_INTERVAL_MS = 50;
/** Default interval between two polls, in ms. */
export const DEFAULT_INTERVAL_MS = 1000;
/** Time between two `heartbeat` records, in ms (monotonic). */
export const HEARTBEAT_MS = 60_000;

/** What the monitor needs from the plugin pipeline (see `src/plugin/pipeline.ts`). */
export interface ChangePipeline {
  /** Filters and enriches one poll's changes and collects the alerts raised; never throws. */
  run(changes: Change[]): Promise<{ changes: Change[]; alerts: Alert[] }>;
}

/** Counters of one monitor run. */
export interface MonitorStats {
  /** Polls completed (the first, initial snapshot included). */
  polls: number;
  /** Polls that took longer than the interval. */
  overruns: number;
  /** Changes written (after plugins). */
  changes: number;
  /** Alerts written. */
  alerts: number;
  /** Polls whose collection failed (an OS fault); the loop went on. */
  collectErrors: number;
  /** Batches that could not be written. */
  writeErrors: number;
  /** Changes in the batches that could not be written. */
  refusedChanges: number;
  /** Wall-clock jumps detected. */
  clockJumps: number;
  /** Sets started on request (SIGHUP). */
  requestedSets: number;
  /** The log set's own losses at stop. */
  losses: SetLosses;
  /** Collector warnings by kind, summed over all polls. */
  warnings: Record<string, number>;
  /** Duration of the slowest poll, ms. */
  slowestPollMs: number;
  /** Kernel socket events received, known dropped, and merged with a poll's view (Linux). */
  events: { received: number; dropped: number; merged: number };
}

/** What each warning kind the collectors count means to an administrator (unknown kinds are shown as they are). */
export const WARNING_TEXT: Record<string, string> = {
  "owner-scan-denied":
    "the open files of some processes cannot be read (permission denied): their endpoints are " +
    "logged with pid 0; run as root to name every owner",
  "owner-scan-vanished": "a process ended while its open files were being read",
  "process-vanished": "a process ended before its details could be read: its entry is partial",
  "process-access-denied": "some details of a process cannot be read (access denied): its entry is partial",
  "process-detail-unreadable": "a detail of a process could not be read (I/O error): its entry is partial",
  "process-open-failed": "a process could not be opened: its entry is partial",
  "process-idle": "endpoints owned by pid 0 (the System Idle Process, e.g. TIME_WAIT)",
  "process-system": "the System process (pid 4) cannot be read in full: its entry is partial",
  "modules-unreadable": "the loaded modules of a process cannot be read: its entry lists none",
  "image-unreadable": "the executable path of a process cannot be read: its entry has the image name only",
  "user-unreadable":
    "the account of a process cannot be read (its token is not accessible): its entry has no user",
  "user-unresolved":
    "the account of a process has no name yet (the domain controller did not answer, or the account " +
    "was deleted): its SID is logged and the name is looked up again later",
  "services-unreadable":
    "the service control manager cannot be asked which services run in which process: service names are missing",
  "netlink-unavailable": "netlink sock_diag is not available: reading /proc/net instead (slower)",
  "events-destroy-unavailable":
    "socket destroy notifications are not available: connections and UDP sockets that open and close " +
    "between two polls are not logged",
  "events-trace-unavailable":
    "the sock:inet_sock_set_state tracepoint is not available (needs root and tracefs): connections " +
    "shorter than a poll are logged without their process, and without their open time",
  "events-exec-unavailable":
    "the sched:sched_process_exec tracepoint is not available: a process that exits at once after " +
    "connecting is logged as unknown",
  "events-dropped": "socket events were lost (kernel buffer overflow): some short connections are missing",
};

/** Requests to the running monitor from outside the loop (signals). */
export class MonitorControl {
  #pending: string[] = [];
  #wake = new AbortController();

  /** Asks for a new log set (SIGHUP); the loop starts it at once, between two polls. */
  newSet(reason: string): void {
    this.#pending.push(reason);
    this.#wake.abort();
  }

  /** Ends the current wait without a request (the monitor is stopping). */
  interrupt(): void {
    this.#wake.abort();
  }

  /** Aborts when a request arrives (or on {@link interrupt}): the loop's wait ends early. */
  get wake(): AbortSignal {
    return this.#wake.signal;
  }

  /** Takes the pending requests and re-arms the wake signal. */
  take(): string[] {
    const pending = this.#pending;
    this.#pending = [];
    if (this.#wake.signal.aborted) this.#wake = new AbortController();
    return pending;
  }
}

/** Everything the loop is given; all effects are injected. */
export interface MonitorOptions {
  /** The platform collector. */
  collector: Collector;
  /** The log set (not yet started). */
  logSet: LogSet;
  /** Source of the wall time (timestamps only). */
  clock: Clock;
  /** Source of the monotonic time (schedule and durations; default `performance.now()`). */
  monotonic?: Clock;
  /** Interval between poll starts, ms (≥ {@link MIN_INTERVAL_MS}). */
  intervalMs: number;
  /** Aborting it stops the loop after the poll in flight. */
  signal: AbortSignal;
  /** Requests from outside (a new set on SIGHUP). */
  control?: MonitorControl;
  /** Plugins; changes pass unchanged without it. */
  pipeline?: ChangePipeline;
  /** One-line diagnostics (stderr in the CLI, the event log in the service); best effort. */
  log: (line: string) => void;
  /** Called once the first log set is open (the service reports RUNNING then). */
  onStarted?: (logSet: LogSet) => void;
  /** Extra fields of the `monitor-start` record (e.g. the version). */
  startRecord?: Record<string, unknown>;
  /** Collects the heap between polls when it outgrew its budget (`heap_budget.ts`); none without it. */
  heap?: HeapBudget;
  /** Waits `ms` or until the signal aborts (injected for tests; default: a timer). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** The state of one run, shared by the steps of the loop. */
interface Run {
  opts: MonitorOptions;
  records: SetRecords;
  stats: MonitorStats;
  tracker: EndpointTracker;
  timeline: Timeline;
  firstSeen: FirstSeenWall;
  mono: Clock;
  log: (line: string) => void;
  polls: RepeatedFault;
  writes: RepeatedFault;
  warned: Set<string>;
  started: number;
}

function countWarnings(run: Run, snapshot: Snapshot): void {
  if (snapshot.eventCounts) {
    run.stats.events = { ...snapshot.eventCounts, merged: run.tracker.stats.merged };
  }
  for (const [kind, n] of Object.entries(snapshot.warnings)) {
    run.stats.warnings[kind] = (run.stats.warnings[kind] ?? 0) + n;
    if (n > 0 && !run.warned.has(kind)) {
      run.warned.add(kind);
      run.log(
        `warning: ${WARNING_TEXT[kind] ?? kind} [${kind}; reported once, counted in the totals at stop]`,
      );
    }
  }
}

/**
 * Diffs on the continuous timeline (monotonic durations), then restamps the changes in wall time:
 * `firstSeen` is the time the opening poll logged.
 */
function diff(run: Run, snapshot: Snapshot, mono: number): Change[] {
  const { timeline } = run;
  const now = timeline.continuous(mono);
  // kernel events carry wall times: onto the same timeline (the wall clock as it reads now), in place
  // (the snapshot's events are its own)
  const events = snapshot.events ?? [];
  for (let i = 0; i < events.length; i++) { // indexed: no iterator per poll
    const e = events[i];
    e.time = timeline.toContinuous(e.time);
    if (e.openedAt !== undefined) e.openedAt = timeline.toContinuous(e.openedAt);
  }
  const changes = run.tracker.observe({ ...snapshot, time: now });
  restampChanges(changes, timeline, run.firstSeen, now, snapshot.time);
  return changes;
}

function clockJumped(run: Run, jump: ClockJump): void {
  run.stats.clockJumps++;
  const iso = (ms: number) => new Date(ms).toISOString();
  const jumpMs = Math.round(jump.actual - jump.expected);
  run.log(
    `the system clock jumped ${jumpMs > 0 ? "forward" : "back"} by ${
      Math.round(Math.abs(jumpMs) / 1000)
    } s ` +
      `(expected ${iso(jump.expected)}, read ${iso(jump.actual)}); starting a new log set`,
  );
  run.records.startNewSet("clock-jump");
  run.records.writeRecord({ event: "clock-jump", expected: iso(jump.expected), jumpMs });
}

/** Collects, diffs and writes one poll; every fault is counted, none escapes. */
async function poll(run: Run, monoStart: number): Promise<void> {
  const { opts, stats } = run;
  let snapshot: Snapshot;
  try {
    snapshot = await opts.collector.collect();
  } catch (e) {
    stats.collectErrors++;
    run.polls.failed(e instanceof Error ? e.message : String(e), monoStart);
    return;
  }
  run.polls.succeeded(monoStart);
  const jump = run.timeline.observe(snapshot.time, monoStart);
  countWarnings(run, snapshot);
  const changes = diff(run, snapshot, monoStart);
  let output = { changes, alerts: [] as Alert[] };
  if (opts.pipeline && changes.length) output = await opts.pipeline.run(changes);
  const before = stats.changes;
  // The changes (classic set and PR-EVENTS) are written first and on their own: nothing a plugin raised
  // can keep them out of the logs.
  try {
    if (jump) clockJumped(run, jump);
    opts.logSet.tick(snapshot.time);
    if (output.changes.length) opts.logSet.write({ time: snapshot.time, changes: output.changes, snapshot });
    stats.changes += output.changes.length;
    if (output.alerts.length) {
      opts.logSet.write({ time: snapshot.time, changes: [], alerts: output.alerts, snapshot });
    }
    stats.alerts += output.alerts.length;
    run.writes.succeeded(monoStart);
  } catch (e) {
    stats.writeErrors++;
    if (stats.changes === before) stats.refusedChanges += output.changes.length;
    run.writes.failed(e instanceof Error ? e.message : String(e), monoStart);
  }
  stats.polls++;
}

function newStats(): MonitorStats {
  return {
    polls: 0,
    overruns: 0,
    changes: 0,
    alerts: 0,
    collectErrors: 0,
    writeErrors: 0,
    refusedChanges: 0,
    clockJumps: 0,
    requestedSets: 0,
    warnings: {},
    slowestPollMs: 0,
    events: { received: 0, dropped: 0, merged: 0 },
    losses: { writeFailures: 0, lostChanges: 0, droppedRecords: 0 },
  };
}

/** Writes a record and counts a failure instead of throwing: records must not stop the loop. */
function record(run: Run, rec: { event: string; [field: string]: unknown }): void {
  try {
    run.records.writeRecord(rec);
  } catch (e) {
    run.writes.failed(e instanceof Error ? e.message : String(e), run.mono.now());
  }
}

/** Takes the first snapshot and opens the first set; throws when either fails (fatal at start). */
async function open(opts: MonitorOptions): Promise<Run> {
  const mono = opts.monotonic ?? monotonicClock;
  const log = (line: string) => {
    try {
      opts.log(line);
    } catch {
      // diagnostics are best effort: a failing stderr or event log never stops the logging
    }
  };
  const started = mono.now();
  const first = await opts.collector.collect();
  const timeline = new Timeline(first.time, started);
  const run: Run = {
    opts,
    records: setRecords(opts.logSet),
    stats: newStats(),
    tracker: new EndpointTracker(),
    timeline,
    firstSeen: new FirstSeenWall(),
    mono,
    log,
    polls: new RepeatedFault("polling", log),
    writes: new RepeatedFault("writing the logs", log),
    warned: new Set(),
    started,
  };
  diff(run, first, started);
  countWarnings(run, first);
  opts.logSet.start(first);
  run.stats.polls++;
  run.stats.slowestPollMs = Math.round(mono.now() - started);
  record(run, { event: "monitor-start", pid: Deno.pid, intervalMs: opts.intervalMs, ...opts.startRecord });
  return run;
}

/**
 * Runs until `signal` aborts. The first snapshot opens the log set (PR-INITIAL); every later poll
 * writes its changes. Throws only when the first snapshot cannot be taken or the log set cannot be
 * opened (the caller reports that as fatal); later faults are counted.
 */
export async function runMonitor(opts: MonitorOptions): Promise<MonitorStats> {
  const { signal } = opts;
  const sleep = opts.sleep ?? abortableSleep;
  const interval = Math.max(MIN_INTERVAL_MS, opts.intervalMs);
  const run = await open(opts);
  const { stats, mono } = run;
  opts.onStarted?.(opts.logSet);
  let next = run.started + interval;
  let heartbeat = run.started + HEARTBEAT_MS;
  // one listener for the whole run (a combined signal per wait would pile up over days)
  const interrupt = () => opts.control?.interrupt();
  signal.addEventListener("abort", interrupt, { once: true });
  try {
    while (!signal.aborted) {
      const wait = next - mono.now();
      const wake = opts.control?.wake ?? signal;
      if (wait > 0 && !wake.aborted) await sleep(wait, wake);
      if (signal.aborted) break;
      for (const reason of opts.control?.take() ?? []) {
        stats.requestedSets++;
        run.log(`starting a new log set (${reason})`);
        guarded(run, () => run.records.startNewSet(reason));
      }
      if (mono.now() < next) continue; // woken early by a request: the poll stays on its schedule
      const started = mono.now();
      await poll(run, started);
      const now = mono.now();
      stats.slowestPollMs = Math.max(stats.slowestPollMs, Math.round(now - started));
      opts.heap?.check(); // after the poll's own time: a collection's pause is not the poll's
      if (now >= heartbeat) {
        record(run, { event: "heartbeat", polls: stats.polls, changes: stats.changes });
        heartbeat += Math.ceil((now - heartbeat + 1) / HEARTBEAT_MS) * HEARTBEAT_MS;
      }
      next += interval;
      if (now > next) {
        stats.overruns++;
        next += Math.ceil((now - next) / interval) * interval; // skip the missed ticks
      }
    }
  } finally {
    signal.removeEventListener("abort", interrupt);
    stats.losses = run.records.losses;
    record(run, { event: "monitor-stop", polls: stats.polls, changes: stats.changes, ...stats.losses });
    opts.logSet.close();
  }
  return stats;
}

function guarded(run: Run, step: () => void): void {
  try {
    step();
  } catch (e) {
    run.writes.failed(e instanceof Error ? e.message : String(e), run.mono.now());
  }
}
