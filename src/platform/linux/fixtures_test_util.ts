/**
 * Helpers shared by the Linux collector tests: where the fixtures are, and a stable row order.
 *
 * @module
 */

import type { SocketRecord } from "../../model/types.ts";

/** The folder of the Linux fixtures (`test/fixtures/linux/`). */
export const LINUX_FIXTURES = new URL("../../../test/fixtures/linux/", import.meta.url);

/** Text of a fixture file. */
export function fixtureText(name: string): string {
  return Deno.readTextFileSync(new URL(name, LINUX_FIXTURES));
}

/** Bytes of a fixture file. */
export function fixtureBytes(name: string): Uint8Array {
  return Deno.readFileSync(new URL(name, LINUX_FIXTURES));
}

/** One line per row (every field, scope id left out), sorted: for comparing two sources as sets. */
export function rowLines(rows: readonly SocketRecord[]): string[] {
  return rows.map((row) =>
    `${row.protocol}${row.family} ${row.localAddress} ${row.localPort} ${row.remoteAddress} ${row.remotePort} ` +
    `${row.state} pid=${row.pid} inode=${row.inode}`
  ).sort();
}
