/**
 * `portreporter snapshot`: every TCP/UDP endpoint now, with its pid, process and user, like
 * `netstat -ano` — filtered (`-t -u -l -4 -6`, `--port`, `--pid`, `--process`, `--state`), with or
 * without the heading, once or every interval (`--watch`). States are spelled as in the logs
 * (`LISTEN`), a connected UDP socket shows its peer, and every value is escaped.
 *
 * @module
 */

import type { CliIo } from "./main.ts";
import { UsageError } from "../errors.ts";
import { abortableSleep } from "../abortable_sleep.ts";
import { escapeField, jsonText } from "../model/text.ts";
import type { ProcessInfo, Snapshot, SocketRecord } from "../model/types.ts";
import { createCollector, currentOs } from "../platform/collector.ts";
import { compareSockets, endpointText, remoteText } from "../log/classic.ts";
import { type ChangeRow, filterFromFlags, formatInstant, zoneHeader } from "../read/mod.ts";
import { parseInterval } from "./settings.ts";
import { parseReadArgs } from "./read_common.ts";

const HELP = `Usage: portreporter snapshot [options]

Prints every TCP and UDP endpoint with its pid, process name and user, then exits.

Options:
  -t, --tcp            TCP only; -u, --udp UDP only
  -l, --listening      Listeners only (TCP LISTEN, UDP without a peer)
  -4, --ipv4           IPv4 only; -6, --ipv6 IPv6 only
  --port <ports>       Local or remote port: 22, 80,443, 8000-8100 (repeatable)
  --pid <pid>          Owner pid (repeatable)
  --process <glob>     Process name or path glob, or a pid (repeatable)
  --state <state>      TCP state: LISTEN, ESTABLISHED, TIME_WAIT, ... (repeatable)
  --no-header          Rows only
  --watch [interval]   Print again every interval (default 2s; 500ms, 5s, 1m); Ctrl+C stops
  --json               Machine output: one JSON object with the sockets and their processes
  -h, --help           Show this help
`;

const OPTIONS = {
  tcp: { type: "boolean", short: "t" },
  udp: { type: "boolean", short: "u" },
  listening: { type: "boolean", short: "l" },
  ipv4: { type: "boolean", short: "4" },
  ipv6: { type: "boolean", short: "6" },
  port: { type: "string", multiple: true },
  pid: { type: "string", multiple: true },
  process: { type: "string", multiple: true },
  state: { type: "string", multiple: true },
  "no-header": { type: "boolean" },
  watch: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** `--watch` with no value (or followed by another flag) means the default interval. */
function withWatchValue(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--watch" && !/^\d/.test(args[i + 1] ?? "")) out.push("--watch=2s");
    else out.push(args[i]);
  }
  return out;
}

function asRow(s: SocketRecord, p: ProcessInfo | undefined): ChangeRow {
  return {
    type: "change",
    event: "opened",
    time: 0,
    protocol: s.protocol,
    family: s.family,
    localAddress: s.localAddress,
    localPort: s.localPort,
    remoteAddress: s.remoteAddress,
    remotePort: s.remotePort,
    state: s.state,
    pid: s.pid,
    processName: p?.name,
    processPath: p?.path,
    user: p?.user,
    source: { file: "", line: 0, format: "events" },
  };
}

type Values = ReturnType<typeof parseReadArgs<typeof OPTIONS>>["values"];

/** The socket test of the flags. */
function socketFilter(values: Values): (s: SocketRecord, p: ProcessInfo | undefined) => boolean {
  if (values.tcp && values.udp) {
    throw new UsageError("snapshot: -t and -u together list everything; give one of them");
  }
  if (values.ipv4 && values.ipv6) {
    throw new UsageError("snapshot: -4 and -6 together list everything; give one of them");
  }
  const filter = filterFromFlags({
    port: values.port,
    pid: values.pid,
    process: values.process,
    state: values.state,
    proto: values.tcp ? ["tcp"] : values.udp ? ["udp"] : undefined,
    family: values.ipv4 ? ["4"] : values.ipv6 ? ["6"] : undefined,
  }, { now: Date.now() });
  return (s, p) => {
    if (values.listening && !(s.protocol === "tcp" ? s.state === "LISTEN" : s.remotePort === 0)) return false;
    return filter.matchesEndpoint(asRow(s, p));
  };
}

