/**
 * The report as one self-contained HTML page: the data as JSON in the page, ECharts (read from its
 * npm package's minified dist at build time and inlined) and the page script, a Content-Security-Policy
 * that allows no request at all and runs only those two scripts (by hash), and every table rendered
 * here with escaped cells.
 *
 * @module
 */

import echartsJs from "echarts/dist/echarts.min.js" with { type: "text" };
import pageJs from "./page.js" with { type: "text" };
import type { ReportData } from "./aggregate.ts";
import { bytes, duration, label, percent, scriptJson, table, text, ZoneClock } from "./html.ts";
import type { Finding } from "./interest.ts";
import type { Counted } from "./tally.ts";
import type { Watchlist } from "./watchlist.ts";
import { STYLE } from "./style.ts";

/** What the page says about where its data came from. */
export interface PageMeta {
  /** Program version. */
  version: string;
  /** When the report was made, ms. */
  generated: number;
  /** The zone times are shown in (`UTC` or an IANA name; the system zone when absent). */
  timeZone?: string;
  /** Where the logs were read (directory or files). */
  source: string;
  /** The filters given, as typed. */
  filters: string[];
  /** Files and lines read, lines skipped. */
  read: { files: number; lines: number; skipped: number };
  /** Computer names seen. */
  hosts: string[];
}

/** The watchlist part of the page: the findings, or nothing when no watchlist was given. */
export interface InterestPart {
  /** The compiled watchlist (host names resolved). */
  watchlist: Watchlist;
  /** What matched. */
  findings: Finding[];
  /** Findings not kept past the cap. */
  dropped: number;
}

