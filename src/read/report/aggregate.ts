/**
 * The report's numbers, computed in one pass over time-ordered rows in bounded memory: the open
 * endpoints, one counter per port / process / user / remote address (each table capped, the rest
 * counted as dropped), 24 hourly counters per port, and at most {@link LIMITS}`.segments` listener
 * lifetimes for the timeline.
 *
 * @module
 */

import { BusyTime, ObservedTime, type Run, type RunListener } from "./observed.ts";
import type { ReportChange, ReportRow } from "./rows.ts";
import {
  type Bounded,
  bump,
  type Counted,
  HourOfDay,
  isListenerRow,
  LIMITS,
  ownerName,
  topBy,
} from "./tally.ts";

export { LIMITS };

/** Upper edges of the duration histogram's bins, ms (the last bin is open-ended). */
export const DURATION_EDGES = [100, 1_000, 10_000, 60_000, 600_000, 3_600_000, 86_400_000];
/** Labels of the duration bins. */
export const DURATION_LABELS = [
  "< 100 ms",
  "< 1 s",
  "< 10 s",
  "< 1 min",
  "< 10 min",
  "< 1 h",
  "< 1 day",
  "≥ 1 day",
];

interface Open {
  opened: number;
  listener: boolean;
  port: string;
  process: string;
  user: string;
  label: string;
}

/** Everything the page shows, as plain data. */
export interface ReportData {
  /** First and last record times (ms), or 0 when there was none. */
  span: { first: number; last: number };
  /** Observed (monitor running) time. */
  observed: { totalMs: number; runs: Run[]; heartbeats: number; starts: number; stops: number };
  /** Record counts. */
  counts: { opened: number; closed: number; changed: number; markers: number; stillOpen: number };
  /** Local ports by share of observed time. */
  ports: Counted[];
  /** Processes by share of observed time. */
  processes: Counted[];
  /** User contexts by share of observed time. */
  users: Counted[];
  /** Remote addresses by connections. */
  remotes: Counted[];
  /** Opened endpoints per hour of day for the busiest ports (first row: all ports). */
  heatmap: { ports: string[]; counts: number[][] };
  /** Listener lifetimes: row labels and `[row, start, end, stillOpen]`. */
  timeline: { rows: string[]; segments: [number, number, number, boolean][]; dropped: number };
  /** Closed connections per duration bin, by protocol; `bounds`: those cut by a monitor stop. */
  durations: { labels: string[]; tcp: number[]; udp: number[]; bounds: number };
  /** Services per hosting process. */
  services: { pid: number; process: string; services: string[] }[];
  /** Keys not counted because a table was full. */
  dropped: number;
}

/** Builds {@link ReportData} from rows fed in time order. */
export class ReportBuilder implements RunListener {
  readonly #observed = new ObservedTime(this);
  readonly #open = new Map<string, Open>();
  readonly #busy = { port: new BusyTime(), process: new BusyTime(), user: new BusyTime() };
  readonly #tables = { port: new Map(), process: new Map(), user: new Map(), remote: new Map() } as Record<
    "port" | "process" | "user" | "remote",
    Map<string, Bounded>
  >;
  readonly #hours: HourOfDay;
  readonly #heat = new Map<string, Uint32Array>();
  readonly #heatAll = new Uint32Array(24);
  readonly #segments: [string, number, number, boolean][] = [];
  readonly #segmentTime = new Map<string, number>();
  readonly #durations = { tcp: new Array(8).fill(0), udp: new Array(8).fill(0), bounds: 0 };
  readonly #services = new Map<string, { pid: number; process: string; services: Set<string> }>();
  readonly #counts = { opened: 0, closed: 0, changed: 0, markers: 0, stillOpen: 0 };
  #first = 0;
  #last = 0;
  #segmentsDropped = 0;
  #dropped = 0;

  /** @param timeZone IANA zone for the hour of day (`UTC` for UTC; the system zone when absent) */
  constructor(timeZone?: string) {
    this.#hours = new HourOfDay(timeZone);
  }

