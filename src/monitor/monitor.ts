/**
 * The monitor loop: poll the collector on an interval, diff, pass the changes through the plugins,
 * write the log set. Polls never overlap (each awaits the previous); a poll that takes longer than the
 * interval is counted as an overrun and the missed ticks are skipped, not queued. An OS fault in one
 * poll is counted and reported, and the loop goes on. The loop ends when the signal aborts, after the
 * poll in flight has been written; then every file is closed.
 *
 * @module
 */

import { abortableSleep } from "../abortable_sleep.ts";
import { EndpointTracker } from "../diff/diff.ts";
import type { LogSet } from "../log/log_set.ts";
import type { Alert, Change, Clock, Collector, Snapshot } from "../model/types.ts";

/** Smallest allowed interval between two polls, in ms. */
export const MIN_INTERVAL_MS = 50;
/** Default interval between two polls, in ms. */
export const DEFAULT_INTERVAL_MS = 1000;

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
  "netlink-unavailable": "netlink sock_diag is not available: reading /proc/net instead (slower)",
  "events-destroy-unavailable":
    "socket destroy notifications are not available: connections and UDP sockets that open and close " +
    "between two polls are not logged",
  "events-trace-unavailable":
    "the sock:inet_sock_set_state tracepoint is not available (needs root and tracefs): connections " +
    "shorter than a poll are logged without their process, and without their open time",
  "events-dropped": "socket events were lost (kernel buffer overflow): some short connections are missing",
};

/** Everything the loop is given; all effects are injected. */
export interface MonitorOptions {
  /** The platform collector. */
  collector: Collector;
  /** The log set (not yet started). */
  logSet: LogSet;
  /** Source of "now". */
  clock: Clock;
  /** Interval between poll starts, ms (≥ {@link MIN_INTERVAL_MS}). */
  intervalMs: number;
  /** Aborting it stops the loop after the poll in flight. */
  signal: AbortSignal;
  /** Plugins; changes pass unchanged without it. */
  pipeline?: ChangePipeline;
  /** One-line diagnostics (stderr in the CLI, the event log in the service). */
  log: (line: string) => void;
  /** Called once the first log set is open (the service reports RUNNING then). */
  onStarted?: (logSet: LogSet) => void;
  /** Waits `ms` or until the signal aborts (injected for tests; default: a timer). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/**
 * Runs until `signal` aborts. The first snapshot opens the log set (PR-INITIAL); every later poll
 * writes its changes. Throws only when the first snapshot cannot be taken or the log set cannot be
 * opened (the caller reports that as fatal); later faults are counted.
 */
export async function runMonitor(opts: MonitorOptions): Promise<MonitorStats> {
  const { collector, logSet, clock, signal, log } = opts;
  const sleep = opts.sleep ?? abortableSleep;
  const interval = Math.max(MIN_INTERVAL_MS, opts.intervalMs);
  const stats: MonitorStats = {
    polls: 0,
    overruns: 0,
    changes: 0,
    alerts: 0,
    collectErrors: 0,
    writeErrors: 0,
    warnings: {},
    slowestPollMs: 0,
    events: { received: 0, dropped: 0, merged: 0 },
  };
  const tracker = new EndpointTracker();
  const warned = new Set<string>();
  const countWarnings = (snapshot: Snapshot) => {
    if (snapshot.eventCounts) stats.events = { ...snapshot.eventCounts, merged: tracker.stats.merged };
    for (const [kind, n] of Object.entries(snapshot.warnings)) {
      stats.warnings[kind] = (stats.warnings[kind] ?? 0) + n;
      if (n > 0 && !warned.has(kind)) {
        warned.add(kind);
        log(`warning: ${WARNING_TEXT[kind] ?? kind} [${kind}; reported once, counted in the totals at stop]`);
      }
    }
  };

  let started = clock.now();
  const first = await collector.collect();
  tracker.observe(first);
  countWarnings(first);
  logSet.start(first);
  stats.polls++;
  stats.slowestPollMs = clock.now() - started;
  opts.onStarted?.(logSet);

  let next = started + interval;
  try {
    while (!signal.aborted) {
      const wait = next - clock.now();
      if (wait > 0) await sleep(wait, signal);
      if (signal.aborted) break;
      started = clock.now();
      let snapshot: Snapshot;
      try {
        snapshot = await collector.collect();
      } catch (e) {
        stats.collectErrors++;
        log(`poll failed: ${e instanceof Error ? e.message : String(e)}`);
        next = started + interval;
        continue;
      }
      countWarnings(snapshot);
      const changes = tracker.observe(snapshot);
      let output = { changes, alerts: [] as Alert[] };
      if (opts.pipeline && changes.length) output = await opts.pipeline.run(changes);
      // The changes (classic set and PR-EVENTS) are written first and on their own: nothing a plugin raised
      // can keep them out of the logs.
      try {
        logSet.tick(snapshot.time);
        if (output.changes.length) logSet.write({ time: snapshot.time, changes: output.changes, snapshot });
        stats.changes += output.changes.length;
      } catch (e) {
        stats.writeErrors++;
        log(`writing the logs failed: ${e instanceof Error ? e.message : String(e)}`);
      }
      try {
        if (output.alerts.length) {
          logSet.write({ time: snapshot.time, changes: [], alerts: output.alerts, snapshot });
        }
        stats.alerts += output.alerts.length;
      } catch (e) {
        stats.writeErrors++;
        log(`writing the alerts failed: ${e instanceof Error ? e.message : String(e)}`);
      }
      stats.polls++;
      const now = clock.now();
      stats.slowestPollMs = Math.max(stats.slowestPollMs, now - started);
      next += interval;
      if (now > next) {
        stats.overruns++;
        next += Math.ceil((now - next) / interval) * interval; // skip the missed ticks
      }
    }
  } finally {
    logSet.close();
  }
  return stats;
}
