/**
 * Settings of a monitor run: the JSONC config file merged with the command line (flags win), every
 * value validated up front so that a mistake is one clear line at start, not a surprise an hour later.
 *
 * @module
 */

import { dirname, isAbsolute, resolve } from "node:path";
import { UsageError } from "../errors.ts";
import { DEFAULT_MAX_BYTES } from "../log/rotation.ts";
import { DEFAULT_MAX_AGE_MS, DEFAULT_MAX_TOTAL_BYTES, parseMaxAge } from "../log/retention.ts";
import { DEFAULT_INTERVAL_MS, MIN_INTERVAL_MS } from "../monitor/monitor.ts";
import { plural } from "../monitor/summary.ts";
import { didYouMean, parseOptions } from "./options.ts";
import { readJsoncObject } from "./config_file.ts";
import { escapeField } from "../model/text.ts";

/** One plugin entry of the config: a built-in by name or a user plugin file by path. */
export interface PluginEntry {
  /** Built-in plugin id, e.g. `filter`. */
  name?: string;
  /** User plugin file (.ts/.js), absolute or relative to the config file. */
  path?: string;
  /** The plugin's options, passed to its factory. */
  options?: Record<string, unknown>;
}

/** Everything a monitor run is configured with. */
export interface Settings {
  /** Directory of the log files. */
  logDir: string;
  /** Interval between polls, ms. */
  intervalMs: number;
  /** Size limit of one log file, bytes. */
  maxBytes: number;
  /** Plugins, in order: the config's list, then `--plugin` files. */
  plugins: PluginEntry[];
  /** Folder of user plugins loaded after the listed ones. */
  pluginDir: string;
  /** Directory relative plugin paths resolve against. */
  configDir: string;
  /** IANA time zone for the logs' local time; the system zone when absent. */
  timeZone?: string;
  /** Retention: sets older than this are removed (ms; 0 keeps all). */
  maxAgeMs: number;
  /** Retention: oldest sets are removed while all together are larger (bytes; 0: no limit). */
  maxTotalBytes: number;
}

/** The keys a config file may hold (anything else is a typo and rejected). */
export const CONFIG_KEYS = [
  "logDir",
  "interval",
  "maxSize",
  "plugins",
  "pluginDir",
  "timeZone",
  "maxAge",
  "maxTotalSize",
] as const;

/** The command-line values that can override the config. */
export interface SettingFlags {
  logDir?: string;
  interval?: string;
  maxSize?: string;
  maxAge?: string;
  maxTotalSize?: string;
  plugin?: string[];
  pluginDir?: string;
  config?: string;
}

const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
/** Decimal units are powers of 1000, binary units (KiB, MiB, GiB) powers of 1024. */
const UNITS_BYTES: Record<string, number> = {
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** A value as the user gave it, escaped and bounded for a one-line message. */
function shown(value: string | number): string {
  const text = String(value);
  return escapeField(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

/** Parses `250`, `250ms`, `1s`, `1.5s`, `2m`, `1h` into milliseconds; `what` names the setting in the error. */
export function parseInterval(value: string | number, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(String(value));
  const ms = m ? Math.round(Number(m[1]) * UNITS_MS[(m[2] ?? "ms").toLowerCase()]) : NaN;
  if (!Number.isFinite(ms)) {
    throw new UsageError(
      `${what}: '${shown(value)}' is not a duration; use milliseconds (1000) or a number with a unit: ` +
        `ms, s, m or h (500ms, 2s, 1.5m, 1h)`,
    );
  }
  if (ms < MIN_INTERVAL_MS) {
    throw new UsageError(`${what}: ${ms} ms is below the minimum of ${MIN_INTERVAL_MS} ms`);
  }
  if (ms > 3_600_000) throw new UsageError(`${what}: ${ms} ms is above the maximum of 1 hour (1h)`);
  return ms;
}

/** Parses `5242880`, `5MB` (5 000 000), `5MiB` (5 242 880), `512KiB`, `1GB` into bytes; at least 64 KiB (one change's worst case fits). */
export function parseSize(value: string | number, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)?\s*$/i.exec(String(value));
  const unit = (m?.[2] ?? "b").toLowerCase();
  const bytes = m && UNITS_BYTES[unit] ? Math.floor(Number(m[1]) * UNITS_BYTES[unit]) : NaN;
  if (!Number.isFinite(bytes)) {
    throw new UsageError(
      `${what}: '${shown(value)}' is not a size; use bytes (5242880) or a number with a unit: ` +
        `KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024), e.g. 5MiB`,
    );
  }
  if (bytes < 65536) {
    throw new UsageError(`${what}: ${plural(bytes, "byte")} is below the minimum of 64 KiB (65536)`);
  }
  return bytes;
}

/** Reads and validates a JSONC config file; every problem is a UsageError naming the file. */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  const value = await readJsoncObject(path);
  for (const key of Object.keys(value)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
      throw new UsageError(
        `config file ${escapeField(path)}: unknown setting '${escapeField(key)}'${
          didYouMean(key, CONFIG_KEYS)
        }; known settings: ${CONFIG_KEYS.join(", ")}`,
      );
    }
  }
  return value;
}

