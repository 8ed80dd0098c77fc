/**
 * `portreporter report [filters] --out report.html`: one self-contained HTML report of a log
 * directory (see src/read/report/).
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { platformDefaults } from "../platform/collector.ts";
import { compileGlob, compilePorts } from "../plugin/match.ts";
import {
  logSets,
  readEventRows,
  readModules,
  type ReadStats,
  type SetFiles,
} from "../read/report/jsonl_adapter.ts";
import { readInitial, withInitial } from "../read/report/initial.ts";
import type { ReportRow } from "../read/report/rows.ts";
import { buildReport, type ReportChange } from "../read/report/mod.ts";
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
  --since <time>      Only changes at or after this ISO 8601 time
  --until <time>      Only changes before this ISO 8601 time
  --port <list>       Only endpoints with this local or remote port (80,443,8000-8100)
  --process <glob>    Only processes whose name (or path, when the glob has a / or \\) matches
  --pid <pid>         Only this pid
  --user <glob>       Only this user
  --proto <tcp|udp>   Only this protocol
  --owned             Drop endpoints without an owner (pid 0)
  -h, --help          Show this help
`;

const OPTIONS = {
  out: { type: "string" },
  "log-dir": { type: "string" },
  watchlist: { type: "string" },
  utc: { type: "boolean" },
  since: { type: "string" },
  until: { type: "string" },
  port: { type: "string" },
  process: { type: "string" },
  pid: { type: "string" },
  user: { type: "string" },
  proto: { type: "string" },
  owned: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

function time(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (!Number.isFinite(t)) {
    throw new UsageError(`report: ${flag} "${value}" is not an ISO 8601 time (2026-11-26T10:00:00Z)`);
  }
  return t;
}

type Values = ReturnType<typeof parseOptions<typeof OPTIONS>>["values"];

function filter(v: Values): [((r: ReportChange) => boolean) | undefined, string[]] {
  const tests: ((r: ReportChange) => boolean)[] = [];
  const since = time(v.since, "--since");
  const until = time(v.until, "--until");
  if (since !== undefined) tests.push((r) => r.time >= since);
  if (until !== undefined) tests.push((r) => r.time < until);
  if (v.port !== undefined) {
    const p = compilePorts(v.port, "report: --port");
    tests.push((r) => p(r.localPort) || (r.remotePort !== 0 && p(r.remotePort)));
  }
  if (v.process !== undefined) {
    const g = compileGlob(v.process, "report: --process");
    const byPath = /[\\/]/.test(v.process);
    tests.push((r) =>
      byPath
        ? r.processPath !== undefined && g(r.processPath)
        : r.processName !== undefined && g(r.processName)
    );
  }
  if (v.pid !== undefined) {
    const pid = Number(v.pid);
    if (!/^\d+$/.test(v.pid)) throw new UsageError(`report: --pid "${v.pid}" is not a process id`);
    tests.push((r) => r.pid === pid);
  }
  if (v.user !== undefined) {
    const g = compileGlob(v.user, "report: --user");
    tests.push((r) => r.user !== undefined && g(r.user));
  }
  if (v.proto !== undefined) {
    if (v.proto !== "tcp" && v.proto !== "udp") {
      throw new UsageError(`report: --proto must be tcp or udp, not "${v.proto}"`);
    }
    tests.push((r) => r.protocol === v.proto);
  }
  if (v.owned) tests.push((r) => r.pid !== 0);
  const given = Object.entries(v).filter(([k]) => !["out", "log-dir", "watchlist", "utc", "help"].includes(k))
    .map(([k, x]) => x === true ? `--${k}` : `--${k} ${x}`);
  return [tests.length ? (r) => tests.every((t) => t(r)) : undefined, given];
}

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
  const [keep, filters] = filter(values);
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
      timeZone: values.utc ? "UTC" : undefined,
      source: dir,
      filters,
      read: () => stats,
    },
  });
  if (values.out === "-") io.out(html);
  else {
    try {
      Deno.writeTextFileSync(values.out, html);
    } catch (e) {
      throw new UsageError(`report: cannot write ${values.out}: ${(e as Error).message}`);
    }
    io.err(
      `portreporter: report written to ${values.out} (${stats.lines} records from ${stats.files} files)`,
    );
  }
  return 0;
}
