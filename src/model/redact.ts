/**
 * Secrets in command lines never reach a log: `portreporter` records every owner's command line, and
 * programs are often started with credentials in it. The value of a secret is replaced by `***`; the
 * option name stays, so the entry still says what was there.
 *
 * The command line (arguments joined by spaces, or a Windows command line with its quotes) is read
 * once from left to right, token by token (a token is a run of non-space characters; one that starts
 * with a quote runs to the matching quote). Every search moves forward only, so the cost is linear in
 * the length of the line whatever it holds. What is caught:
 *
 * - options whose name says secret (see {@link isSecretName}), with the value attached
 *   (`--password=x`, `-Ddb.password=x`, `/Password:x`) or as the next token (`--api-key x`,
 *   `-token 'a b'`);
 * - `name=value` anywhere in a token (`PGPASSWORD=x`, `-o user=a,password=x`, `?token=x&`);
 * - `Name: value` headers (`X-Api-Key: x`, `Authorization: Bearer x`: the scheme stays) and
 *   `"name": "value"` pairs (JSON, Python);
 * - URL credentials (`https://user:***@host`, a `/` in the password included; `https://***@host`);
 * - the short options of well-known programs ({@link PROGRAM_SECRET_FLAGS}: `mysql -px`,
 *   `sshpass -p x`, `redis-cli -a x`, `curl -u user:x`, `smbclient -U user%x`, `openssl -k x`, ...).
 *
 * @module
 */

import {
  AUTH_SCHEMES,
  isSecretName,
  PROGRAM_SECRET_FLAGS,
  PROGRAM_USERPASS_OPTIONS,
} from "./secret_names.ts";

export { isSecretName, PROGRAM_SECRET_FLAGS } from "./secret_names.ts";

/** What replaces a secret. */
export const REDACTED = "***";

/** `[A-Za-z0-9_.-]`: a character of an option, variable or header name. */
function isNameChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f ||
    c === 0x2e || c === 0x2d;
}

/** White space that separates tokens (ASCII, as command lines are split). */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function isQuote(c: string | undefined): c is '"' | "'" {
  return c === '"' || c === "'";
}

/** `record[key]` for own keys only (`constructor` is no program). */
function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Positions of one string at or after a position; a search never rescans what an earlier one read. */
class ForwardFinder {
  #from = Infinity;
  #at = -1;
  constructor(readonly text: string, readonly needle: string) {}

  /** First position ≥ `from` where the string starts, or -1. */
  find(from: number): number {
    if (from < this.#from || (this.#at !== -1 && this.#at < from)) {
      this.#from = from;
      this.#at = this.text.indexOf(this.needle, from);
    }
    return this.#at;
  }
}

/** Longest token looked up as a program name (the longest in the table is far shorter). */
const MAX_PROGRAM_TOKEN = 256;

/** Basename of a program token, lower case, without quotes and `.exe`. */
function programName(token: string): string {
  let start = 0;
  let end = token.length;
  while (start < end && isQuote(token[start])) start++;
  while (end > start && isQuote(token[end - 1])) end--;
  const bare = token.slice(start, end);
  const slash = Math.max(bare.lastIndexOf("/"), bare.lastIndexOf("\\"));
  const name = bare.slice(slash + 1).toLowerCase();
  return name.endsWith(".exe") ? name.slice(0, -4) : name;
}

/** What the next token is: a plain secret, a program flag's value, `user:secret`, a header value. */
type Pending = "plain" | "flag" | "userpass" | "scheme" | "long-secret" | undefined;

/** One pass over one command line: collects the ranges to replace, then builds the result. */
class Redaction {
  readonly #text: string;
  readonly #ranges: number[] = []; // start, end pairs, ascending, non-overlapping
  readonly #find: Record<string, ForwardFinder>;
  #program = "";

  constructor(text: string) {
    this.#text = text;
    this.#find = {};
    for (const needle of ['"', "'", "@", "=", ":", "://"]) {
      this.#find[needle] = new ForwardFinder(text, needle);
    }
  }

