/**
 * A {@link PluginContext} for driving one plugin directly in a test: collects its alerts and log lines.
 *
 * @module
 */

import type { AlertRequest, PluginContext } from "../api.ts";

/** A context plus what the plugin did with it. */
export interface TestContext {
  /** Pass this to `init` / `onChanges`. */
  ctx: PluginContext;
  /** Alerts raised, in order. */
  alerts: AlertRequest[];
  /** Lines logged, in order. */
  lines: string[];
  /** The clock `ctx.now()` reads; change it to move time. */
  clock: { now: number };
}

/** Builds a {@link TestContext}. */
export function testContext(id: string, options: Record<string, unknown> = {}): TestContext {
  const alerts: AlertRequest[] = [];
  const lines: string[] = [];
  const clock = { now: 1_700_000_000_000 };
  const ctx: PluginContext = {
    id,
    options,
    log: (line) => lines.push(line),
    alert: (a) => alerts.push(a),
    now: () => clock.now,
  };
  return { ctx, alerts, lines, clock };
}
