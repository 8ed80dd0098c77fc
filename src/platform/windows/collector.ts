/**
 * The Windows collector: the four iphlpapi socket tables plus the details of every owning process.
 *
 * @module
 */

import type { Clock, Collector, HostInfo, Snapshot } from "../../model/types.ts";
import { systemClock } from "../../model/types.ts";
import { windowsHostInfo } from "./host.ts";
import { ProcessDetails } from "./process.ts";
import { TableReader } from "./tables.ts";

/** Options of {@link createWindowsCollector}. */
export interface WindowsCollectorOptions {
  /** Source of "now" for `Snapshot.time` (default: the system clock). */
  clock?: Clock;
}

/**
 * A {@link Collector} for Windows. `collect()` reads tcp4, tcp6, udp4 and udp6 (OWNER_PID classes,
 * concurrently, off the event loop), then the details of every non-zero owning pid (cached per pid
 * and start time). Concurrent `collect()` calls are serialised. A failing table call rejects with
 * an `OsCallError`; a bad process only adds a `partial` record and a counted warning.
 */
export function createWindowsCollector(options: WindowsCollectorOptions = {}): Collector {
  const clock = options.clock ?? systemClock;
  const tables = new TableReader({ flavour: "pid" });
  const details = new ProcessDetails({ now: () => clock.now() });
  let host: HostInfo | undefined;
  let last: Promise<unknown> = Promise.resolve();
  let closed = false;

  async function poll(): Promise<Snapshot> {
    if (closed) throw new Error("collector is closed");
    const time = clock.now();
    const sockets = await tables.readAll();
    const pids = new Set<number>();
    for (const s of sockets) if (s.pid !== 0) pids.add(s.pid);
    const { processes, warnings } = details.read(pids);
    return { time, sockets, processes, warnings };
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
