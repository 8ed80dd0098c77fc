/**
 * `portreporter report`: reads the log sets, aggregates in one pass, and writes one self-contained
 * HTML page. The input is any time-ordered stream of {@link ReportRow}s; today it comes from
 * `jsonl_adapter.ts`.
 *
 * @module
 */

import { ReportBuilder } from "./aggregate.ts";
import { InterestFinder } from "./interest.ts";
import { type InterestPart, type PageMeta, renderPage } from "./page.ts";
import type { ModuleSighting, ReportChange, ReportRow } from "./rows.ts";
import type { Watchlist } from "./watchlist.ts";

export type { ModuleSighting, ReportChange, ReportRow } from "./rows.ts";

/** What {@link buildReport} takes. */
export interface ReportInput {
  /** The rows, in time order (a log reader's async stream or any iterable). */
  rows: Iterable<ReportRow> | AsyncIterable<ReportRow>;
  /** Module sightings for the watchlist's module rules (read after the rows). */
  modules?: () => Iterable<ModuleSighting>;
  /** Keeps a change row; markers are always kept (they say when the monitor ran). */
  keep?: (row: ReportChange) => boolean;
  /** The compiled watchlist, when one was given. */
  watchlist?: Watchlist;
  /** What the page says about its data (`hosts` is filled in here). */
  meta: Omit<PageMeta, "hosts" | "read"> & { read: () => PageMeta["read"] };
}

/** Aggregates the rows and renders the page. */
export async function buildReport(input: ReportInput): Promise<string> {
  const builder = new ReportBuilder(input.meta.timeZone);
  const finder = input.watchlist ? new InterestFinder(input.watchlist) : undefined;
  const hosts = new Set<string>();
  const take = (row: ReportRow) => {
    if (row.host !== undefined && hosts.size < 20) hosts.add(row.host);
    if (row.type === "change") {
      if (input.keep && !input.keep(row)) return;
      if (finder && row.event !== "closed") finder.see(row);
    }
    builder.add(row);
  };
  if (Symbol.asyncIterator in input.rows) { for await (const row of input.rows) take(row); }
  else for (const row of input.rows) take(row);
  if (finder && input.modules) { for (const m of input.modules()) finder.seeModule(m); }
  const data = builder.finish();
  const interest: InterestPart | undefined = finder && input.watchlist
    ? { watchlist: input.watchlist, findings: finder.findings(), dropped: finder.dropped }
    : undefined;
  return await renderPage(
    data,
    { ...input.meta, read: input.meta.read(), hosts: [...hosts].sort() },
    interest,
  );
}
