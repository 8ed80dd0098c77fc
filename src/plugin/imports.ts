/**
 * Loading, the import check: a user plugin may import only local files under its own folder, `data:` URLs
 * and `node:` built-ins. Module loading in Deno 2.9.6 is not bound by a Worker's permissions (an `npm:`
 * import downloads a package and writes the lock file with `net: false`; a `file:` import reads any file), so
 * every module a plugin can load is found and checked here, before it runs:
 *
 * - the source of the plugin file and of every local module it imports, recursively, is scanned for static
 *   imports and re-exports, `import()` and `import.meta.resolve`; type-only imports are skipped (erased);
 * - `import()` with anything but a string literal is refused (a computed specifier cannot be checked); the
 *   Worker has no `eval`, `Function` constructor or `Worker` (see `worker_host.ts`), so no code that was
 *   not scanned can run;
 * - `node:module`, `node:vm`, `node:worker_threads` and `node:inspector` are refused (they load or run
 *   code that was not scanned).
 *
 * The scanner is a small lexer (comments, strings, template literals, regular expressions); it errs on the
 * side of refusing.
 *
 * @module
 */

import { dirname, extname, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** `node:` modules a plugin may not import. */
export const REFUSED_NODE_MODULES = ["node:module", "node:vm", "node:worker_threads", "node:inspector"];

/** One import found in a source text. */
export interface FoundImport {
  /** The specifier, or `null` for a computed `import()`. */
  specifier: string | null;
}

const REGEX_AFTER = new Set([..."(,=:[!&|?{};+-*%<>~^"]);
const REGEX_AFTER_WORDS = /(?:^|[^\w$])(?:return|typeof|case|do|else|in|of|void|yield|await|delete|new)$/;

/**
 * The source with comments removed and every string or template literal replaced by `"#n"` (its text is
 * `strings[n]`; a template with substitutions is `null`).
 */
export function tokenize(src: string): { code: string; strings: (string | null)[] } {
  const strings: (string | null)[] = [];
  let code = "";
  let i = 0;
  const lastSignificant = () => {
    const t = code.trimEnd();
    return t.length ? t[t.length - 1] : "";
  };
  while (i < src.length) {
    const c = src[i];
    const n = src[i + 1];
    if (c === "/" && n === "/") {
      while (i < src.length && src[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && n === "*") {
      const end = src.indexOf("*/", i + 2);
      i = end < 0 ? src.length : end + 2;
      code += " ";
      continue;
    }
    if (c === '"' || c === "'" || c === "`") {
      let text = "";
      let computed = false;
      let j = i + 1;
      let depth = 0;
      while (j < src.length) {
        const d = src[j];
        if (d === "\\") {
          text += src[j + 1] ?? "";
          j += 2;
          continue;
        }
        if (c === "`" && d === "$" && src[j + 1] === "{") {
          computed = true;
          depth++;
          j += 2;
          continue;
        }
        if (depth > 0 && d === "}") depth--;
        if (depth === 0 && d === c) break;
        if (c !== "`" && d === "\n") break;
        text += d;
        j++;
      }
      strings.push(computed ? null : text);
      code += `"#${strings.length - 1}"`;
      i = j + 1;
      continue;
    }
    if (c === "/") {
      const prev = lastSignificant();
      if (prev === "" || REGEX_AFTER.has(prev) || REGEX_AFTER_WORDS.test(code.trimEnd())) {
        let j = i + 1;
        let inClass = false;
        while (j < src.length && src[j] !== "\n") {
          if (src[j] === "\\") j++;
          else if (src[j] === "[") inClass = true;
          else if (src[j] === "]") inClass = false;
          else if (src[j] === "/" && !inClass) break;
          j++;
        }
        code += " /re/ ";
        i = j + 1;
        continue;
      }
    }
    code += c;
    i++;
  }
  return { code, strings };
}

/** Every import of a source text (type-only ones excluded). */
export function findImports(src: string): FoundImport[] {
  const { code, strings } = tokenize(src);
  const found: FoundImport[] = [];
  const str = (ref: string) => strings[Number(ref)] ?? null;
  // static: import x from "s", import {a, b} from "s", import "s", export ... from "s"
  const stat = /(?<![\w$.])(import|export)\b\s*((?:type\s)?)([^;"()]*?)(?:\bfrom\s*)?"#(\d+)"/g;
  for (const m of code.matchAll(stat)) {
    const [, kw, typeKw, clause, ref] = m;
    if (kw === "export" && !/\bfrom\s*$/.test(m[0].slice(0, m[0].lastIndexOf('"#')))) continue;
    if (typeKw) continue;
    const braces = /^\s*\{([^}]*)\}\s*$/.exec(clause);
    if (braces && braces[1].trim() && braces[1].split(",").every((n) => /^\s*(type\s|$)/.test(n))) continue;
    found.push({ specifier: str(ref) });
  }
  // dynamic: import(...) and import.meta.resolve(...)
  const dyn = /(?<![\w$.])import\b\s*(?:\.\s*meta\s*\.\s*resolve\s*)?\(\s*("#(\d+)"\s*[,)])?/g;
  for (const m of code.matchAll(dyn)) found.push({ specifier: m[2] === undefined ? null : str(m[2]) });
  return found;
}

function within(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel === "" || (!rel.startsWith("..") && !rel.startsWith(sep) && !/^[A-Za-z]:/.test(rel));
}

function dataText(url: string): string | null {
  const comma = url.indexOf(",");
  if (comma < 0) return null;
  const meta = url.slice(5, comma);
  const body = url.slice(comma + 1);
  try {
    return meta.endsWith(";base64") ? atob(decodeURIComponent(body)) : decodeURIComponent(body);
  } catch {
    return null;
  }
}

/**
 * Checks every module `file` can load, recursively; returns the local files found (the plugin file first),
 * or throws an Error whose one-line message names the refused specifier and the file that imports it.
 * @param folder the plugin's folder: local imports must stay inside it.
 * @param vet called with each local file before it is read (the trust check); may throw.
 */
export async function checkImports(
  file: string,
  folder: string,
  vet: (path: string) => Promise<void> = () => Promise.resolve(),
): Promise<string[]> {
  const files: string[] = [];
  const seen = new Set<string>();
  const visit = async (at: string, source: string | null) => {
    const path = at === file ? "" : `${relative(folder, at)}: `;
    if (source === null) await vet(at);
    const text = source ?? await Deno.readTextFile(at);
    for (const { specifier } of findImports(text)) {
      if (specifier === null) {
        throw new Error(`${path}import() with a computed specifier is refused (use a string literal)`);
      }
      if (specifier.startsWith("node:")) {
        if (REFUSED_NODE_MODULES.includes(specifier)) {
          throw new Error(`${path}import of ${specifier} is refused`);
        }
        continue;
      }
      if (specifier.startsWith("data:")) {
        const inner = dataText(specifier);
        if (inner === null) throw new Error(`${path}import of an unreadable data: URL is refused`);
        await visit(at, inner);
        continue;
      }
      let target: string;
      if (specifier.startsWith("./") || specifier.startsWith("../")) {
        target = resolve(dirname(at), specifier);
      } else if (specifier.startsWith("file:")) target = fileURLToPath(specifier);
      else {
        throw new Error(
          `${path}import of ${
            JSON.stringify(specifier.slice(0, 200))
          } is refused (only files in the plugin's ` +
            `folder, data: and node: built-ins)`,
        );
      }
      if (!within(folder, target)) {
        throw new Error(
          `${path}import of ${JSON.stringify(specifier)} is refused (outside the plugin's folder)`,
        );
      }
      if (seen.has(target)) continue;
      seen.add(target);
      files.push(target);
      if ([".ts", ".js", ".mts", ".mjs", ".tsx", ".jsx"].includes(extname(target))) await visit(target, null);
    }
  };
  seen.add(file);
  files.push(file);
  await visit(file, null);
  return files;
}
