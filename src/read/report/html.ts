/**
 * HTML pieces of the report: escaping (every value from the logs goes through {@link text}: control
 * and bidi characters shown in the field grammar's `\xHH`/`\uHHHH` forms, then the five HTML
 * metacharacters), data embedded in a `<script type="application/json">` (no `<` left
 * inside, so `</script>` cannot close it), sortable tables, and the time and number formats.
 *
 * @module
 */

import { escapeField, jsonLine } from "../../model/text.ts";

const HTML_META: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Bidirectional controls, which can make a name read as another (`evil\u202etxt.exe`). */
const BIDI = /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
/** What {@link label} rewrites: the field grammar's characters but `\` and `,`, and the bidi controls. */
// deno-lint-ignore no-control-regex
const SHOWN_ESCAPED = /[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/**
 * A value from the logs as display text: control characters, C1, U+2028/9, undecodable bytes and lone
 * surrogates in the field grammar's `\xHH` / `\uHHHH` forms (from `escapeField`), bidirectional
 * controls as `\uHHHH` too, so no name can hide or reorder what is shown. Backslashes and commas stay
 * as they are (a report is read, not parsed back: `C:\Windows` stays readable).
 */
export function label(value: string): string {
  if (!SHOWN_ESCAPED.test(value)) return value;
  let out = "";
  for (const ch of value) {
    if (BIDI.test(ch)) out += `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;
    else if (ch === "\\" || ch === "," || !SHOWN_ESCAPED.test(ch)) out += ch;
    else out += escapeField(ch);
  }
  return out;
}

/** A value from the logs as HTML text ({@link label}, then the five HTML metacharacters). */
export function text(value: unknown): string {
  return label(String(value ?? "")).replace(/[&<>"']/g, (c) => HTML_META[c]);
}

/** JSON for a `<script type="application/json">` element: `<` written as `\u003c`, so nothing closes it. */
export function scriptJson(value: unknown): string {
  return jsonLine(value).replaceAll("<", "\\u003c");
}

/** One table cell: a number (right-aligned, sorted by value) or text. */
export type Cell = string | number | { text: string; sort: number };

/** A sortable table: headers, rows of cells, an empty-state line. Strings are escaped here. */
export function table(headers: string[], rows: Cell[][], empty = "nothing recorded"): string {
  const th = headers.map((h) => `<th scope="col">${text(h)}</th>`).join("");
  const body = rows.map((r) =>
    "<tr>" + r.map((c) =>
      typeof c === "number"
        ? `<td class="n" data-v="${c}">${c.toLocaleString("en-US")}</td>`
        : typeof c === "string"
        ? `<td>${text(c)}</td>`
        : `<td class="n" data-v="${c.sort}">${text(c.text)}</td>`
    ).join("") + "</tr>"
  ).join("\n");
  if (rows.length === 0) return `<p class="empty">${text(empty)}</p>`;
  return `<table class="sortable"><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** A share 0–1 as a sortable percentage cell. */
export function percent(share: number): Cell {
  return { text: `${(share * 100).toFixed(share > 0 && share < 0.01 ? 2 : 1)} %`, sort: share };
}

/** A duration in ms as short text (`850 ms`, `12.5 s`, `3.2 min`, `1.5 h`, `2.0 d`). */
export function duration(ms: number): string {
  const s = ms / 1000;
  if (s < 1) return `${Math.round(ms)} ms`;
  if (s < 120) return `${s.toFixed(1)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

/** A byte count as text (`1.5 MB`), or `–` when none is known. */
export function bytes(n: number): Cell {
  if (!n) return { text: "–", sort: 0 };
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) v /= 1000, u++;
  return { text: `${u ? v.toFixed(1) : v} ${units[u]}`, sort: n };
}

/** Formats instants in one zone as `YYYY-MM-DD HH:MM:SS`, and gives the zone's offset for charts. */
export class ZoneClock {
  /** The zone's name as shown (`UTC` or the IANA name). */
  readonly zone: string;
  readonly #format: Intl.DateTimeFormat;

  /** @param timeZone IANA zone or `UTC`; the system zone when absent */
  constructor(timeZone?: string) {
    this.#format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    this.zone = timeZone ?? this.#format.resolvedOptions().timeZone;
  }

  #parts(ms: number): Record<string, string> {
    return Object.fromEntries(this.#format.formatToParts(ms).map((p) => [p.type, p.value]));
  }

  /** `YYYY-MM-DD HH:MM:SS` in the zone. */
  format(ms: number): string {
    if (!Number.isFinite(ms) || ms <= 0) return "–";
    const p = this.#parts(ms);
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
  }

  /** `ms` moved by the zone's offset at that instant (for a chart axis drawn in UTC). */
  shift(ms: number): number {
    const p = this.#parts(ms);
    const wall = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
    return ms + (wall - Math.floor(ms / 1000) * 1000);
  }
}
