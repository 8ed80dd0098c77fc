/**
 * The plugin pipeline: loads built-in plugins (compiled in, `plugins/mod.ts`, run in this process) and user
 * plugins (files, each in its own Worker inside one child process, the plugin host: `host_client.ts`), then
 * runs every poll's changes through them: filter → enrich → onChanges (alerts) → onAlerts (delivery). See
 * `plugins/README.md` for the author's view and `api.ts` for the contract.
 *
 * Guarantees to the monitor:
 * - `createPipeline` either returns a working pipeline or throws a {@link UsageError} whose one-line message
 *   names the plugin (built-in id or file path) and what is wrong.
 * - `run` never throws, and no plugin can hold it up for much longer than `hookTimeoutMs` per plugin: a hook
 *   that throws/rejects is logged once (then counted) and skipped for that change or batch (fail open: the
 *   changes still pass through); a hook that does not finish in time gets its plugin disabled for the rest of
 *   the run, and the batch goes on without it. For a user plugin that means killing the plugin host process
 *   (Deno 2.9.6's `Worker.terminate()` does not stop `while (true) {}`; ending the process does) and starting
 *   a new one for the other user plugins, which start again from their `load` and `init` (a bounded number
 *   of times: see `host_client.ts`). The batch waits for that restart up to `hookTimeoutMs` more, so the other
 *   user plugins still see it, and goes on without them if the restart takes longer.
 * - `close` calls every plugin's `close` (webhook/exec flush their queues) within `closeTimeoutMs` and ends
 *   the plugin host.
 *
 * @module
 */

