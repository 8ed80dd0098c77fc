/**
 * The command line: `portreporter <command> [options]`, the commands in one table ({@link COMMANDS}),
 * `--help` on each.
 *
 * Every user mistake is one line on stderr and exit code 2; an unexpected fault is one line and
 * exit code 1; a clean stop (Ctrl+C, SIGTERM, service stop) is exit code 0.
 *
 * @module
 */

import denoJson from "../../deno.json" with { type: "json" };
import { UsageError } from "../errors.ts";
import { currentOs, platformDefaults } from "../platform/collector.ts";
import { runWithSettings } from "./run_monitor.ts";
import { MonitorControl } from "../monitor/monitor.ts";
import { stopSummary } from "../monitor/summary.ts";
import { parseOptions, parseRunFlags, resolveSettings } from "./settings.ts";
import { didYouMean } from "./options.ts";
import { escapeField } from "../model/text.ts";

/** The program version (from deno.json). */
export const VERSION: string = denoJson.version;

/** Where the CLI writes; injected so tests can capture it. */
export interface CliIo {
  /** Normal output (tables, JSON). */
  out: (text: string) => void;
  /** Diagnostics, one line each. */
  err: (line: string) => void;
}

/** Writes all of `bytes` to stderr; diagnostics are best effort: a failing stderr never stops the work. */
function writeStderr(bytes: Uint8Array): void {
  try {
    for (let off = 0; off < bytes.length;) off += Deno.stderr.writeSync(bytes.subarray(off));
  } catch {
    // stderr is full, closed or gone: the logs matter more than the diagnostics
  }
}

const defaultIo: CliIo = {
  out: (text) => {
    const bytes = new TextEncoder().encode(text);
    for (let off = 0; off < bytes.length;) off += Deno.stdout.writeSync(bytes.subarray(off));
  },
  err: (line) => writeStderr(new TextEncoder().encode(line + "\n")),
};

function helpMain(): string {
  const shown = Object.entries(COMMANDS).filter(([, c]) => !c.hidden);
  const width = Math.max(...shown.map(([name]) => name.length)) + 3;
  return `portreporter ${VERSION}: which process used which TCP/UDP port, when, as which user, with which code.

Usage: portreporter <command> [options]

Commands:
${shown.map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`).join("\n")}

Run 'portreporter <command> --help' (or 'portreporter help <command>') for the options of a command.
`;
}

const HELP_RUN = `Usage: portreporter run [options]

Watches every TCP and UDP endpoint (IPv4 and IPv6, loopback included) and writes the Port Reporter
log set: PR-INITIAL, PR-PORTS, PR-PIDS, plus PR-EVENTS (JSON Lines) and PR-ALERTS. A new set starts
at start, at local midnight, when a file would pass the size limit, when the system clock jumps,
and on SIGHUP (Linux; the logrotate convention). Ctrl+C, SIGTERM or SIGQUIT flushes every file, prints
a summary of what was written and lost, and exits 0.

Options:
  --log-dir <dir>     Log directory (default: ${platformDefaultsText("logDir")})
  --interval <time>   Time between polls: milliseconds or 500ms, 2s, 1m, 1h (default 1000, 50 to 1h)
  --max-size <size>   Size at which a log file rolls over: bytes or 512KiB, 5MiB, 5MB (= 5 000 000),
                      1GiB (default 5MiB, minimum 64KiB)
  --max-age <age>     Remove whole sets older than this: 12h, 30d, 2w; 0 keeps all (default 90d)
  --max-total-size <size>  Remove the oldest sets while all are larger: 500MB, 2GiB; 0: no limit
                      (default 1GiB)
  --config <file>     JSONC config file (logDir, interval, maxSize, maxAge, maxTotalSize, plugins,
                      pluginDir, timeZone)
  --plugin <file>     Load a user plugin file (.ts/.js); repeatable
  --plugin-dir <dir>  Folder of user plugins (default: ${platformDefaultsText("pluginDir")})
  -h, --help          Show this help
`;

const HELP_SERVICE = `Usage: portreporter service [run options]

