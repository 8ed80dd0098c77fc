/**
 * When to start a new log set: a pure policy, tested with an injected clock.
 *
 * - At start (the monitor opens the first set).
 * - At local midnight: when the local calendar day of "now" differs from the set's day.
 * - At the size limit: when appending would take a file past `maxBytes`. The writer applies this
 *   item by item (src/log/log_set.ts), so a batch larger than what is left continues in the next set,
 *   split between records; lines are never split across files.
 *
 * @module
 */

/** Default size limit of one file: 5 MB, as the original. */
export const DEFAULT_MAX_BYTES = 5 * 1024 * 1024;

/** Why a new set starts. */
export type RotationReason = "start" | "midnight" | "size";

/** What the policy needs to know about one open file. */
export interface FileFill {
  /** Bytes in the file now. */
  size: number;
  /** Bytes of its header (a file with only its header never rotates for size). */
  headerSize: number;
  /** Bytes about to be appended. */
  pending: number;
}

/**
 * Decides whether the open set must be replaced before writing.
 * @param setDay the local day key of the open set (`LocalTime.dayKey`).
 * @param nowDay the local day key of now.
 */
export function rotationReason(
  setDay: string,
  nowDay: string,
  files: Iterable<FileFill>,
  maxBytes: number,
): RotationReason | null {
  if (setDay !== nowDay) return "midnight";
  for (const f of files) {
    if (f.pending > 0 && f.size + f.pending > maxBytes && f.size > f.headerSize) return "size";
  }
  return null;
}
