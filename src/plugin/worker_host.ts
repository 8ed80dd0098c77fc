/**
 * Runs one user plugin file inside a Worker with narrow permissions, and talks to it over `postMessage`.
 *
 * This module is used **inside the plugin host process** (`plugin_host.ts`), never in the monitor itself:
 * Deno 2.9.6's `Worker.terminate()` does not interrupt a synchronous endless loop (`while (true) {}` keeps its
 * thread, and a CPU core, busy until the process exits), so the only reliable way to stop a runaway plugin is
 * to kill the process it runs in. See `host_client.ts` for the monitor's side.
 *
 * The Worker's entry module is a `data:` URL built from the source text of {@link workerBootstrap} and the
 * self-contained helpers of `hooks.ts`, so nothing has to be embedded or read from disk for it (works the same
 * in `deno run` and in a `deno compile` binary). The bootstrap then imports the plugin from its real absolute
 * `file://` URL, which is why the Worker needs read permission on the plugin file. Before that it routes
 * `console.*` to log events and hides `Deno.stdin/stdout/stderr`: the host process's stdin and stdout carry
 * the protocol with the monitor, and a plugin must not read or write them.
 *
 * @module
 */

import { checkPlugin, describeError, processBatch } from "./hooks.ts";
import type { AlertRequest } from "./api.ts";
import { PLUGIN_API_VERSION } from "./api.ts";

/** Per-worker permissions as `new Worker(..., { deno: { permissions } })` takes them. */
export interface WorkerPermissions {
  /** Files and directories the plugin may read (always includes the plugin file itself). */
  read: string[] | false;
  /** Files and directories the plugin may write. */
  write: string[] | false;
  /** Hosts (`host` or `host:port`) the plugin may connect to. */
  net: string[] | false;
  /** Environment variables the plugin may read. */
  env: string[] | false;
  /** Programs the plugin may run. */
  run: string[] | false;
  /** Never granted. */
  ffi: false;
  /** Never granted. */
  sys: false;
  /** Never granted (no remote modules). */
  import: false;
}

/** Messages the bootstrap sends that are not answers to a request: an alert, or a line for the log. */
export type WorkerEvent =
  | { type: "alert"; alert: AlertRequest; ref?: unknown }
  | { type: "log"; line: string };

/** Answer to request `seq`. */
type WorkerReply = { seq: number; ok: true; result: unknown } | { seq: number; ok: false; error: string };

interface Helpers {
  processBatch: typeof processBatch;
  describeError: typeof describeError;
  checkPlugin: typeof checkPlugin;
  apiVersion: number;
}

/**
 * The Worker's main program. Self-contained: it is turned into source text and receives its helpers as an
 * argument. Requests: `load` (import + factory), `init`, `batch` (filter + enrich), `onChanges`, `onAlerts`,
 * `close`; each is answered with `{seq, ok, result | error}`. Alerts and log lines are pushed as events.
 */