Runs under the Windows service control manager (install.ps1 registers this command line). It takes
the options of 'portreporter run'. Do not start it by hand; use 'sc.exe start PortReporter'.
`;

/** Whether this is Windows (false on an OS portreporter does not support: the help still prints). */
function onWindows(): boolean {
  try {
    return currentOs() === "windows";
  } catch {
    return false;
  }
}

function platformDefaultsText(key: "logDir" | "pluginDir"): string {
  try {
    return platformDefaults()[key];
  } catch {
    return "per OS";
  }
}

/**
 * Wires the stop signals (Ctrl+C, SIGTERM, SIGQUIT; Ctrl+C and Ctrl+Break on Windows) to an
 * AbortController and, on Linux, SIGHUP to a new log set (the logrotate convention); returns the
 * controller and a function that removes the listeners.
 */
function wireSignals(control: MonitorControl): [AbortController, () => void] {
  const controller = new AbortController();
  const windows = currentOs() === "windows";
  const signals: Deno.Signal[] = windows ? ["SIGINT", "SIGBREAK"] : ["SIGINT", "SIGTERM", "SIGQUIT"];
  const stop = () => controller.abort();
  const newSet = () => control.newSet("signal");
  for (const s of signals) Deno.addSignalListener(s, stop);
  if (!windows) Deno.addSignalListener("SIGHUP", newSet);
  return [controller, () => {
    signals.forEach((s) => Deno.removeSignalListener(s, stop));
    if (!windows) Deno.removeSignalListener("SIGHUP", newSet);
  }];
}

async function commandRun(args: string[], io: CliIo): Promise<number> {
  const flags = parseRunFlags("run", args);
  if (flags.help) return io.out(HELP_RUN), 0;
  const settings = await resolveSettings(flags, platformDefaults());
  const control = new MonitorControl();
  const [controller, removeListeners] = wireSignals(control);
  const log = (line: string) => io.err(`portreporter: ${line}`);
  try {
    const stats = await runWithSettings(settings, {
      signal: controller.signal,
      control,
      startRecord: { version: VERSION },
      log,
      onPlugins: log,
      onStarted: (dir, files) =>
        log(
          `logging to ${escapeField(dir)} (${
            files.join(", ")
          }); every ${settings.intervalMs} ms; Ctrl+C stops`,
        ),
    });
    log(stopSummary(stats));
    return 0;
  } finally {
    removeListeners();
  }
}

async function commandService(args: string[], io: CliIo): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) return io.out(HELP_SERVICE), 0;
  if (currentOs() !== "windows") {
    throw new UsageError(
      "service: the service mode exists on Windows only; on Linux use 'portreporter run' under systemd",
    );
  }
  const { runService } = await import("../service/windows_service.ts");
  try {
    return await runService(parseRunFlags("service", args));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    // a bad registered command line: let the service report it to the SCM and the event log
    return await runService({}, e);
  }
}

const HELP_VERSION = `Usage: portreporter version

Prints the version of portreporter, of Deno and the OS it runs on.
`;

const HELP_HELP = `Usage: portreporter help [command]

