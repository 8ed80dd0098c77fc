/**
 * Loading, first half: what to load. Checks every configured plugin (built-in names, files, the plugins
 * folder) and every grant before anything runs, so that a bad entry is one line at start.
 *
 * @module
 */

import { dirname, extname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "../errors.ts";
import { describeError } from "./hooks.ts";
import { checkImports } from "./imports.ts";
import { isRecord } from "./options.ts";
import { checkTrust } from "./trust.ts";
import type { WorkerPermissions } from "./worker_host.ts";

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

/** A configured plugin, checked and resolved, before it is loaded (or why it cannot be). */
export type Planned =
  | { kind: "builtin"; name: string; options: Record<string, unknown> }
  | { kind: "file"; file: string; options: Record<string, unknown>; perms: WorkerPermissions }
  | { kind: "error"; error: unknown };

/** File name endings of user plugins. */
export const PLUGIN_FILE_EXTENSIONS = [".ts", ".js", ".mts", ".mjs"];
const PERMISSION_KEYS = ["read", "write", "net", "env", "run"] as const;

/** Builds the Worker permissions for a user plugin from its `permissions` option. */
export function workerPermissions(
  file: string,
  raw: unknown,
  base: string,
  label: string,
): WorkerPermissions {
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

/** What a start-up line says a plugin is granted: `no grants`, or `net=a,b read=c`. */
export function describeGrants(perms: WorkerPermissions): string {
  const parts: string[] = [];
  for (const key of PERMISSION_KEYS) {
    const list = perms[key];
    if (!list) continue;
    const shown = key === "read" ? list.slice(1) : list;
    if (shown.length > 0) parts.push(`${key}=${shown.join(",")}`);
  }
  return parts.length ? parts.join(" ") : "no grants";
}

/** The user plugin files of a folder, by name; `[]` when it does not exist. */
export async function listPluginDir(dir: string): Promise<string[]> {
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
 * Checks a user plugin file (its imports and the trust of every file and folder it loads from) and its
 * `permissions` option: everything that needs no loading.
 */
async function planFile(
  file: string,
  rawOptions: Record<string, unknown>,
  base: string,
  folder = dirname(file),
): Promise<Planned> {
  if (!PLUGIN_FILE_EXTENSIONS.includes(extname(file))) {
    throw new UsageError(`plugin ${file}: not a .ts or .js file`);
  }
  try {
    const info = await Deno.stat(file);
    if (!info.isFile) throw new UsageError(`plugin ${file}: not a file`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if (err instanceof Deno.errors.NotFound) throw new UsageError(`plugin ${file}: file not found`);
    throw new UsageError(`plugin ${file}: cannot read it (${describeError(err)})`);
  }
  try {
    await checkImports(file, folder, (path) => checkTrust([path], folder));
  } catch (err) {
    throw new UsageError(`plugin ${file}: ${err instanceof Error ? err.message : describeError(err)}`);
  }
  const { permissions, ...options } = rawOptions;
  return { kind: "file", file, options, perms: workerPermissions(file, permissions, base, file) };
}

function planSpec(i: number, spec: PluginSpec, base: string): Promise<Planned> | Planned {
  if (!isRecord(spec) || (spec.name === undefined) === (spec.path === undefined)) {
    throw new UsageError(
      `plugin #${i + 1}: give either "name" (a built-in) or "path" (a plugin file), not both`,
    );
  }
  if (spec.options !== undefined && !isRecord(spec.options)) {
    throw new UsageError(`plugin ${spec.name ? `"${spec.name}"` : spec.path}: "options" must be an object`);
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
  return planFile(file, options, base);
}

/**
 * Every plugin to load, in order: the specs, then the files of the plugins folder that no spec names. A
 * problem is kept in its place (reported in config order when loading reaches it).
 */
export async function plan(
  specs: readonly PluginSpec[],
  pluginDir: string | undefined,
  base: string,
): Promise<
  Planned[]
> {
  const out: Planned[] = [];
  const push = async (make: () => Promise<Planned> | Planned) => {
    try {
      out.push(await make());
    } catch (error) {
      out.push({ kind: "error", error });
    }
  };
  for (const [i, spec] of specs.entries()) await push(() => planSpec(i, spec, base));
  if (!pluginDir) return out;
  const seen = new Set(out.flatMap((p) => p.kind === "file" ? [p.file] : []));
  const dir = resolve(base, pluginDir);
  let files: string[] = [];
  try {
    files = await listPluginDir(dir);
  } catch (error) {
    out.push({ kind: "error", error });
  }
  for (const file of files) if (!seen.has(file)) await push(() => planFile(file, {}, base, dir));
  return out;
}