  /** The command line with every collected range replaced by {@link REDACTED}. */
  run(): string {
    let pending: Pending;
    let index = 0;
    for (let s = this.#skipSpace(0); s < this.#text.length; s = this.#skipSpace(s)) {
      const e = this.#tokenEnd(s);
      const token = this.#text.slice(s, e);
      if (index++ === 0) this.#program = programName(token);
      else if (e - s <= MAX_PROGRAM_TOKEN) {
        const name = programName(token);
        if (own(PROGRAM_SECRET_FLAGS, name) !== undefined) this.#program = name;
      }
      pending = pending === undefined ? this.#token(token, s, e) : this.#value(pending, token, s, e);
      s = Math.max(e, this.#ranges.length > 0 ? this.#ranges[this.#ranges.length - 1] : 0);
    }
    return this.#result();
  }

  #skipSpace(i: number): number {
    while (i < this.#text.length && isSpace(this.#text.charCodeAt(i))) i++;
    return i;
  }

  #tokenEnd(s: number): number {
    let i = s;
    while (i < this.#text.length && !isSpace(this.#text.charCodeAt(i))) i++;
    return i;
  }

  #redact(start: number, end: number): void {
    const ranges = this.#ranges;
    if (end <= start) return;
    if (ranges.length > 0 && start < ranges[ranges.length - 1]) return; // already inside one
    ranges.push(start, end);
  }

