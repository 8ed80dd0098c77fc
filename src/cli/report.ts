/**
 * `portreporter report [filters] --out report.html`: one self-contained HTML report of the log sets
 * (see src/read/report/), read through the reader API with the reading commands' flags.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { type ChangeRow, FILTER_HELP, newReadStats, readRows } from "../read/mod.ts";
import { withInitialOwners } from "../read/report/initial.ts";
import { readModules } from "../read/report/lines.ts";
import { buildReport } from "../read/report/mod.ts";
import { loadWatchlist } from "../read/report/watchlist.ts";
import {
  filterAndDisplay,
  parseReadArgs,
  READ_FILTER_FLAGS,
  reportSkipped,
  resolveSets,
  SOURCE_FLAGS,
  SOURCE_HELP,
} from "./read_common.ts";

const HELP =
  `Usage: portreporter report [filters] [--log-dir DIR | FILE...] [--watchlist FILE] --out report.html

Writes one self-contained HTML file (charts inlined; it makes no request when opened): share of the
observed time each local port, process and user had an endpoint open, remote addresses by connections
and bytes, port usage by hour of day, listeners over time, connection durations, services per
process, and what a watchlist flags.

Options:
  --out <file>        The HTML file to write (required; '-' for stdout)
  --watchlist <file>  JSONC watchlist: ports, processes, modules, users, addresses, hostnames, expectedPaths
  -h, --help          Show this help

${SOURCE_HELP}
${FILTER_HELP}`;

const OPTIONS = {
  ...SOURCE_FLAGS,
  ...READ_FILTER_FLAGS,
  out: { type: "string" },
  watchlist: { type: "string" },
} as const;

const SHOWN_FLAGS = Object.keys(READ_FILTER_FLAGS);

/** Runs `portreporter report`; returns the exit code. */
export async function commandReport(
  args: string[],
  io: { out: (text: string) => void; err: (line: string) => void },
  version: string,
): Promise<number> {
  const { values, positionals } = parseReadArgs("report", args, OPTIONS);
  if (values.help) return io.out(HELP), 0;
  if (!values.out) {
    throw new UsageError("report: --out FILE is required (the HTML file to write, or - for stdout)");
  }
  const { filter, timeZone } = filterAndDisplay(values);
  const watchlist = values.watchlist ? await loadWatchlist(values.watchlist) : undefined;
  const sets = await resolveSets("report", { logDir: values["log-dir"], files: positionals }, timeZone);
  if (!sets.some((s) => s.primary)) {
    throw new UsageError(
      `report: no log sets in ${values["log-dir"] ?? positionals.join(" ")}; give the monitor's --log-dir`,
    );
  }
  const moduleFiles = sets.flatMap((s) => [s.files.INITIAL, s.files.PIDS]).filter((f): f is string =>
    f !== undefined
  );
  const stats = newReadStats();
  const given = SHOWN_FLAGS.filter((k) => (values as Record<string, unknown>)[k] !== undefined)
    .map((k) => {
      const v = (values as Record<string, unknown>)[k];
      return v === true ? `--${k}` : `--${k} ${[v].flat().join(",")}`;
    });
  const html = await buildReport({
    rows: withInitialOwners(readRows(sets, { timeZone, stats, includeInitial: true, since: filter.since })),
    modules: watchlist?.modules
      ? () => readModules(moduleFiles, { files: 0, lines: 0, skipped: 0 })
      : undefined,
    keep: (row) => filter.matches(row as ChangeRow),
    watchlist,
    meta: {
      version,
      generated: Date.now(),
      timeZone: values.utc ? "UTC" : timeZone,
      source: values["log-dir"] ?? (positionals.length ? positionals.join(" ") : "the default log directory"),
      filters: given,
      read: () => ({ files: sets.length, lines: stats.rows, skipped: stats.malformed + stats.tooLong }),
    },
  });
  reportSkipped(stats, io.err);
  if (values.out === "-") io.out(html);
  else {
    try {
      // the report holds what the logs hold: readable by its owner only, as the logs are
      Deno.writeTextFileSync(values.out, html, { mode: 0o600 });
    } catch (e) {
      throw new UsageError(`report: cannot write ${values.out}: ${(e as Error).message}`);
    }
    io.err(`portreporter: report written to ${values.out} (${stats.rows} records from ${sets.length} sets)`);
  }
  return 0;
}
