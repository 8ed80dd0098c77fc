/**
 * How the plugin host is started: the same program with the hidden command `__plugin-host`, and under
 * `deno run` only the permissions its plugins are granted, no remote modules, no npm, no lock file and no
 * config file.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { HostCommand } from "./channel.ts";
import { PLUGIN_HOST_COMMAND } from "./plugin_host.ts";
import type { WorkerPermissions } from "./worker_host.ts";

const GRANTABLE = { read: "path", write: "path", net: "host", env: "variable", run: "command" } as const;

/**
 * Permission flags for a `deno run` plugin host: `net` to the loopback (its channel), and for each kind the
 * Workers may be granted exactly the entries the plugins ask for that this process holds itself (an entry the
 * parent lacks is left out, so that plugin's Worker fails to start with `NotCapable`, as it would in-process).
 */
export function hostPermissionFlags(grants: readonly WorkerPermissions[]): string[] {
  const flags: string[] = [];
  for (const [name, key] of Object.entries(GRANTABLE) as [keyof typeof GRANTABLE, string][]) {
    const wanted = new Set<string>(name === "net" ? ["127.0.0.1"] : []);
    for (const g of grants) for (const entry of g[name] || []) wanted.add(entry);
    const held = [...wanted].filter((entry) => {
      if (entry.includes(",")) return false; // cannot be written in a flag list
      try {
        return Deno.permissions.querySync({ name, [key]: entry } as Deno.PermissionDescriptor).state ===
          "granted";
      } catch {
        return false;
      }
    });
    if (held.length > 0) flags.push(`--allow-${name}=${held.join(",")}`);
  }
  return flags;
}

/**
 * How to start the plugin host as the same program: the compiled executable with `__plugin-host`, or under
 * `deno run` this Deno with the permissions from {@link hostPermissionFlags}, no remote modules, no npm, no
 * lock file and no config (a plugin's imports can reach nothing but local files), V8's `gc` exposed as the
 * compiled executable has it (the worker's lockdown replaces it), then portreporter's `main.ts`.
 */
export function pluginHostCommand(grants: readonly WorkerPermissions[]): HostCommand {
  if (Deno.build.standalone) return { exe: Deno.execPath(), args: [PLUGIN_HOST_COMMAND] };
  const main = fileURLToPath(new URL("../../main.ts", import.meta.url));
  return {
    exe: Deno.execPath(),
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      "--no-remote",
      "--no-npm",
      "--no-lock",
      "--no-config",
      "--cached-only",
      "--unstable-worker-options",
      "--v8-flags=--expose-gc", // as compiled (the flags are baked in): plugins must not see the gc it exposes
      ...hostPermissionFlags(grants),
      main,
      PLUGIN_HOST_COMMAND,
    ],
  };
}
