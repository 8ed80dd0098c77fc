/**
 * Text that came from another process, made safe for the logs: one escaping grammar for every
 * classic file (PR-PORTS, PR-PIDS, PR-INITIAL), the `snapshot` table and terminal output, and one
 * lossless decoding of raw bytes.
 *
 * **Decoding.** Names, paths and command lines are bytes on Linux and need not be UTF-8.
 * {@link decodeBytes} decodes UTF-8 and turns each byte that is not part of a valid sequence into
 * the lone surrogate U+DC80–U+DCFF (Python's `surrogateescape`), so no byte is lost and nothing
 * throws; {@link encodeText} gives the exact bytes back. In JSON such a value is written as
 * `\udcff`, which JSON readers accept and surrogate-aware readers turn back into the byte.
 *
 * **Escaping** ({@link escapeField}), linear in the input:
 *
 * | in the value                                         | written as          |
 * | ---------------------------------------------------- | ------------------- |
 * | `\` before `\`, `x`, `u` or a character escaped here | `\\`                |
 * | any other `\` (`C:\Windows`, `DOMAIN\user`)           | `\` (as it is)      |
 * | `,`                                                  | `\x2c`              |
 * | C0 controls U+0000–U+001F, DEL U+007F                | `\xHH`              |
 * | a byte that was not UTF-8 (U+DC80–U+DCFF)            | `\xHH` (that byte)  |
 * | C1 controls U+0080–U+009F, U+2028, U+2029            | `\uHHHH`            |
 * | any other lone surrogate                             | `\uHHHH`            |
 *
 * `\xHH` is always one byte (HH < 0x80: that ASCII character; HH ≥ 0x80: a raw byte that was not
 * UTF-8); `\uHHHH` is always one code point. A backslash is doubled only where it could be read as
 * the start of an escape, so Windows paths and `DOMAIN\user` keep the original's bytes, and a
 * backslash that starts no escape reads back as itself. {@link escapeUser} also writes `<` as `\x3c`
 * and `>` as `\x3e`, so the `<user context>` field has exactly one `<` and one `>`. Every other
 * character is written as it is. {@link unescapeField} reverses both, one field at a time (split a
 * line at its commas first).
 *
 * @module
 */

const HEX = "0123456789abcdef";
const MAX_CODE_UNIT_TEXT = 0xffff;

function hex2(n: number): string {
  return HEX[n >> 4] + HEX[n & 15];
}

function hex4(n: number): string {
  return hex2(n >> 8) + hex2(n & 0xff);
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8 = new TextEncoder();

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when the byte there does not start one. */
function sequenceLength(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  const cont = (k: number) => i + k < b.length && (b[i + k] & 0xc0) === 0x80;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    const c1 = b[i + 1];
    if (c === 0xe0 && c1 < 0xa0) return 0; // overlong
    if (c === 0xed && c1 >= 0xa0) return 0; // UTF-16 surrogates are not UTF-8
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const c1 = b[i + 1];
    if (c === 0xf0 && c1 < 0x90) return 0; // overlong
    if (c === 0xf4 && c1 >= 0x90) return 0; // above U+10FFFF
    return 4;
  }
  return 0;
}

/**
 * Decodes bytes as UTF-8 without loss: each byte that is not part of a valid sequence becomes the
 * lone surrogate U+DC00 + byte. Linear; valid UTF-8 takes the fast native path.
 */
export function decodeBytes(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    // not valid UTF-8: decode run by run
  }
  const parts: string[] = [];
  let runStart = 0;
  let i = 0;
  while (i < bytes.length) {
    const n = sequenceLength(bytes, i);
    if (n > 0) {
      i += n;
      continue;
    }
    if (runStart < i) parts.push(strictUtf8.decode(bytes.subarray(runStart, i)));
    parts.push(String.fromCharCode(0xdc00 + bytes[i]));
    i++;
    runStart = i;
  }
  if (runStart < bytes.length) parts.push(strictUtf8.decode(bytes.subarray(runStart)));
  return parts.join("");
}

