/**
 * Small counting pieces of the report: one bounded counter per key, the hour of day of an instant in
 * a zone (cached per quarter hour, so a large log costs few `Intl` calls), and how rows are named.
 *
 * @module
 */

import type { ReportChange } from "./rows.ts";

/** Caps on what the report keeps. */
export const LIMITS = {
  /** Rows per table. */
  tableRows: 500,
  /** Distinct keys counted per table (then counted as dropped). */
  keys: 100_000,
  /** Related names kept per key. */
  related: 20,
  /** Ports in the heatmap. */
  heatmapPorts: 20,
  /** Rows (listeners) in the timeline. */
  timelineRows: 40,
  /** Listener lifetimes kept for the timeline. */
  segments: 20_000,
};

/** One key's counters while reading. */
export interface Bounded {
  /** The key (a port such as `tcp/22`, a process name, a user, a remote address). */
  key: string;
  /** Endpoints opened. */
  opened: number;
  /** Of those, listeners. */
  listeners: number;
  /** Bytes sent, where known. */
  bytesSent: number;
  /** Bytes received, where known. */
  bytesReceived: number;
  /** Related names (processes of a port, ports of a process, ...) with their counts, at most {@link LIMITS}`.related`. */
  with: Map<string, number>;
  /** Other detail (paths of a process, users of a port, ...), at most 5. */
  detail?: Set<string>;
}

/** One key's counters as the page gets them. */
export interface Counted {
  /** The key. */
  key: string;
  /** Endpoints opened. */
  opened: number;
  /** Of those, listeners. */
  listeners: number;
  /** Bytes sent, where known. */
  bytesSent: number;
  /** Bytes received, where known. */
  bytesReceived: number;
  /** The most frequent related names, `[name, count]`. */
  with: [string, number][];
  /** Other detail. */
  detail: string[];
  /** Time with at least one endpoint open, ms (ports, processes, users). */
  busyMs?: number;
  /** `busyMs` over the observed time, 0–1. */
  share?: number;
}

/** Counts one opened endpoint into `b`; `related` is the name it is linked to, `detail` a second one. */
export function bump(b: Bounded, listener: boolean, related: string, detail?: string): void {
  b.opened++;
  if (listener) b.listeners++;
  const n = b.with.get(related);
  if (n !== undefined) b.with.set(related, n + 1);
  else if (b.with.size < LIMITS.related) b.with.set(related, 1);
  if (detail !== undefined) {
    b.detail ??= new Set();
    if (b.detail.size < 5) b.detail.add(detail);
  }
}

/** The largest {@link LIMITS}`.tableRows` entries by `field`, descending (ties: more opened, then by key), as {@link Counted}. */
export function topBy<T extends Bounded & { busyMs?: number }>(
  list: T[],
  field: "opened" | "busyMs",
): Counted[] {
  return list.sort((a, b) =>
    (b[field] ?? 0) - (a[field] ?? 0) || b.opened - a.opened || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  )
    .slice(0, LIMITS.tableRows)
    .map((b) => ({
      ...b,
      with: [...b.with].sort((x, y) => y[1] - x[1]).slice(0, 5),
      detail: b.detail ? [...b.detail] : [],
    }));
}

/** Whether a row is a listener: TCP `LISTEN`, or UDP without a peer. */
export function isListenerRow(r: ReportChange): boolean {
  return r.protocol === "tcp" ? r.state === "LISTEN" : r.remotePort === 0;
}

/** The name a row's owner goes by in the report: its image name, else `pid N`, else `(no owner)`. */
export function ownerName(r: ReportChange): string {
  return r.processName ?? (r.pid === 0 ? "(no owner)" : `pid ${r.pid}`);
}

const QUARTER = 900_000;

/** Hour of day (0–23) of instants in one time zone. */
export class HourOfDay {
  readonly #format: Intl.DateTimeFormat;
  readonly #cache = new Map<number, number>();
  #lastQuarter = Number.NaN;
  #lastHour = 0;

  /** @param timeZone IANA zone (`UTC` for UTC); the system zone when absent */
  constructor(timeZone?: string) {
    this.#format = new Intl.DateTimeFormat("en-US", { timeZone, hour: "numeric", hourCycle: "h23" });
  }

  /** The hour of `ms` (zones change offset on quarter hours at the finest). */
  hour(ms: number): number {
    const q = Math.floor(ms / QUARTER);
    if (q === this.#lastQuarter) return this.#lastHour;
    let h = this.#cache.get(q);
    if (h === undefined) {
      if (this.#cache.size > 100_000) this.#cache.clear();
      h = Number(this.#format.format(q * QUARTER)) % 24;
      this.#cache.set(q, h);
    }
    this.#lastQuarter = q;
    this.#lastHour = h;
    return h;
  }
}
