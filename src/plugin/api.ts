/**
 * The plugin contract of portreporter, version 1 (`import ... from "@portreporter/portreporter/plugin"`).
 *
 * A plugin module **default-exports a factory** that takes the plugin's options (the JSON object from the
 * config file, `{}` when there is none) and returns a {@link Plugin}: an object with an `apiVersion`, an `id`
 * and any of the optional hooks. Every hook may be synchronous or return a promise.
 *
 * Per poll the pipeline calls, in this order:
 * 1. for each plugin in order: `filter` on every change still in the batch (`false` drops it), then
 *    `enrich` on every change it kept (the returned fields are stored under `extra[pluginId]`, see
 *    {@link EnrichedChange});
 * 2. for each plugin in order: `onChanges` with the final batch (skipped when the batch is empty);
 * 3. for each plugin in order: `onAlerts` with every alert raised in this batch by any plugin (skipped when
 *    there are none).
 *
 * Every hook call is bounded by a budget (the hook timeout plus a little per change of the batch). A hook that
 * throws or rejects is counted, the first failure is logged, and the batch goes on as if the hook had not been
 * there (fail open: a broken filter keeps the change). A hook that runs past its budget gets the plugin
 * stopped and tried again after a backoff that doubles with each trip in a row. Everything a plugin returns
 * is checked and bounded before it is kept (see `boundary.ts`).
 *
 * User plugins (files) run each in a Worker with almost no permissions, inside a child process (the plugin
 * host) that the monitor kills and restarts when one of them hangs; values cross to it as JSON. See
 * `plugins/README.md`.
 *
 * @example A user plugin (a file in the plugins folder)
 * ```ts
 * // Optional, for editors: a type-only import is erased when the plugin is loaded, so the path need not exist.
 * import type { Change, PluginContext } from "../src/plugin/api.ts";
 *
 * export default (options: { port?: number }) => ({
 *   apiVersion: 1 as const,
 *   id: "ssh-watch",
 *   onChanges(changes: readonly Change[], ctx: PluginContext) {
 *     for (const c of changes) {
 *       if (c.kind === "opened" && c.socket.localPort === (options.port ?? 22) && c.socket.state === "ESTABLISHED") {
 *         ctx.alert({ severity: "info", message: `ssh connection from ${c.socket.remoteAddress}`, change: c });
 *       }
 *     }
 *   },
 * });
 * ```
 *
 * @module
 */

import type { Alert, AlertSeverity, Change } from "../model/types.ts";

export type { Alert, AlertSeverity, Change, ProcessInfo, SocketRecord } from "../model/types.ts";

/** The version of this contract. A plugin declares the version it was written for in `apiVersion`. */
export const PLUGIN_API_VERSION = 1 as const;

/** What a plugin passes to {@link PluginContext.alert}; the pipeline adds `time` and `pluginId`. */
export interface AlertRequest {
  /** How urgent it is: `info`, `warning` or `critical`. */
  severity: AlertSeverity;
  /** One line for a human (newlines are replaced by spaces, long messages are cut). */
  message: string;
  /**
   * The change that caused it, when there is one: one of the changes the plugin was given (the object
   * itself). Anything else is kept as `data.unverifiedChange`, not as an observation.
   */
  change?: Change;
  /** Anything else to carry along; must be JSON-serialisable (cut at 4 KB). */
  data?: Record<string, unknown>;
}

/** What the pipeline gives a plugin: its identity, its options, a logger and a way to raise alerts. */
export interface PluginContext<O = Record<string, unknown>> {
  /** The id the pipeline knows the plugin by (its own id, suffixed `#2`, `#3`... when loaded twice). */
  readonly id: string;
  /** The plugin's options as configured (`{}` when none). */
  readonly options: O;
  /** Writes one diagnostic line to the monitor's stderr, prefixed with the plugin id (rate-limited). */
  log(line: string): void;
  /**
   * Raises an alert. It is returned with the batch being processed, or with the next batch when raised
   * outside a hook (from a timer, say).
   */
  alert(alert: AlertRequest): void;
  /** Current time in ms since the Unix epoch (the monitor's clock for built-ins, `Date.now()` in a Worker). */
  now(): number;
}

/** A plugin instance as returned by its factory. Every hook is optional and may return a promise. */
export interface Plugin<O = Record<string, unknown>> {
  /** The contract version the plugin was written for; must be {@link PLUGIN_API_VERSION}. */
  readonly apiVersion: typeof PLUGIN_API_VERSION;
  /** A short name (letters, digits, `.`, `_`, `-`; at most 64 characters) used in logs and alerts. */
  readonly id: string;
  /**
   * Called once at start, before any other hook. Validate options here (or in the factory) and throw on a
   * bad one: the monitor then refuses to start with a one-line message naming the plugin.
   */
  init?(options: O, ctx: PluginContext<O>): void | Promise<void>;
  /** Keep (`true`) or drop (`false`) one change. Anything else counts as a failure and keeps the change. */
  filter?(change: Change): boolean | Promise<boolean>;
  /** Fields to attach to one change (stored under `extra[pluginId]`), or nothing. */
  enrich?(
    change: Change,
  ): Record<string, unknown> | void | undefined | Promise<Record<string, unknown> | void | undefined>;
  /** Act on the final batch of one poll, typically by raising alerts through `ctx.alert`. */
  onChanges?(changes: readonly Change[], ctx: PluginContext<O>): void | Promise<void>;
  /**
   * Deliver the alerts of one batch (raised by any plugin). Must return quickly: a plugin that delivers over
   * the network or to a process queues the alerts here and delivers them in the background.
   */
  onAlerts?(alerts: readonly Alert[]): void | Promise<void>;
  /** Called once at shutdown (bounded by the pipeline): flush queues, release resources. */
  close?(): void | Promise<void>;
}

/** What a plugin module default-exports: a function from the plugin's options to a {@link Plugin}. */
export type PluginFactory<O = Record<string, unknown>> = (options: O) => Plugin<O>;

/**
 * Identity helper that gives a plugin factory its types. Optional: a plain default-exported function works
 * the same, and user plugins in Workers need not import anything.
 *
 * @example
 * ```ts
 * export default definePlugin((options: { port?: number }) => ({
 *   apiVersion: 1,
 *   id: "not-this-port",
 *   filter: (c) => c.socket.localPort !== options.port,
 * }));
 * ```
 */
export function definePlugin<O = Record<string, unknown>>(factory: PluginFactory<O>): PluginFactory<O> {
  return factory;
}

/**
 * A change as the pipeline returns it after enrichment: the same fields as {@link Change}, plus `extra`,
 * keyed by the id of the plugin that added the fields. The input changes are never mutated; an enriched
 * change is a shallow copy. (Until `Change` has an `extra` field of its own, this is where enrichment lives.)
 */
export interface EnrichedChange extends Change {
  /** Fields added by `enrich` hooks, by plugin id: `{ "geo": { "country": "NL" } }`. */
  extra?: Record<string, Record<string, unknown>>;
}

/** The enrichment fields of a change returned by the pipeline (`undefined` when no plugin enriched it). */
export function extraOf(change: Change): Record<string, Record<string, unknown>> | undefined {
  return (change as EnrichedChange).extra;
}