  /** Feeds one row (rows must come in time order, as the log sets are). */
  add(row: ReportRow): void {
    if (!this.#first) this.#first = row.time;
    this.#last = Math.max(this.#last, row.time);
    this.#observed.see(row.event, row.time);
    if (row.type === "marker") {
      this.#counts.markers++;
      return;
    }
    if (row.services?.length) this.#noteServices(row);
    const key = endpointKey(row);
    const open = this.#open.get(key);
    if (row.event === "closed") {
      this.#counts.closed++;
      if (open) this.#close(key, open, row.time, row);
      else this.#closedUnseen(row);
    } else {
      if (row.event === "changed") this.#counts.changed++;
      else this.#counts.opened++;
      if (!open) this.#openRow(key, row);
    }
  }

  /** Ends the input and returns the numbers. */
  finish(): ReportData {
    this.#observed.finish();
    const total = this.#observed.totalMs;
    const share = (map: Map<string, Bounded>, busy: BusyTime) => {
      const times = busy.totals(this.#last);
      return topBy([...map.values()].map((b) => ({ ...b, busyMs: times.get(b.key) ?? 0 })), "busyMs")
        .map((c) => ({ ...c, share: total > 0 ? Math.min(1, (c.busyMs ?? 0) / total) : 0 }));
    };
    const heatPorts = topBy([...this.#tables.port.values()], "opened").slice(0, LIMITS.heatmapPorts);
    return {
      span: { first: this.#first, last: this.#last },
      observed: {
        totalMs: total,
        runs: this.#observed.runs.slice(-1000),
        heartbeats: this.#observed.heartbeats,
        starts: this.#observed.starts,
        stops: this.#observed.stops,
      },
      counts: this.#counts,
      ports: share(this.#tables.port, this.#busy.port),
      processes: share(this.#tables.process, this.#busy.process),
      users: share(this.#tables.user, this.#busy.user),
      remotes: topBy([...this.#tables.remote.values()], "opened"),
      heatmap: {
        ports: ["all ports", ...heatPorts.map((p) => p.key)],
        counts: [
          [...this.#heatAll],
          ...heatPorts.map((p) => [...(this.#heat.get(p.key) ?? new Uint32Array(24))]),
        ],
      },
      timeline: this.#timeline(),
      durations: { labels: DURATION_LABELS, ...this.#durations },
      services: [...this.#services.values()].slice(0, LIMITS.tableRows)
        .map((s) => ({ pid: s.pid, process: s.process, services: [...s.services].sort() })),
      dropped: this.#dropped,
    };
  }

  /** {@link RunListener}: a stop or restart closes every open endpoint; a gap pauses the clocks. */
  runEnded(end: number, why: "stop" | "restart" | "gap"): void {
    if (why === "gap") {
      for (const b of Object.values(this.#busy)) b.pause(end);
      return;
    }
    const stillOpen = why === "restart" && end === this.#last;
    for (const [key, open] of this.#open) this.#close(key, open, end, undefined, stillOpen);
  }

  /** {@link RunListener}: the clocks run again. */
  runStarted(start: number): void {
    for (const b of Object.values(this.#busy)) b.resume(start);
  }

  #openRow(key: string, row: ReportChange): void {
    const listener = isListenerRow(row);
    const owner = ownerName(row);
    const port = `${row.protocol}/${row.localPort}`;
    const open: Open = {
      opened: row.time,
      listener,
      port,
      process: owner,
      user: row.user ?? "(unknown)",
      label: listener ? `${row.protocol} ${row.localAddress}:${row.localPort} ${owner}` : "",
    };
    this.#open.set(key, open);
    const t = this.#tables;
    if (this.#tally(t.port, port, listener, owner, row.user)) this.#busy.port.inc(port, row.time);
    if (this.#tally(t.process, owner, listener, port, row.processPath)) {
      this.#busy.process.inc(owner, row.time);
    }
    if (this.#tally(t.user, open.user, listener, port, owner)) this.#busy.user.inc(open.user, row.time);
    if (!listener) {
      this.#tally(t.remote, row.remoteAddress, false, owner, `${row.protocol}/${row.remotePort}`);
    }
    if (row.event === "opened") {
      const hour = this.#hours.hour(row.time);
      this.#heatAll[hour]++;
      let h = this.#heat.get(port);
      if (!h) this.#heat.set(port, h = new Uint32Array(24));
      h[hour]++;
    }
  }

  #tally(
    map: Map<string, Bounded>,
    key: string,
    listener: boolean,
    related: string,
    detail: string | undefined,
  ): Bounded | undefined {
    let b = map.get(key);
    if (!b) {
      if (map.size >= LIMITS.keys) return void this.#dropped++;
      map.set(key, b = { key, opened: 0, listeners: 0, bytesSent: 0, bytesReceived: 0, with: new Map() });
    }
    bump(b, listener, related, detail);
    return b;
  }

  #close(key: string, open: Open, time: number, row?: ReportChange, stillOpen = false): void {
    this.#open.delete(key);
    for (const k of ["port", "process", "user"] as const) this.#busy[k].dec(open[k], time);
    if (stillOpen) this.#counts.stillOpen++;
    if (open.listener) this.#segment(open.label, open.opened, time, stillOpen);
    else if (!row) this.#durations.bounds += stillOpen ? 0 : 1;
    else this.#duration(row, row.durationMs ?? time - open.opened);
    if (row && !open.listener) this.#bytes(row);
  }

  #closedUnseen(row: ReportChange): void {
    const start = Math.max(row.firstSeen ?? row.time - (row.durationMs ?? 0), this.#first);
    const listener = isListenerRow(row);
    const owner = ownerName(row);
    const port = `${row.protocol}/${row.localPort}`;
    const user = row.user ?? "(unknown)";
    const t = this.#tables;
    if (this.#tally(t.port, port, listener, owner, row.user)) this.#busy.port.addPast(port, start, row.time);
    if (this.#tally(t.process, owner, listener, port, row.processPath)) {
      this.#busy.process.addPast(owner, start, row.time);
    }
    if (this.#tally(t.user, user, listener, port, owner)) this.#busy.user.addPast(user, start, row.time);
    if (listener) {
      this.#segment(`${row.protocol} ${row.localAddress}:${row.localPort} ${owner}`, start, row.time, false);
    } else {
      this.#tally(t.remote, row.remoteAddress, false, owner, `${row.protocol}/${row.remotePort}`);
      this.#duration(row, row.durationMs ?? row.time - start);
      this.#bytes(row);
    }
  }

  #duration(row: ReportChange, ms: number): void {
    let bin = DURATION_EDGES.findIndex((edge) => ms < edge);
    if (bin < 0) bin = DURATION_EDGES.length;
    this.#durations[row.protocol][bin]++;
  }

  #bytes(row: ReportChange): void {
    if (row.bytesSent === undefined && row.bytesReceived === undefined) return;
    const r = this.#tables.remote.get(row.remoteAddress);
    if (r) r.bytesSent += row.bytesSent ?? 0, r.bytesReceived += row.bytesReceived ?? 0;
  }

  #segment(label: string, start: number, end: number, stillOpen: boolean): void {
    this.#segmentTime.set(label, (this.#segmentTime.get(label) ?? 0) + end - start);
    if (this.#segments.length >= LIMITS.segments) return void this.#segmentsDropped++;
    this.#segments.push([label, start, end, stillOpen]);
  }

  #timeline(): ReportData["timeline"] {
    const rows = [...this.#segmentTime].sort((a, b) => b[1] - a[1]).slice(0, LIMITS.timelineRows)
      .map(([label]) => label);
    const index = new Map(rows.map((r, i) => [r, i]));
    const segments = this.#segments.filter((s) => index.has(s[0]))
      .map(([label, start, end, open]) =>
        [index.get(label)!, start, end, open] as [number, number, number, boolean]
      );
    return { rows, segments, dropped: this.#segmentsDropped };
  }

  #noteServices(row: ReportChange): void {
    const key = `${row.pid} ${row.processName}`;
    let s = this.#services.get(key);
    if (!s) {
      if (this.#services.size >= LIMITS.keys) return;
      this.#services.set(key, s = { pid: row.pid, process: ownerName(row), services: new Set() });
    }
    for (const name of row.services!) if (s.services.size < 1000) s.services.add(name);
  }
}

function endpointKey(r: ReportChange): string {
  return `${r.protocol}${r.family} ${r.localAddress} ${r.localPort} ${r.remoteAddress} ${r.remotePort} ${r.pid}`;
}