async function sha256(s: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/** Renders the whole page. */
export async function renderPage(data: ReportData, meta: PageMeta, interest?: InterestPart): Promise<string> {
  const clock = new ZoneClock(meta.timeZone);
  const json = scriptJson(chartData(data, clock));
  const csp = `default-src 'none'; script-src 'sha256-${await sha256(echartsJs)}' 'sha256-${await sha256(
    pageJs,
  )}'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'`;
  const hosts = meta.hosts.length ? meta.hosts.join(", ") : "unknown host";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Port report: ${text(hosts)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Port report: ${text(hosts)}</h1>
${summary(data, meta, clock)}
</header>
<main>
${interestSection(interest, clock)}
${sections(data, clock)}
</main>
<footer>portreporter ${
    text(meta.version)
  }; charts by Apache ECharts. This file makes no request when opened.</footer>
<script type="application/json" id="report-data">${json}</script>
<script>${echartsJs}</script>
<script>${pageJs}</script>
</body>
</html>
`;
}

function chartData(d: ReportData, clock: ZoneClock) {
  const list = (l: Counted[]) =>
    l.slice(0, 20).map((c) => ({ key: label(c.key), share: c.share ?? 0, opened: c.opened }));
  return {
    zone: clock.zone,
    ports: list(d.ports),
    processes: list(d.processes),
    users: list(d.users),
    remotes: list(d.remotes),
    heatmap: { ports: d.heatmap.ports.map(label), counts: d.heatmap.counts },
    timeline: {
      rows: d.timeline.rows.map(label),
      segments: d.timeline.segments.map(([row, start, end, open]) => [
        row,
        clock.shift(start),
        clock.shift(end),
        open ? 1 : 0,
        clock.format(start),
        open ? "still open" : clock.format(end),
      ]),
    },
    durations: d.durations,
  };
}

function summary(d: ReportData, meta: PageMeta, clock: ZoneClock): string {
  const o = d.observed;
  const how = o.heartbeats > 0
    ? `from ${o.starts} monitor start(s), ${o.stops} stop(s) and ${
      o.heartbeats.toLocaleString("en-US")
    } heartbeats`
    : "no heartbeat records: each run counts from its first record to its last";
  const rows: [string, string][] = [
    ["Generated", `${clock.format(meta.generated)} (times in ${clock.zone})`],
    ["Logs", meta.source],
    ["Filters", meta.filters.length ? meta.filters.join(" ") : "none"],
    [
      "Records",
      `${
        meta.read.lines.toLocaleString("en-US")
      } lines in ${meta.read.files} files; ${meta.read.skipped} skipped`,
    ],
    ["First and last record", `${clock.format(d.span.first)} – ${clock.format(d.span.last)}`],
    ["Observed time", `${duration(o.totalMs)} in ${o.runs.length} run(s), ${how}`],
    [
      "Changes",
      `${d.counts.opened.toLocaleString("en-US")} opened, ${
        d.counts.closed.toLocaleString("en-US")
      } closed, ` +
      `${d.counts.changed.toLocaleString("en-US")} changed; ${d.counts.stillOpen} still open at the end`,
    ],
  ];
  if (d.dropped) {
    rows.push([
      "Capped",
      `${d.dropped.toLocaleString("en-US")} rows beyond the table limits were not counted by key`,
    ]);
  }
  const runs = table(
    ["run start", "run end", "observed", "ended by"],
    d.observed.runs.map((r) => [
      { text: clock.format(r.start), sort: r.start },
      { text: clock.format(r.end), sort: r.end },
      { text: duration(r.end - r.start), sort: r.end - r.start },
      r.stopped ? "monitor-stop" : "its last record",
    ]),
    "no run observed",
  );
  return `<dl class="summary">${
    rows.map(([k, v]) => `<dt>${text(k)}</dt><dd>${text(v)}</dd>`).join("")
  }</dl>\n<details id="runs"><summary>When the monitor ran (${d.observed.runs.length})</summary>${runs}</details>`;
}

function section(id: string, title: string, intro: string, body: string): string {
  return `<section id="${id}"><h2>${text(title)}</h2><p class="intro">${
    text(intro)
  }</p>\n${body}\n</section>`;
}

const chart = (kind: string, tall = false) =>
  `<div class="chart${tall ? " tall" : ""}" data-chart="${kind}"></div>`;
const related = (c: Counted) => c.with.map(([n, k]) => `${n} (${k})`).join(", ");

function sections(d: ReportData, clock: ZoneClock): string {
  const shareRows = (l: Counted[], extra: (c: Counted) => string) =>
    l.map((
      c,
    ) => [
      c.key,
      percent(c.share ?? 0),
      { text: duration(c.busyMs ?? 0), sort: c.busyMs ?? 0 },
      c.opened,
      c.listeners,
      related(c),
      extra(c),
    ]);
  const h = ["share", "time in use", "endpoints opened", "listeners"];
  return [
    section(
      "ports",
      "Local ports",
      "Share of the observed time each local port had at least one endpoint open.",
      chart("ports") +
        table(["port", ...h, "processes", "users"], shareRows(d.ports, (c) => c.detail.join(", "))),
    ),
    section(
      "processes",
      "Processes",
      "Share of the observed time each process (by image name) had at least one endpoint open.",
      chart("processes") +
        table(["process", ...h, "ports", "paths"], shareRows(d.processes, (c) => c.detail.join(", "))),
    ),
    section(
      "remotes",
      "Remote addresses",
      "Connections to or from each remote address; bytes where the log carries them.",
      chart("remotes") +
        table(
          ["remote address", "connections", "sent", "received", "processes", "remote ports"],
          d.remotes.map((
            c,
          ) => [
            c.key,
            c.opened,
            bytes(c.bytesSent),
            bytes(c.bytesReceived),
            related(c),
            c.detail.join(", "),
          ]),
        ),
    ),
    section(
      "users",
      "User contexts",
      "Share of the observed time each account had a process with an open endpoint.",
      chart("users") +
        table(["user", ...h, "ports", "processes"], shareRows(d.users, (c) => c.detail.join(", "))),
    ),
    section(
      "hours",
      "Port usage by hour of day",
      `Endpoints opened per hour of day (${clock.zone}), busiest ports; the first row is all ports.`,
      chart("heatmap", true),
    ),
    section(
      "listeners",
      "Listeners over time",
      `Listening TCP ports and unconnected UDP sockets, the ${d.timeline.rows.length} longest-lived; orange bars were still open at the end.${
        d.timeline.dropped ? ` ${d.timeline.dropped} lifetimes beyond the cap are not drawn.` : ""
      }`,
      chart("timeline", true),
    ),
    section(
      "durations",
      "Connection durations",
      `Connections by how long they lived (closed ones; ${d.durations.bounds} cut short by a monitor stop are not counted).`,
      chart("durations"),
    ),
    section(
      "services",
      "Services per process",
      "Windows services hosted in each process (svchost.exe and others).",
      table(
        ["process", "pid", "services"],
        d.services.map((s) => [s.process, s.pid, s.services.join(", ")]),
        "no process hosted a service",
      ),
    ),
  ].join("\n");
}

function interestSection(part: InterestPart | undefined, clock: ZoneClock): string {
  if (!part) return section("interest", "Of interest", "No watchlist was given (--watchlist FILE).", "");
  const unresolved = part.watchlist.hostnames.filter((h) => h.error).map((h) => `${h.name} (${h.error})`);
  const note = unresolved.length
    ? `<p class="warn">Host names not resolved: ${text(unresolved.join(", "))}</p>`
    : "";
  const rows = part.findings.map((
    f,
  ) => [f.kind, f.subject, f.detail, f.count, { text: clock.format(f.first), sort: f.first }, {
    text: clock.format(f.last),
    sort: f.last,
  }]);
  const capped = part.dropped
    ? `<p class="warn">${part.dropped} more findings beyond the cap are not listed.</p>`
    : "";
  return section(
    "interest",
    "Of interest",
    "What the watchlist flagged: ports, processes, modules, users, addresses and host names of interest, and known process names running from an unexpected path.",
    note +
      table(["rule", "what", "detail", "times", "first", "last"], rows, "nothing on the watchlist was seen") +
      capped,
  );
}