Prints the list of commands, or the options of one command (the same as 'portreporter <command> --help').
`;

function commandVersion(args: string[], io: CliIo): Promise<number> {
  const { values } = parseOptions("version", args, { help: { type: "boolean", short: "h" } });
  if (values.help) return io.out(HELP_VERSION), Promise.resolve(0);
  io.out(`portreporter ${VERSION} (deno ${Deno.version.deno}, ${Deno.build.os} ${Deno.build.arch})\n`);
  return Promise.resolve(0);
}

function commandHelp(args: string[], io: CliIo): Promise<number> {
  const topics = args.filter((a) => a !== "--help" && a !== "-h");
  if (topics.length < args.length) return io.out(HELP_HELP), Promise.resolve(0);
  if (topics.length === 0) return io.out(helpMain()), Promise.resolve(0);
  if (topics[0].startsWith("-")) parseOptions("help", topics, {}); // an unknown option: one line
  if (topics.length > 1) {
    throw new UsageError(`help: unexpected argument '${escapeField(topics[1])}'; name one command`);
  }
  return command(topics[0]).run(["--help"], io);
}

/** One command of the CLI: what the help lists and what runs it. */
export interface CliCommand {
  /** One line for the command list of `portreporter --help`. */
  summary: string;
  /** Runs the command with the arguments after its name; returns the exit code. */
  run: (args: string[], io: CliIo) => Promise<number>;
  /** Left out of the help and of did-you-mean (it still runs). */
  hidden?: boolean;
}

/**
 * Every command, in the order the help lists them. A new command is one line here; its code lives in
 * its own file under src/cli/ and handles its own `--help`.
 */
export const COMMANDS: Record<string, CliCommand> = {
  run: {
    summary: "Watch every TCP/UDP endpoint and log each change (foreground; Ctrl+C stops)",
    run: commandRun,
  },
  snapshot: {
    summary: "Print every endpoint now, with its process and user (like netstat -ano)",
    run: async (args, io) => await (await import("./snapshot.ts")).commandSnapshot(args, io),
  },
  query: {
    summary: "Every logged change in time order, filtered (table, CSV, JSON Lines)",
    run: async (args, io) => await (await import("./query.ts")).commandQuery(args, io),
  },
  connections: {
    summary: "One row per connection or listener lifetime: opened, closed, duration, owner",
    run: async (args, io) => await (await import("./connections.ts")).commandConnections(args, io),
  },
  follow: {
    summary: "Live view of the changes as they are written (colours on a terminal)",
    run: async (args, io) => await (await import("./follow.ts")).commandFollow(args, io),
  },
  sets: {
    summary: "The log sets of the log directory in time order",
    run: async (args, io) => await (await import("./sets.ts")).commandSets(args, io),
  },
  service: {
    summary: "Run as the Windows service (the command line install.ps1 registers)",
    run: commandService,
    hidden: !onWindows(),
  },
  completion: {
    summary: "Print a shell completion script (bash, zsh, fish, powershell)",
    run: async (args, io) => await (await import("./completion.ts")).commandCompletion(args, io, COMMANDS),
  },
  man: {
    summary: "Print the manual page (roff)",
    run: async (args, io) => await (await import("./completion.ts")).commandMan(args, io, COMMANDS, VERSION),
  },
  report: {
    summary: "Write one self-contained HTML report of the logs (charts, shares, watchlist)",
    run: async (args, io) => await (await import("./report.ts")).commandReport(args, io, VERSION),
  },
  version: { summary: "Print the version", run: commandVersion },
  help: { summary: "Print this help, or the options of a command (help run)", run: commandHelp },
  // internal: the child process that runs user plugins (src/plugin/plugin_host.ts)
  "__plugin-host": {
    summary: "internal",
    hidden: true,
    run: async () => await (await import("../plugin/plugin_host.ts")).runPluginHost(),
  },
};

/** The command named `name`, or a UsageError with a did-you-mean. */
function command(name: string): CliCommand {
  if (Object.hasOwn(COMMANDS, name)) return COMMANDS[name];
  const shown = Object.keys(COMMANDS).filter((n) => !COMMANDS[n].hidden);
  const what = name.startsWith("-")
    ? `option '${escapeField(name)}' before a command`
    : `command '${escapeField(name)}'`;
  const hint = name.startsWith("-")
    ? "; options go after the command, e.g. 'portreporter run --interval 500'"
    : "";
  throw new UsageError(
    `unknown ${what}${didYouMean(name, shown)}${hint}; the commands are ${shown.join(", ")}`,
  );
}

/** Runs the CLI with `args` (without the program name) and returns the exit code. */
export async function main(args: string[], io: CliIo = defaultIo): Promise<number> {
  const [name, ...rest] = args;
  try {
    if (name === undefined) {
      for (const line of helpMain().trimEnd().split("\n")) io.err(line);
      return 2;
    }
    if (name === "--help" || name === "-h") return io.out(helpMain()), 0;
    if (name === "--version" || name === "-V") return await COMMANDS.version.run(rest, io);
    return await command(name).run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`portreporter: ${e.message}`);
      return e.exitCode;
    }
    io.err(`portreporter: fatal: ${escapeField(e instanceof Error ? e.message : String(e))}`);
    return 1;
  }
}
