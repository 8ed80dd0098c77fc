/**
 * The boundary checks: everything a plugin hands back (alerts, enrichment fields, log lines) is checked and
 * bounded here before it reaches a log file, the terminal or another plugin. Nothing a plugin returns can fail
 * a batch: what cannot be used is dropped and counted, what is too big is cut with a marker.
 *
 * - An alert's `change` must be a change the plugins were given in this run: for a built-in the very object
 *   (identity), for a user plugin the id the runtime assigned to it ({@link ChangeRefs}). The alert then
 *   carries the runtime's own copy of that change, so a plugin cannot alter what was observed. Anything else
 *   given as `change` is kept under `data.unverifiedChange`, clearly not an observation.
 * - `data` and `enrich` fields are turned into plain JSON (a getter that throws, a BigInt or a cycle make the
 *   value unusable, not the batch) and bounded to {@link MAX_PLUGIN_BYTES} per change or alert.
 * - `time` and `pluginId` are set by the runtime, never by the plugin.
 *
 * @module
 */

import type { Alert, AlertSeverity, Change } from "../model/types.ts";
import { alertRecord, eventRecord } from "../log/jsonl.ts";
import { cutMarker, cutText, escapeField, jsonLine } from "../model/text.ts";

/** Most bytes (JSON, UTF-8) a plugin may add to one change (`enrich`) or one alert (`data`). */
export const MAX_PLUGIN_BYTES = 4096;
/** Most bytes of an alert message. */
export const MAX_MESSAGE_BYTES = 1000;
/** Most bytes of one plugin log line. */
export const MAX_LOG_LINE_BYTES = 500;
/** How many of the latest changes an alert may still refer to (alerts raised from a timer come later). */
export const MAX_CHANGE_REFS = 20_000;

// deno-lint-ignore no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;
const SEVERITIES: readonly AlertSeverity[] = ["info", "warning", "critical"];
const encoder = new TextEncoder();

