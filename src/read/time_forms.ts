/**
 * The time forms of `--since` and `--until`: ISO 8601 (`2026-11-26T10:00:00Z`, or without a zone =
 * local), `YYYY-MM-DD HH:MM[:SS]` and `YYYY-MM-DD` (local), `HH:MM[:SS]` (today, local), relative
 * `-2h`, `-30m`, `-45s`, `-1d`, `-1w` (before now), and `now`, `today` (local midnight), `yesterday`
 * (the local midnight before).
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { instantToLocal, localToInstant } from "./local_instant.ts";

/** What a time form is read against. */
export interface TimeContext {
  /** Now, ms since the Unix epoch. */
  now: number;
  /** The zone of local forms; the system zone when absent. */
  timeZone?: string;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

function midnight(ms: number, ctx: TimeContext, daysBack: number): number {
  const p = instantToLocal(ms, ctx.timeZone);
  const day = new Date(Date.UTC(p.year, p.month - 1, p.day - daysBack));
  return localToInstant({
    year: day.getUTCFullYear(),
    month: day.getUTCMonth() + 1,
    day: day.getUTCDate(),
    hour: 0,
    minute: 0,
    second: 0,
  }, ctx.timeZone);
}

function checkedLocal(
  f: { year: number; month: number; day: number; hour: number; minute: number; second: number },
  ctx: TimeContext,
): number | undefined {
  const probe = new Date(Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second));
  if (
    probe.getUTCMonth() !== f.month - 1 || probe.getUTCDate() !== f.day || f.hour > 23 || f.minute > 59 ||
    f.second > 59
  ) return undefined;
  return localToInstant(f, ctx.timeZone);
}

/** Parses one time form (see the module doc) into ms since the Unix epoch, or `undefined`. */
export function parseTimeForm(text: string, ctx: TimeContext): number | undefined {
  const t = text.trim().toLowerCase();
  if (t === "now") return ctx.now;
  if (t === "today") return midnight(ctx.now, ctx, 0);
  if (t === "yesterday") return midnight(ctx.now, ctx, 1);
  let m = /^-(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/.exec(t);
  if (m) return ctx.now - Math.round(Number(m[1]) * UNIT_MS[m[2]]);
  m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(t);
  if (m) {
    const p = instantToLocal(ctx.now, ctx.timeZone);
    return checkedLocal({ ...p, hour: Number(m[1]), minute: Number(m[2]), second: Number(m[3] ?? 0) }, ctx);
  }
  m = /^(\d{4})-(\d{2})-(\d{2})(?:[ t](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$/.exec(t);
  if (m) {
    const [year, month, day, hour, minute, second] = m.slice(1, 7).map((v) => Number(v ?? 0));
    return checkedLocal({ year, month, day, hour, minute, second }, ctx);
  }
  if (/^\d{4}-\d{2}-\d{2}t\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(z|[+-]\d{2}:?\d{2})$/.test(t)) {
    const ms = Date.parse(text.trim().toUpperCase().replace(/([+-]\d{2})(\d{2})$/, "$1:$2"));
    return Number.isFinite(ms) ? ms : undefined;
  }
  return undefined;
}

/** {@link parseTimeForm}, throwing a {@link UsageError} that names the flag and the accepted forms. */
export function requireTimeForm(flag: string, text: string, ctx: TimeContext): number {
  const ms = parseTimeForm(text, ctx);
  if (ms === undefined) {
    throw new UsageError(
      `${flag}: '${text}' is not a time; use ISO 8601 (2026-11-26T10:00:00Z), 'YYYY-MM-DD HH:MM', 'HH:MM', ` +
        `a relative time (-2h, -30m, -1d), today or yesterday`,
    );
  }
  return ms;
}
