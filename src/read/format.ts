/**
 * Output of rows and lifetimes as an aligned table (local time by default, zone in the header,
 * every value escaped with `escapeField`, fields padded), CSV (always a header; every value escaped,
 * so no value holds a comma or a line break; `"` is quoted; a text starting with `=` `+` `-` `@` gets
 * a leading `'` so a spreadsheet does not run it) or JSON Lines (`jsonLine`, ISO 8601 UTC, exact).
 *
 * The table is streamed: the widths come from the first {@link WIDTH_SAMPLE} rows (a later, wider
 * value widens its cell, never the column), so memory stays bounded.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { escapeField, jsonLine } from "../model/text.ts";
import { endpointText } from "../log/classic.ts";
import { instantToLocal, zoneLabel, zoneOffset } from "./local_instant.ts";

/** Rows buffered to size the table's columns. */
export const WIDTH_SAMPLE = 500;

/** `table`, `csv` or `jsonl`. */
export type OutputFormat = "table" | "csv" | "jsonl";

/** How times are shown. */
export interface TimeDisplay {
  /** Show UTC instead of local time. */
  utc: boolean;
  /** The local zone; the system zone when absent. */
  timeZone?: string;
}

/** A column: its name (as `--fields` takes it), its table heading and how to get its value. */
export interface Column<T> {
  /** Field name (`--fields`, CSV header, JSON key). */
  name: string;
  /** Table heading. */
  heading: string;
  /** The value: text, a number, an instant (`{ time }`), or absent. */
  get: (item: T) => string | number | boolean | { time: number } | undefined;
  /** Right-align in the table (numbers). */
  right?: boolean;
  /** The table's text, when it differs from the value (`TCP` for `tcp`, `still open`). */
  table?: (item: T) => string | undefined;
}

const two = (n: number) => String(n).padStart(2, "0");

/** An instant as shown: `2026-11-26 05:43:05` (local) / `2026-11-26 04:43:05Z` in tables; ISO 8601 with offset in CSV. */
export function formatInstant(ms: number, display: TimeDisplay, machine: boolean): string {
  if (display.utc) {
    const iso = new Date(ms).toISOString();
    return machine ? iso : iso.slice(0, 19).replace("T", " ") + "Z";
  }
  const p = instantToLocal(ms, display.timeZone);
  const text = `${p.year}-${two(p.month)}-${two(p.day)}${machine ? "T" : " "}${two(p.hour)}:${
    two(p.minute)
  }:${two(p.second)}`;
  if (!machine) return text;
  const off = zoneOffset(ms, display.timeZone) / 60_000;
  const a = Math.abs(off);
  const frac = `.${String(((ms % 1000) + 1000) % 1000).padStart(3, "0")}`;
  return `${text}${frac}${off < 0 ? "-" : "+"}${two(Math.floor(a / 60))}:${two(a % 60)}`;
}

/** The zone line of a table's header: `times in Europe/Berlin (UTC+01:00)` or `times in UTC`. */
export function zoneHeader(display: TimeDisplay, at: number): string {
  return display.utc ? "times in UTC" : `times in ${zoneLabel(at, display.timeZone)}`;
}

/** `[::1]:80` / `10.0.0.1:80` / `*:*` for UDP without a peer. */
export function endpointCell(address: string, port: number, family: number, udpNoPeer = false): string {
  return udpNoPeer ? "*:*" : endpointText(address, port, family);
}

/** Picks columns by `--fields a,b,c` (in that order), or all of `defaults` when absent. */
export function pickColumns<T>(all: Column<T>[], defaults: string[], fields?: string): Column<T>[] {
  const names = fields === undefined ? defaults : fields.split(",").map((f) => f.trim()).filter(Boolean);
  return names.map((n) => {
    const c = all.find((c) => c.name === n);
    if (!c) {
      throw new UsageError(
        `--fields: '${n}' is not a field; the fields are ${all.map((c) => c.name).join(", ")}`,
      );
    }
    return c;
  });
}

