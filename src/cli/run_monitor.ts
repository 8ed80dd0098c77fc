/**
 * One monitor run with validated settings, shared by `portreporter run` and the Windows service:
 * prepare the log directory, load the plugins, create the collector, run the loop, release everything.
 *
 * @module
 */

import { join } from "node:path";
import { UsageError } from "../errors.ts";
import { createCollector, createPrivateDirectory, platformDefaults } from "../platform/collector.ts";
import type { Settings } from "./settings.ts";
import { LocalTime } from "../log/local_time.ts";
import { denoLogFileSystem, LogSet } from "../log/log_set.ts";
import { type LogDirSecurity, pathText, posixLogDirSecurity } from "../log/dir_trust.ts";
import { escapeField } from "../model/text.ts";
import { type MonitorControl, type MonitorStats, runMonitor } from "../monitor/monitor.ts";
import { HeapBudget, type HeapControl } from "../monitor/heap_budget.ts";
import { type Collector, systemClock } from "../model/types.ts";

/** The log directory as this platform protects it: the POSIX trust check; created private (0700, or a protected DACL). */
const platformLogDirSecurity: LogDirSecurity = {
  check: posixLogDirSecurity.check,
  create: createPrivateDirectory,
};

/**
 * Refuses a log directory that cannot be trusted with evidence ({@link LogDirSecurity.check}: owned
 * by someone else, writable by others, a symbolic link, or such a parent), creates it if needed
 * (0700 on POSIX; the Windows side injects a `security` whose `create` sets a protected DACL) and
 * proves it writable, so that a bad directory is one clear line at start. Leaves nothing behind.
 */
export function prepareLogDir(dir: string, security: LogDirSecurity = platformLogDirSecurity): void {
  const problem = security.check(dir);
  if (problem) {
    throw new UsageError(
      `log directory ${pathText(dir)} is not safe for evidence: ${problem}`,
    );
  }
  const probe = join(dir, `.portreporter-write-test-${Deno.pid}`);
  try {
    security.create(dir);
    Deno.writeTextFileSync(probe, "", { createNew: true, mode: 0o600 });
    Deno.removeSync(probe);
  } catch (e) {
    const why = e instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : e instanceof Deno.errors.AlreadyExists || e instanceof Deno.errors.NotADirectory
      ? "a file is in the way"
      : (e as Error).message;
    throw new UsageError(
      `cannot write to log directory ${
        pathText(dir)
      }: ${why}; choose another with --log-dir, or run as an administrator`,
    );
  }
}

/** File names the pipeline loads from a plugin folder (as `PLUGIN_FILE_EXTENSIONS` in src/plugin/load.ts). */
const PLUGIN_FILE = /\.(ts|js|mts|mjs)$/;

/** Whether `dir` holds a user plugin file; false when it does not exist. */
export function hasPluginFiles(dir: string): boolean {
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if ((entry.isFile || entry.isSymlink) && PLUGIN_FILE.test(entry.name)) return true;
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound) && !(e instanceof Deno.errors.NotADirectory)) throw e;
  }
  return false;
}

/** The start line that says which plugins run and where user plugins are read from. */
export function pluginsLine(ids: string[], pluginDir: string): string {
  const where = `user plugin folder ${escapeField(pluginDir)}${
    hasPluginFiles(pluginDir) ? "" : " (no plugin files)"
  }`;
  return ids.length ? `plugins: ${ids.join(", ")}; ${where}` : `no plugins; ${where}`;
}

/** Hooks the service host uses around a monitor run. */
export interface RunHooks {
  /** Aborting it stops the monitor (the CLI wires SIGINT/SIGTERM/SIGQUIT to it). */
  signal: AbortSignal;
  /** Requests to the running monitor (the CLI wires SIGHUP to a new log set). */
  control?: MonitorControl;
  /** Extra fields of the `monitor-start` record. */
  startRecord?: Record<string, unknown>;
  /** Called once the first log set is open. */
  onStarted?: (logDir: string, files: string[]) => void;
  /** One-line diagnostics. */
  log: (line: string) => void;
  /** Given the line that says which plugins run and where user plugins are read from (the CLI prints it). */
  onPlugins?: (line: string) => void;
  /** The collector to use (default: the current OS's); it is closed when the monitor ends. */
  collector?: Collector;
  /**
   * How the log directory is checked and created (default: the POSIX owner/mode check, and
   * the platform's private directory: 0700, or a protected DACL on Windows).
   */
  logDirSecurity?: LogDirSecurity;
}

/** The options V8's exposed `gc` takes (its gc extension). */
interface V8GcOptions {
  type: "major" | "minor";
  execution: "sync" | "async";
  flavor: "regular" | "last-resort";
}

/**
 * V8's heap and its full collection, when the runtime exposes `gc` (`--expose-gc`, in the `start` and
 * `compile` tasks); undefined otherwise (V8 alone then decides when to collect).
 */
export function v8HeapControl(): HeapControl | undefined {
  const gc = (globalThis as { gc?: (options?: V8GcOptions) => void }).gc;
  if (typeof gc !== "function") return undefined;
  return {
    used: () => Deno.memoryUsage().heapUsed,
    collect: () => gc(),
    // V8's "last resort" flavour: repeated full collections that compact, then free the pooled pages
    release: () => gc({ type: "major", execution: "sync", flavor: "last-resort" }),
  };
}

/** Runs the monitor with validated settings until the signal aborts. Shared by `run` and `service`. */
export async function runWithSettings(settings: Settings, hooks: RunHooks): Promise<MonitorStats> {
  const security = hooks.logDirSecurity ?? platformLogDirSecurity;
  prepareLogDir(settings.logDir, security);
  // The plugin layer is loaded only when there is a plugin to run: a plain monitor does not carry it.
  const pipeline = settings.plugins.length || hasPluginFiles(settings.pluginDir)
    ? await (await import("../plugin/pipeline.ts")).createPipeline({
      specs: settings.plugins,
      builtins: (await import("../../plugins/mod.ts")).builtinPlugins,
      pluginDir: settings.pluginDir,
      configDir: settings.configDir,
      clock: systemClock,
      log: (line) => hooks.log(line),
    })
    : undefined;
  hooks.onPlugins?.(pluginsLine(pipeline?.ids ?? [], settings.pluginDir));
  const collector = hooks.collector ?? await createCollector();
  try {
    const localTime = new LocalTime(settings.timeZone);
    const logSet = new LogSet({
      dir: settings.logDir,
      host: { ...collector.hostInfo(), timeZone: localTime.zone },
      localTime,
      maxBytes: settings.maxBytes,
      eol: platformDefaults().eol,
      fs: { ...denoLogFileSystem, ensureDir: (dir) => security.create(dir) },
      checkDir: (dir) => security.check(dir),
      retention: { maxAgeMs: settings.maxAgeMs, maxTotalBytes: settings.maxTotalBytes },
      log: hooks.log,
    });
    const heap = v8HeapControl();
    return await runMonitor({
      collector,
      heap: heap && new HeapBudget(heap),
      logSet,
      clock: systemClock,
      intervalMs: settings.intervalMs,
      signal: hooks.signal,
      control: hooks.control,
      startRecord: hooks.startRecord,
      pipeline: pipeline?.ids.length ? pipeline : undefined,
      log: hooks.log,
      onStarted: (set) => hooks.onStarted?.(settings.logDir, set.fileNames),
    });
  } finally {
    await pipeline?.close();
    for (const line of pipeline?.summary() ?? []) hooks.log(line);
    collector.close();
  }
}
