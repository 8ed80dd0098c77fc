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

/** A run of whole lines decoded as UTF-8 at once (for fast scanning of JSON Lines). */
export interface TextChunk {
  /** The lines, each ending with `\n` (a CR before it is kept: strip it per line). */
  text: string;
  /** 1-based number of the first line in `text`. */
  firstLine: number;
}

/**
 * Like {@link readLines} but yields whole lines a chunk at a time as one decoded string (UTF-8, an
 * invalid byte becomes U+FFFD), so a search can run over the chunk instead of line by line. Same
 * bounds and cursor; a line over {@link MAX_LINE_BYTES} is skipped and counted.
 */
export async function* readTextChunks(
  path: string,
  cursor: LineCursor,
  options: ReadLinesOptions = {},
): AsyncGenerator<TextChunk> {
  const decoder = new TextDecoder();
  const file = await Deno.open(path, { read: true });
  try {
    await file.seek(cursor.offset, Deno.SeekMode.Start);
    // an unfinished line (at most MAX_LINE_BYTES) stays at the front; the next read lands after it
    const buf = new Uint8Array(MAX_LINE_BYTES + CHUNK_BYTES);
    let carry = 0;
    let skipBytes = -1; // >= 0 while inside a line that is too long: its bytes so far
    for (;;) {
      const n = await file.read(buf.subarray(carry, carry + CHUNK_BYTES));
      if (n === null || n === 0) break;
      let start = 0;
      let end = carry + n;
      if (skipBytes >= 0) {
        const lf = buf.subarray(0, end).indexOf(10);
        if (lf < 0) {
          skipBytes += n;
          continue;
        }
        cursor.offset += skipBytes + lf + 1;
        cursor.tooLong++;
        cursor.lines++;
        skipBytes = -1;
        start = lf + 1;
      }
      const data = buf.subarray(start, end);
      const last = data.lastIndexOf(10);
      if (last < 0) {
        if (data.length > MAX_LINE_BYTES) skipBytes = data.length, carry = 0;
        else buf.copyWithin(0, start, end), carry = data.length;
        continue;
      }
      const whole = data.subarray(0, last + 1);
      let count = 0;
      for (let i = whole.indexOf(10); i >= 0; i = whole.indexOf(10, i + 1)) count++;
      yield { text: decoder.decode(whole), firstLine: cursor.lines + 1 };
      cursor.lines += count;
      cursor.offset += whole.length;
      end = start + data.length;
      buf.copyWithin(0, start + last + 1, end);
      carry = end - (start + last + 1);
    }
    if (carry > 0 && skipBytes < 0 && options.includePartialTail) {
      yield { text: decoder.decode(buf.subarray(0, carry)) + "\n", firstLine: cursor.lines + 1 };
      cursor.lines++;
      cursor.offset += carry;
    }
  } finally {
    file.close();
  }
}
