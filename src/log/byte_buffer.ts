/**
 * The writer's per-file buffer of bytes waiting to be appended, filled line by line with UTF-8
 * (`encodeInto`, no intermediate arrays). Lines are encoded as they come, so that no string outlives
 * its line: holding a batch's lines as strings until the write costs more in garbage collection than
 * one encoding call per line.
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

  /** Appends `text` and then the line end `eol` (`"\n"` or `"\r\n"`, written without another encoding call). */
  addLine(text: string, eol: "\n" | "\r\n"): void {
    this.add(text);
    if (this.length + 2 > this.#bytes.length) this.#grow(this.length + 2);
    if (eol === "\r\n") this.#bytes[this.length++] = 13;
    this.#bytes[this.length++] = 10;
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
