/**
 * The Windows collector: the four iphlpapi socket tables plus the details of every owning process.
 *
 * @module
 */

import type { Clock, Collector, HostInfo, Snapshot, SocketRecord } from "../../model/types.ts";
import { systemClock } from "../../model/types.ts";
import { windowsHostInfo } from "./host.ts";
import { type DetailsProgress, ProcessDetails, type ProcessDetailsResult } from "./process.ts";
import { TableReader } from "./tables.ts";

/**
 * Waits before the retries of a failing FIRST collect, ms (about 8 s in all). At boot the tables can
 * fail for a moment (STATUS_UNSUCCESSFUL under load, see tables.ts) and a failing first snapshot is fatal
 * to the service, so it gets more patience than a later poll, which the monitor just counts and skips.
 */
export const FIRST_COLLECT_BACKOFF_MS: readonly number[] = [250, 500, 1000, 2000, 4000];

/** Options of {@link createWindowsCollector}. */
export interface WindowsCollectorOptions {
  /** Source of "now" for `Snapshot.time` (default: the system clock). */
  clock?: Clock;
  /** The socket tables (default a {@link TableReader}; tests inject a fake). */
  tables?: { readAll(): Promise<SocketRecord[]> };
  /** The process details (default {@link ProcessDetails}; tests inject a fake). */
  details?: {
    read(pids: Iterable<number>): Promise<ProcessDetailsResult> | ProcessDetailsResult;
    close(): void;
  };
  /** Waits between retries of the first collect (default {@link FIRST_COLLECT_BACKOFF_MS}). */
  firstCollectBackoffMs?: readonly number[];
  /** The wait (default a timer). */
  sleep?: (ms: number) => Promise<void>;
  /** Called on each step of the first collect (tables read, every 32 processes read): the service's checkpoint. */
  onFirstProgress?: () => void;
}

/**
 * A {@link Collector} for Windows. `collect()` reads tcp4, tcp6, udp4 and udp6 (OWNER_MODULE classes, for the creation times,
 * concurrently, off the event loop), then the details of every non-zero owning pid (cached per pid
 * and start time). Concurrent `collect()` calls are serialised. A failing table call rejects with
 * an `OsCallError` (the first collect only after {@link FIRST_COLLECT_BACKOFF_MS} retries); a bad
 * process only adds a `partial` record and a counted warning.
 */
export function createWindowsCollector(options: WindowsCollectorOptions = {}): Collector {
  const clock = options.clock ?? systemClock;
  // OWNER_MODULE rows cost the same calls as OWNER_PID and carry each endpoint's creation time
  const tables = options.tables ?? new TableReader({ flavour: "module" });
  const details = options.details ?? new ProcessDetails({ now: () => clock.now() });
  const backoff = options.firstCollectBackoffMs ?? FIRST_COLLECT_BACKOFF_MS;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let host: HostInfo | undefined;
  let last: Promise<unknown> = Promise.resolve();
  let closed = false;
  let succeeded = false;

  async function pollOnce(): Promise<Snapshot> {
    if (closed) throw new Error("collector is closed");
    const time = clock.now();
    const sockets = await tables.readAll();
    const progress = succeeded ? undefined : options.onFirstProgress;
    progress?.();
    const pids = new Set<number>();
    for (const s of sockets) if (s.pid !== 0) pids.add(s.pid);
    const onProgress: DetailsProgress | undefined = progress &&
      ((done, total) => (done % 32 === 0 || done === total) && progress());
    const { processes, warnings } = await details.read(pids, onProgress);
    return { time, sockets, processes, warnings };
  }

  async function poll(): Promise<Snapshot> {
    if (succeeded) return await pollOnce();
    for (let i = 0;; i++) {
      try {
        const snapshot = await pollOnce();
        succeeded = true;
        return snapshot;
      } catch (e) {
        if (closed || i >= backoff.length) throw e;
        await sleep(backoff[i]);
      }
    }
  }

  return {
    collect(): Promise<Snapshot> {
      const next = last.then(poll, poll);
      last = next.catch(() => undefined);
      return next;
    },
    hostInfo(): HostInfo {
      host ??= windowsHostInfo();
      return host;
    },
    close(): void {
      closed = true;
      details.close();
    },
  };
}
