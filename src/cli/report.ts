/**
 * `portreporter report [filters] --out report.html`: one self-contained HTML report of a log
 * directory (see src/read/report/).
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { platformDefaults } from "../platform/collector.ts";
import { checkedZone, REPORT_FILTER_FLAGS, REPORT_FILTER_HELP, reportFilter } from "../read/report/filter.ts";
import {
  logSets,
  readEventRows,
  readModules,
  type ReadStats,
  type SetFiles,
} from "../read/report/jsonl_adapter.ts";
import { readInitial, withInitial } from "../read/report/initial.ts";
import type { ReportRow } from "../read/report/rows.ts";
import { buildReport } from "../read/report/mod.ts";
import { loadWatchlist } from "../read/report/watchlist.ts";
import { parseOptions } from "./settings.ts";

const HELP = `Usage: portreporter report [filters] [--log-dir DIR] [--watchlist FILE] --out report.html

Writes one self-contained HTML file (charts inlined; it makes no request when opened): share of the
observed time each local port, process and user had an endpoint open, remote addresses by connections
and bytes, port usage by hour of day, listeners over time, connection durations, services per
process, and what a watchlist flags.

Options:
  --out <file>        The HTML file to write (required; '-' for stdout)
  --log-dir <dir>     Log directory (default: the monitor's)
  --watchlist <file>  JSONC watchlist: ports, processes, modules, users, addresses, hostnames, expectedPaths
  --utc               Show times in UTC (default: local time; the zone is shown)
  --time-zone <zone>  Show times in this IANA zone (e.g. Europe/Berlin)
  -h, --help          Show this help

${REPORT_FILTER_HELP}`;

const OPTIONS = {
  out: { type: "string" },
  "log-dir": { type: "string" },
  watchlist: { type: "string" },
  utc: { type: "boolean" },
  "time-zone": { type: "string" },
  ...REPORT_FILTER_FLAGS,
  help: { type: "boolean", short: "h" },
} as const;

function* setRows(sets: SetFiles[], stats: ReadStats): Generator<ReportRow> {
  for (const set of sets) {
    const initial = set.initial ? readInitial(set.initial, stats) : [];
    yield* withInitial(readEventRows(set.events!, stats), initial, set.start);
  }
}

/** Runs `portreporter report`; returns the exit code. */
export async function commandReport(
  args: string[],
  io: { out: (text: string) => void; err: (line: string) => void },
  version: string,
): Promise<number> {
  const { values } = parseOptions("report", args, OPTIONS);
  if (values.help) return io.out(HELP), 0;
  if (!values.out) {
    throw new UsageError("report: --out FILE is required (the HTML file to write, or - for stdout)");
  }
  const dir = values["log-dir"] ?? platformDefaults().logDir;
  const [keep, filters] = reportFilter(values);
  const zone = values.utc ? "UTC" : checkedZone(values["time-zone"]);
  const watchlist = values.watchlist ? await loadWatchlist(values.watchlist) : undefined;
  const stats: ReadStats = { files: 0, lines: 0, skipped: 0 };
  const sets = logSets(dir).filter((s) => s.events);
  const moduleFiles = sets.flatMap((s) => [s.initial, s.pids]).filter((f): f is string => f !== undefined);
  if (sets.length === 0) {
    throw new UsageError(`report: no PR-EVENTS files in ${dir}; give the monitor's --log-dir`);
  }
  const html = await buildReport({
    rows: setRows(sets, stats),
    modules: watchlist?.modules
      ? () => readModules(moduleFiles, { files: 0, lines: 0, skipped: 0 })
      : undefined,
    keep,
    watchlist,
    meta: {
      version,
      generated: Date.now(),
      timeZone: zone,
      source: dir,
      filters,
      read: () => stats,
    },
  });
  if (values.out === "-") io.out(html);
  else {
    try {
      // the report holds what the logs hold: readable by its owner only, as the logs are
      Deno.writeTextFileSync(values.out, html, { mode: 0o600 });
    } catch (e) {
      throw new UsageError(`report: cannot write ${values.out}: ${(e as Error).message}`);
    }
    io.err(
      `portreporter: report written to ${values.out} (${stats.lines} records from ${stats.files} files)`,
    );
  }
  return 0;
}