function bytesOf(text: string): number {
  return encoder.encode(text).length;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A description of anything thrown, that never throws itself (a thrown object whose `toString` throws, a
 * Proxy, a revoked Proxy): `Name: message` when it looks like an error, else its string form.
 */
export function safeText(value: unknown): string {
  try {
    if (value instanceof Error) return `${value.name}: ${String(value.message)}`;
  } catch {
    // a Proxy or an object with throwing getters
  }
  try {
    return String(value);
  } catch {
    try {
      return `a thrown ${Object.prototype.toString.call(value)} that cannot be shown (its toString throws)`;
    } catch {
      return "a thrown value that cannot be shown";
    }
  }
}

/** A plugin's log line as it may reach stderr: one line, escaped like every other value, bounded. */
export function pluginLogText(line: unknown): string {
  return cutText(escapeField(typeof line === "string" ? line : safeText(line)), MAX_LOG_LINE_BYTES);
}

/**
 * Ids for the changes handed to plugins, so that an alert can only refer to a change that was observed.
 * Built-ins refer by identity (the object they were given), user plugins by the id sent with each change.
 */
export class ChangeRefs {
  readonly #ids = new WeakMap<object, number>();
  readonly #byId = new Map<number, Change>();
  #next = 1;

  /** Gives each change an id (a change seen before keeps its own); returns the ids in order. */
  register(changes: readonly Change[]): number[] {
    return changes.map((c) => {
      let id = this.#ids.get(c);
      if (id === undefined) {
        id = this.#next++;
        this.#ids.set(c, id);
      }
      this.#byId.delete(id);
      this.#byId.set(id, c);
      return id;
    });
  }

  /** Records that `next` (an enriched copy) stands for the change with id `id` from now on. */
  replace(id: number, next: Change): void {
    this.#ids.set(next, id);
    if (this.#byId.has(id)) this.#byId.set(id, next);
  }

  /** Forgets the oldest ids beyond {@link MAX_CHANGE_REFS}. */
  trim(): void {
    for (const id of this.#byId.keys()) {
      if (this.#byId.size <= MAX_CHANGE_REFS) break;
      this.#byId.delete(id);
    }
  }

  /** The change an alert refers to: the object itself (built-ins) or `{ ref: id }` (user plugins). */
  resolve(change: unknown, ref: unknown): Change | undefined {
    if (typeof ref === "number") return this.#byId.get(ref);
    if (typeof change === "object" && change !== null) {
      const id = this.#ids.get(change);
      return id === undefined ? undefined : this.#byId.get(id);
    }
    return undefined;
  }
}

/** A value as plain JSON, or why it cannot be one (never throws). */
export function toJson(
  value: unknown,
): { ok: true; value: unknown; text: string } | { ok: false; why: string } {
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return { ok: false, why: "it is not a JSON value" };
    return { ok: true, value: JSON.parse(text), text };
  } catch (err) {
    return { ok: false, why: `it is not JSON (${safeText(err)})` };
  }
}

/**
 * A plain JSON object bounded to `max` bytes: fields are kept in order while they fit; a string field that
 * does not fit is cut with the marker of `cutText`, any other field that does not fit becomes that marker.
 */
export function boundRecord(
  fields: Record<string, unknown>,
  max = MAX_PLUGIN_BYTES,
): Record<string, unknown> {
  const whole = jsonLine(fields);
  if (bytesOf(whole) <= max) return fields;
  const out: Record<string, unknown> = {};
  let left = max - 2;
  for (const [key, value] of Object.entries(fields)) {
    const keyBytes = bytesOf(JSON.stringify(key)) + 2;
    const json = jsonLine(value);
    const size = bytesOf(json);
    if (keyBytes + size <= left) {
      out[key] = value;
      left -= keyBytes + size;
      continue;
    }
    const room = left - keyBytes - 2;
    if (room < 24) break;
    out[key] = typeof value === "string" ? cutText(value, Math.floor(room / 2)) : cutMarker(size);
    left -= keyBytes + bytesOf(JSON.stringify(out[key]));
  }
  return out;
}

/** What `enrich` returned for one change, checked: the fields to store, nothing, or why they were refused. */
export function checkExtra(value: unknown): { fields: Record<string, unknown> | null; problem?: string } {
  if (value === undefined || value === null) return { fields: null };
  if (!isRecord(value)) return { fields: null, problem: `returned ${typeof value}, expected an object` };
  const json = toJson(value);
  if (!json.ok) return { fields: null, problem: `returned fields that cannot be logged: ${json.why}` };
  if (!isRecord(json.value)) return { fields: null, problem: "returned fields that cannot be logged" };
  return { fields: boundRecord(json.value) };
}

/** The change as it will be logged, or why it cannot be (a last check that it formats). */
export function formats(change: Change): string | null {
  try {
    eventRecord(change, "");
    return null;
  } catch (err) {
    return safeText(err);
  }
}

/**
 * Turns what a plugin passed to `ctx.alert` into an {@link Alert}, or a one-line reason it was dropped.
 * `ref` is the change id a user plugin's Worker sent along (see {@link ChangeRefs}).
 */
export function checkAlert(
  pluginId: string,
  req: unknown,
  ref: unknown,
  now: number,
  refs: ChangeRefs,
): Alert | string {
  if (!isRecord(req)) return "alert() needs an object {severity, message, change?, data?}";
  const severity = req.severity as AlertSeverity;
  if (!SEVERITIES.includes(severity)) return `alert severity must be one of ${SEVERITIES.join(", ")}`;
  if (typeof req.message !== "string" || req.message.trim() === "") {
    return "alert message must be a non-empty string";
  }
  const message = cutText(
    req.message.replace(CONTROLS, " "),
    MAX_MESSAGE_BYTES,
  );
  let data: Record<string, unknown> | undefined;
  if (req.data !== undefined) {
    const json = toJson(req.data);
    if (!json.ok) return `alert data cannot be logged: ${json.why}`;
    if (!isRecord(json.value)) return "alert data must be an object";
    data = json.value;
  }
  const change = refs.resolve(req.change, ref);
  if (change === undefined && req.change !== undefined && req.change !== null) {
    const json = toJson(req.change);
    const text = json.ok ? json.text : `(${json.why})`;
    data = { ...data, unverifiedChange: cutText(text, MAX_PLUGIN_BYTES / 2) };
  }
  const alert: Alert = { time: now, pluginId, severity, message: message.trim() };
  if (change) alert.change = change;
  if (data) alert.data = boundRecord(data);
  try {
    alertRecord(alert, "");
  } catch (err) {
    return `alert cannot be logged: ${safeText(err)}`;
  }
  return alert;
}