import { extname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { UsageError } from "../errors.ts";
import type { Alert, AlertSeverity, Change, Clock } from "../model/types.ts";
import { systemClock } from "../model/types.ts";
import { type BuiltinPlugin, builtinPlugins } from "../../plugins/mod.ts";
import type { AlertRequest, EnrichedChange, Plugin, PluginContext } from "./api.ts";
import { PLUGIN_API_VERSION } from "./api.ts";
import { type BatchResult, checkPlugin, describeError, type HookName, processBatch } from "./hooks.ts";
import { isRecord } from "./options.ts";
import { WorkerCallError, type WorkerEvent, type WorkerPermissions } from "./worker_host.ts";
import { type HostedPlugin, HostUnavailableError, PluginHost, pluginHostCommand } from "./host_client.ts";

/** One configured plugin: a built-in by `name`, or a user plugin file by `path`. */
export interface PluginSpec {
  /** A built-in id (see `plugins/mod.ts`), e.g. `"filter"`. */
  name?: string;
  /** A user plugin file (`.ts`/`.js`), absolute or relative to the config file's directory. */
  path?: string;
  /**
   * The plugin's options. For a user plugin the reserved key `permissions` (`{read, write, net, env, run}`,
   * each a list) widens what its Worker may do; it is not passed to the plugin. Options and everything a user
   * plugin returns cross a process boundary as JSON.
   */
  options?: Record<string, unknown>;
}

/** How to build a pipeline. */
export interface PipelineOptions {
  /** From the config `plugins` (in order), followed by `--plugin` files. */
  specs: PluginSpec[];
  /** User plugins folder: every `*.ts`/`*.js` in it is loaded after `specs`, if the folder exists. */
  pluginDir?: string;
  /** Base for relative paths (the config file's directory); the working directory when absent. */
  configDir?: string;
  /** Source of "now" for alert times; the system clock when absent. */
  clock?: Clock;
  /** Bound on one hook call, in ms (default 500). */
  hookTimeoutMs?: number;
  /** Bound on loading and initialising one plugin at start, in ms (default 15000: TypeScript is transpiled). */
  loadTimeoutMs?: number;
  /** Bound on `close()` as a whole, in ms (default 5000). */
  closeTimeoutMs?: number;
  /** Restarts of the plugin host allowed per `hostRestartWindowMs` (default 3); then user plugins are disabled. */
  maxHostRestarts?: number;
  /** The window of `maxHostRestarts`, in ms (default 10 minutes). */
  hostRestartWindowMs?: number;
  /** Writes one diagnostic line to stderr (the monitor prefixes and timestamps it). */
  log: (line: string) => void;
  /** The built-in registry to load names from (for tests); `plugins/mod.ts` when absent. */
  builtins?: ReadonlyMap<string, BuiltinPlugin>;
}

/** What one batch became. */
export interface PipelineResult {
  /** The changes that passed every filter, enriched (see `EnrichedChange`); input objects are never mutated. */
  changes: Change[];
  /** Alerts raised by the plugins during this batch (and any raised since the previous one). */
  alerts: Alert[];
}

/** A loaded pipeline. */
export interface Pipeline {
  /** Loaded plugin ids, in order. */
  readonly ids: string[];
  /** Runs one poll's changes through the plugins. Never throws. */
  run(changes: Change[]): Promise<PipelineResult>;
  /** Flushes alert queues (bounded), closes every plugin and ends the plugin host. Idempotent. */
  close(): Promise<void>;
}

/** Default bound on one hook call. */
export const DEFAULT_HOOK_TIMEOUT_MS = 500;
/** Default bound on loading one plugin. */
export const DEFAULT_LOAD_TIMEOUT_MS = 15_000;
/** Default bound on `close()`. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;

const PLUGIN_FILE_EXTENSIONS = [".ts", ".js", ".mts", ".mjs"];
const PERMISSION_KEYS = ["read", "write", "net", "env", "run"] as const;
const SEVERITIES: readonly AlertSeverity[] = ["info", "warning", "critical"];
const LOG_LINES_PER_MINUTE = 20;

/** Uniform interface over an in-process plugin and a user plugin in the plugin host. */
interface Runner {
  batch(changes: Change[]): Promise<BatchResult>;
  onChanges(changes: Change[]): Promise<void>;
  onAlerts(alerts: Alert[]): Promise<void>;
  close(): Promise<void>;
  /** Stops a plugin that timed out: kills the plugin host (and restarts it for the others); nothing in-process. */
  kill(reason: string): void;
  /** Set when the plugin is gone for good (its Worker died, a restart failed, restarts ran out). */
  readonly dead: string | null;
  /** False while the plugin host restarts (the plugin is skipped, not failed). */
  readonly ready: boolean;
}

/** A configured plugin, checked and resolved, before it is loaded (or why it cannot be). */
type Planned =
  | { kind: "builtin"; name: string; options: Record<string, unknown> }
  | { kind: "file"; file: string; options: Record<string, unknown>; perms: WorkerPermissions }
  | { kind: "error"; error: unknown };

interface Loaded {
  id: string;
  /** How messages name it: `"filter"` for a built-in, the absolute path for a file. */
  label: string;
  isolated: boolean;
  hooks: Set<HookName>;
  runner: Runner;
  disabled: boolean;
  /** Alerts raised and not yet returned. */
  alerts: Alert[];
  failures: Map<string, number>;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; timeout: true } | {
  ok: false;
  timeout: false;
  error: unknown;
};

function withTimeout<T>(work: () => Promise<T> | T, ms: number): Promise<Outcome<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<Outcome<T>>((res) => {
    timer = setTimeout(() => res({ ok: false, timeout: true }), ms);
  });
  const done = Promise.resolve()
    .then(work)
    .then(
      (value): Outcome<T> => ({ ok: true, value }),
      (error): Outcome<T> => ({ ok: false, timeout: false, error }),
    );
  return Promise.race([done, timeout]).finally(() => clearTimeout(timer));
}

