/**
 * `portreporter sets`: the log sets of a directory, oldest first: stamp, start, why it started,
 * its files and size. The answer to "which files hold what" when the names do not sort.
 *
 * @module
 */

import { basename } from "node:path";
import type { CliIo } from "./main.ts";
import { type Column, type LogSetInfo, parseFormat, pickColumns, RowWriter } from "../read/mod.ts";
import {
  BufferedOut,
  checkedZone,
  parseReadArgs,
  resolveSets,
  SOURCE_FLAGS,
  untilPipeCloses,
} from "./read_common.ts";

const HELP = `Usage: portreporter sets [--log-dir DIR] [--format table|csv|jsonl] [--utc] [--no-header]

Lists the log sets of the log directory in time order (file names with unpadded stamps do not sort as
text): stamp, start time, why the set started (start, midnight, size, clock-jump, ...), size, files.

Options:
  --log-dir <dir>     The log directory (default: the one 'portreporter run' writes)
  --format <f>        table (default), csv, jsonl
  --utc               Times in UTC (default local, zone in the header)
  --time-zone <zone>  The local zone of the stamps (default: this machine's)
  --no-header         Table without the zone line and headings
  -h, --help          Show this help
`;

const KINDS = ["INITIAL", "PORTS", "PIDS", "EVENTS", "ALERTS"] as const;

const COLUMNS: Column<LogSetInfo>[] = [
  { name: "stamp", heading: "Stamp", get: (s) => s.stamp },
  { name: "start", heading: "Started", get: (s) => ({ time: s.recorded ?? s.start }) },
  { name: "reason", heading: "Reason", get: (s) => s.reason },
  { name: "host", heading: "Host", get: (s) => s.host },
  { name: "bytes", heading: "Bytes", get: (s) => s.bytes, right: true },
  { name: "reads", heading: "Rows from", get: (s) => s.primary?.kind },
  {
    name: "files",
    heading: "Files",
    get: (s) => KINDS.filter((k) => s.files[k]).map((k) => basename(s.files[k]!)).join(" "),
  },
];

/** Runs `portreporter sets`; returns the exit code. */
export async function commandSets(args: string[], io: CliIo): Promise<number> {
  const { values } = parseReadArgs("sets", args, {
    ...SOURCE_FLAGS,
    format: { type: "string" },
    "no-header": { type: "boolean" },
  }, false);
  if (values.help) return io.out(HELP), 0;
  const format = parseFormat(values.format);
  const timeZone = checkedZone(values["time-zone"]);
  const sets = await resolveSets("sets", { logDir: values["log-dir"], files: [] }, timeZone);
  const out = new BufferedOut(io.out);
  const columns = pickColumns(COLUMNS, COLUMNS.map((c) => c.name));
  const writer = new RowWriter(
    columns,
    format,
    { utc: values.utc === true, timeZone },
    out.write,
    !values["no-header"],
  );
  return await untilPipeCloses(() => {
    for (const s of sets) writer.add(s);
    writer.flush();
    out.flush();
    return Promise.resolve(0);
  });
}
