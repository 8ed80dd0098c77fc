/**
 * Reading an `LPWSTR argv[]` handed to a callback (ServiceMain's start parameters): the one raw pointer
 * walk the service needs, kept beside the symbol tables like the rest of the pointer code.
 *
 * @module
 */

import { pointerFrom, readWideAt } from "./memory.ts";

/** Size of one pointer in the array (x64). */
const POINTER_BYTES = 8;

/** Most arguments read (a sanity bound: the SCM passes a handful). */
const MAX_ARGS = 1024;

/**
 * The `argc` strings of a `WCHAR **argv` array; `[]` for a null array. Each string is read up to its NUL;
 * a null entry reads as `""`.
 */
export function readWideArgv(argc: number, argv: Deno.PointerValue): string[] {
  if (!argv || argc <= 0) return [];
  const view = new Deno.UnsafePointerView(argv);
  const out: string[] = [];
  for (let i = 0; i < Math.min(argc, MAX_ARGS); i++) {
    out.push(readWideAt(pointerFrom(view.getBigUint64(i * POINTER_BYTES))));
  }
  return out;
}
