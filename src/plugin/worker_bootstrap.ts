/**
 * The program of a plugin's Worker, built from the source text of the self-contained functions below (each
 * receives what it needs as arguments; `Function.prototype.toString` turns them into the `data:` URL the
 * Worker starts from, so nothing has to be embedded or read from disk, in `deno run` and in a `deno compile`
 * binary alike):
 *
 * - {@link lockdown} runs first, before the plugin is imported: it removes what a plugin must not reach;
 * - {@link routeConsole} turns `console.*` into log lines and hides the standard streams;
 * - {@link loadPlugin} imports the plugin and runs its factory;
 * - {@link workerMain} answers the host's requests (`load`, `init`, `batch`, `onChanges`, `onAlerts`,
 *   `close`) with `{seq, ok, result | error}` and pushes alerts and log lines as events.
 *
 * @module
 */

import { checkPlugin, describeError, processBatch } from "./hooks.ts";
import { PLUGIN_API_VERSION } from "./api.ts";

/** What {@link workerMain} is given. */
interface Helpers {
  processBatch: typeof processBatch;
  describeError: typeof describeError;
  checkPlugin: typeof checkPlugin;
  lockdown: typeof lockdown;
  routeConsole: typeof routeConsole;
  loadPlugin: typeof loadPlugin;
  outbox: typeof outbox;
  apiVersion: number;
}

/**
 * Removes what a plugin must not reach: the internal ops, storage that writes to disk without a permission
 * (Cache API), V8's full collection (`gc`, exposed for the monitor's heap budget), nested Workers and code
 * built from strings (both could import files the load-time check never saw), and a real exit (a call to
 * `Deno.exit` or `close` throws, and is reported as what it is).
 */
function lockdown(describe: (err: unknown) => string): void {
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
    throw new PluginExit(`called Deno.exit(${code === undefined ? "" : describe(code)})`);
  };
  seal(denoAny, "exit", exit);
  seal(g, "close", () => {
    throw new PluginExit("called close()");
  });
  seal(g, "eval", refuse("eval"));
  // V8 installs gc (--expose-gc, for the monitor's heap budget) writable but not configurable: replaced
  if ("gc" in g) seal(g, "gc", refuse("gc"));
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
}

/** Routes `console.*` to log lines (with the plugin's id and rate limit) and hides `Deno.stdin/stdout/stderr`. */
function routeConsole(post: (message: unknown) => void): void {
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
}

/** Imports the plugin and runs its factory; returns the plugin object, or throws one line. */
// deno-lint-ignore no-explicit-any
async function loadPlugin(h: Helpers, url: string, options: unknown): Promise<any> {
  const fail = (prefix: string, err: unknown): never => {
    throw new Error(`${prefix}${h.describeError(err)}`);
  };
  // deno-lint-ignore no-explicit-any
  let mod: any;
  try {
    mod = await import(url);
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
    p = await mod.default(options);
  } catch (err) {
    fail("rejected its options: ", err);
  }
  const problem = h.checkPlugin(p, h.apiVersion);
  if (problem) throw new Error(problem);
  return p;
}

/**
 * How the Worker talks to the host: `post` (a value that cannot be passed on becomes an error answer or a
 * log line), and `alert`, which sends the id the runtime gave a change (`remember`) instead of the change.
 */
function outbox(describe: (err: unknown) => string) {
  const scope = globalThis as unknown as { postMessage(message: unknown): void };
  const post = (message: unknown) => {
    try {
      scope.postMessage(message);
    } catch (err) {
      const why = describe(err);
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
  return { post, remember, alert };
}

/** The Worker's main program: see the module doc. */
function workerMain(h: Helpers): void {
  h.lockdown(h.describeError);
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
  const { post, remember, alert } = h.outbox(h.describeError);
  h.routeConsole(post);
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
  const hooks = () =>
    ["init", "filter", "enrich", "onChanges", "onAlerts", "close"].filter((k) =>
      typeof plugin[k] === "function"
    );
  scope.onmessage = async (e: MessageEvent) => {
    const msg = e.data as { seq: number; op: string; [k: string]: unknown };
    try {
      let result: unknown = undefined;
      if (msg.op === "load") {
        plugin = await h.loadPlugin(h, msg.url as string, msg.options);
        result = { id: plugin.id, hooks: hooks() };
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
  `(${workerMain.toString()})({processBatch: ${processBatch.toString()}, describeError: ${describeError.toString()}, ` +
    `checkPlugin: ${checkPlugin.toString()}, lockdown: ${lockdown.toString()}, routeConsole: ${routeConsole.toString()}, ` +
    `loadPlugin: ${loadPlugin.toString()}, outbox: ${outbox.toString()}, apiVersion: ${PLUGIN_API_VERSION}});\n`,
);
