/**
 * The types of `ProcessDetails` (process.ts): its warnings, results, counters and options.
 *
 * @module
 */

import type { ProcessInfo } from "../../model/types.ts";
import type { AccountNames } from "./accounts.ts";

/** A read yields to the event loop after this much synchronous work, ms. */
export const YIELD_EVERY_MS = 10;

/** Warning kinds counted by `ProcessDetails.read`. */
export type ProcessWarning =
  | "process-idle"
  | "process-vanished"
  | "process-access-denied"
  | "process-open-failed"
  | "modules-unreadable"
  | "user-unreadable"
  | "user-unresolved"
  | "image-unreadable"
  | "services-unreadable";

/** Result of one `ProcessDetails.read`. */
export interface ProcessDetailsResult {
  /** Details by pid, one per requested pid. */
  processes: Map<number, ProcessInfo>;
  /** Counted warnings by kind. */
  warnings: Record<string, number>;
}

/** Counters of `ProcessDetails` since it was created (read-only; for tests and diagnostics). */
export interface ProcessDetailsStats {
  /** Toolhelp process walks taken by `ProcessDetails.read`. */
  readonly walks: number;
  /** Times a read yielded to the event loop. */
  readonly yields: number;
}

/** Options of `ProcessDetails`. */
export interface ProcessDetailsOptions {
  /** Re-enumerate services at least this often even with no new process (default 60 000 ms). */
  servicesMaxAgeMs?: number;
  /** Take the process walk at least this often even when every pid is cached (default 60 000 ms). */
  walkMaxAgeMs?: number;
  /** Source of "now" for the services refresh (default `Date.now`). */
  now?: () => number;
  /** The account names (default a fresh `AccountNames`). */
  accounts?: AccountNames;
  /** Yield to the event loop after this much synchronous work, ms (default {@link YIELD_EVERY_MS}). */
  yieldEveryMs?: number;
}

/** Progress of one read: processes read afresh so far, of how many that needed it. */
export type DetailsProgress = (done: number, total: number) => void;
