/**
 * `portreporter query`: every change in time order across the log sets of a directory (or named
 * files), filtered, as a table, CSV or JSON Lines.
 *
 * @module
 */

import type { CliIo } from "./main.ts";
import { UsageError } from "../errors.ts";
import type { ReadRow } from "../read/rows.ts";
import { FILTER_HELP, newReadStats, pickColumns, readRows, RowWriter } from "../read/mod.ts";
import { parseFormat } from "../read/format.ts";
import { ecsLine } from "../read/ecs_rows.ts";
import { ROW_COLUMNS, ROW_DATA_DEFAULT, ROW_TABLE_DEFAULT } from "../read/columns.ts";
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
  `Usage: portreporter query [filters] [--format table|csv|jsonl|ecs] [--fields a,b,...] [--log-dir DIR | FILE...]

Every change (opened, closed, changed) in time order across all log sets, the open set included.
Reads PR-EVENTS, or the classic PR-PORTS where a set has nothing else (original Port Reporter 1.01
logs too). Streams: memory stays bounded whatever the size of the logs.

Output:
  --format <f>        table (default; aligned, escaped, local time), csv (with a header), jsonl,
                      ecs (JSON Lines in the Elastic Common Schema; --fields does not apply)
  --fields <a,b,...>  Columns, in order: ${ROW_COLUMNS.map((c) => c.name).join(", ")}
  --no-header         Table without the zone line and headings
${SOURCE_HELP}
${FILTER_HELP}`;

/** Runs `portreporter query`; returns the exit code. */
export async function commandQuery(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseReadArgs("query", args, {
    ...SOURCE_FLAGS,
    ...OUTPUT_FLAGS,
    ...READ_FILTER_FLAGS,
  });
  if (values.help) return io.out(HELP), 0;
  const ecs = values.format?.toLowerCase() === "ecs";
  if (ecs && values.fields !== undefined) {
    throw new UsageError("query: --fields does not apply to --format ecs");
  }
  const format = ecs ? "jsonl" : parseFormat(values.format, ["table", "csv", "jsonl"]);
  const columns = pickColumns(
    ROW_COLUMNS,
    format === "table" ? ROW_TABLE_DEFAULT : ROW_DATA_DEFAULT,
    values.fields,
  );
  const { filter, display, timeZone } = filterAndDisplay(values);
  const sets = await resolveSets("query", { logDir: values["log-dir"], files: positionals }, timeZone);
  const stats = newReadStats();
  const out = new BufferedOut(io.out);
  const table = new RowWriter(columns, format, display, out.write, !values["no-header"]);
  const writer = ecs ? { add: (row: ReadRow) => out.write(ecsLine(row)), flush: () => {} } : table;
  return await untilPipeCloses(async () => {
    for await (
      const row of readRows(sets, { stats, prefilter: filter.prefilter, since: filter.since, timeZone })
    ) {
      if (row.type === "change") {
        if (filter.matches(row)) writer.add(row);
      } else if (
        filter.markerKinds.has(row.event) && (filter.since === undefined || row.time >= filter.since) &&
        (filter.until === undefined || row.time <= filter.until)
      ) writer.add(row);
    }
    writer.flush();
    out.flush();
    reportSkipped(stats, io.err);
    reportFallbacks(sets, io.err);
    return 0;
  });
}