function expectString(value: unknown, what: string): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new UsageError(`${what} must be a non-empty string`);
  }
  return value;
}

function pluginEntries(value: unknown, where: string): PluginEntry[] {
  if (!Array.isArray(value)) throw new UsageError(`${where} 'plugins' must be a list`);
  return value.map((entry, i) => {
    const at = `${where} plugins[${i}]`;
    if (typeof entry === "string") return { name: entry };
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw new UsageError(`${at} must be a name or an object with "name" or "path"`);
    }
    const { name, path, options, ...rest } = entry as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length) {
      throw new UsageError(`${at}: unknown key '${shown(extra[0])}'; use name, path and options`);
    }
    if ((name === undefined) === (path === undefined)) {
      throw new UsageError(`${at} needs exactly one of "name" or "path"`);
    }
    if (
      options !== undefined && (typeof options !== "object" || options === null || Array.isArray(options))
    ) {
      throw new UsageError(`${at} "options" must be an object`);
    }
    return {
      name: name === undefined ? undefined : expectString(name, `${at} "name"`),
      path: path === undefined ? undefined : expectString(path, `${at} "path"`),
      options: options as Record<string, unknown> | undefined,
    };
  });
}

/** A folder named explicitly must exist: a typo would otherwise load no plugin, silently. */
function requireDir(dir: string, what: string): void {
  let isDirectory = false;
  try {
    isDirectory = Deno.statSync(dir).isDirectory;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    throw new UsageError(`${what}: ${escapeField(dir)} does not exist; create it or fix the path`);
  }
  if (!isDirectory) throw new UsageError(`${what}: ${escapeField(dir)} is not a folder`);
}

