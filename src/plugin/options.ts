/**
 * Validation of plugin options (the JSON object from the config file). Every problem is a
 * {@link UsageError} with one line naming the option and what is wrong; the pipeline prefixes the plugin.
 *
 * @module
 */

import { UsageError } from "../errors.ts";

/** Short, single-line rendering of a bad value for an error message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** True for a plain JSON-style object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Reads typed options out of an untyped record and rejects unknown keys (so that a typo in a config file is
 * an error at start, not a silently ignored setting).
 */
export class OptionReader {
  readonly #options: Record<string, unknown>;
  readonly #prefix: string;

  /**
   * @param options the raw options; anything but a plain object is rejected.
   * @param known every option name the plugin understands.
   * @param prefix put before option names in messages, e.g. `include[2].` for nested rules.
   */
  constructor(options: unknown, known: readonly string[], prefix = "") {
    if (options === undefined || options === null) options = {};
    if (!isRecord(options)) {
      throw new UsageError(`${prefix ? prefix.replace(/\.$/, "") : "options"} must be an object`);
    }
    this.#options = options;
    this.#prefix = prefix;
    for (const key of Object.keys(options)) {
      if (!known.includes(key)) {
        throw new UsageError(`unknown option "${prefix}${key}" (known: ${known.join(", ")})`);
      }
    }
  }

  /** Whether the option is present (and not null). */
  has(key: string): boolean {
    return this.#options[key] !== undefined && this.#options[key] !== null;
  }

  /** The raw value. */
  raw(key: string): unknown {
    return this.#options[key];
  }

  #bad(key: string, what: string): never {
    throw new UsageError(
      `option "${this.#prefix}${key}" must be ${what}, got ${describeValue(this.#options[key])}`,
    );
  }

  /** A string option; absent is an error unless a `fallback` is given. */
  string(key: string, fallback?: string): string;
  /** A string option that may be absent. */
  string(key: string, fallback: undefined, optional: true): string | undefined;
  string(key: string, fallback?: string, optional = false): string | undefined {
    if (!this.has(key)) {
      if (fallback !== undefined || optional) return fallback;
      this.#bad(key, "a string");
    }
    const value = this.#options[key];
    if (typeof value !== "string" || value.length === 0) this.#bad(key, "a non-empty string");
    return value;
  }

  /** A number option within bounds (integers only unless `integer` is false). */
  number(
    key: string,
    fallback: number,
    opts: { min?: number; max?: number; integer?: boolean } = {},
  ): number {
    if (!this.has(key)) return fallback;
    const value = this.#options[key];
    const { min = -Infinity, max = Infinity, integer = true } = opts;
    const what = `${integer ? "an integer" : "a number"}${
      min > -Infinity || max < Infinity ? ` from ${min} to ${max === Infinity ? "∞" : max}` : ""
    }`;
    if (typeof value !== "number" || !Number.isFinite(value)) this.#bad(key, what);
    if ((integer && !Number.isInteger(value)) || value < min || value > max) this.#bad(key, what);
    return value;
  }

  /** A boolean option. */
  boolean(key: string, fallback: boolean): boolean {
    if (!this.has(key)) return fallback;
    const value = this.#options[key];
    if (typeof value !== "boolean") this.#bad(key, "true or false");
    return value;
  }

  /** One of a fixed set of strings. */
  oneOf<T extends string>(key: string, choices: readonly T[], fallback: T): T {
    if (!this.has(key)) return fallback;
    const value = this.#options[key];
    if (typeof value !== "string" || !choices.includes(value as T)) {
      this.#bad(key, `one of ${choices.join(", ")}`);
    }
    return value as T;
  }

  /** A list of non-empty strings (a single string is accepted as a list of one when `single` is true). */
  stringList(key: string, opts: { required?: boolean; single?: boolean; nonEmpty?: boolean } = {}): string[] {
    if (!this.has(key)) {
      if (opts.required) this.#bad(key, "a list of strings");
      return [];
    }
    let value = this.#options[key];
    if (opts.single && typeof value === "string") value = [value];
    if (!Array.isArray(value) || !value.every((v) => typeof v === "string" && v.length > 0)) {
      this.#bad(key, "a list of non-empty strings");
    }
    if (opts.nonEmpty && value.length === 0) this.#bad(key, "a non-empty list of strings");
    return [...value] as string[];
  }

  /** An object whose values are all strings (e.g. HTTP headers, environment variables). */
  stringMap(key: string): Record<string, string> {
    if (!this.has(key)) return {};
    const value = this.#options[key];
    if (!isRecord(value) || !Object.values(value).every((v) => typeof v === "string")) {
      this.#bad(key, "an object of strings");
    }
    return { ...value } as Record<string, string>;
  }

  /** A list of anything (elements are validated by the caller). */
  list(key: string): unknown[] {
    if (!this.has(key)) return [];
    const value = this.#options[key];
    if (!Array.isArray(value)) this.#bad(key, "a list");
    return value;
  }
}
