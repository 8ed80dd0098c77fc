/**
 * Built-in `new-listener`: raises an alert when a process starts listening (a TCP socket enters LISTEN, or a
 * UDP endpoint without a peer is opened) and the listener is not on the allowlist. See README.md.
 *
 * @module
 */

import type { AlertSeverity, Change, Plugin, PluginContext } from "../../src/plugin/api.ts";
import { definePlugin } from "../../src/plugin/api.ts";
import { compileRule, isListener, type Predicate } from "../../src/plugin/match.ts";
import { OptionReader } from "../../src/plugin/options.ts";

/** Whether a change is a new listener: an opened listener, or a TCP socket that changed into LISTEN. */
export function isNewListener(c: Change): boolean {
  if (!isListener(c.socket)) return false;
  if (c.kind === "opened") return true;
  return c.kind === "changed" && c.socket.protocol === "tcp" && c.previousState !== "LISTEN";
}

/** One line describing a listener, e.g. `tcp 0.0.0.0:8080 by nginx (pid 4242, user www-data)`. */
export function describeListener(c: Change): string {
  const s = c.socket;
  const addr = s.family === 6 ? `[${s.localAddress}]:${s.localPort}` : `${s.localAddress}:${s.localPort}`;
  const who = c.process
    ? `${c.process.name} (pid ${s.pid}${c.process.user ? `, user ${c.process.user}` : ""})`
    : `pid ${s.pid}`;
  return `${s.protocol}${s.family === 6 ? "6" : ""} ${addr} by ${who}`;
}

/** The `new-listener` plugin factory. */
export default definePlugin((options: Record<string, unknown>): Plugin => {
  const r = new OptionReader(options, ["allow", "severity", "cooldownMs"]);
  const allow: Predicate<Change>[] = r.list("allow").map((rule, i) => compileRule(rule, `allow[${i}]`));
  const severity = r.oneOf<AlertSeverity>("severity", ["info", "warning", "critical"], "warning");
  const cooldownMs = r.number("cooldownMs", 0, { min: 0 });
  /** Last alert time by protocol, port and process, for the cooldown. */
  const lastAlert = new Map<string, number>();

  return {
    apiVersion: 1,
    id: "new-listener",
    onChanges(changes: readonly Change[], ctx: PluginContext) {
      for (const c of changes) {
        if (!isNewListener(c) || allow.some((m) => m(c))) continue;
        if (cooldownMs > 0) {
          const key = `${c.socket.protocol} ${c.socket.localPort} ${
            c.process?.path ?? c.process?.name ?? c.socket.pid
          }`;
          const now = ctx.now();
          const last = lastAlert.get(key);
          if (last !== undefined && now - last < cooldownMs) continue;
          lastAlert.set(key, now);
          if (lastAlert.size > 10_000) lastAlert.delete(lastAlert.keys().next().value!);
        }
        ctx.alert({
          severity,
          message: `new listener: ${describeListener(c)}`,
          change: c,
          data: {
            protocol: c.socket.protocol,
            address: c.socket.localAddress,
            port: c.socket.localPort,
            pid: c.socket.pid,
            processName: c.process?.name,
            processPath: c.process?.path,
            user: c.process?.user,
          },
        });
      }
    },
  };
});
