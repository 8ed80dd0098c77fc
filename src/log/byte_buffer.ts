/**
 * The writer's per-file buffer of bytes waiting to be appended, filled line by line: text as UTF-8
 * (`encodeInto`, no intermediate arrays), and ASCII, ready bytes, numbers and JSON strings written
 * straight in, so that the hot lines (PR-EVENTS, PR-PORTS) are made without any string for the line.
 * Lines are written as they come: holding a batch's lines as strings until the write costs more in
 * garbage collection than the bytes.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Size a {@link ByteBuffer} starts with. */
export const BYTE_BUFFER_BYTES = 64 * 1024;
/** The most a {@link ByteBuffer} keeps allocated once emptied (the writer appends every 256 KiB). */
export const BYTE_BUFFER_KEPT_BYTES = 1024 * 1024;

/** See the module description. */
export class ByteBuffer {
  #bytes = new Uint8Array(BYTE_BUFFER_BYTES);
  /** Bytes in use; set it back to an earlier value to drop what was added since. */
  length = 0;

  /** Bytes allocated. */
  get capacity(): number {
    return this.#bytes.length;
  }

  /** Empties the buffer; one grown past {@link BYTE_BUFFER_KEPT_BYTES} (a huge item) is let go. */
  clear(): void {
    this.length = 0;
    if (this.#bytes.length > BYTE_BUFFER_KEPT_BYTES) this.#bytes = new Uint8Array(BYTE_BUFFER_BYTES);
  }

  /** Appends `text` as UTF-8. */
  add(text: string): void {
    const need = this.length + text.length * 3;
    if (need > this.#bytes.length) this.#grow(need);
    this.length += encoder.encodeInto(text, this.#bytes.subarray(this.length)).written;
  }

  /** Appends `text`, known to be ASCII (e.g. digits, keys, ISO times), without an encoding call. */
  addAscii(text: string): void {
    const n = text.length;
    if (this.length + n > this.#bytes.length) this.#grow(this.length + n);
    const bytes = this.#bytes;
    let at = this.length;
    for (let i = 0; i < n; i++) bytes[at++] = text.charCodeAt(i);
    this.length = at;
  }

  /** Appends `bytes`. */
  addBytes(bytes: Uint8Array): void {
    const n = bytes.length;
    if (this.length + n > this.#bytes.length) this.#grow(this.length + n);
    if (n > 32) this.#bytes.set(bytes, this.length);
    else for (let i = 0, at = this.length; i < n; i++) this.#bytes[at + i] = bytes[i];
    this.length += n;
  }

  /** Appends a number as `JSON.stringify` writes it (`null` when not finite). */
  addNumber(n: number): void {
    if (n >= 0 && n <= 0xffff_ffff && Number.isInteger(n)) return this.#addDigits(n);
    this.addAscii(Number.isFinite(n) ? String(n) : "null");
  }

  /** Appends a number as `String(n)` writes it. */
  addDecimal(n: number): void {
    if (n >= 0 && n <= 0xffff_ffff && Number.isInteger(n)) return this.#addDigits(n);
    this.addAscii(String(n));
  }

  /**
   * Appends `text` as a JSON string, quotes included, exactly as `jsonLine` writes it: printable
   * ASCII directly, anything else through `escaped` (its JSON text).
   */
  addJsonString(text: string, escaped: (text: string) => string): void {
    const n = text.length;
    const start = this.length;
    if (start + n + 2 > this.#bytes.length) this.#grow(start + n + 2);
    const bytes = this.#bytes;
    let at = start;
    bytes[at++] = 34;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x20 || c === 34 || c === 92 || c >= 0x7f) {
        this.length = start;
        return this.add(escaped(text));
      }
      bytes[at++] = c;
    }
    bytes[at++] = 34;
    this.length = at;
  }

  #addDigits(n: number): void {
    if (this.length + 10 > this.#bytes.length) this.#grow(this.length + 10);
    const bytes = this.#bytes;
    let digits = 1;
    for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    let at = this.length + digits;
    this.length = at;
    do {
      const next = Math.floor(n / 10);
      bytes[--at] = 48 + n - next * 10;
      n = next;
    } while (n > 0);
  }

  /** The bytes in use (a view, valid until the next `add`). */
  view(): Uint8Array {
    return this.#bytes.subarray(0, this.length);
  }

  #grow(need: number): void {
    const grown = new Uint8Array(Math.max(need, this.#bytes.length * 2));
    grown.set(this.#bytes.subarray(0, this.length));
    this.#bytes = grown;
  }
}
