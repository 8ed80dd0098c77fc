/**
 * The registry of built-in plugins: every plugin compiled into portreporter, by id. A config file enables one
 * with `{"name": "<id>", "options": {...}}`. Listed statically so that `deno compile` embeds them all.
 *
 * To add a built-in: create `plugins/<id>/` with `mod.ts` (default-exports the factory), `README.md` and
 * `mod_test.ts`, and add one line below (`plugins/conformance_test.ts` checks all of this).
 *
 * @module
 */

import type { BuiltinPlugin } from "../src/plugin/builtin.ts";
import exec from "./exec/mod.ts";
import eventlog from "./eventlog/mod.ts";
import filter from "./filter/mod.ts";
import newListener from "./new-listener/mod.ts";
import otlp from "./otlp/mod.ts";
import syslog from "./syslog/mod.ts";
import webhook from "./webhook/mod.ts";

export type { BuiltinPlugin } from "../src/plugin/builtin.ts";

const list: BuiltinPlugin[] = [
  {
    id: "filter",
    summary: "keep or drop changes by protocol, ports, addresses/CIDR, process, user, state, loopback",
    factory: filter,
  },
  {
    id: "new-listener",
    summary: "alert when a process starts listening and is not on the allowlist",
    factory: newListener,
  },
  { id: "webhook", summary: "POST alerts as JSON to a URL (queued, retried with backoff)", factory: webhook },
  { id: "exec", summary: "run a command with each alert as JSON on stdin (with a timeout)", factory: exec },
  { id: "eventlog", summary: "write alerts to the Windows Application event log", factory: eventlog },
  {
    id: "syslog",
    summary: "ship every change and alert to syslog (RFC 5424 over UDP, TCP or TLS)",
    factory: syslog,
  },
  {
    id: "otlp",
    summary: "ship every change and alert as OpenTelemetry logs (OTLP/HTTP JSON)",
    factory: otlp,
  },
];

/** Built-in plugins by id, in the order above. */
export const builtinPlugins: ReadonlyMap<string, BuiltinPlugin> = new Map(list.map((p) => [p.id, p]));
