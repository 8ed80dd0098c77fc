/**
 * The plugin pipeline, assembled from its parts:
 *
 * - loading: `load.ts` (what to load: specs, files, the plugins folder, grants), `builtin.ts` (compiled-in
 *   plugins, from the registry the composition root hands in), `user.ts` (files, each in a Worker in the
 *   plugin host);
 * - one {@link Runner} per plugin (`runner.ts`): time budget, circuit breaker, counts;
 * - the batch (`batch.ts`): filter → enrich → onChanges → onAlerts;
 * - the boundary checks (`boundary.ts`) on everything a plugin returns;
 * - the plugin host process and its private channel (`host_client.ts`, `channel.ts`, `plugin_host.ts`).
 *
 * Guarantees to the monitor: `createPipeline` either returns a working pipeline or throws a
 * {@link UsageError} whose one-line message names the plugin; `run` never throws and what it returns can be
 * logged; `close` calls every plugin's `close` within `closeTimeoutMs` and ends the plugin host.
 *
 * @module
 */

import { resolve } from "node:path";
import { UsageError } from "../errors.ts";
import type { Change, Clock } from "../model/types.ts";
import { systemClock } from "../model/types.ts";
import type { AlertRequest, PluginContext } from "./api.ts";
import { type BatchOutput, type Entry, runBatch } from "./batch.ts";
import { ChangeRefs, checkAlert, pluginLogText } from "./boundary.ts";
import { type BuiltinRegistry, loadBuiltin } from "./builtin.ts";
import { describeError } from "./hooks.ts";
import { PluginHost, pluginHostCommand } from "./host_client.ts";
import { describeGrants, plan, type Planned, type PluginSpec } from "./load.ts";
import {
  DEFAULT_BACKOFF_MS,
  DEFAULT_HOOK_TIMEOUT_MS,
  DEFAULT_MAX_BACKOFF_MS,
  DEFAULT_PER_CHANGE_MS,
  Runner,
  type RunnerOptions,
  withTimeout,
} from "./runner.ts";
import { loadUser } from "./user.ts";
import type { WorkerEvent, WorkerPermissions } from "./worker_host.ts";

export type { PluginSpec } from "./load.ts";
export type { BuiltinPlugin, BuiltinRegistry } from "./builtin.ts";
export { DEFAULT_HOOK_TIMEOUT_MS } from "./runner.ts";

/** How to build a pipeline. */
export interface PipelineOptions {
  /** From the config `plugins` (in order), followed by `--plugin` files. */
  specs: PluginSpec[];
  /** The built-in plugins a spec may name (`plugins/mod.ts`, handed in by `src/cli/`); none when absent. */
  builtins?: BuiltinRegistry;
  /** User plugins folder: every `*.ts`/`*.js` in it is loaded after `specs`, if the folder exists. */
  pluginDir?: string;
  /** Base for relative paths (the config file's directory); the working directory when absent. */
  configDir?: string;
  /** Source of "now" for alert times; the system clock when absent. */
  clock?: Clock;
  /** Budget of one hook call on one change, ms (default 500). */
  hookTimeoutMs?: number;
  /** Extra budget per change of a batch, ms (default 10). */
  perChangeMs?: number;
  /** First backoff after a plugin timed out or crashed, ms (default 1000; doubles up to 5 minutes). */
  backoffMs?: number;
  /** Bound on loading and initialising one plugin at start, in ms (default 15000: TypeScript is transpiled). */
  loadTimeoutMs?: number;
  /** Bound on `close()` as a whole, in ms (default 5000). */
  closeTimeoutMs?: number;
  /** Writes one diagnostic line to stderr (the monitor prefixes and timestamps it). */
  log: (line: string) => void;
}

/** What one batch became. */
export type PipelineResult = BatchOutput;

/** A loaded pipeline. */
export interface Pipeline {
  /** Loaded plugin ids, in order. */
  readonly ids: string[];
  /** Runs one poll's changes through the plugins. Never throws. */
  run(changes: Change[]): Promise<PipelineResult>;
  /** One line per plugin: its state and counts (for the summary at stop). */
  summary(): string[];
  /** Flushes alert queues (bounded), closes every plugin and ends the plugin host. Idempotent. */
  close(): Promise<void>;
}