function oneLine(text: string, max = 500): string {
  // deno-lint-ignore no-control-regex
  const flat = text.replace(/\u001b\[[0-9;]*m/g, "").replace(/[\r\n\t]+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}

/** A built-in's start-up error as one line: a UsageError's own message, anything else described. */
function userMessage(err: unknown): string {
  return err instanceof UsageError ? oneLine(err.message) : describeError(err);
}

/** Turns a plugin's alert request into an {@link Alert}, or explains why it cannot. */
function toAlert(id: string, req: unknown, now: number): Alert | string {
  if (!isRecord(req)) return "alert() needs an object {severity, message, change?, data?}";
  const severity = req.severity as AlertSeverity;
  if (!SEVERITIES.includes(severity)) return `alert severity must be one of ${SEVERITIES.join(", ")}`;
  if (typeof req.message !== "string" || req.message.trim() === "") {
    return "alert message must be a non-empty string";
  }
  if (req.data !== undefined && !isRecord(req.data)) return "alert data must be an object";
  if (req.change !== undefined && !isRecord(req.change)) return "alert change must be a change object";
  if (req.data !== undefined) {
    try {
      JSON.stringify(req.data);
    } catch (err) {
      return `alert data is not JSON-serialisable (${describeError(err)})`;
    }
  }
  const alert: Alert = { time: now, pluginId: id, severity, message: oneLine(req.message, 1000) };
  if (req.change !== undefined) alert.change = req.change as unknown as Change;
  if (req.data !== undefined) alert.data = req.data as Record<string, unknown>;
  return alert;
}

/** Builds the Worker permissions for a user plugin from its `permissions` option. */
function workerPermissions(file: string, raw: unknown, base: string, label: string): WorkerPermissions {
  const perms: WorkerPermissions = {
    read: [file],
    write: false,
    net: false,
    env: false,
    run: false,
    ffi: false,
    sys: false,
    import: false,
  };
  if (raw === undefined) return perms;
  if (!isRecord(raw)) throw new UsageError(`plugin ${label}: option "permissions" must be an object`);
  for (const [key, value] of Object.entries(raw)) {
    if (!(PERMISSION_KEYS as readonly string[]).includes(key)) {
      throw new UsageError(
        `plugin ${label}: permission "${key}" cannot be granted (grantable: ${PERMISSION_KEYS.join(", ")})`,
      );
    }
    if (!Array.isArray(value) || !value.every((v) => typeof v === "string" && v.length > 0)) {
      throw new UsageError(
        `plugin ${label}: permissions.${key} must be a list of specific ${
          key === "net" ? "hosts" : key === "env" ? "variable names" : key === "run" ? "programs" : "paths"
        } (true is not accepted)`,
      );
    }
    const list = value as string[];
    const k = key as typeof PERMISSION_KEYS[number];
    if (k === "read") perms.read = [file, ...list.map((p) => resolve(base, p))];
    else if (k === "write") perms.write = list.map((p) => resolve(base, p));
    else if (list.length > 0) perms[k] = list;
  }
  return perms;
}

async function listPluginDir(dir: string): Promise<string[]> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw new UsageError(`plugin folder ${dir}: cannot read it (${describeError(err)})`);
  }
  if (!info.isDirectory) throw new UsageError(`plugin folder ${dir} is not a directory`);
  const files: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      const n = entry.name;
      if (n.startsWith(".") || n.startsWith("_") || n.endsWith(".d.ts") || /[._]test\.[mc]?[jt]s$/.test(n)) {
        continue;
      }
      if (!PLUGIN_FILE_EXTENSIONS.includes(extname(n))) continue;
      if (entry.isFile || entry.isSymlink) files.push(resolve(dir, n));
    }
  } catch (err) {
    throw new UsageError(`plugin folder ${dir}: cannot list it (${describeError(err)})`);
  }
  return files.sort();
}

/**
 * Loads every configured plugin (specs in order, then the plugin folder) and returns the pipeline.
 *
 * @throws {UsageError} one line naming the plugin, for an unknown built-in name, a missing file, a syntax
 * error, a missing default export, bad options or a failed `init` — all found here, at start.
 */
