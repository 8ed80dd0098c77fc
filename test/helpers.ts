/**
 * Shared test helpers: run the real CLI the way the compiled executable runs, with the same
 * permissions and V8 flags as the `compile` task (read from deno.json, so they cannot drift).
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT: string = dirname(dirname(fileURLToPath(import.meta.url)));

/** Options of `deno compile` that shape the binary but do not exist for `deno run`. */
const COMPILE_ONLY = new Set(["--include", "--output", "--target", "--icon", "--exclude"]);

/**
 * The permission and V8 flags baked into the executable by `deno task compile`, as `deno run` flags.
 * @param task which compile task to read (`compile` or `compile:windows`).
 */
export function runtimeFlags(task = "compile"): string[] {
  const config = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
  const command: string = config.tasks[task].command;
  const words = command.split(/\s+/);
  const flags: string[] = [];
  for (let i = words.indexOf("compile") + 1; i < words.length && words[i] !== "main.ts"; i++) {
    const [name] = words[i].split("=");
    if (COMPILE_ONLY.has(name)) {
      if (!words[i].includes("=")) i++;
      continue;
    }
    flags.push(words[i]);
  }
  return flags;
}

/** The output of one CLI run. */
export interface CliResult {
  /** Exit code. */
  code: number;
  /** Everything written to stdout. */
  stdout: string;
  /** Everything written to stderr. */
  stderr: string;
}

/** Runs `deno run <compile flags> main.ts ...args` to completion. */
export async function runCli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...runtimeFlags(), join(ROOT, "main.ts"), ...args],
    cwd: options.cwd ?? ROOT,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Starts `deno run <compile flags> main.ts ...args` in the background with piped stderr. */
export function spawnCli(args: string[], options: { cwd?: string } = {}): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...runtimeFlags(), join(ROOT, "main.ts"), ...args],
    cwd: options.cwd ?? ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Polls `check` every 50 ms until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (true) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Reads the files of a log directory by kind (`PORTS`, `PIDS`, `INITIAL`, `EVENTS`, `ALERTS`); empty
 * while the directory does not exist yet.
 */
export function readLogs(dir: string): Record<string, string> {
  const logs: Record<string, string> = {};
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return logs;
    throw e;
  }
  for (const entry of entries) {
    const kind = /^PR-([A-Z]+)-/.exec(entry.name)?.[1];
    if (kind) logs[kind] = (logs[kind] ?? "") + Deno.readTextFileSync(join(dir, entry.name));
  }
  return logs;
}
