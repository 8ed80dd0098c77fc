/**
 * The plugin pipeline: loads built-in plugins (compiled in, `plugins/mod.ts`) and user plugins (files, each
 * in its own Worker), then runs every poll's changes through them: filter → enrich → onChanges (alerts) →
 * onAlerts (delivery). See `plugins/README.md` for the author's view and `api.ts` for the contract.
 *
 * Guarantees to the monitor:
 * - `createPipeline` either returns a working pipeline or throws a {@link UsageError} whose one-line message
 *   names the plugin (built-in id or file path) and what is wrong.
 * - `run` never throws, and no plugin can hold it up for much longer than `hookTimeoutMs` per plugin: a hook
 *   that throws/rejects is logged once (then counted) and skipped for that change or batch (fail open: the
 *   changes still pass through); a hook that does not finish in time gets its plugin disabled for the rest of
 *   the run (a Worker is terminated; nothing is restarted, so a hanging plugin costs one timeout, once).
 *   Deno 2.9.6 limit: `Worker.terminate()` does not interrupt a synchronous endless loop; such a thread keeps
 *   a core busy and keeps the process from ending on its own, so the monitor must end with `Deno.exit()`.
 * - `close` calls every plugin's `close` (webhook/exec flush their queues) within `closeTimeoutMs` and
 *   terminates the Workers.
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
import { WorkerCallError, type WorkerPermissions, WorkerRunner } from "./worker_host.ts";

/** One configured plugin: a built-in by `name`, or a user plugin file by `path`. */
export interface PluginSpec {
  /** A built-in id (see `plugins/mod.ts`), e.g. `"filter"`. */
  name?: string;
  /** A user plugin file (`.ts`/`.js`), absolute or relative to the config file's directory. */
  path?: string;
  /**
   * The plugin's options. For a user plugin the reserved key `permissions` (`{read, write, net, env, run}`,
   * each a list) widens what its Worker may do; it is not passed to the plugin.
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
  /** Flushes alert queues (bounded), closes every plugin and terminates the Workers. Idempotent. */
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

/** Uniform interface over an in-process plugin and a Worker plugin. */
interface Runner {
  batch(changes: Change[]): Promise<BatchResult>;
  onChanges(changes: Change[]): Promise<void>;
  onAlerts(alerts: Alert[]): Promise<void>;
  close(): Promise<void>;
  /** Terminates the Worker; nothing for in-process plugins. */
  kill(reason: string): void;
  /** Set when the Worker died on its own. */
  readonly dead: string | null;
}

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

  async function loadFile(file: string, rawOptions: Record<string, unknown>): Promise<Loaded> {
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
    const perms = workerPermissions(file, permissions, base, label);
    const events: Array<{ type: "alert"; alert: AlertRequest } | { type: "log"; line: string }> = [];
    const ref: { entry?: Loaded } = {};
    let plog = (line: string) => log(`plugin ${label}: ${line}`);
    let runner: WorkerRunner;
    try {
      runner = new WorkerRunner(`plugin ${file}`, perms, (event) => {
        // Until the plugin has an id, keep what it sends; it is replayed right after `load`.
        if (!ref.entry) events.push(event);
        else if (event.type === "alert") raise(ref.entry, event.alert);
        else plog(event.line);
      });
    } catch (err) {
      throw new UsageError(`plugin ${label}: cannot start its worker (${describeError(err)})`);
    }
    const step = async (op: string, payload: Record<string, unknown>) => {
      const outcome = await withTimeout(() => runner.call(op, payload), loadTimeoutMs);
      if (outcome.ok) return outcome.value;
      runner.kill("load failed");
      if (outcome.timeout) {
        throw new UsageError(`plugin ${label}: ${op} did not finish within ${loadTimeoutMs} ms`);
      }
      const text = outcome.error instanceof WorkerCallError
        ? outcome.error.message
        : describeError(outcome.error);
      throw new UsageError(`plugin ${label}: ${oneLine(text)}`);
    };
    const info = await step("load", { url: pathToFileURL(file).href, options }) as {
      id: string;
      hooks: HookName[];
    };
    const id = uniqueId(info.id);
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
        batch: async (changes) => await runner.call("batch", { changes }) as BatchResult,
        onChanges: async (changes) => void await runner.call("onChanges", { changes }),
        onAlerts: async (alerts) => void await runner.call("onAlerts", { alerts }),
        close: async () => void await runner.call("close"),
        kill: (reason) => runner.kill(reason),
        get dead() {
          return runner.dead;
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
    await Promise.all(loaded.map(async (entry) => {
      if (!entry.disabled && entry.hooks.has("close")) {
        const outcome = await withTimeout(() => entry.runner.close(), closeTimeoutMs);
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
      entry.runner.kill("pipeline closed");
      for (const [hook, count] of entry.failures) {
        if (count > 1) log(`plugin ${entry.id}: ${hook} failed ${count} times in total`);
      }
    }));
  };

  // Load everything, in order; on the first problem, stop what was started and report it.
  try {
    const seenFiles = new Set<string>();
    for (const [i, spec] of opts.specs.entries()) {
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
        loaded.push(await loadBuiltin(spec.name, options));
      } else {
        if (typeof spec.path !== "string" || spec.path === "") {
          throw new UsageError(`plugin #${i + 1}: "path" must be a file path`);
        }
        const file = spec.path.startsWith("file:") ? fileURLToPath(spec.path) : resolve(base, spec.path);
        seenFiles.add(file);
        loaded.push(await loadFile(file, options));
      }
    }
    if (opts.pluginDir) {
      for (const file of await listPluginDir(resolve(base, opts.pluginDir))) {
        if (!seenFiles.has(file)) loaded.push(await loadFile(file, {}));
      }
    }
  } catch (err) {
    await closeAll();
    if (err instanceof UsageError) throw err;
    throw new UsageError(`plugin pipeline: ${describeError(err)}`);
  }

  /** Calls one hook with the timeout; disables the plugin on timeout or when its Worker died. */
  async function guarded<T>(entry: Loaded, hook: string, work: () => Promise<T>): Promise<T | undefined> {
    const outcome = await withTimeout(work, hookTimeoutMs);
    if (outcome.ok) return outcome.value;
    if (outcome.timeout) {
      entry.disabled = true;
      entry.runner.kill(`${hook} timed out`);
      log(
        `plugin ${entry.id}: ${hook} did not finish within ${hookTimeoutMs} ms; ${
          entry.isolated ? "worker terminated, " : ""
        }plugin disabled until the monitor restarts`,
      );
      return undefined;
    }
    if (entry.runner.dead) {
      entry.disabled = true;
      log(`plugin ${entry.id}: ${entry.runner.dead}; plugin disabled until the monitor restarts`);
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
    const active = () => loaded.filter((e) => !e.disabled);
    for (const entry of active()) {
      if (changes.length === 0) break;
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
      for (const entry of active()) {
        if (entry.hooks.has("onChanges")) {
          await guarded(entry, "onChanges", () => entry.runner.onChanges(changes));
        }
      }
    }
    const alerts: Alert[] = [];
    for (const entry of loaded) alerts.push(...entry.alerts.splice(0));
    if (alerts.length > 0) {
      for (const entry of active()) {
        if (entry.hooks.has("onAlerts")) {
          await guarded(entry, "onAlerts", () => entry.runner.onAlerts(alerts));
        }
      }
    }
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
