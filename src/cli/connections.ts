/**
 * `portreporter connections`: one row per connection or listener lifetime (opened, closed or still
 * open, duration, endpoint, owner), from every log set, filtered.
 *
 * @module
 */

import type { CliIo } from "./main.ts";
import {
  FILTER_HELP,
  lifetimes,
  newReadStats,
  parseFormat,
  pickColumns,
  readRows,
  RowWriter,
} from "../read/mod.ts";
import { LIFETIME_COLUMNS, LIFETIME_DATA_DEFAULT, LIFETIME_TABLE_DEFAULT } from "../read/columns.ts";
import {
  BufferedOut,
  filterAndDisplay,
  OUTPUT_FLAGS,
  parseReadArgs,
  READ_FILTER_FLAGS,
  reportFallbacks,
  reportSkipped,
  resolveSets,
  SOURCE_FLAGS,
  SOURCE_HELP,
  untilPipeCloses,
} from "./read_common.ts";

const HELP =
  `Usage: portreporter connections [filters] [--format table|csv|jsonl] [--fields a,b,...] [--log-dir DIR | FILE...]

One row per connection or listener lifetime: opened, closed (or "still open"), duration, protocol,
local and remote endpoint, pid, process, user (bytes where the log has them). A duration marked
with ≥ is a bound: the endpoint was already open when the monitor started, or it is still open, or
the monitor stopped while it was open. Rows come as lifetimes end; still-open ones last. With
--since/--until, the lifetimes that overlap that window.

Output:
  --format <f>        table (default), csv (with a header), jsonl (one object per lifetime)
  --fields <a,b,...>  Columns, in order: ${LIFETIME_COLUMNS.map((c) => c.name).join(", ")}
  --no-header         Table without the zone line and headings
${SOURCE_HELP}
${FILTER_HELP}`;

/** Runs `portreporter connections`; returns the exit code. */
export async function commandConnections(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseReadArgs("connections", args, {
    ...SOURCE_FLAGS,
    ...OUTPUT_FLAGS,
    ...READ_FILTER_FLAGS,
  });
  if (values.help) return io.out(HELP), 0;
  const format = parseFormat(values.format);
  const columns = pickColumns(
    LIFETIME_COLUMNS,
    format === "table" ? LIFETIME_TABLE_DEFAULT : LIFETIME_DATA_DEFAULT,
    values.fields,
  );
  const now = Date.now();
  const { filter, display, timeZone } = filterAndDisplay(values, now);
  const sets = await resolveSets("connections", { logDir: values["log-dir"], files: positionals }, timeZone);
  const stats = newReadStats();
  const out = new BufferedOut(io.out);
  const writer = new RowWriter(columns, format, display, out.write, !values["no-header"]);
  return await untilPipeCloses(async () => {
    const rows = readRows(sets, { stats, prefilter: filter.prefilter, includeInitial: true, timeZone });
    for await (
      const l of lifetimes(rows, {
        now,
        accept: filter.matchesEndpoint,
        since: filter.since,
        until: filter.until,
      })
    ) writer.add(l);
    writer.flush();
    out.flush();
    reportSkipped(stats, io.err);
    reportFallbacks(sets, io.err);
    return 0;
  });
}
