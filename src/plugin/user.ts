/**
 * User plugins (files): each in its own Worker in the plugin host (`host_client.ts`), reached through a
 * {@link Transport} for its runner.
 *
 * @module
 */

import { pathToFileURL } from "node:url";
import { UsageError } from "../errors.ts";
import type { HookName } from "./hooks.ts";
import type { HostedPlugin } from "./hosted_plugin.ts";
import type { PluginHost } from "./host_client.ts";
import { type Transport, withTimeout } from "./runner.ts";
import {
  HostUnavailableError,
  WorkerCallError,
  type WorkerEvent,
  type WorkerPermissions,
} from "./worker_host.ts";

/** What the pipeline gives a user plugin when loading it. */
export interface UserContext {
  /** The shared plugin host (started with the first user plugin). */
  host: () => PluginHost;
  /** A new plugin host of its own, for a plugin that had to be stopped (closed by the pipeline). */
  ownHost: () => PluginHost;
  /** Makes the id unique (`id#2`...). */
  uniqueId(id: string): string;
  /** Receives the plugin's alerts and log lines once its id is known. */
  events(id: string): (event: WorkerEvent) => void;
  /** Bound on each step of loading, ms. */
  loadTimeoutMs: number;
  /** One diagnostic line. */
  log: (line: string) => void;
}

/** A loaded user plugin. */
export interface LoadedUser {
  /** Unique id. */
  id: string;
  /** Hooks it defines. */
  hooks: Set<HookName>;
  /** How the runner calls it. */
  transport: Transport;
}

function oneLine(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, "").replace(/[\r\n\t]+/g, " ").trim().slice(0, 500);
}

/**
 * The runner's way to a user plugin. After it had to be stopped once, the plugin comes back in a plugin host
 * of its own: its next hang kills only that process, and the other user plugins keep running.
 */
function hostedTransport(
  first: HostedPlugin,
  how: UserContext,
  onEvent: (event: WorkerEvent) => void,
): Transport {
  let hosted = first;
  let own: PluginHost | null = null;
  return {
    isolated: true,
    call: (hook, payload) => hosted.call(hook, payload),
    classify(err) {
      if (err instanceof HostUnavailableError) return { kind: "unavailable", text: err.message };
      if (err instanceof WorkerCallError) return { kind: "failed", text: err.message };
      return { kind: "failed", text: String(err) };
    },
    stop: (reason) => hosted.evict(reason),
    async revive() {
      const old = hosted;
      const previous = own;
      own = how.ownHost();
      try {
        const next = await own.add(old.name, old.permissions, onEvent);
        next.label = old.label;
        for (const s of old.setups) {
          const outcome = await withTimeout(() => next.setup(s.op, s.payload), how.loadTimeoutMs);
          if (!outcome.ok) {
            next.evict(`${s.op} failed again`);
            return outcome.timeout
              ? `${s.op} did not finish within ${how.loadTimeoutMs} ms`
              : oneLine(String(outcome.error));
          }
        }
        hosted = next;
        return null;
      } catch (err) {
        return `cannot start a plugin host for it (${
          oneLine(err instanceof Error ? err.message : String(err))
        })`;
      } finally {
        void previous?.close(200);
      }
    },
    state: () => hosted.dead || hosted.parked ? "stopped" : hosted.ready ? "ready" : "waiting",
    settle: (ms) => hosted.settle(ms),
  };
}

/**
 * Starts one user plugin in the plugin host: its Worker, `load` (import and factory), then `init`.
 * @throws {UsageError} naming the file, for anything that fails.
 */
export async function loadUser(
  file: string,
  options: Record<string, unknown>,
  perms: WorkerPermissions,
  how: UserContext,
): Promise<LoadedUser> {
  const early: WorkerEvent[] = [];
  let deliver: ((event: WorkerEvent) => void) | null = null;
  const onEvent = (event: WorkerEvent) => deliver ? deliver(event) : early.push(event);
  let hosted: HostedPlugin;
  try {
    const host = how.host();
    const started = await withTimeout(() => host.add(`plugin ${file}`, perms, onEvent), how.loadTimeoutMs);
    if (!started.ok) {
      throw started.timeout
        ? new HostUnavailableError(`no answer within ${how.loadTimeoutMs} ms`)
        : started.error;
    }
    hosted = started.value;
  } catch (err) {
    throw new UsageError(
      err instanceof WorkerCallError && !(err instanceof HostUnavailableError)
        ? `plugin ${file}: cannot start its worker (${oneLine(err.message)})`
        : `plugin ${file}: cannot start the plugin host (${
          err instanceof Error ? `${err.name}: ${oneLine(err.message)}` : String(err)
        })`,
    );
  }
  const step = async (op: string, payload: Record<string, unknown>) => {
    const outcome = await withTimeout(() => hosted.setup(op, payload), how.loadTimeoutMs);
    if (outcome.ok) return outcome.value;
    hosted.stop("load failed");
    if (outcome.timeout) {
      throw new UsageError(`plugin ${file}: ${op} did not finish within ${how.loadTimeoutMs} ms`);
    }
    const e = outcome.error;
    throw new UsageError(`plugin ${file}: ${oneLine(e instanceof Error ? e.message : String(e))}`);
  };
  const info = await step("load", { url: pathToFileURL(file).href, options }) as {
    id: string;
    hooks: HookName[];
  };
  const id = how.uniqueId(info.id);
  hosted.label = id;
  deliver = how.events(id);
  for (const event of early.splice(0)) deliver(event);
  await step("init", { id, options });
  return { id, hooks: new Set(info.hooks), transport: hostedTransport(hosted, how, onEvent) };
}
