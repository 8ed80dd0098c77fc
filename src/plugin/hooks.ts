/**
 * Hook-calling code shared by the in-process runner (built-ins) and the Worker bootstrap (user plugins).
 *
 * Every function here is **self-contained** (no reference to anything outside its own body): the Worker
 * bootstrap is built from their source text (`Function.prototype.toString`), which is what makes it work
 * inside a `deno compile` binary without embedding an extra file.
 *
 * @module
 */

/** Hook names a plugin may define, in the order the pipeline calls them. */
export const HOOK_NAMES = ["init", "filter", "enrich", "onChanges", "onAlerts", "close"] as const;

/** A hook name. */
export type HookName = typeof HOOK_NAMES[number];

/** How often one hook failed during one batch, and the first failure. */
export interface HookFailure {
  /** Number of failed calls. */
  count: number;
  /** One-line description of the first failure. */
  first: string;
}

/** What `filter` and `enrich` made of one batch. */
export interface BatchResult {
  /** One verdict per input change, or `null` when the plugin has no `filter`. */
  keep: boolean[] | null;
  /** Enrichment fields per input change (`null` for none), or `null` when the plugin has no `enrich`. */
  extra: (Record<string, unknown> | null)[] | null;
  /** Failed calls by hook (`filter`, `enrich`). */
  failures: Record<string, HookFailure>;
}

/** The subset of a plugin object {@link processBatch} uses. */
export interface BatchPlugin {
  /** See `Plugin.filter`. */
  filter?: (change: never) => unknown;
  /** See `Plugin.enrich`. */
  enrich?: (change: never) => unknown;
}

/**
 * One line describing an error: `Name: message`, ANSI colours removed, followed by the first
 * `file:` location found in the message or stack (useful for syntax errors in plugin files).
 */
export function describeError(err: unknown): string {
  // deno-lint-ignore no-control-regex
  const ansi = /\u001b\[[0-9;]*m/g;
  let head: string;
  let rest = "";
  let isError = false;
  try {
    isError = err instanceof Error && typeof err.message === "string";
  } catch {
    // a Proxy that throws
  }
  if (isError && err instanceof Error) {
    try {
      const text = String(err.message ?? "").replace(ansi, "");
      const lines = text.split(/\r?\n/);
      const name = err.name && err.name !== "Error" && !lines[0].startsWith(err.name) ? `${err.name}: ` : "";
      head = `${name}${lines[0].trim()}`;
      const cause = (err as { cause?: unknown }).cause;
      if (cause instanceof Error && cause.message && !head.includes(cause.message)) {
        head += `: ${cause.message.replace(ansi, "").split(/\r?\n/)[0]}`;
      }
      rest = `${lines.slice(1).join("\n")}\n${String(err.stack ?? "").replace(ansi, "")}`;
    } catch {
      head = "threw an error that cannot be shown (reading its message or name throws)";
    }
  } else {
    try {
      head = String(err).replace(ansi, "").split(/\r?\n/)[0];
    } catch {
      head = "threw a value that cannot be shown (its toString throws)";
    }
  }
  const at = /(file:\/\/[^\s)]+:\d+:\d+)/.exec(rest);
  if (at && !head.includes(at[1])) head += ` (at ${at[1]})`;
  return head.length > 500 ? `${head.slice(0, 497)}...` : head;
}

/** Checks what a factory returned; returns a one-line problem, or `null` when it is a valid plugin. */
export function checkPlugin(value: unknown, apiVersion: number): string | null {
  if (typeof value !== "object" || value === null) {
    return `factory returned ${value === null ? "null" : typeof value}, expected a plugin object`;
  }
  const p = value as Record<string, unknown>;
  if (p.apiVersion !== apiVersion) {
    return `plugin declares apiVersion ${
      JSON.stringify(p.apiVersion)
    }; this portreporter supports apiVersion ${apiVersion}`;
  }
  if (typeof p.id !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(p.id)) {
    return `plugin id ${JSON.stringify(p.id)} is not 1-64 letters, digits, ".", "_" or "-"`;
  }
  for (const hook of ["init", "filter", "enrich", "onChanges", "onAlerts", "close"]) {
    if (p[hook] !== undefined && typeof p[hook] !== "function") {
      return `plugin hook ${hook} is not a function`;
    }
  }
  return null;
}

/**
 * Runs `filter` then `enrich` over a batch, one change at a time. A call that throws, rejects or returns the
 * wrong type is counted and leaves the change as it was (kept, not enriched).
 */
export async function processBatch(
  plugin: BatchPlugin,
  changes: readonly unknown[],
  describe: (err: unknown) => string,
): Promise<BatchResult> {
  const out: BatchResult = { keep: null, extra: null, failures: {} };
  const fail = (hook: string, err: unknown) => {
    const f = out.failures[hook] ??= { count: 0, first: "" };
    if (f.count++ === 0) f.first = describe(err);
  };
  if (typeof plugin.filter === "function") {
    const keep: boolean[] = out.keep = [];
    for (const change of changes) {
      let verdict = true;
      try {
        const v = await plugin.filter(change as never);
        if (v === false) verdict = false;
        else if (v !== true) {
          fail("filter", new TypeError(`returned ${v === null ? "null" : typeof v}, expected true or false`));
        }
      } catch (err) {
        fail("filter", err);
      }
      keep.push(verdict);
    }
  }
  if (typeof plugin.enrich === "function") {
    const extra: (Record<string, unknown> | null)[] = out.extra = [];
    for (let i = 0; i < changes.length; i++) {
      if (out.keep && !out.keep[i]) {
        extra.push(null);
        continue;
      }
      let fields: Record<string, unknown> | null = null;
      try {
        const v = await plugin.enrich(changes[i] as never);
        if (typeof v === "object" && v !== null && !Array.isArray(v)) {
          // Bounded here already (the monitor cuts again, with a marker), so that a huge value costs nothing
          // to pass on: a string field is kept to 8192 characters, any other field to 8192 of JSON.
          fields = {};
          for (const [key, value] of Object.entries(v)) {
            if (typeof value === "string") fields[key] = value.length > 8192 ? value.slice(0, 8192) : value;
            else {
              const json = JSON.stringify(value);
              fields[key] = json !== undefined && json.length > 8192 ? json.slice(0, 8192) : value;
            }
          }
        } else if (v !== undefined && v !== null) {
          fail("enrich", new TypeError(`returned ${typeof v}, expected an object`));
        }
      } catch (err) {
        fail("enrich", err);
      }
      extra.push(fields);
    }
  }
  return out;
}