/** The exact bytes of a string made by {@link decodeBytes} (U+DC80–U+DCFF back to the raw byte). */
export function encodeText(text: string): Uint8Array {
  if (!/[\ud800-\udfff]/.test(text)) return utf8.encode(text);
  const out: number[] = [];
  let run = "";
  const flush = () => {
    if (run) { for (const b of utf8.encode(run)) out.push(b); }
    run = "";
  };
  for (let i = 0; i < text.length; i++) {
    const u = text.charCodeAt(i);
    const paired = u >= 0xd800 && u <= 0xdbff && i + 1 < text.length &&
      (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    if (paired) {
      run += text[i] + text[i + 1];
      i++;
    } else if (u >= 0xdc80 && u <= 0xdcff) {
      flush();
      out.push(u - 0xdc00);
    } else run += text[i];
  }
  flush();
  return Uint8Array.from(out);
}

/** Characters {@link escapeField} rewrites (lone surrogates are found separately). */
// deno-lint-ignore no-control-regex
const SPECIAL = /[\\,\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]/;
// deno-lint-ignore no-control-regex
const SPECIAL_USER = /[\\,<>\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]/;

/** The escape of the character at `i` (never a backslash), or undefined when it is written as it is. */
function escapeAt(text: string, i: number, user: boolean): string | undefined {
  const u = text.charCodeAt(i);
  if (u < 0x20 || u === 0x7f || u === 0x2c) return "\\x" + hex2(u);
  if (u === 0x3c || u === 0x3e) return user ? "\\x" + hex2(u) : undefined;
  if ((u >= 0x80 && u <= 0x9f) || u === 0x2028 || u === 0x2029) return "\\u" + hex4(u);
  if (u >= 0xd800 && u <= 0xdbff) {
    const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
    return (next & 0xfc00) === 0xdc00 ? undefined : "\\u" + hex4(u); // a valid pair stays
  }
  if (u >= 0xdc00 && u <= 0xdfff) {
    return u >= 0xdc80 && u <= 0xdcff ? "\\x" + hex2(u - 0xdc00) : "\\u" + hex4(u);
  }
  return undefined;
}

/**
 * Whether a backslash before position `i` must be doubled: when what follows it would otherwise
 * read as an escape (`\\`, `x`, `u`, or a character that is itself escaped). The end of the value
 * is not: fields are split before they are unescaped.
 */
function backslashNeedsDoubling(text: string, i: number, user: boolean): boolean {
  if (i >= text.length) return false;
  const u = text.charCodeAt(i);
  return u === 0x5c || u === 0x78 || u === 0x75 || escapeAt(text, i, user) !== undefined;
}

function escapeWith(text: string, special: RegExp): string {
  if (!special.test(text)) return text;
  const user = special === SPECIAL_USER;
  let out = "";
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const u = text.charCodeAt(i);
    let rep: string | undefined;
    if (u === 0x5c) rep = backslashNeedsDoubling(text, i + 1, user) ? "\\\\" : undefined;
    else if (u >= 0xd800 && u <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      i++; // a valid pair: written as it is
      continue;
    } else rep = escapeAt(text, i, user);
    if (rep === undefined) continue;
    out += text.slice(from, i) + rep;
    from = i + 1;
  }
  return out + text.slice(from);
}

/** One value for a classic file field, a `Key: value` line or a terminal: see the module doc. */
export function escapeField(text: string): string {
  return escapeWith(text, SPECIAL);
}

/** Like {@link escapeField}, and `<` `>` too: for the text inside the `<user context>` field. */
export function escapeUser(text: string): string {
  return escapeWith(text, SPECIAL_USER);
}

/**
 * Reverses {@link escapeField} and {@link escapeUser}: `\\`, `\xHH` (HH < 0x80: that character;
 * otherwise the raw byte, as U+DC00 + HH) and `\uHHHH`. A backslash that starts no escape is kept.
 */
export function unescapeField(text: string): string {
  if (!text.includes("\\")) return text;
  return text.replace(
    /\\(\\|x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4}))/g,
    (_m, all: string, x?: string, u?: string) => {
      if (all === "\\") return "\\";
      if (x !== undefined) {
        const b = parseInt(x, 16);
        return String.fromCharCode(b < 0x80 ? b : 0xdc00 + b);
      }
      return String.fromCharCode(Math.min(parseInt(u!, 16), MAX_CODE_UNIT_TEXT));
    },
  );
}

const LINE_BREAKERS = /[\u007f-\u009f\u2028\u2029]/g;
const HAS_LINE_BREAKER = /[\u007f-\u009f\u2028\u2029]/;

/**
 * Whether `JSON.stringify` of this string would leave a character that {@link jsonLine} escapes
 * (DEL, C1, U+2028, U+2029): false lets a caller that checked every hostile string of a record skip
 * the scan of the whole line.
 */
export function needsJsonEscape(text: string): boolean {
  return HAS_LINE_BREAKER.test(text);
}

/**
 * `JSON.stringify(value)` with U+0085, U+2028 and U+2029 written as `\u` escapes, so readers that
 * split lines on them still see one record per line; DEL and the other C1 controls (U+009B is CSI on
 * some terminals) too, so that no raw control character is left. Lone surrogates are escaped by
 * JSON.stringify.
 */
export function jsonLine(value: unknown): string {
  return jsonText(value);
}

/**
 * {@link jsonLine} with `indent` spaces of indentation (`JSON.stringify(value, null, indent)`): the
 * same escapes, for JSON meant for a terminal (`snapshot --json`).
 */
export function jsonText(value: unknown, indent?: number): string {
  const json = JSON.stringify(value, null, indent);
  if (!HAS_LINE_BREAKER.test(json)) return json;
  return json.replace(LINE_BREAKERS, (c) => "\\u" + hex4(c.charCodeAt(0)));
}

/** The marker that ends a value cut by {@link cutText}. */
export function cutMarker(cutBytes: number): string {
  return `…[cut ${cutBytes} bytes]`;
}

/**
 * `text` bounded to at most `maxBytes` bytes of UTF-8 (the marker included): when longer, it is cut
 * at a character boundary and ends with {@link cutMarker} saying how many bytes of the original were
 * cut. Linear; a value that fits is returned as it is.
 */
export function cutText(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes) return text;
  const bytes = encodeText(text);
  if (bytes.length <= maxBytes) return text;
  let keep = Math.max(0, maxBytes - utf8.encode(cutMarker(bytes.length)).length);
  while (keep > 0 && (bytes[keep] & 0xc0) === 0x80) keep--; // not inside a sequence
  return decodeBytes(bytes.subarray(0, keep)) + cutMarker(bytes.length - keep);
}