function text<T>(c: Column<T>, item: T, display: TimeDisplay, machine: boolean): string {
  const shown = machine ? undefined : c.table?.(item);
  if (shown !== undefined) return escapeField(shown);
  const v = c.get(item);
  if (v === undefined) return "";
  if (typeof v === "object") return formatInstant(v.time, display, machine);
  return escapeField(String(v));
}

/** Writes items in one format; `write` gets whole lines (with `\n`). */
export class RowWriter<T> {
  #columns: Column<T>[];
  #format: OutputFormat;
  #display: TimeDisplay;
  #write: (text: string) => void;
  #header: boolean;
  #pending: string[][] | undefined = [];
  #widths: number[] = [];
  #started = false;

  /**
   * @param header write the header (table: zone line and headings; CSV: the column names); `--no-header` turns it off for tables
   */
  constructor(
    columns: Column<T>[],
    format: OutputFormat,
    display: TimeDisplay,
    write: (text: string) => void,
    header = true,
  ) {
    this.#columns = columns;
    this.#format = format;
    this.#display = display;
    this.#write = write;
    this.#header = header;
  }

  /** Adds one item. */
  add(item: T): void {
    if (this.#format === "jsonl") {
      const o: Record<string, unknown> = {};
      for (const c of this.#columns) {
        const v = c.get(item);
        if (v === undefined) continue;
        o[c.name] = typeof v === "object" ? new Date(v.time).toISOString() : v;
      }
      this.#write(jsonLine(o) + "\n");
      return;
    }
    if (this.#format === "csv") {
      if (!this.#started) {
        this.#started = true;
        this.#write(this.#columns.map((c) => c.name).join(",") + "\n");
      }
      this.#write(
        this.#columns.map((c) => csvCell(text(c, item, this.#display, true), typeof c.get(item) === "string"))
          .join(",") + "\n",
      );
      return;
    }
    const cells = this.#columns.map((c) => text(c, item, this.#display, false));
    if (this.#pending) {
      this.#pending.push(cells);
      if (this.#pending.length >= WIDTH_SAMPLE) this.#flushPending();
    } else this.#write(this.#line(cells));
  }

  #line(cells: string[]): string {
    return cells.map((c, i) => {
      const last = i === cells.length - 1;
      if (this.#columns[i].right) return c.padStart(this.#widths[i]);
      return last ? c : c.padEnd(this.#widths[i]);
    }).join("  ").trimEnd() + "\n";
  }

  #flushPending(): void {
    const rows = this.#pending ?? [];
    this.#pending = undefined;
    this.#widths = this.#columns.map((c) => c.heading.length);
    for (const r of rows) {
      r.forEach((c, i) => (this.#widths[i] = Math.max(this.#widths[i], Math.min(c.length, 64))));
    }
    if (this.#header) {
      const at = Date.now();
      this.#write(`# ${zoneHeader(this.#display, at)}\n`);
      this.#write(this.#line(this.#columns.map((c) => c.heading)));
    }
    for (const r of rows) this.#write(this.#line(r));
  }

  /** Writes what is buffered (at the end of the output): the table with its widths, or a CSV header with no rows. */
  flush(): void {
    if (this.#format === "table" && this.#pending) this.#flushPending();
    if (this.#format === "csv" && !this.#started) {
      this.#started = true;
      this.#write(this.#columns.map((c) => c.name).join(",") + "\n");
    }
  }
}

/**
 * One CSV cell. Escaped values hold no comma or line break, so only `"` needs quoting; a text value
 * that a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) gets a leading `'`.
 */
function csvCell(v: string, isText: boolean): string {
  const safe = isText && /^[=+\-@]/.test(v) ? `'${v}` : v;
  return safe.includes('"') ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** Validates `--format`. */
export function parseFormat(
  value: string | undefined,
  allowed: OutputFormat[] = ["table", "csv", "jsonl"],
): OutputFormat {
  const v = (value ?? "table").toLowerCase();
  if (!(allowed as string[]).includes(v)) {
    throw new UsageError(`--format: '${value}' is not one of ${allowed.join(", ")}`);
  }
  return v as OutputFormat;
}
