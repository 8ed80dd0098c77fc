/**
 * The only place that looks at `Deno.build.os`: picks the collector and the platform defaults.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Collector } from "../model/types.ts";
import { UsageError } from "../errors.ts";
import { createProtectedDirectory } from "./windows/private_dir.ts";

/** The operating systems portreporter supports. */
export type SupportedOs = "linux" | "windows";

/** The current OS, or a UsageError for one portreporter does not support. */
export function currentOs(): SupportedOs {
  const os = Deno.build.os;
  if (os === "linux" || os === "windows") return os;
  throw new UsageError(`portreporter supports Linux and Windows; this is ${os}`);
}

/** Creates the collector of the current OS. */
export async function createCollector(): Promise<Collector> {
  if (currentOs() === "windows") {
    const { createWindowsCollector } = await import("./windows/collector.ts");
    return createWindowsCollector();
  }
  const { createLinuxCollector } = await import("./linux/collector.ts");
  return createLinuxCollector({ events: true });
}

/** Defaults that differ by OS. */
export interface PlatformDefaults {
  /** Log directory when neither `--log-dir` nor the config names one. */
  logDir: string;
  /** Line end of the classic files. */
  eol: "\r\n" | "\n";
  /** Folder of user plugins when the config names none. */
  pluginDir: string;
}

/**
 * The defaults of the current OS:
 * - Windows: `%SystemRoot%\System32\LogFiles\PortReporter` (the original's), CRLF;
 * - Linux: `/var/log/portreporter` for root, else `$XDG_STATE_HOME/portreporter` (default
 *   `~/.local/state/portreporter`), LF.
 *
 * User plugins: `plugins` next to a compiled executable; `user-plugins` in the source tree under `deno run`.
 */
export function platformDefaults(): PlatformDefaults {
  const pluginDir = Deno.build.standalone
    ? join(dirname(Deno.execPath()), "plugins")
    : join(dirname(dirname(dirname(fileURLToPath(import.meta.url)))), "user-plugins");
  if (currentOs() === "windows") {
    const root = Deno.env.get("SystemRoot") ?? "C:\\Windows";
    return { logDir: join(root, "System32", "LogFiles", "PortReporter"), eol: "\r\n", pluginDir };
  }
  if (Deno.uid() === 0) return { logDir: "/var/log/portreporter", eol: "\n", pluginDir };
  const state = Deno.env.get("XDG_STATE_HOME") || join(Deno.env.get("HOME") ?? "/tmp", ".local", "state");
  return { logDir: join(state, "portreporter"), eol: "\n", pluginDir };
}

/**
 * Creates a directory (and its parents) that only administrators can use: on Windows with a protected
 * DACL set at creation (SYSTEM and Administrators; see windows/private_dir.ts), on Linux with mode 0700.
 * An existing directory is left as it is.
 */
export function createPrivateDirectory(dir: string): void {
  if (currentOs() === "windows") createProtectedDirectory(dir);
  else Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
}
