/**
 * What the reading commands (`query`, `connections`, `follow`, `sets`) share: their flags, where the
 * log sets come from (`--log-dir DIR`, named files, or the default log directory), the filter and
 * the time display, and the one stderr line about skipped lines.
 *
 * @module
 */

import { type OptionSpecs, parseOptions } from "./options.ts";
import { UsageError } from "../errors.ts";
import { platformDefaults } from "../platform/collector.ts";
import {
  FILTER_FLAGS,
  type FilterFlagValues,
  filterFromFlags,
  listLogSets,
  type LogSetInfo,
  logSetsOfFiles,
  type ReadStats,
  type RowFilter,
  type TimeDisplay,
} from "../read/mod.ts";

/** Flags of every reading command besides the filters. */
export const SOURCE_FLAGS = {
  "log-dir": { type: "string" },
  utc: { type: "boolean" },
  "time-zone": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Output flags of `query` and `connections`. */
export const OUTPUT_FLAGS = {
  format: { type: "string" },
  fields: { type: "string" },
  "no-header": { type: "boolean" },
} as const;

/** Help text of the source and output flags. */
export const SOURCE_HELP = `Source (default: the log directory of 'portreporter run'):
  --log-dir <dir>     Read every log set in this directory (oldest first, the open set included)
  FILE...             Or read these files (PR-EVENTS-*.jsonl, PR-PORTS-*.log, original 1.01 logs too)
  --utc               Show times in UTC (default: local time; the zone is in the header)
  --time-zone <zone>  The local zone of the logs and of local times given (default: this machine's),
                      e.g. Europe/Berlin for 1.01 logs copied from a machine there
`;

/** The shared strict parser (did-you-mean, one line per mistake), with file names allowed where `positionals`. */
export function parseReadArgs<T extends OptionSpecs>(
  command: string,
  args: string[],
  options: T,
  positionals = true,
) {
  return parseOptions(command, args, options, positionals);
}

/** Where the sets are read from. */
export interface SourceSpec {
  /** `--log-dir`. */
  logDir?: string;
  /** Named files. */
  files: string[];
}

/** The sets to read: the named files, or the sets of `--log-dir` (default: the platform's log directory). */
export async function resolveSets(
  command: string,
  spec: SourceSpec,
  timeZone?: string,
): Promise<LogSetInfo[]> {
  if (spec.logDir !== undefined && spec.files.length > 0) {
    throw new UsageError(`${command}: give either --log-dir or files, not both`);
  }
  if (spec.files.length > 0) return await logSetsOfFiles(spec.files, { timeZone });
  return await listLogSets(spec.logDir ?? platformDefaults().logDir, { timeZone });
}

/** The directory `follow` watches (it needs a directory to see new sets appear). */
export function followDir(spec: SourceSpec): string {
  if (spec.files.length > 0) {
    throw new UsageError("follow: follow reads a log directory (new sets appear there); use --log-dir DIR");
  }
  return spec.logDir ?? platformDefaults().logDir;
}

/** Validates `--time-zone` (an IANA zone name); `undefined` for the system zone. */
export function checkedZone(zone: string | undefined): string | undefined {
  if (zone === undefined) return undefined;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
  } catch {
    throw new UsageError(
      `--time-zone: '${zone}' is not a time zone; use an IANA name such as Europe/Berlin or UTC`,
    );
  }
  return zone;
}

/** The filter, the time display and the zone from the parsed values. */
export function filterAndDisplay(
  values: FilterFlagValues & { utc?: boolean; "time-zone"?: string },
  now = Date.now(),
): { filter: RowFilter; display: TimeDisplay; timeZone?: string } {
  const timeZone = checkedZone(values["time-zone"]);
  return {
    filter: filterFromFlags(values, { now, timeZone }),
    display: { utc: values.utc === true, timeZone },
    timeZone,
  };
}

/** The filter flags, for spreading into a command's options. */
export const READ_FILTER_FLAGS = FILTER_FLAGS;

/** One stderr line when reading skipped lines (they are evidence someone may want to look at). */
export function reportSkipped(stats: ReadStats, err: (line: string) => void): void {
  const parts: string[] = [];
  if (stats.malformed) parts.push(`${stats.malformed} malformed line${stats.malformed === 1 ? "" : "s"}`);
  if (stats.tooLong) parts.push(`${stats.tooLong} line${stats.tooLong === 1 ? "" : "s"} over 1 MiB`);
  if (stats.unreadable) {
    parts.push(
      `${stats.unreadable} file${stats.unreadable === 1 ? "" : "s"} that vanished or could not be read`,
    );
  }
  if (parts.length) err(`portreporter: skipped ${parts.join(", ")}; the rest was read`);
}

/** Output gathered into pieces of about 64 KiB (one write per piece, not per row). */
export class BufferedOut {
  #parts: string[] = [];
  #size = 0;
  /** @param out where the pieces go */
  constructor(private readonly out: (text: string) => void) {}
  /** Adds text; writes when 64 KiB are gathered. */
  write = (text: string): void => {
    this.#parts.push(text);
    this.#size += text.length;
    if (this.#size >= 65536) this.flush();
  };
  /** Writes what is gathered. */
  flush(): void {
    if (this.#parts.length === 0) return;
    const text = this.#parts.join("");
    this.#parts = [];
    this.#size = 0;
    this.out(text);
  }
}

/** Runs a reading command's output loop; a reader that went away (`| head`) ends it quietly with 0. */
export async function untilPipeCloses(body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof Deno.errors.BrokenPipe) return 0;
    throw e;
  }
}

/**
 * One stderr line when some sets of a directory that has PR-EVENTS lack theirs and are read from
 * PR-PORTS (opens only, no closes): a deleted PR-EVENTS is worth knowing about.
 */
export function reportFallbacks(sets: LogSetInfo[], err: (line: string) => void): void {
  if (!sets.some((s) => s.primary?.kind === "EVENTS")) return;
  const classic = sets.filter((s) => s.primary?.kind === "PORTS");
  if (classic.length === 0) return;
  const names = classic.slice(0, 3).map((s) => s.stamp).join(", ") + (classic.length > 3 ? ", ..." : "");
  err(
    `portreporter: ${classic.length} set${
      classic.length === 1 ? " has" : "s have"
    } no PR-EVENTS (${names}); ` +
      "read from PR-PORTS, which lists opened endpoints only",
  );
}