function workerBootstrap(h: Helpers): void {
  interface Scope {
    postMessage(message: unknown): void;
    addEventListener(
      type: string,
      listener: (e: Event & { error?: unknown; reason?: unknown }) => void,
    ): void;
    onmessage: ((e: MessageEvent) => void) | null;
  }
  const scope = globalThis as unknown as Scope;
  // deno-lint-ignore no-explicit-any
  let plugin: any = undefined;
  // deno-lint-ignore no-explicit-any
  let ctx: any = undefined;
  const post = (message: unknown) => {
    try {
      scope.postMessage(message);
    } catch (err) {
      const why = h.describeError(err);
      const m = message as { seq?: unknown };
      scope.postMessage(
        typeof m.seq === "number"
          ? { seq: m.seq, ok: false, error: `returned a value that cannot be passed on: ${why}` }
          : { type: "log", line: `could not pass a value to the host: ${why}` },
      );
    }
  };
  /** The id the runtime gave each change handed to the plugin (alerts refer to changes by it). */
  let refs = new WeakMap<object, unknown>();
  const remember = (changes: unknown, ids: unknown) => {
    refs = new WeakMap();
    if (!Array.isArray(changes) || !Array.isArray(ids)) return;
    changes.forEach((c, i) => typeof c === "object" && c !== null && refs.set(c, ids[i]));
  };
  const alert = (req: unknown) => {
    const r = req as { change?: unknown } | null;
    const ref = typeof r === "object" && r !== null && typeof r.change === "object" && r.change !== null
      ? refs.get(r.change)
      : undefined;
    post({ type: "alert", alert: ref === undefined ? req : { ...r, change: undefined }, ref });
  };
  // What a plugin must not reach, removed before it is imported: the internal ops, storage that writes to
  // disk without a permission (Cache API), nested Workers and code built from strings (both could import
  // files the load-time check never saw), and a real exit (reported as what it is instead).
  const g = globalThis as unknown as Record<string, unknown>;
  const denoAny = (globalThis as unknown as { Deno: Record<string | symbol, unknown> }).Deno;
  const refuse = (what: string) => () => {
    throw new Error(`${what} is not available to plugins`);
  };
  try {
    delete denoAny[denoAny.internal as symbol];
  } catch {
    // not configurable: left as it is
  }
  for (const name of ["caches", "CacheStorage", "Cache", "Worker", "BroadcastChannel", "localStorage"]) {
    try {
      delete g[name];
    } catch {
      // not configurable
    }
  }
  const seal = (obj: Record<string | symbol, unknown>, key: string, value: unknown) => {
    try {
      Object.defineProperty(obj, key, { value, writable: false, configurable: false });
    } catch {
      // not configurable
    }
  };
  class PluginExit extends Error {}
  const exit = (code?: unknown) => {
    throw new PluginExit(`called Deno.exit(${code === undefined ? "" : h.describeError(code)})`);
  };
  seal(denoAny, "exit", exit);
  seal(g, "close", () => {
    throw new PluginExit("called close()");
  });
  seal(g, "eval", refuse("eval"));
  const noCode = refuse("new Function (code from strings)");
  for (const f of [function () {}, async function () {}, function* () {}, async function* () {}]) {
    seal(Object.getPrototypeOf(f), "constructor", noCode);
  }
  (noCode as unknown as { prototype: unknown }).prototype = Function.prototype;
  seal(g, "Function", noCode);
  for (const timer of ["setTimeout", "setInterval"]) {
    const real = g[timer] as (...a: unknown[]) => unknown;
    seal(g, timer, (fn: unknown, ...rest: unknown[]) => {
      if (typeof fn !== "function") throw new TypeError(`${timer} needs a function`);
      return real(fn, ...rest);
    });
  }
  // The host's stdio carries nothing (the monitor talks to the host over a private channel), but a plugin's
  // console output is meant as log lines: it becomes log events (with its id and rate limit).
  const denoNs =
    (globalThis as unknown as { Deno: Record<string, unknown> & { inspect(v: unknown): string } })
      .Deno;
  const text = (args: unknown[]) =>
    args.map((a) => {
      if (typeof a === "string") return a;
      try {
        return denoNs.inspect(a);
      } catch {
        return String(a);
      }
    }).join(" ");
  const logLine = (...args: unknown[]) => post({ type: "log", line: text(args) });
  const quiet = globalThis.console as unknown as Record<string, unknown>;
  for (
    const method of ["log", "info", "debug", "warn", "error", "trace", "dir", "dirxml", "table", "assert"]
  ) {
    quiet[method] = method === "assert"
      ? (cond: unknown, ...args: unknown[]) => {
        if (!cond) logLine("Assertion failed:", ...args);
      }
      : logLine;
  }
  for (const stream of ["stdin", "stdout", "stderr"]) {
    try {
      Object.defineProperty(denoNs, stream, {
        configurable: false,
        get() {
          throw new Error(`Deno.${stream} is not available to plugins (use ctx.log)`);
        },
      });
    } catch {
      // Not configurable in this runtime: leave it.
    }
  }
  scope.addEventListener("error", (e) => {
    e.preventDefault();
    post({ type: "log", line: `uncaught error: ${h.describeError(e.error ?? (e as ErrorEvent).message)}` });
  });
  scope.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    post({ type: "log", line: `unhandled rejection: ${h.describeError(e.reason)}` });
  });
  const fail = (prefix: string, err: unknown): never => {
    throw new Error(`${prefix}${h.describeError(err)}`);
  };
  scope.onmessage = async (e: MessageEvent) => {
    const msg = e.data as { seq: number; op: string; [k: string]: unknown };
    try {
      let result: unknown = undefined;
      if (msg.op === "load") {
        // deno-lint-ignore no-explicit-any
        let mod: any;
        try {
          mod = await import(msg.url as string);
        } catch (err) {
          fail("cannot load: ", err);
        }
        if (mod.default === undefined) {
          throw new Error(
            "has no default export (it must default-export a factory taking the plugin's options)",
          );
        }
        if (typeof mod.default !== "function") {
          throw new Error(
            "default export is not a function (it must be a factory taking the plugin's options)",
          );
        }
        let p: unknown;
        try {
          p = await mod.default(msg.options);
        } catch (err) {
          fail("rejected its options: ", err);
        }
        const problem = h.checkPlugin(p, h.apiVersion);
        if (problem) throw new Error(problem);
        plugin = p;
        const hooks = ["init", "filter", "enrich", "onChanges", "onAlerts", "close"].filter((k) =>
          typeof plugin[k] === "function"
        );
        result = { id: plugin.id, hooks };
      } else if (msg.op === "init") {
        const options = msg.options;
        ctx = Object.freeze({
          id: msg.id,
          options,
          log: (line: unknown) => post({ type: "log", line: String(line) }),
          alert,
          now: () => Date.now(),
        });
        if (plugin.init) {
          try {
            await plugin.init(options, ctx);
          } catch (err) {
            fail("init failed: ", err);
          }
        }
      } else if (msg.op === "batch") {
        remember(msg.changes, msg.refs);
        result = await h.processBatch(plugin, msg.changes as unknown[], h.describeError);
      } else if (msg.op === "onChanges") {
        remember(msg.changes, msg.refs);
        await plugin.onChanges(msg.changes, ctx);
      } else if (msg.op === "onAlerts") {
        await plugin.onAlerts(msg.alerts);
      } else if (msg.op === "close") {
        if (plugin?.close) await plugin.close();
      }
      post({ seq: msg.seq, ok: true, result });
    } catch (err) {
      post({ seq: msg.seq, ok: false, error: err instanceof Error ? err.message : h.describeError(err) });
    }
  };
}

