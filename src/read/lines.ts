/**
 * Reading a log file line by line in bounded memory: fixed-size chunks, lines split on LF (a CR
 * before it is dropped, so CRLF and LF files read alike), a cap on one line's length. Byte offsets
 * are kept so a follower can resume exactly where it stopped.
 *
 * Memory: one chunk ({@link CHUNK_BYTES}) plus at most one line of up to {@link MAX_LINE_BYTES};
 * a longer line is skipped (reported as `tooLong`), never buffered whole.
 *
 * @module
 */

/** Bytes read per `read` call. */
export const CHUNK_BYTES = 256 * 1024;

/** The longest line kept; longer lines are skipped. The writer bounds every value well below this. */
export const MAX_LINE_BYTES = 1024 * 1024;

/** One line of a file, without its line end. */
export interface RawLine {
  /** The bytes of the line (a view valid until the next line is read: copy to keep). */
  bytes: Uint8Array;
  /** 1-based line number. */
  number: number;
  /** Byte offset just past this line's LF: where the next line starts. */
  end: number;
}

/** Where reading stopped and what was left unread. */
export interface LineCursor {
  /** Byte offset of the first byte not yet consumed as a whole line. */
  offset: number;
  /** Lines consumed so far (the next line's number is this + 1). */
  lines: number;
  /** Lines skipped for exceeding {@link MAX_LINE_BYTES}. */
  tooLong: number;
}

/** Options of {@link readLines}. */
export interface ReadLinesOptions {
  /** Resume here (a cursor from an earlier call); the start of the file when absent. */
  from?: LineCursor;
  /** Yield a last line that has no LF (a finished file cut short); `false` leaves it for later (a file being written). */
  includePartialTail?: boolean;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * Yields the lines of `path` from `options.from` to the current end of the file; `cursor` is updated
 * as lines are consumed, so after the loop it says where to resume.
 */
export async function* readLines(
  path: string,
  cursor: LineCursor = { offset: 0, lines: 0, tooLong: 0 },
  options: ReadLinesOptions = {},
): AsyncGenerator<RawLine> {
  const file = await Deno.open(path, { read: true });
  try {
    await file.seek(cursor.offset, Deno.SeekMode.Start);
    const buf = new Uint8Array(CHUNK_BYTES);
    let carry: Uint8Array = new Uint8Array(0);
    let skipping = false; // inside a line that is too long
    let pos = cursor.offset; // file offset of carry[0] / next byte
    for (;;) {
      const n = await file.read(buf);
      if (n === null || n === 0) break;
      let chunk: Uint8Array = buf.subarray(0, n);
      if (carry.length) chunk = concat(carry, chunk);
      const base = pos - carry.length;
      carry = new Uint8Array(0);
      let start = 0;
      for (;;) {
        const lf = chunk.indexOf(10, start);
        if (lf < 0) break;
        const end = base + lf + 1;
        if (skipping || lf - start > MAX_LINE_BYTES) {
          skipping = false;
          cursor.tooLong++;
          cursor.lines++;
        } else {
          const stop = lf > start && chunk[lf - 1] === 13 ? lf - 1 : lf;
          cursor.lines++;
          yield { bytes: chunk.subarray(start, stop), number: cursor.lines, end };
        }
        cursor.offset = end;
        start = lf + 1;
      }
      const rest = chunk.subarray(start);
      if (rest.length > MAX_LINE_BYTES) skipping = true;
      else if (!skipping) carry = rest.slice();
      pos += n;
    }
    if (carry.length && options.includePartialTail && !skipping) {
      const stop = carry[carry.length - 1] === 13 ? carry.length - 1 : carry.length;
      cursor.lines++;
      cursor.offset += carry.length;
      yield { bytes: carry.subarray(0, stop), number: cursor.lines, end: cursor.offset };
    }
  } finally {
    file.close();
  }
}