/** The netstat-style table: widths from the rows, every value escaped. */
function table(sockets: SocketRecord[], processes: Map<number, ProcessInfo>, header: boolean): string {
  const rows = sockets.map((s) => {
    const p = processes.get(s.pid);
    return [
      s.protocol.toUpperCase(),
      endpointText(s.localAddress, s.localPort, s.family),
      remoteText(s),
      s.state ?? "",
      String(s.pid),
      escapeField(p?.name ?? (s.pid === 0 ? "-" : "unknown")),
      escapeField(p?.user ?? ""),
    ];
  });
  const head = ["Proto", "Local Address", "Foreign Address", "State", "PID", "Process", "User"];
  const widths = head.map((h) => (header ? h.length : 0));
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i], c.length)));
  const line = (r: string[]) =>
    "  " +
    r.map((c, i) => (i === 4 ? c.padStart(widths[i]) : i === r.length - 1 ? c : c.padEnd(widths[i]))).join(
      "  ",
    )
      .trimEnd() +
    "\n";
  return (header ? line(head) : "") + rows.map(line).join("");
}

function render(
  snapshot: Snapshot,
  values: Values,
  keep: ReturnType<typeof socketFilter>,
  host: unknown,
): string {
  const sockets = snapshot.sockets.filter((s) => keep(s, snapshot.processes.get(s.pid))).sort(compareSockets);
  if (values.json) {
    const pids = new Set(sockets.map((s) => s.pid));
    const processes = [...snapshot.processes.values()].filter((p) => pids.has(p.pid)).sort((a, b) =>
      a.pid - b.pid
    );
    // the same JSON escapes as the logs: no raw DEL, C1 or U+2028 reaches a terminal
    return jsonText({ time: new Date(snapshot.time).toISOString(), host, sockets, processes }, 2) + "\n";
  }
  return table(sockets, snapshot.processes, !values["no-header"]);
}

/** Runs `portreporter snapshot`; returns the exit code. */
export async function commandSnapshot(args: string[], io: CliIo, signal?: AbortSignal): Promise<number> {
  const { values } = parseReadArgs("snapshot", withWatchValue(args), OPTIONS, false);
  if (values.help) return io.out(HELP), 0;
  const keep = socketFilter(values);
  const watchMs = values.watch === undefined ? undefined : parseInterval(values.watch, "snapshot: --watch");
  const collector = await createCollector();
  const controller = new AbortController();
  const stop = () => controller.abort();
  signal?.addEventListener("abort", stop);
  const signals: Deno.Signal[] = currentOs() === "windows" ? ["SIGINT", "SIGBREAK"] : ["SIGINT", "SIGTERM"];
  if (watchMs !== undefined) { for (const s of signals) Deno.addSignalListener(s, stop); }
  const terminal = Deno.stdout.isTerminal();
  try {
    for (;;) {
      const snapshot = await collector.collect();
      const text = render(snapshot, values, keep, collector.hostInfo());
      if (watchMs === undefined) return io.out(text), 0;
      const display = { utc: false };
      const title = values.json || values["no-header"]
        ? ""
        : `# ${formatInstant(snapshot.time, display, false)} (${
          zoneHeader(display, snapshot.time)
        }), every ${watchMs} ms; Ctrl+C stops\n`;
      io.out((terminal ? "\x1b[H\x1b[2J" : "") + title + text + (terminal ? "" : "\n"));
      await abortableSleep(watchMs, controller.signal);
      if (controller.signal.aborted) return 0;
    }
  } catch (e) {
    if (e instanceof Deno.errors.BrokenPipe) return 0;
    throw e;
  } finally {
    if (watchMs !== undefined) { for (const s of signals) Deno.removeSignalListener(s, stop); }
    signal?.removeEventListener("abort", stop);
    collector.close();
  }
}