export async function createPipeline(opts: PipelineOptions): Promise<Pipeline> {
  const clock = opts.clock ?? systemClock;
  const hookTimeoutMs = opts.hookTimeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
  const loadTimeoutMs = opts.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS;
  const closeTimeoutMs = opts.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
  const base = opts.configDir ? resolve(opts.configDir) : Deno.cwd();
  const registry = opts.builtins ?? builtinPlugins;
  const log = (line: string) => {
    try {
      opts.log(oneLine(line, 1000));
    } catch {
      // A failing logger must not stop the pipeline.
    }
  };
  for (const [key, value] of Object.entries({ hookTimeoutMs, loadTimeoutMs, closeTimeoutMs })) {
    if (!Number.isFinite(value) || value <= 0) {
      throw new UsageError(`plugin pipeline: ${key} must be a positive number`);
    }
  }

  const loaded: Loaded[] = [];
  const usedIds = new Set<string>();
  const uniqueId = (id: string) => {
    let candidate = id;
    for (let n = 2; usedIds.has(candidate); n++) candidate = `${id}#${n}`;
    usedIds.add(candidate);
    return candidate;
  };

  /** A rate-limited logger for lines a plugin writes itself. */
  const pluginLogger = (id: string) => {
    let windowStart = -Infinity;
    let inWindow = 0;
    let suppressed = 0;
    return (line: string) => {
      const now = clock.now();
      if (now - windowStart >= 60_000) {
        if (suppressed > 0) {
          log(`plugin ${id}: ${suppressed} log lines suppressed (more than ${LOG_LINES_PER_MINUTE}/min)`);
        }
        windowStart = now;
        inWindow = 0;
        suppressed = 0;
      }
      if (++inWindow > LOG_LINES_PER_MINUTE) suppressed++;
      else log(`plugin ${id}: ${String(line)}`);
    };
  };

  const raise = (entry: Loaded, req: unknown) => {
    const alert = toAlert(entry.id, req, clock.now());
    if (typeof alert === "string") noteFailure(entry, "alert", alert);
    else entry.alerts.push(alert);
  };

  function noteFailure(entry: Loaded, hook: string, text: string, count = 1) {
    const before = entry.failures.get(hook) ?? 0;
    entry.failures.set(hook, before + count);
    if (before === 0) {
      log(
        `plugin ${entry.id}: ${hook} failed: ${text} (the batch goes on; further ${hook} failures are only counted)`,
      );
    }
  }

  async function loadBuiltin(name: string, options: Record<string, unknown>): Promise<Loaded> {
    const builtin = registry.get(name);
    if (!builtin) {
      throw new UsageError(
        `plugin "${name}": no such built-in plugin (built-ins: ${[...registry.keys()].join(", ")})`,
      );
    }
    const label = `"${name}"`;
    let plugin: Plugin;
    try {
      plugin = builtin.factory(options);
    } catch (err) {
      throw new UsageError(`plugin ${label}: ${userMessage(err)}`);
    }
    const problem = checkPlugin(plugin, PLUGIN_API_VERSION);
    if (problem) throw new UsageError(`plugin ${label}: ${problem}`);
    const id = uniqueId(plugin.id);
    const entry: Loaded = {
      id,
      label,
      isolated: false,
      hooks: new Set(
        (["init", "filter", "enrich", "onChanges", "onAlerts", "close"] as HookName[]).filter((h) =>
          typeof plugin[h] === "function"
        ),
      ),
      disabled: false,
      alerts: [],
      failures: new Map(),
      runner: undefined as unknown as Runner,
    };
    const ctx: PluginContext = Object.freeze({
      id,
      options,
      log: pluginLogger(id),
      alert: (req: AlertRequest) => raise(entry, req),
      now: () => clock.now(),
    });
    entry.runner = {
      batch: (changes) => processBatch(plugin, changes, describeError),
      onChanges: async (changes) => await plugin.onChanges?.(changes, ctx),
      onAlerts: async (alerts) => await plugin.onAlerts?.(alerts),
      close: async () => await plugin.close?.(),
      kill: () => {},
      dead: null,
      ready: true,
    };
    if (plugin.init) {
      const outcome = await withTimeout(() => plugin.init!(options, ctx), loadTimeoutMs);
      if (!outcome.ok) {
        throw new UsageError(
          `plugin ${label}: ${
            outcome.timeout ? `init did not finish within ${loadTimeoutMs} ms` : userMessage(outcome.error)
          }`,
        );
      }
    }
    return entry;
  }

  /** Checks a user plugin file and its `permissions` option (everything that needs no loading). */
  async function planFile(file: string, rawOptions: Record<string, unknown>): Promise<Planned> {
    const label = file;
    if (!PLUGIN_FILE_EXTENSIONS.includes(extname(file))) {
      throw new UsageError(`plugin ${label}: not a .ts or .js file`);
    }
    try {
      const info = await Deno.stat(file);
      if (!info.isFile) throw new UsageError(`plugin ${label}: not a file`);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      if (err instanceof Deno.errors.NotFound) throw new UsageError(`plugin ${label}: file not found`);
      throw new UsageError(`plugin ${label}: cannot read it (${describeError(err)})`);
    }
    const { permissions, ...options } = rawOptions;
    return { kind: "file", file, options, perms: workerPermissions(file, permissions, base, label) };
  }

  /** The plugin host, started with the first user plugin; `grants` are every user plugin's permissions. */
  let host: PluginHost | undefined;
  let grants: WorkerPermissions[] = [];

  async function loadFile(
    file: string,
    options: Record<string, unknown>,
    perms: WorkerPermissions,
  ): Promise<Loaded> {
    const label = file;
    const errorText = (err: unknown) => err instanceof WorkerCallError ? err.message : describeError(err);
    const events: WorkerEvent[] = [];
    const ref: { entry?: Loaded } = {};
    let plog = (line: string) => log(`plugin ${label}: ${line}`);
    const onEvent = (event: WorkerEvent) => {
      // Until the plugin has an id, keep what it sends; it is replayed right after `load`.
      if (!ref.entry) events.push(event);
      else if (event.type === "alert") raise(ref.entry, event.alert);
      else plog(event.line);
    };
    let hosted: HostedPlugin;
    try {
      host ??= new PluginHost({
        command: pluginHostCommand(grants),
        log,
        setupTimeoutMs: loadTimeoutMs,
        maxRestarts: opts.maxHostRestarts,
        restartWindowMs: opts.hostRestartWindowMs,
      });
      const h = host;
      const started = await withTimeout(() => h.add(`plugin ${file}`, perms, onEvent), loadTimeoutMs);
      if (!started.ok) {
        throw started.timeout
          ? new HostUnavailableError(`no answer within ${loadTimeoutMs} ms`)
          : started.error;
      }
      hosted = started.value;
    } catch (err) {
      throw new UsageError(
        err instanceof WorkerCallError && !(err instanceof HostUnavailableError)
          ? `plugin ${label}: cannot start its worker (${errorText(err)})`
          : `plugin ${label}: cannot start the plugin host (${
            err instanceof Error ? `${err.name}: ${oneLine(err.message)}` : String(err)
          })`,
      );
    }
    const step = async (op: string, payload: Record<string, unknown>) => {
      const outcome = await withTimeout(() => hosted.setup(op, payload), loadTimeoutMs);
      if (outcome.ok) return outcome.value;
      hosted.stop("load failed");
      if (outcome.timeout) {
        throw new UsageError(`plugin ${label}: ${op} did not finish within ${loadTimeoutMs} ms`);
      }
      throw new UsageError(`plugin ${label}: ${oneLine(errorText(outcome.error))}`);
    };
    const info = await step("load", { url: pathToFileURL(file).href, options }) as {
      id: string;
      hooks: HookName[];
    };
    const id = uniqueId(info.id);
    hosted.label = id;
    plog = pluginLogger(id);
    const entry: Loaded = {
      id,
      label,
      isolated: true,
      hooks: new Set(info.hooks),
      disabled: false,
      alerts: [],
      failures: new Map(),
      runner: {
        batch: async (changes) => await hosted.call("batch", { changes }) as BatchResult,
        onChanges: async (changes) => void await hosted.call("onChanges", { changes }),
        onAlerts: async (alerts) => void await hosted.call("onAlerts", { alerts }),
        close: async () => void await hosted.call("close"),
        kill: (reason) => hosted.evict(reason),
        get dead() {
          return hosted.dead;
        },
        get ready() {
          return hosted.ready;
        },
      },
    };
    ref.entry = entry;
    for (const event of events.splice(0)) {
      if (event.type === "alert") raise(entry, event.alert);
      else plog(event.line);
    }
    await step("init", { id, options });
    return entry;
  }

  const closeAll = async () => {
    const deadline = performance.now() + closeTimeoutMs;
    const left = () => Math.max(200, deadline - performance.now());
    await host?.whenReady(left());
    await Promise.all(loaded.map(async (entry) => {
      if (!entry.disabled && !entry.runner.dead && entry.runner.ready && entry.hooks.has("close")) {
        const outcome = await withTimeout(() => entry.runner.close(), left());
        if (!outcome.ok) {
          log(
            `plugin ${entry.id}: close ${
              outcome.timeout
                ? `did not finish within ${closeTimeoutMs} ms`
                : `failed: ${
                  outcome.error instanceof WorkerCallError
                    ? outcome.error.message
                    : describeError(outcome.error)
                }`
            }`,
          );
        }
      }
      for (const [hook, count] of entry.failures) {
        if (count > 1) log(`plugin ${entry.id}: ${hook} failed ${count} times in total`);
      }
    }));
    await host?.close(left());
  };

  // Check every spec first (the plugin host is started with every user plugin's permissions), then load
  // everything in order; on the first problem, in config order, stop what was started and report it.
  const plan: Planned[] = [];
  const seenFiles = new Set<string>();
  const planSpec = async (i: number, spec: PluginSpec): Promise<Planned> => {
    if (!isRecord(spec) || (spec.name === undefined) === (spec.path === undefined)) {
      throw new UsageError(
        `plugin #${i + 1}: give either "name" (a built-in) or "path" (a plugin file), not both`,
      );
    }
    if (spec.options !== undefined && !isRecord(spec.options)) {
      throw new UsageError(
        `plugin ${spec.name ? `"${spec.name}"` : spec.path}: "options" must be an object`,
      );
    }
    const options = structuredClone(spec.options ?? {});
    if (spec.name !== undefined) {
      if (typeof spec.name !== "string") throw new UsageError(`plugin #${i + 1}: "name" must be a string`);
      return { kind: "builtin", name: spec.name, options };
    }
    if (typeof spec.path !== "string" || spec.path === "") {
      throw new UsageError(`plugin #${i + 1}: "path" must be a file path`);
    }
    const file = spec.path.startsWith("file:") ? fileURLToPath(spec.path) : resolve(base, spec.path);
    seenFiles.add(file);
    return await planFile(file, options);
  };
  const planned = async (make: () => Promise<Planned>) => {
    try {
      plan.push(await make());
    } catch (error) {
      plan.push({ kind: "error", error });
    }
  };
  for (const [i, spec] of opts.specs.entries()) await planned(() => planSpec(i, spec));
  if (opts.pluginDir) {
    let files: string[] = [];
    try {
      files = await listPluginDir(resolve(base, opts.pluginDir));
    } catch (error) {
      plan.push({ kind: "error", error });
    }
    for (const file of files) if (!seenFiles.has(file)) await planned(() => planFile(file, {}));
  }
  grants = plan.flatMap((p) => p.kind === "file" ? [p.perms] : []);
  try {
    for (const item of plan) {
      if (item.kind === "error") throw item.error;
      loaded.push(
        item.kind === "builtin"
          ? await loadBuiltin(item.name, item.options)
          : await loadFile(item.file, item.options, item.perms),
      );
    }
  } catch (err) {
    await closeAll();
    if (err instanceof UsageError) throw err;
    throw new UsageError(`plugin pipeline: ${describeError(err)}`);
  }

  /** Set during a batch when a user plugin was skipped because the plugin host was still restarting. */
  let missedBatch = false;
  /** Set during a batch once a wait for a restart ran out (so a batch waits for a slow restart only once). */
  let gaveUpWaiting = false;

  /**
   * Whether a plugin takes part now. While the plugin host restarts (another user plugin hung), waits for it
   * up to `hookTimeoutMs`, so that the other user plugins still see the batch in flight; a plugin found dead
   * is disabled (the plugin host logged why).
   */
  async function usable(entry: Loaded): Promise<boolean> {
    if (entry.disabled) return false;
    if (!entry.runner.dead && !entry.runner.ready && host && !gaveUpWaiting) {
      if (!await host.whenReady(hookTimeoutMs)) gaveUpWaiting = true;
    }
    if (entry.runner.dead) {
      entry.disabled = true;
      return false;
    }
    if (!entry.runner.ready) missedBatch = true;
    return entry.runner.ready;
  }

  /** Calls one hook with the timeout; disables the plugin on timeout or when it is gone for good. */
  async function guarded<T>(entry: Loaded, hook: string, work: () => Promise<T>): Promise<T | undefined> {
    const outcome = await withTimeout(work, hookTimeoutMs);
    if (outcome.ok) return outcome.value;
    if (outcome.timeout) {
      entry.disabled = true;
      let note = "";
      if (entry.isolated) {
        const others = (host?.live ?? 1) - 1;
        note = others > 0 && host?.canRestart
          ? `; restarting it for ${others} other user plugin${others === 1 ? "" : "s"}`
          : "";
        note = ` (plugin host process killed${note})`;
      }
      log(
        `plugin ${entry.id}: ${hook} did not finish within ${hookTimeoutMs} ms; ${
          entry.isolated ? "worker terminated, " : ""
        }plugin disabled until the monitor restarts${note}`,
      );
      entry.runner.kill(`${hook} timed out`);
      return undefined;
    }
    if (entry.runner.dead) {
      entry.disabled = true;
      return undefined;
    }
    if (outcome.error instanceof HostUnavailableError) {
      // The plugin host restarts (another plugin hung, or it exited): not this plugin's failure.
      missedBatch = true;
      return undefined;
    }
    const text = outcome.error instanceof WorkerCallError
      ? outcome.error.message
      : describeError(outcome.error);
    noteFailure(entry, hook, text);
    return undefined;
  }

  async function runBatch(input: Change[]): Promise<PipelineResult> {
    let changes: Change[] = [...input];
    missedBatch = false;
    gaveUpWaiting = false;
    for (const entry of loaded) {
      if (changes.length === 0) break;
      if (!await usable(entry)) continue;
      const hasFilter = entry.hooks.has("filter");
      const hasEnrich = entry.hooks.has("enrich");
      if (!hasFilter && !hasEnrich) continue;
      const hookLabel = hasFilter && hasEnrich ? "filter/enrich" : hasFilter ? "filter" : "enrich";
      const current = changes;
      const result = await guarded(entry, hookLabel, () => entry.runner.batch(current));
      if (!result) continue;
      for (const [hook, f] of Object.entries(result.failures ?? {})) {
        noteFailure(entry, hook, f.first, f.count);
      }
      const keep = Array.isArray(result.keep) && result.keep.length === current.length ? result.keep : null;
      const extra = Array.isArray(result.extra) && result.extra.length === current.length
        ? result.extra
        : null;
      const next: Change[] = [];
      for (let i = 0; i < current.length; i++) {
        if (keep && !keep[i]) continue;
        let change = current[i];
        const fields = extra?.[i];
        if (isRecord(fields)) {
          const prev = (change as EnrichedChange).extra;
          change = { ...change, extra: { ...prev, [entry.id]: fields } } as EnrichedChange;
        }
        next.push(change);
      }
      changes = next;
    }
    if (changes.length > 0) {
      for (const entry of loaded) {
        if (entry.hooks.has("onChanges") && await usable(entry)) {
          await guarded(entry, "onChanges", () => entry.runner.onChanges(changes));
        }
      }
    }
    const alerts: Alert[] = [];
    for (const entry of loaded) alerts.push(...entry.alerts.splice(0));
    if (alerts.length > 0) {
      for (const entry of loaded) {
        if (entry.hooks.has("onAlerts") && await usable(entry)) {
          await guarded(entry, "onAlerts", () => entry.runner.onAlerts(alerts));
        }
      }
    }
    if (missedBatch) host?.noteMissedBatch();
    return { changes, alerts };
  }

  let closed = false;
  let tail: Promise<unknown> = Promise.resolve();
  const pipeline: Pipeline = {
    ids: loaded.map((e) => e.id),
    run(changes: Change[]): Promise<PipelineResult> {
      const input = Array.isArray(changes) ? changes : [];
      if (closed) return Promise.resolve({ changes: [...input], alerts: [] });
      const result = tail.then(() => runBatch(input)).catch((err) => {
        log(`plugin pipeline: internal error, batch passed through unchanged: ${describeError(err)}`);
        return { changes: [...input], alerts: [] };
      });
      tail = result;
      return result;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await tail;
      await closeAll();
    },
  };
  return pipeline;
}