/** Merges defaults, the config file (when given) and the flags into validated settings. */
export async function resolveSettings(
  flags: SettingFlags,
  defaults: { logDir: string; pluginDir: string },
  cwd = Deno.cwd(),
): Promise<Settings> {
  const configPath = flags.config ? resolve(cwd, flags.config) : undefined;
  const config = configPath ? await readConfigFile(configPath) : {};
  const where = configPath ? `config file ${escapeField(configPath)}:` : "config:";
  const configDir = configPath ? dirname(configPath) : cwd;
  const fromConfig = (key: string) => (config[key] === undefined ? undefined : config[key]);

  const dirSetting = (flag: string | undefined, key: string, fallback: string) => {
    if (flag !== undefined) {
      return resolve(cwd, expectString(flag, `--${key === "logDir" ? "log-dir" : "plugin-dir"}`));
    }
    const v = fromConfig(key);
    if (v === undefined) return fallback;
    const s = expectString(v, `${where} '${key}'`);
    return isAbsolute(s) ? s : resolve(configDir, s);
  };

  const intervalValue = flags.interval ?? fromConfig("interval");
  const sizeValue = flags.maxSize ?? fromConfig("maxSize");
  const checkScalar = (v: unknown, key: string) => {
    if (v !== undefined && typeof v !== "string" && typeof v !== "number") {
      throw new UsageError(`${where} '${key}' must be a number or a string`);
    }
  };
  checkScalar(fromConfig("interval"), "interval");
  checkScalar(fromConfig("maxSize"), "maxSize");
  const intervalMs = intervalValue === undefined ? DEFAULT_INTERVAL_MS : parseInterval(
    intervalValue as string | number,
    flags.interval !== undefined ? "--interval" : `${where} 'interval'`,
  );
  const maxBytes = sizeValue === undefined ? DEFAULT_MAX_BYTES : parseSize(
    sizeValue as string | number,
    flags.maxSize !== undefined ? "--max-size" : `${where} 'maxSize'`,
  );

  const retention = retentionSettings(flags, fromConfig, where);

  let timeZone: string | undefined;
  if (fromConfig("timeZone") !== undefined) {
    timeZone = expectString(fromConfig("timeZone"), `${where} 'timeZone'`);
    try {
      new Intl.DateTimeFormat("en-US", { timeZone });
    } catch {
      throw new UsageError(
        `${where} 'timeZone': '${shown(timeZone)}' is not an IANA time zone (e.g. Europe/Berlin)`,
      );
    }
  }

  const plugins = fromConfig("plugins") === undefined ? [] : pluginEntries(fromConfig("plugins"), where);
  for (const path of flags.plugin ?? []) plugins.push({ path: resolve(cwd, expectString(path, "--plugin")) });

  const pluginDir = dirSetting(flags.pluginDir, "pluginDir", defaults.pluginDir);
  if (flags.pluginDir !== undefined || fromConfig("pluginDir") !== undefined) {
    requireDir(pluginDir, flags.pluginDir !== undefined ? "--plugin-dir" : `${where} 'pluginDir'`);
  }

  return {
    logDir: dirSetting(flags.logDir, "logDir", defaults.logDir),
    intervalMs,
    maxBytes,
    plugins,
    pluginDir,
    configDir,
    timeZone,
    ...retention,
  };
}

/** `--max-age`/`maxAge` and `--max-total-size`/`maxTotalSize`, with their defaults. */
function retentionSettings(
  flags: SettingFlags,
  fromConfig: (key: string) => unknown,
  where: string,
): { maxAgeMs: number; maxTotalBytes: number } {
  const value = (flag: string | undefined, key: string) => {
    const v = flag ?? fromConfig(key);
    if (v !== undefined && typeof v !== "string" && typeof v !== "number") {
      throw new UsageError(`${where} '${key}' must be a number or a string`);
    }
    return v as string | number | undefined;
  };
  const age = value(flags.maxAge, "maxAge");
  const total = value(flags.maxTotalSize, "maxTotalSize");
  return {
    maxAgeMs: age === undefined
      ? DEFAULT_MAX_AGE_MS
      : parseMaxAge(age, flags.maxAge !== undefined ? "--max-age" : `${where} 'maxAge'`),
    // the units of --max-size; 0 turns the limit off
    maxTotalBytes: total === undefined
      ? DEFAULT_MAX_TOTAL_BYTES
      : /^\s*0+\s*$/.test(String(total))
      ? 0
      : parseSize(total, flags.maxTotalSize !== undefined ? "--max-total-size" : `${where} 'maxTotalSize'`),
  };
}

/** The options of `portreporter run` (and `service`, which takes the same). */
export const RUN_OPTIONS = {
  "log-dir": { type: "string" },
  interval: { type: "string" },
  "max-size": { type: "string" },
  "max-age": { type: "string" },
  "max-total-size": { type: "string" },
  config: { type: "string" },
  plugin: { type: "string", multiple: true },
  "plugin-dir": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export { parseOptions } from "./options.ts";

/** Parses the `run`/`service` command line into settings flags (plus `help`). */
export function parseRunFlags(command: string, args: string[]): SettingFlags & { help?: boolean } {
  const { values } = parseOptions(command, args, RUN_OPTIONS);
  return {
    logDir: values["log-dir"],
    interval: values.interval,
    maxSize: values["max-size"],
    maxAge: values["max-age"],
    maxTotalSize: values["max-total-size"],
    config: values.config,
    plugin: values.plugin,
    pluginDir: values["plugin-dir"],
    help: values.help,
  };
}
