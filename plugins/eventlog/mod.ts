/**
 * Built-in `eventlog`: writes each alert to the Windows Application event log (through
 * `src/platform/windows/eventlog.ts`, imported only on Windows). On other systems it warns once at start
 * and does nothing. See README.md.
 *
 * @module
 */

import type { Alert, AlertSeverity, Plugin, PluginContext } from "../../src/plugin/api.ts";
import { definePlugin } from "../../src/plugin/api.ts";
import { describeError } from "../../src/plugin/hooks.ts";
import { OptionReader } from "../../src/plugin/options.ts";
import { EVENT_SOURCE } from "../../src/platform/windows/event_source.ts";

/** One event as `writeEventLog` takes it. */
export interface EventLogEntry {
  /** Event source name (registered by install.ps1). */
  source: string;
  /** Event type. */
  type: "info" | "warning" | "error";
  /** The event text. */
  message: string;
}

/** The writer function (the real one lives in `src/platform/windows/eventlog.ts`). */
export type EventLogWriter = (entry: EventLogEntry) => unknown;

/** What the plugin needs from its surroundings (injected by tests). */
export interface EventlogDeps {
  /** The operating system (`Deno.build.os`). */
  os: string;
  /** Loads the writer; called once at init, and only when `os` is `windows`. */
  load: () => Promise<EventLogWriter>;
}

/** Alert severity → event type. */
export const EVENT_TYPES: Readonly<Record<AlertSeverity, EventLogEntry["type"]>> = {
  info: "info",
  warning: "warning",
  critical: "error",
};

/** An event message holds at most 31,839 characters; keep well under it. */
const MAX_MESSAGE = 30_000;

/** The event text for an alert: its message, then the whole alert as JSON. */
export function eventMessage(alert: Alert): string {
  let text = `${alert.message}\r\n\r\n${JSON.stringify(alert, null, 2).replaceAll("\n", "\r\n")}`;
  if (text.length > MAX_MESSAGE) text = `${text.slice(0, MAX_MESSAGE - 20)}\r\n... (truncated)`;
  return text;
}

const realDeps: EventlogDeps = {
  os: Deno.build.os,
  load: async () => {
    const mod = await import("../../src/platform/windows/eventlog.ts");
    return mod.writeEventLog as EventLogWriter;
  },
};

/** Builds the plugin factory with the given surroundings (the default export uses the real ones). */
export function createEventlogPlugin(deps: EventlogDeps): (options: Record<string, unknown>) => Plugin {
  return (options) => {
    const r = new OptionReader(options, ["source", "minSeverity"]);
    const source = r.string("source", EVENT_SOURCE);
    const minSeverity = r.oneOf<AlertSeverity>("minSeverity", ["info", "warning", "critical"], "info");
    const rank: Record<AlertSeverity, number> = { info: 0, warning: 1, critical: 2 };
    let write: EventLogWriter | null = null;
    let ctx: PluginContext | undefined;
    let failures = 0;
    return {
      apiVersion: 1,
      id: "eventlog",
      async init(_options, context) {
        ctx = context;
        if (deps.os !== "windows") {
          context.log(`the Windows event log does not exist on ${deps.os}; alerts are not written there`);
          return;
        }
        write = await deps.load();
      },
      async onAlerts(alerts) {
        if (!write) return;
        for (const alert of alerts) {
          if (rank[alert.severity] < rank[minSeverity]) continue;
          try {
            await write({
              source,
              type: EVENT_TYPES[alert.severity] ?? "warning",
              message: eventMessage(alert),
            });
          } catch (err) {
            if (failures++ === 0) {
              ctx?.log(`cannot write to the event log: ${describeError(err)} (later failures counted)`);
            }
          }
        }
      },
      close() {
        if (failures > 1) ctx?.log(`${failures} event log writes failed in total`);
      },
    };
  };
}

/** The `eventlog` plugin factory. */
export default definePlugin(createEventlogPlugin(realDeps));