/** Default bound on loading one plugin. */
export const DEFAULT_LOAD_TIMEOUT_MS = 15_000;
/** Default bound on `close()`. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;
const LOG_LINES_PER_MINUTE = 20;

/** A rate-limited logger for the lines a plugin writes itself (escaped and bounded). */
function pluginLogger(id: string, clock: Clock, log: (line: string) => void): (line: unknown) => void {
  let windowStart = -Infinity;
  let inWindow = 0;
  let suppressed = 0;
  return (line: unknown) => {
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
    else log(`plugin ${id}: ${pluginLogText(line)}`);
  };
}

/** Checked settings of a pipeline. */
interface Settings {
  clock: Clock;
  loadTimeoutMs: number;
  closeTimeoutMs: number;
  log: (line: string) => void;
  runner: RunnerOptions;
}

function settingsOf(opts: PipelineOptions): Settings {
  const loadTimeoutMs = opts.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS;
  const closeTimeoutMs = opts.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
  const log = (line: string) => {
    try {
      opts.log(line);
    } catch {
      // A failing logger must not stop the pipeline.
    }
  };
  const runner: RunnerOptions = {
    hookTimeoutMs: opts.hookTimeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS,
    perChangeMs: opts.perChangeMs ?? DEFAULT_PER_CHANGE_MS,
    restartWaitMs: Math.min(loadTimeoutMs, 5000),
    backoffMs: opts.backoffMs ?? DEFAULT_BACKOFF_MS,
    maxBackoffMs: DEFAULT_MAX_BACKOFF_MS,
    monotonic: () => performance.now(),
    log,
  };
  for (const [key, value] of Object.entries({ ...runner, loadTimeoutMs, closeTimeoutMs })) {
    if (typeof value === "number" && (!Number.isFinite(value) || value < 0)) {
      throw new UsageError(`plugin pipeline: ${key} must be a positive number`);
    }
  }
  return { clock: opts.clock ?? systemClock, loadTimeoutMs, closeTimeoutMs, log, runner };
}

/** The loaded plugins and what they share: ids, alerts (checked at the boundary), loggers, plugin hosts. */
class Assembly {
  readonly entries: Entry[] = [];
  readonly refs = new ChangeRefs();
  readonly #s: Settings;
  readonly #byId = new Map<string, Entry>();
  readonly #usedIds = new Set<string>();
  /** Alerts raised before the plugin's runner exists (during `init`). */
  readonly #early = new Map<string, { req: unknown; ref: unknown }[]>();
  readonly #loggers = new Map<string, (line: unknown) => void>();
  #host: PluginHost | undefined;
  /** Plugin hosts of their own, for plugins that had to be stopped once. */
  readonly #ownHosts = new Set<PluginHost>();
  #grants: WorkerPermissions[] = [];

  constructor(s: Settings) {
    this.#s = s;
  }

