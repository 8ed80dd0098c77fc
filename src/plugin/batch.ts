/**
 * One batch through the plugins: filter → enrich (per plugin, in order) → onChanges (every plugin, with the
 * final batch) → onAlerts (every plugin, with every alert raised). Each call goes through the plugin's
 * {@link Runner} (budget, breaker); what comes back passes the boundary checks (`boundary.ts`) before it is
 * kept. Filter and enrich see the batch in chunks of at most {@link MAX_CHUNK} changes.
 *
 * @module
 */

import type { Alert, Change } from "../model/types.ts";
import type { EnrichedChange } from "./api.ts";
import { type ChangeRefs, checkExtra, formats } from "./boundary.ts";
import type { BatchResult } from "./hooks.ts";
import type { Runner } from "./runner.ts";

/** Most changes sent to one filter/enrich call. */
export const MAX_CHUNK = 500;

/** A loaded plugin in the pipeline: its runner and the alerts it raised that were not handed out yet. */
export interface Entry {
  /** Its runner. */
  runner: Runner;
  /** Alerts raised (checked) and not yet returned. */
  alerts: Alert[];
}

/** What one batch became. */
export interface BatchOutput {
  /** The changes that passed every filter, enriched; input objects are never mutated. */
  changes: Change[];
  /** Alerts raised during this batch (and any raised since the previous one). */
  alerts: Alert[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** One plugin's filter and enrich over one chunk: the changes it keeps, enriched. */
async function filterEnrich(
  entry: Entry,
  chunk: Change[],
  ids: number[],
  refs: ChangeRefs,
): Promise<Change[]> {
  const runner = entry.runner;
  const both = runner.hooks.has("filter") && runner.hooks.has("enrich");
  const shown = both ? "filter/enrich" : runner.hooks.has("filter") ? "filter" : "enrich";
  const raw = await runner.call("batch", chunk.length, { changes: chunk, refs: ids }, shown);
  if (raw === undefined) return chunk;
  const result = isRecord(raw) ? raw as unknown as BatchResult : null;
  if (!result) {
    runner.fail("filter/enrich", "the answer is not a batch result");
    return chunk;
  }
  for (const [hook, f] of Object.entries(isRecord(result.failures) ? result.failures : {})) {
    if (isRecord(f)) runner.fail(hook, String(f.first), Number(f.count) || 1);
  }
  const keep = Array.isArray(result.keep) && result.keep.length === chunk.length ? result.keep : null;
  const extra = Array.isArray(result.extra) && result.extra.length === chunk.length ? result.extra : null;
  const out: Change[] = [];
  for (let i = 0; i < chunk.length; i++) {
    if (keep && keep[i] === false) continue;
    let change = chunk[i];
    const checked = checkExtra(extra?.[i]);
    if (checked.problem) runner.drop("enrich", checked.problem);
    if (checked.fields) {
      const prev = (change as EnrichedChange).extra;
      const next = { ...change, extra: { ...prev, [runner.id]: checked.fields } } as EnrichedChange;
      const problem = formats(next);
      if (problem) runner.drop("enrich", `returned fields that cannot be logged: ${problem}`);
      else {
        refs.replace(ids[i], next);
        change = next;
      }
    }
    out.push(change);
  }
  return out;
}

/** Runs one batch; never throws (a plugin's failure is counted by its runner). */
export async function runBatch(
  entries: readonly Entry[],
  input: Change[],
  refs: ChangeRefs,
): Promise<BatchOutput> {
  let changes = [...input];
  refs.register(changes);
  for (const entry of entries) {
    if (changes.length === 0) break;
    if (!entry.runner.hooks.has("filter") && !entry.runner.hooks.has("enrich")) continue;
    const next: Change[] = [];
    for (let at = 0; at < changes.length; at += MAX_CHUNK) {
      const chunk = changes.slice(at, at + MAX_CHUNK);
      next.push(...await filterEnrich(entry, chunk, refs.register(chunk), refs));
    }
    changes = next;
  }
  if (changes.length > 0) {
    const ids = refs.register(changes);
    for (const entry of entries) {
      if (entry.runner.hooks.has("onChanges")) {
        await entry.runner.call("onChanges", changes.length, { changes, refs: ids });
      }
    }
  }
  const alerts: Alert[] = [];
  for (const entry of entries) alerts.push(...entry.alerts.splice(0));
  if (alerts.length > 0) {
    for (const entry of entries) {
      if (entry.runner.hooks.has("onAlerts")) await entry.runner.call("onAlerts", alerts.length, { alerts });
    }
  }
  refs.trim();
  return { changes, alerts };
}
