/**
 * The few raw pointer operations the Windows code needs (reading UTF-16 strings behind pointers,
 * turning handles into numbers and back), kept here beside the symbol tables so that the rest of
 * the Windows code never touches `Deno.UnsafePointer*` directly.
 *
 * @module
 */

import { INVALID_HANDLE_VALUE } from "../layouts.ts";

/** A NUL-terminated UTF-16LE copy of `s`, ready to pass as an `LPCWSTR` buffer. */
export function wideZ(s: string): Uint16Array<ArrayBuffer> {
  const b = new Uint16Array(s.length + 1);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

/** The UTF-16 string stored at `ptr` up to its NUL (at most `maxChars`); `""` for a null pointer. */
export function readWideAt(ptr: Deno.PointerValue, maxChars = 32768): string {
  if (!ptr) return "";
  const view = new Deno.UnsafePointerView(ptr);
  const units: number[] = [];
  for (let i = 0; i < maxChars; i++) {
    const c = view.getUint16(2 * i);
    if (c === 0) break;
    units.push(c);
  }
  return String.fromCharCode(...units);
}

/** A pointer from a 64-bit value read out of a struct (null for 0). */
export function pointerFrom(value: bigint): Deno.PointerValue {
  return Deno.UnsafePointer.create(value);
}

/** The numeric value of a pointer or handle (0n for null). */
export function pointerValue(p: Deno.PointerValue): bigint {
  return p ? BigInt(Deno.UnsafePointer.value(p)) : 0n;
}

/** True for a null handle or `INVALID_HANDLE_VALUE` (what CreateToolhelp32Snapshot returns on failure). */
export function isBadHandle(p: Deno.PointerValue): boolean {
  return !p || pointerValue(p) === INVALID_HANDLE_VALUE;
}

/**
 * An array of the addresses of `buffers` (an `LPCWSTR*` for ReportEventW). The caller must keep
 * `buffers` alive for as long as the array is used.
 */
export function addressArray(buffers: readonly BufferSource[]): BigUint64Array {
  return new BigUint64Array(buffers.map((b) => pointerValue(Deno.UnsafePointer.of(b))));
}

/** The address of a buffer's first byte (to turn a pointer into that buffer back into an offset). */
export function addressOf(buffer: BufferSource): bigint {
  return pointerValue(Deno.UnsafePointer.of(buffer));
}