  uniqueId = (id: string): string => {
    let candidate = id;
    for (let n = 2; this.#usedIds.has(candidate); n++) candidate = `${id}#${n}`;
    this.#usedIds.add(candidate);
    return candidate;
  };

  raise = (id: string, req: unknown, ref?: unknown): void => {
    const entry = this.#byId.get(id);
    if (!entry) return void (this.#early.get(id) ?? this.#early.set(id, []).get(id)!).push({ req, ref });
    const alert = checkAlert(id, req, ref, this.#s.clock.now(), this.refs);
    if (typeof alert === "string") entry.runner.drop("alert", alert);
    else entry.alerts.push(alert);
  };

  logger = (id: string): (line: unknown) => void =>
    this.#loggers.get(id) ?? this.#loggers.set(id, pluginLogger(id, this.#s.clock, this.#s.log)).get(id)!;

  #newHost(): PluginHost {
    const command = pluginHostCommand(this.#grants);
    return new PluginHost({ command, log: this.#s.log, setupTimeoutMs: this.#s.loadTimeoutMs });
  }

  /** Loads every planned plugin in order; prints one line for each. */
  async load(planned: Planned[], builtins: BuiltinRegistry): Promise<void> {
    this.#grants = planned.flatMap((p) => p.kind === "file" ? [p.perms] : []);
    for (const item of planned) {
      const loaded = await this.#loadOne(item, builtins);
      const runner = new Runner(loaded.id, loaded.label, loaded.hooks, loaded.transport, this.#s.runner);
      const entry: Entry = { runner, alerts: [] };
      this.entries.push(entry);
      this.#byId.set(loaded.id, entry);
      for (const e of this.#early.get(loaded.id)?.splice(0) ?? []) this.raise(loaded.id, e.req, e.ref);
      this.#s.log(`plugin ${loaded.id}: loaded from ${loaded.label} (${loaded.grants})`);
    }
  }

  async #loadOne(item: Planned, builtins: BuiltinRegistry) {
    const { clock, loadTimeoutMs, log } = this.#s;
    if (item.kind === "error") throw item.error;
    if (item.kind === "builtin") {
      const context = (id: string, options: Record<string, unknown>): PluginContext =>
        Object.freeze({
          id,
          options,
          log: this.logger(id),
          alert: (req: AlertRequest) => this.raise(id, req),
          now: () => clock.now(),
        });
      const b = await loadBuiltin(builtins, item.name, item.options, {
        uniqueId: this.uniqueId,
        loadTimeoutMs,
        context,
      });
      return { ...b, label: `"${item.name}"`, grants: "in process" };
    }
    const u = await loadUser(item.file, item.options, item.perms, {
      host: () => this.#host ??= this.#newHost(),
      ownHost: () => {
        const own = this.#newHost();
        this.#ownHosts.add(own);
        return own;
      },
      uniqueId: this.uniqueId,
      loadTimeoutMs,
      log,
      events: (id) => (event: WorkerEvent) =>
        event.type === "alert" ? this.raise(id, event.alert, event.ref) : this.logger(id)(event.line),
    });
    return { ...u, label: item.file, grants: describeGrants(item.perms) };
  }

  /** Calls every plugin's `close` and ends the plugin hosts, within `closeTimeoutMs`. */
  async close(): Promise<void> {
    const { closeTimeoutMs, log } = this.#s;
    const deadline = performance.now() + closeTimeoutMs;
    const left = () => Math.max(200, deadline - performance.now());
    await this.#host?.whenReady(left());
    await Promise.all(this.entries.map(async ({ runner }) => {
      if (!runner.hooks.has("close")) return;
      const outcome = await withTimeout(() => runner.call("close", 1, {}), left());
      if (!outcome.ok) log(`plugin ${runner.id}: close did not finish within ${closeTimeoutMs} ms`);
    }));
    await Promise.all([this.#host, ...this.#ownHosts].map((h) => h?.close(left())));
  }
}

/**
 * Loads every configured plugin (specs in order, then the plugin folder) and returns the pipeline. Prints
 * one line per plugin loaded: id, where it comes from, what it is granted.
 *
 * @throws {UsageError} one line naming the plugin, for an unknown built-in name, a missing file, a syntax
 * error, a missing default export, bad options or a failed `init` — all found here, at start.
 */
export async function createPipeline(opts: PipelineOptions): Promise<Pipeline> {
  const s = settingsOf(opts);
  const set = new Assembly(s);
  try {
    await set.load(
      await plan(opts.specs, opts.pluginDir, opts.configDir ? resolve(opts.configDir) : Deno.cwd()),
      opts.builtins ?? new Map(),
    );
  } catch (err) {
    await set.close();
    if (err instanceof UsageError) throw err;
    throw new UsageError(`plugin pipeline: ${describeError(err)}`);
  }
  let closed = false;
  let tail: Promise<unknown> = Promise.resolve();
  return {
    ids: set.entries.map((e) => e.runner.id),
    run(changes: Change[]): Promise<PipelineResult> {
      const input = Array.isArray(changes) ? changes : [];
      if (closed) return Promise.resolve({ changes: [...input], alerts: [] });
      const result = tail.then(() => runBatch(set.entries, input, set.refs)).catch((err) => {
        s.log(`plugin pipeline: internal error, batch passed through unchanged: ${describeError(err)}`);
        return { changes: [...input], alerts: [] };
      });
      tail = result;
      return result;
    },
    summary: () => set.entries.map((e) => e.runner.summary()),
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await tail;
      await set.close();
      for (const { runner } of set.entries) {
        for (const [hook, count] of runner.failuresByHook) {
          if (count > 1) s.log(`plugin ${runner.id}: ${hook} failed ${count} times in total`);
        }
      }
    },
  };
}