/** The Worker entry module as a `data:` URL (built once). */
export const BOOTSTRAP_URL: string = "data:text/javascript;charset=utf-8," + encodeURIComponent(
  `(${workerBootstrap.toString()})({processBatch: ${processBatch.toString()}, describeError: ${describeError.toString()}, ` +
    `checkPlugin: ${checkPlugin.toString()}, apiVersion: ${PLUGIN_API_VERSION}});\n`,
);

/** A request the Worker answered with an error, or could not answer because it stopped. */
export class WorkerCallError extends Error {
  /** @param message one line (the plugin's own error text, without the plugin name). */
  constructor(message: string) {
    super(message);
    this.name = "WorkerCallError";
  }
}

/** A request that could not be answered because the plugin host is restarting or gone (not the plugin's fault). */
export class HostUnavailableError extends WorkerCallError {
  /** @param message one line. */
  constructor(message: string) {
    super(message);
    this.name = "HostUnavailableError";
  }
}

/** Host side of one plugin Worker. */
export class WorkerRunner {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #seq = 0;
  #dead: string | null = null;
  readonly #onStop: ((reason: string) => void) | undefined;

  /**
   * Starts the Worker (it idles until {@link call} sends `load`).
   * @param name a name for the Worker (shows in debuggers).
   * @param permissions what the plugin may do.
   * @param onEvent receives alerts and log lines pushed by the plugin.
   * @param onStop called once when the Worker stops on its own (an error escaped it), not on {@link kill}.
   * @throws whatever `new Worker` throws (e.g. `NotCapable` when asking for more than the host has).
   */
  constructor(
    name: string,
    permissions: WorkerPermissions,
    onEvent: (event: WorkerEvent) => void,
    onStop?: (reason: string) => void,
  ) {
    this.#onStop = onStop;
    this.#worker = new Worker(BOOTSTRAP_URL, {
      type: "module",
      name,
      deno: { permissions },
    } as WorkerOptions);
    this.#worker.onmessage = (e: MessageEvent) => {
      const data = e.data as WorkerReply | WorkerEvent;
      if ("seq" in data) {
        const waiter = this.#pending.get(data.seq);
        if (!waiter) return;
        this.#pending.delete(data.seq);
        if (data.ok) waiter.resolve(data.result);
        else waiter.reject(new WorkerCallError(data.error));
      } else if (data && (data.type === "alert" || data.type === "log")) {
        onEvent(data);
      }
    };
    this.#worker.onmessageerror = () =>
      onEvent({ type: "log", line: "sent a message that could not be read" });
    this.#worker.onerror = (e: ErrorEvent) => {
      // Without preventDefault an error escaping the Worker would end the host process.
      e.preventDefault();
      const reason = `worker stopped: ${describeError(e.error ?? e.message)}`;
      if (this.#stop(reason)) this.#onStop?.(reason);
    };
  }

  /** Why the Worker is gone (`null` while it runs). */
  get dead(): string | null {
    return this.#dead;
  }

  /** Sends one request and resolves with the Worker's answer; rejects with {@link WorkerCallError}. */
  call(op: string, payload: Record<string, unknown> = {}): Promise<unknown> {
    if (this.#dead) return Promise.reject(new WorkerCallError(this.#dead));
    const seq = ++this.#seq;
    return new Promise((resolve, reject) => {
      this.#pending.set(seq, { resolve, reject });
      try {
        this.#worker.postMessage({ ...payload, seq, op });
      } catch (err) {
        this.#pending.delete(seq);
        reject(new WorkerCallError(`could not send ${op} to the worker: ${describeError(err)}`));
      }
    });
  }

  /**
   * Terminates the Worker (idempotent); pending requests reject. This does not stop a synchronous endless
   * loop in Deno 2.9.6 (only ending the process does), which is why Workers live in the plugin host process.
   */
  kill(reason = "worker terminated"): void {
    this.#stop(reason);
  }

  /** Returns whether this call stopped it (false when it was already stopped). */
  #stop(reason: string): boolean {
    if (this.#dead) return false;
    this.#dead = reason;
    this.#worker.terminate();
    for (const waiter of this.#pending.values()) waiter.reject(new WorkerCallError(reason));
    this.#pending.clear();
    return true;
  }
}
