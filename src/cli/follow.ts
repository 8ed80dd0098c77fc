/**
 * `portreporter follow`: a live view of the changes as they are written, like TCPView: opened in
 * green, closed in red, state changes in yellow (plain when stdout is not a terminal, or with
 * NO_COLOR), across rollovers with no lost lines. Ctrl+C stops it.
 *
 * @module
 */

import type { CliIo } from "./main.ts";
import { UsageError } from "../errors.ts";
import { abortableSleep } from "../abortable_sleep.ts";
import { escapeField } from "../model/text.ts";
import { currentOs } from "../platform/collector.ts";
import { parseInterval } from "./settings.ts";
import {
  type ChangeRow,
  endpointCell,
  FILTER_HELP,
  formatInstant,
  LogFollower,
  type MarkerRow,
  type TimeDisplay,
  zoneHeader,
} from "../read/mod.ts";
import {
  filterAndDisplay,
  followDir,
  parseReadArgs,
  READ_FILTER_FLAGS,
  reportSkipped,
  SOURCE_FLAGS,
} from "./read_common.ts";

const HELP =
  `Usage: portreporter follow [filters] [--log-dir DIR] [--interval TIME] [--color auto|always|never]

Prints each change as it is written to the logs, across rollovers (a new set at midnight or at the
size limit is picked up with no line lost): opened in green, closed in red, state changes in yellow.
Starts at the end of the logs (with --since: from that time). Ctrl+C stops.

Options:
  --log-dir <dir>     The log directory (default: the one 'portreporter run' writes)
  --interval <time>   How often to look for new lines (default 500ms)
  --color <when>      auto (default: colours on a terminal, unless NO_COLOR is set), always, never
  --utc               Times in UTC (default local time)
  --time-zone <zone>  The local zone of the logs (default: this machine's)
  --no-header         No zone line at the start
  -h, --help          Show this help

${FILTER_HELP}`;

const GREEN = "\x1b[32m";
const RED = "\x1b[31m";
const YELLOW = "\x1b[33m";
const DIM = "\x1b[2m";
const RESET = "\x1b[0m";

/** Markers shown by default (heartbeats only with --event heartbeat). */
const SHOWN_MARKERS = new Set([
  "set-start",
  "monitor-start",
  "monitor-stop",
  "clock-jump",
  "gap",
  "dir-recreated",
]);

function changeLine(r: ChangeRow, display: TimeDisplay): string {
  const state = r.event === "changed" ? `${r.previousState ?? "-"}>${r.state ?? "-"}` : (r.state ?? "");
  const remote = endpointCell(
    r.remoteAddress,
    r.remotePort,
    r.family,
    r.protocol === "udp" && r.remotePort === 0,
  );
  return [
    formatInstant(r.time, display, false),
    r.event.toUpperCase().padEnd(7),
    r.protocol.toUpperCase(),
    endpointCell(r.localAddress, r.localPort, r.family).padEnd(22),
    remote.padEnd(22),
    state.padEnd(12),
    String(r.pid).padStart(7),
    escapeField(r.processName ?? (r.pid === 0 ? "-" : "unknown")).padEnd(16),
    escapeField(r.user ?? ""),
  ].join("  ").trimEnd();
}

function markerLine(m: MarkerRow, display: TimeDisplay): string {
  const detail = Object.entries(m.record).filter(([k]) => !["v", "event", "time", "host"].includes(k))
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
  return escapeField(`${formatInstant(m.time, display, false)}  -- ${m.event}${detail ? ` ${detail}` : ""}`);
}

function useColor(mode: string | undefined): boolean {
  if (mode === "always") return true;
  if (mode === "never") return false;
  if (mode !== undefined && mode !== "auto") {
    throw new UsageError(`follow: --color '${mode}' is not one of auto, always, never`);
  }
  const noColor = Deno.env.get("NO_COLOR");
  return Deno.stdout.isTerminal() && (noColor === undefined || noColor === "");
}

/** Runs `portreporter follow` until Ctrl+C (or `signal`); returns the exit code. */
export async function commandFollow(args: string[], io: CliIo, signal?: AbortSignal): Promise<number> {
  const { values, positionals } = parseReadArgs("follow", args, {
    ...SOURCE_FLAGS,
    ...READ_FILTER_FLAGS,
    interval: { type: "string" },
    color: { type: "string" },
    "no-header": { type: "boolean" },
  });
  if (values.help) return io.out(HELP), 0;
  const dir = followDir({ logDir: values["log-dir"], files: positionals });
  const intervalMs = values.interval === undefined
    ? 500
    : parseInterval(values.interval, "follow: --interval");
  const color = useColor(values.color);
  const { filter, display, timeZone } = filterAndDisplay(values);
  const follower = new LogFollower(dir, { since: filter.since, prefilter: filter.prefilter, timeZone });
  const controller = new AbortController();
  const stop = () => controller.abort();
  signal?.addEventListener("abort", stop);
  const signals: Deno.Signal[] = currentOs() === "windows" ? ["SIGINT", "SIGBREAK"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, stop);
  const paint = (code: string, text: string) => color ? `${code}${text}${RESET}` : text;
  try {
    await follower.prime();
    if (!values["no-header"]) {
      io.out(paint(DIM, `# ${zoneHeader(display, Date.now())}; following ${escapeField(dir)}`) + "\n");
    }
    while (!controller.signal.aborted) {
      let text = "";
      for await (const row of follower.poll()) {
        if (row.type === "marker") {
          const shown = filter.markerKinds.size
            ? filter.markerKinds.has(row.event)
            : SHOWN_MARKERS.has(row.event);
          if (shown && (filter.since === undefined || row.time >= filter.since)) {
            text += paint(DIM, markerLine(row, display)) + "\n";
          }
        } else if (filter.matches(row)) {
          const code = row.event === "opened" ? GREEN : row.event === "closed" ? RED : YELLOW;
          text += paint(code, changeLine(row, display)) + "\n";
        }
        if (text.length > 65536) io.out(text), text = "";
      }
      if (text) io.out(text);
      for (const n of follower.notices) {
        io.err(
          `portreporter: ${
            escapeField(n.file)
          } shrank from ${n.was} to ${n.now} bytes (truncated or replaced); reading it again from the start`,
        );
      }
      await abortableSleep(intervalMs, controller.signal);
    }
    reportSkipped(follower.stats, io.err);
    return 0;
  } catch (e) {
    if (e instanceof Deno.errors.BrokenPipe) return 0;
    throw e;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, stop);
    signal?.removeEventListener("abort", stop);
  }
}
