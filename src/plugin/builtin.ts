/**
 * Built-in plugins: compiled in (the registry is handed in by the composition root, `src/cli/`), run in the
 * monitor's process. Their hooks go through the same runner, budgets and boundary checks as user plugins.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import type { Alert, Change } from "../model/types.ts";
import type { Plugin, PluginContext, PluginFactory } from "./api.ts";
import { PLUGIN_API_VERSION } from "./api.ts";
import { checkPlugin, describeError, HOOK_NAMES, type HookName, processBatch } from "./hooks.ts";
import { type Transport, withTimeout } from "./runner.ts";

/** One built-in plugin as the registry lists it. */
export interface BuiltinPlugin {
  /** The id a config file names it by; also its folder name under `plugins/`. */
  readonly id: string;
  /** One line saying what it does. */
  readonly summary: string;
  /** The factory its `mod.ts` default-exports. */
  readonly factory: PluginFactory;
}

/** Built-in plugins by id (`plugins/mod.ts`). */
export type BuiltinRegistry = ReadonlyMap<string, BuiltinPlugin>;

/** What the pipeline gives a built-in when loading it. */
export interface BuiltinContext {
  /** Makes the id unique (`id#2`...). */
  uniqueId(id: string): string;
  /** The plugin's `ctx`, once its id is known. */
  context(id: string, options: Record<string, unknown>): PluginContext;
  /** Bound on `init`, ms. */
  loadTimeoutMs: number;
}

/** A loaded built-in: its id, hooks and transport. */
export interface LoadedBuiltin {
  /** Unique id. */
  id: string;
  /** Hooks it defines. */
  hooks: Set<HookName>;
  /** How the runner calls it. */
  transport: Transport;
}

/** A built-in's start-up error as one line: a UsageError's own message, anything else described. */
function userMessage(err: unknown): string {
  return err instanceof UsageError ? err.message.replace(/[\r\n]+/g, " ") : describeError(err);
}

/**
 * Makes one built-in plugin: factory, checks, `init` (bounded).
 * @throws {UsageError} naming the plugin, for an unknown name, bad options or a failed `init`.
 */
export async function loadBuiltin(
  registry: BuiltinRegistry,
  name: string,
  options: Record<string, unknown>,
  how: BuiltinContext,
): Promise<LoadedBuiltin> {
  const builtin = registry.get(name);
  if (!builtin) {
    throw new UsageError(
      `plugin "${name}": no such built-in plugin (built-ins: ${[...registry.keys()].join(", ") || "none"})`,
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
  const id = how.uniqueId(plugin.id);
  const ctx = how.context(id, options);
  if (plugin.init) {
    const outcome = await withTimeout(() => plugin.init!(options, ctx), how.loadTimeoutMs);
    if (!outcome.ok) {
      throw new UsageError(
        `plugin ${label}: ${
          outcome.timeout ? `init did not finish within ${how.loadTimeoutMs} ms` : userMessage(outcome.error)
        }`,
      );
    }
  }
  return {
    id,
    hooks: new Set(HOOK_NAMES.filter((h) => typeof plugin[h] === "function")),
    transport: inProcess(plugin, ctx),
  };
}

function inProcess(plugin: Plugin, ctx: PluginContext): Transport {
  return {
    isolated: false,
    call(hook, payload): Promise<unknown> {
      switch (hook) {
        case "batch":
          return processBatch(plugin, payload.changes as Change[], describeError);
        case "onChanges":
          return Promise.resolve(plugin.onChanges?.(payload.changes as Change[], ctx));
        case "onAlerts":
          return Promise.resolve(plugin.onAlerts?.(payload.alerts as Alert[]));
        case "close":
          return Promise.resolve(plugin.close?.());
      }
      return Promise.reject(new Error(`no hook ${hook}`));
    },
    classify: (err) => ({ kind: "failed", text: describeError(err) }),
    stop() {
      // A built-in runs in this process: nothing can be stopped; the breaker skips it for a while.
    },
    revive: () => Promise.resolve(null),
    state: () => "ready",
    settle: () => Promise.resolve(),
  };
}
