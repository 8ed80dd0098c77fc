/**
 * Byte-exact, bounded reads of /proc files and links.
 *
 * Names, paths and command lines are bytes on Linux and need not be UTF-8. Deno's text reads replace
 * such bytes and `Deno.readLinkSync` throws on them, so a process with a hostile name could blind the
 * monitor or lose its own evidence. Here every read gives bytes (decoded losslessly by the caller with
 * `decodeBytes`), and every read is bounded: a process cannot make a poll read more than the cap.
 *
 * @module
 */

import { type LibcLibrary, openLibc } from "./ffi_libc.ts";

/** Longest link target read by {@link readLinkBytes} (the kernel's `PATH_MAX` is 4096). */
export const MAX_LINK_BYTES = 64 * 1024;
const FIRST_LINK_BUFFER = 4096;

/** Size of the reused read buffer, and of the chunks in which the rest of a file is counted. */
const CHUNK_BYTES = 64 * 1024;

let libc: LibcLibrary | undefined;
let libcFailed = false;
const encoder = new TextEncoder();
let linkBuffer = new Uint8Array(FIRST_LINK_BUFFER);
const chunk = new Uint8Array(CHUNK_BYTES);

function library(): LibcLibrary | undefined {
  if (libc === undefined && !libcFailed) {
    try {
      libc = openLibc();
    } catch {
      libcFailed = true; // no FFI: Deno's readLink, which fails on targets that are not UTF-8
    }
  }
  return libc;
}

/**
 * The target of the symbolic link `path`, byte for byte. Throws what `Deno.readLinkSync` throws
 * (`NotFound`, `PermissionDenied`, ...) when the link cannot be read. `Deno.readLinkSync` answers
 * first (one call, the common case); a target it refuses because it is not UTF-8 is read again with
 * readlink(2).
 */
export function readLinkBytes(path: string): Uint8Array {
  try {
    return encoder.encode(Deno.readLinkSync(path));
  } catch (error) {
    if (!(error instanceof Deno.errors.InvalidData)) throw error;
  }
  const lib = library();
  if (lib === undefined) {
    throw new Deno.errors.InvalidData(`link target of ${path} is not UTF-8 and FFI is denied`);
  }
  const cPath = encoder.encode(path + "\0");
  for (;;) {
    const n = Number(lib.symbols.readlink(cPath, linkBuffer, BigInt(linkBuffer.length)));
    if (n < 0) return encoder.encode(Deno.readLinkSync(path)); // gone meanwhile: let Deno name the error
    if (n < linkBuffer.length || linkBuffer.length >= MAX_LINK_BYTES) return linkBuffer.slice(0, n);
    linkBuffer = new Uint8Array(Math.min(linkBuffer.length * 4, MAX_LINK_BYTES)); // maybe truncated: retry
  }
}

/** What {@link readFileHead} read. */
export interface FileHead {
  /** The first bytes of the file, at most the cap (a copy, owned by the caller). */
  bytes: Uint8Array;
  /** Bytes of the file after `bytes`: all of them when counted, else a lower bound (0: none). */
  restBytes: number;
}

/**
 * The first `maxBytes` bytes of a file. With `countRest`, the bytes beyond are read in chunks into a
 * reused buffer and counted (for the cut marker of a command line); otherwise one more byte says
 * whether there are more. Throws what `Deno.openSync` / `readSync` throw.
 */
export function readFileHead(path: string, maxBytes: number, countRest = false): FileHead {
  const file = Deno.openSync(path, { read: true });
  try {
    const pieces: Uint8Array[] = [];
    let length = 0;
    let restBytes = 0;
    for (;;) {
      const n = file.readSync(chunk);
      if (n === null || n === 0) break;
      const keep = Math.min(n, maxBytes - length);
      if (keep > 0) pieces.push(chunk.slice(0, keep));
      length += keep;
      restBytes += n - keep;
      if (restBytes > 0 && !countRest) break;
    }
    if (pieces.length === 1) return { bytes: pieces[0], restBytes };
    const bytes = new Uint8Array(length);
    let at = 0;
    for (const piece of pieces) {
      bytes.set(piece, at);
      at += piece.length;
    }
    return { bytes, restBytes };
  } finally {
    file.close();
  }
}

/**
 * Length of `bytes` without a UTF-8 sequence cut at its end (the bytes of an incomplete last
 * character), so a value cut at a byte cap does not end in a broken character.
 */
export function utf8BoundaryLength(bytes: Uint8Array): number {
  let i = bytes.length;
  let continuation = 0;
  while (i > 0 && continuation < 3 && (bytes[i - 1] & 0xc0) === 0x80) {
    i--;
    continuation++;
  }
  if (i === 0) return bytes.length;
  const lead = bytes[i - 1];
  const needed = lead >= 0xf0 && lead <= 0xf4
    ? 3
    : lead >= 0xe0 && lead <= 0xef
    ? 2
    : lead >= 0xc2 && lead <= 0xdf
    ? 1
    : -1;
  return needed > continuation ? i - 1 : bytes.length;
}