  /**
   * Redacts the value at `at` in the token `s`..`e`: to the end of the token, or — when the value or
   * the token starts with a quote — to the matching quote, past spaces (`--password "a b"`,
   * `"/Password:a b"`); a closing quote of the token stays.
   */
  #redactValue(at: number, s: number, e: number): void {
    const text = this.#text;
    if (isQuote(text[at])) {
      const close = this.#find[text[at]].find(at + 1);
      this.#redact(at, close === -1 ? e : close + 1);
      return;
    }
    const quote = text[s];
    if (isQuote(quote) && s < at) {
      const close = this.#find[quote].find(s + 1);
      if (close === -1 || close >= e - 1) this.#redact(at, close === -1 ? e : Math.max(at, close));
      else this.#redact(at, close);
      return;
    }
    this.#redact(at, isQuote(text[e - 1]) && e - 1 > at ? e - 1 : e);
  }

  /** A token that is the value of the token before it. */
  #value(kind: Pending, token: string, s: number, e: number): Pending {
    if (kind === "long-secret" && /^--?[A-Za-z]/.test(token)) return this.#token(token, s, e);
    if (kind === "scheme" && AUTH_SCHEMES.has(token.toLowerCase().replace(/^["']/, ""))) return "plain";
    if (kind === "userpass") {
      const separator = token.search(/[:%]/);
      if (separator > 0) this.#redactValue(s + separator + 1, s, e);
      return undefined;
    }
    this.#redactValue(s, s, e);
    return undefined;
  }

  /** A token on its own: decides what it redacts and whether the next token is a value. */
  #token(token: string, s: number, e: number): Pending {
    const lead = isQuote(token[0]) ? 1 : 0;
    const body = lead === 0 ? token : token.slice(lead);
    const first = body.charCodeAt(0);
    if (first === 0x2d || first === 0x2f) { // - or /
      const dashes = body.startsWith("--") ? "--" : first === 0x2d ? "-" : "/";
      const pending = this.#option(body, dashes, s, e);
      if (pending !== false) return pending;
    }
    if (body.endsWith(":")) {
      const header = /^([A-Za-z0-9_.-]+):$/.exec(body);
      if (header !== null && isSecretName(header[1])) return "scheme";
    }
    const word = body.length === 5 || body.length === 6 ? body.toLowerCase() : "";
    if (word === "bearer" || word === "basic") {
      const next = this.#skipSpace(e);
      const long = this.#tokenEnd(next) - next >= 8;
      if (long && this.#text[next] !== "-") return "plain"; // `Bearer <token>` inside a longer value
    }
    this.#inside(s, e);
    return undefined;
  }

  /**
   * An option token (`-x`, `--name`, `/name`; `body` is the token without a leading quote). Returns
   * what the next token is, or false when it is no secret option (its inside is scanned then).
   */
  #option(body: string, dashes: string, s: number, e: number): Pending | false {
    const bodyStart = e - body.length;
    const rule = dashes === "-" && body.length >= 2
      ? own(own(PROGRAM_SECRET_FLAGS, this.#program) ?? {}, body[1])
      : undefined;
    if (rule !== undefined) {
      if (body.length === 2) {
        return rule === "attached" ? undefined : rule === "userpass" ? "userpass" : "flag";
      }
      this.#secretAfter(bodyStart + 2, s, e, rule === "userpass");
      return undefined;
    }
    let n = dashes.length;
    while (n < body.length && isNameChar(body.charCodeAt(n))) n++;
    const name = body.slice(dashes.length, n);
    const userpass = own(PROGRAM_USERPASS_OPTIONS, this.#program)?.includes(name.toLowerCase()) === true;
    if (!userpass && !isSecretName(name)) return false;
    if (n === body.length) {
      if (name.length <= 1 && dashes !== "--") return false;
      return userpass ? "userpass" : "long-secret";
    }
    if (body[n] !== "=" && body[n] !== ":") return false;
    this.#secretAfter(bodyStart + n + 1, s, e, userpass);
    return undefined;
  }

  /** Redacts the value at `at`: all of it, or with `userpass` only what follows `user:` / `user%`. */
  #secretAfter(at: number, s: number, e: number, userpass: boolean): void {
    if (!userpass) return this.#redactValue(at, s, e);
    const separator = this.#text.slice(at, e).search(/[:%]/);
    if (separator > 0) this.#redactValue(at + separator + 1, s, e);
  }

  /** `name=value` pairs, a whole-token `name:value`, and URL credentials inside a token. */
  #inside(s: number, e: number): void {
    const text = this.#text;
    const found: number[] = [];
    const colonAt = this.#find[":"].find(s);
    if (colonAt !== -1 && colonAt < e && colonAt - s <= 257) {
      const colon = /^["']?([A-Za-z0-9_.-]+):(?!\/\/)\S/.exec(text.slice(s, Math.min(e, s + 260)));
      if (colon !== null && isSecretName(colon[1])) found.push(s + colon[0].length - 1, e);
    }
    const equals = this.#find["="];
    for (let i = equals.find(s); i !== -1 && i < e; i = equals.find(i + 1)) {
      let n = i;
      while (n > s && isNameChar(text.charCodeAt(n - 1))) n--;
      if (n === i || !isSecretName(text.slice(n, i).replace(/^-+/, ""))) continue;
      let end = i + 1;
      while (end < e && !"&,;\"'".includes(text[end])) end++;
      found.push(i + 1, end);
      i = end - 1;
    }
    this.#urlCredentials(s, e, found);
    if (found.length === 0) return;
    if (found.length === 2) return this.#redact(found[0], found[1]);
    const pairs: [number, number][] = [];
    for (let k = 0; k < found.length; k += 2) pairs.push([found[k], found[k + 1]]);
    pairs.sort((a, b) => a[0] - b[0]);
    for (const [a, b] of pairs) this.#redact(a, b);
  }

  /** `scheme://user:password@`, `scheme://:password@` and `scheme://token@`: the secret part. */
  #urlCredentials(s: number, e: number, found: number[]): void {
    const text = this.#text;
    const schemes = this.#find["://"];
    for (let i = schemes.find(s); i !== -1 && i < e; i = schemes.find(i + 1)) {
      let u = i + 3;
      while (u < e && !":@/?#".includes(text[u])) u++;
      if (u >= e) return;
      if (text[u] === "@") {
        if (u > i + 3) found.push(i + 3, u); // https://tok@host: a token or a user, it goes
        i = u;
        continue;
      }
      if (text[u] !== ":") {
        i = u - 1;
        continue;
      }
      const at = this.#find["@"].find(u + 1);
      if (at === -1 || at >= e) {
        i = u;
        continue; // host:port
      }
      found.push(u + 1, at);
      i = at;
    }
  }

  #result(): string {
    const ranges = this.#ranges;
    if (ranges.length === 0) return this.#text;
    let out = "";
    let from = 0;
    for (let k = 0; k < ranges.length; k += 2) {
      out += this.#text.slice(from, ranges[k]) + REDACTED;
      from = ranges[k + 1];
    }
    return out + this.#text.slice(from);
  }
}

/** `"name": "value"` and `'name': 'value'` pairs (JSON, Python) whose name is a secret. */
const QUOTED_PAIR = /(["'])([A-Za-z0-9_.-]{1,64})\1\s*:\s*(["'])/g;

function redactQuotedPairs(text: string): string {
  if (!text.includes(":")) return text;
  let out = "";
  let from = 0;
  QUOTED_PAIR.lastIndex = 0;
  for (let m = QUOTED_PAIR.exec(text); m !== null; m = QUOTED_PAIR.exec(text)) {
    if (!isSecretName(m[2])) {
      QUOTED_PAIR.lastIndex = m.index + m[0].length - 1; // the value's quote may open the next name
      continue;
    }
    const valueStart = m.index + m[0].length;
    let end = valueStart;
    while (end < text.length && text[end] !== m[3]) end += text[end] === "\\" ? 2 : 1;
    out += text.slice(from, valueStart) + REDACTED;
    from = Math.min(end, text.length);
    QUOTED_PAIR.lastIndex = Math.min(end + 1, text.length);
  }
  return out + text.slice(from);
}

/** The command line with secrets replaced by {@link REDACTED}; linear in its length. */
export function redactCommandLine(commandLine: string): string {
  return new Redaction(redactQuotedPairs(commandLine)).run();
}
