/**
 * Reading the JSONC config file as untrusted input: only a regular file, at most
 * {@link MAX_CONFIG_BYTES}, UTF-8, nested at most {@link MAX_CONFIG_DEPTH} deep; every problem is one
 * escaped line naming the file (and the line and column where it applies).
 *
 * @module
 */

import type { ParseError } from "jsonc-parser";
import { UsageError } from "../errors.ts";
import { escapeField } from "../model/text.ts";

/** Largest config file accepted, in bytes. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Deepest nesting of objects and lists accepted in a config file. */
export const MAX_CONFIG_DEPTH = 64;

/** `line L, column C` of a character offset in `text`. */
function position(text: string, offset: number): string {
  const before = text.slice(0, offset).split("\n");
  return `line ${before.length}, column ${before.at(-1)!.length + 1}`;
}

function readError(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "no such file";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.IsADirectory) return "it is a directory";
  return escapeField((e as Error).message);
}

/** What a non-regular file is, in words. */
function kindOf(info: Deno.FileInfo): string {
  if (info.isDirectory) return "it is a directory";
  if (info.isFifo) return "it is a FIFO";
  if (info.isCharDevice || info.isBlockDevice) return "it is a device";
  if (info.isSocket) return "it is a socket";
  return "it is not a regular file";
}

/** The bytes of a regular file of at most `limit` bytes; a UsageError (`what: why`) otherwise. */
function readBounded(path: string, what: string, limit: number): Uint8Array {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path); // before opening: opening a FIFO would block
  } catch (e) {
    throw new UsageError(`cannot read ${what}: ${readError(e)}`);
  }
  if (!info.isFile) throw new UsageError(`cannot read ${what}: ${kindOf(info)}; give a regular file`);
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (e) {
    throw new UsageError(`cannot read ${what}: ${readError(e)}`);
  }
  try {
    if (!file.statSync().isFile) throw new UsageError(`cannot read ${what}: it is not a regular file`);
    const buffer = new Uint8Array(limit + 1);
    let size = 0;
    for (let n; size < buffer.length && (n = file.readSync(buffer.subarray(size))) !== null;) size += n;
    if (size > limit) {
      throw new UsageError(`${what} is larger than ${limit / 1024 / 1024} MiB; a config file is a few lines`);
    }
    return buffer.subarray(0, size);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`cannot read ${what}: ${readError(e)}`);
  } finally {
    file.close();
  }
}

/**
 * The offset where objects and lists nest deeper than `maxDepth`, or -1. Skips strings and JSONC
 * comments; linear, no recursion (the parser recurses, so this guards its stack).
 */
export function tooDeepAt(text: string, maxDepth: number): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 1;
    } else if (c === "{" || c === "[") {
      if (++depth > maxDepth) return i;
    } else if (c === "}" || c === "]") depth--;
  }
  return -1;
}

/**
 * Reads and parses a JSONC config file into its top-level object; every problem is a UsageError
 * naming the file. The JSONC parser is loaded only here, so a run without a config file does not
 * carry it in memory.
 */
export async function readJsoncObject(path: string): Promise<Record<string, unknown>> {
  const what = `config file ${escapeField(path)}`;
  const bytes = readBounded(path, what, MAX_CONFIG_BYTES);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`${what}: not UTF-8 text; save it as UTF-8`);
  }
  const deep = tooDeepAt(text, MAX_CONFIG_DEPTH);
  if (deep >= 0) {
    throw new UsageError(`${what}: nested deeper than ${MAX_CONFIG_DEPTH} levels at ${position(text, deep)}`);
  }
  const { parse: parseJsonc, printParseErrorCode } = await import("jsonc-parser");
  const errors: ParseError[] = [];
  const value = parseJsonc(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length) {
    const { error, offset } = errors[0];
    throw new UsageError(`${what}: ${printParseErrorCode(error)} at ${position(text, offset)}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError(`${what}: expected a JSON object at the top level`);
  }
  return value as Record<string, unknown>;
}
