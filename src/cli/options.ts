/**
 * Strict command-line parsing shared by every command: unknown options with a did-you-mean, one
 * line per error (never the argument parser's multi-line text), no stray arguments, no option given
 * twice unless it is repeatable. Values in messages are escaped (they may hold control characters).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { UsageError } from "../errors.ts";
import { escapeField } from "../model/text.ts";

/** Option specs as `node:util` parseArgs takes them. */
export type OptionSpecs = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>["options"]>;

/** Edit distance (insertions, deletions, substitutions, adjacent swaps) between two short words. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/** The closest of `candidates` to `word` when it is close enough to be a typo (or a prefix of one). */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  if (word.length > 64) return undefined;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const distance = c.startsWith(word) && word.length >= 2 ? 0.5 : editDistance(word, c);
    if (distance < bestDistance) [best, bestDistance] = [c, distance];
  }
  return bestDistance <= Math.max(1, Math.floor((best?.length ?? 0) / 3)) ? best : undefined;
}

/** ` (did you mean 'x'?)` when `word` is close to one of `candidates`, else an empty string. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const match = closest(word, candidates);
  return match === undefined ? "" : ` (did you mean '${match}'?)`;
}

/** What a command's parser took: its option specs and whether it takes arguments (file names). */
export interface ParserShape {
  /** The specs handed to parseArgs. */
  options: OptionSpecs;
  /** Whether arguments other than options are allowed. */
  allowPositionals: boolean;
}

const parsedWith = new Map<string, ParserShape>();

/**
 * The specs each command last parsed its arguments with, by command name: the one table that shell
 * completion and the man page are generated from (src/cli/completion.ts), so they cannot drift.
 */
export function parserShapes(): ReadonlyMap<string, ParserShape> {
  return parsedWith;
}

/** `--name` for a long option, `-n` for a one-letter name. */
function flagName(name: string): string {
  return name.length === 1 ? `-${name}` : `--${name}`;
}

/**
 * `--opt -5`: a string option followed by a negative number takes it as its value (the parser would
 * call it ambiguous), so the value's own check gives the one clear message.
 */
function joinNegativeValues(args: string[], options: OptionSpecs): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i].startsWith("--") ? args[i].slice(2) : undefined;
    if (name && options[name]?.type === "string" && /^-\d/.test(args[i + 1] ?? "")) {
      out.push(`${args[i]}=${args[++i]}`);
    } else out.push(args[i]);
  }
  return out;
}

function oneLine(command: string, error: Error & { code?: string }, options: OptionSpecs): string {
  const message = escapeField(error.message);
  const help = `run 'portreporter ${command} --help' for the options`;
  let m: RegExpExecArray | null;
  if (error.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && (m = /'(-[^']*)'/.exec(message))) {
    const names = Object.entries(options).flatMap(([n, o]) =>
      o.short ? [flagName(n), `-${o.short}`] : [flagName(n)]
    );
    return `${command}: unknown option '${m[1]}'${didYouMean(m[1].split("=")[0], names)}; ${help}`;
  }
  if (error.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL" && (m = /'([^']*)'/.exec(message))) {
    return `${command}: unexpected argument '${m[1]}'; ${command} takes only options; ${help}`;
  }
  if ((m = /^Option '(-[^ ']*)[^']*' argument missing/.exec(message))) {
    return `${command}: option '${m[1]}' needs a value; ${help}`;
  }
  if ((m = /^Option '(-[^ ']*)[^']*' does not take an argument/.exec(message))) {
    return `${command}: option '${m[1]}' takes no value; ${help}`;
  }
  const first = message.split(/\\x0a|\.\s/)[0].replace(/\.$/, "");
  return `${command}: ${first}; ${help}`;
}

/**
 * Parses `args` strictly against `options`; every mistake is one UsageError line naming the command:
 * an unknown option (with did-you-mean), a missing value, an extra argument (unless
 * `allowPositionals`: file names of the reading commands), a non-repeatable option given twice.
 */
export function parseOptions<T extends OptionSpecs>(
  command: string,
  args: string[],
  options: T,
  allowPositionals = false,
) {
  parsedWith.set(command, { options, allowPositionals });
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(args, options),
      options,
      strict: true,
      allowPositionals,
      tokens: true,
    });
  } catch (e) {
    throw new UsageError(oneLine(command, e as Error, options));
  }
  const seen = new Set<string>();
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== "option" || options[token.name]?.multiple) continue;
    if (seen.has(token.name)) {
      throw new UsageError(
        `${command}: option '${
          flagName(token.name)
        }' is given twice; give it once (only the last would count)`,
      );
    }
    seen.add(token.name);
  }
  return { values: parsed.values, positionals: parsed.positionals };
}
