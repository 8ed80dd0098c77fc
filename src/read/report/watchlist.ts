/**
 * The watchlist of the report's "of interest" section: a JSONC file naming ports, process names or
 * paths, modules, users, remote addresses / CIDR ranges and host names of interest, and the paths a
 * known process name must run from (PR-Parser's check for a legitimate name in the wrong directory).
 * Matching reuses the plugins' rules (`src/plugin/match.ts`): port ranges, `BlockList` CIDRs,
 * case-insensitive globs where `\` and `/` both separate.
 *
 * @module
 */

import { lookup } from "node:dns/promises";
import { UsageError } from "../../errors.ts";
import { compileAddresses, compileGlob, compilePorts, type Predicate } from "../../plugin/match.ts";
import { describeValue } from "../../plugin/options.ts";

/** The keys a watchlist file may have. */
export const WATCHLIST_KEYS = [
  "ports",
  "processes",
  "modules",
  "users",
  "addresses",
  "hostnames",
  "expectedPaths",
  "builtinPaths",
] as const;

/**
 * Where well-known Windows processes live; a process of that name anywhere else is reported
 * (unless the watchlist says `"builtinPaths": false`). `?:` is any drive.
 */
export const BUILTIN_PATHS: Record<string, string[]> = Object.fromEntries(
  [
    "svchost.exe",
    "lsass.exe",
    "services.exe",
    "csrss.exe",
    "smss.exe",
    "wininit.exe",
    "winlogon.exe",
    "spoolsv.exe",
  ]
    .map((n) => [n, [`?:\\Windows\\System32\\${n}`, `?:\\Windows\\SysWOW64\\${n}`]]),
);
BUILTIN_PATHS["explorer.exe"] = ["?:\\Windows\\explorer.exe"];

/** A compiled watchlist. */
export interface Watchlist {
  /** Ports of interest (local or remote). */
  ports?: Predicate<number>;
  /** Process name globs (no separator) or path globs. */
  processes?: { name: Predicate<string>[]; path: Predicate<string>[] };
  /** Module path or file name globs. */
  modules?: Predicate<string>[];
  /** User globs (on `DOMAIN\user` or on the user name alone). */
  users?: Predicate<string>[];
  /** Remote addresses and ranges. */
  addresses?: Predicate<string>;
  /** Host names, with the addresses they resolved to when the report was made. */
  hostnames: { name: string; addresses: string[]; error?: string }[];
  /** Process name (lower case) → the path globs it may run from. */
  expectedPaths: Map<string, { patterns: string[]; match: Predicate<string>[] }>;
}

function strings(value: unknown, where: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || list.some((v) => typeof v !== "string" || v === "")) {
    throw new UsageError(`${where} must be a non-empty text or a list of them; got ${describeValue(value)}`);
  }
  return list as string[];
}

const globs = (value: unknown, where: string) => strings(value, where).map((p) => compileGlob(p, where));

/** Compiles a parsed watchlist object (host names not yet resolved). */
export function compileWatchlist(value: unknown, file: string): Watchlist {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError(`watchlist ${file}: expected a JSON object at the top level`);
  }
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) {
    if (!(WATCHLIST_KEYS as readonly string[]).includes(key)) {
      throw new UsageError(
        `watchlist ${file}: unknown key "${key}"; the keys are ${WATCHLIST_KEYS.join(", ")}`,
      );
    }
  }
  const at = (k: string) => `watchlist ${file}: ${k}`;
  const w: Watchlist = { hostnames: [], expectedPaths: new Map() };
  if (v.ports !== undefined) w.ports = compilePorts(v.ports, at("ports"));
  if (v.processes !== undefined) {
    const list = strings(v.processes, at("processes"));
    w.processes = {
      name: list.filter((p) => !/[\\/]/.test(p)).map((p) => compileGlob(p, at("processes"))),
      path: list.filter((p) => /[\\/]/.test(p)).map((p) => compileGlob(p, at("processes"))),
    };
  }
  if (v.modules !== undefined) w.modules = globs(v.modules, at("modules"));
  if (v.users !== undefined) w.users = globs(v.users, at("users"));
  if (v.addresses !== undefined) w.addresses = compileAddresses(v.addresses, at("addresses"));
  if (v.hostnames !== undefined) {
    w.hostnames = strings(v.hostnames, at("hostnames")).map((name) => ({ name, addresses: [] }));
  }
  if (v.builtinPaths !== undefined && typeof v.builtinPaths !== "boolean") {
    throw new UsageError(`${at("builtinPaths")} must be true or false`);
  }
  const expected: Record<string, unknown> = { ...(v.builtinPaths === false ? {} : BUILTIN_PATHS) };
  if (v.expectedPaths !== undefined) {
    if (typeof v.expectedPaths !== "object" || v.expectedPaths === null || Array.isArray(v.expectedPaths)) {
      throw new UsageError(`${at("expectedPaths")} must be an object: process name → path globs`);
    }
    Object.assign(expected, v.expectedPaths);
  }
  for (const [name, paths] of Object.entries(expected)) {
    const patterns = strings(paths, at(`expectedPaths.${name}`));
    w.expectedPaths.set(name.toLowerCase(), {
      patterns,
      match: patterns.map((p) => compileGlob(p, at("expectedPaths"))),
    });
  }
  return w;
}

/** Reads, parses (JSONC), compiles a watchlist file and resolves its host names (3 s each at most). */
export async function loadWatchlist(path: string): Promise<Watchlist> {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
    throw new UsageError(`cannot read watchlist ${path}: ${why}`);
  }
  const { parse, printParseErrorCode } = await import("jsonc-parser");
  const errors: import("jsonc-parser").ParseError[] = [];
  const value = parse(text, errors, { allowTrailingComma: true });
  if (errors.length) {
    const before = text.slice(0, errors[0].offset).split("\n");
    throw new UsageError(
      `watchlist ${path}: ${printParseErrorCode(errors[0].error)} at line ${before.length}, column ${
        before.at(-1)!.length + 1
      }`,
    );
  }
  const w = compileWatchlist(value, path);
  await Promise.all(w.hostnames.map(async (h) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const timeout = new Promise<never>((_, reject) =>
        timer = setTimeout(() => reject(new Error("timed out")), 3000)
      );
      const found = await Promise.race([lookup(h.name, { all: true }), timeout]);
      h.addresses = [...new Set(found.map((a) => a.address))];
    } catch (e) {
      h.error = (e as Error).message;
    } finally {
      clearTimeout(timer);
    }
  }));
  return w;
}
