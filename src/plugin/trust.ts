/**
 * Loading, the trust check: the monitor runs plugin code (as root, often), so every file it loads and every
 * folder holding one must be owned by root or by the monitor's user and not writable by anyone else (the
 * same rule as for the log directory), and no symlink may lead outside the plugin's folder. The folders above
 * the plugin's folder may be writable by others only when sticky (like `/tmp`). On Windows (no Unix owner or
 * mode) only the symlink rule applies.
 *
 * @module
 */

import { dirname, relative, sep } from "node:path";

function within(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel === "" || (!rel.startsWith("..") && !rel.startsWith(sep) && !/^[A-Za-z]:/.test(rel));
}

function whoCanWrite(info: Deno.FileInfo, sticky: boolean): string | null {
  if (info.uid === null || info.mode === null) return null; // Windows
  const me = Deno.uid();
  if (info.uid !== 0 && info.uid !== me) return `owned by uid ${info.uid} (not root or this user)`;
  if ((info.mode & 0o002) !== 0 && !(sticky && (info.mode & 0o1000) !== 0)) return "writable by every user";
  if ((info.mode & 0o020) !== 0 && info.gid !== 0 && info.gid !== Deno.gid()) {
    return `writable by group ${info.gid}`;
  }
  return null;
}

/**
 * Checks the plugin's files and folders; throws an Error with a one-line message naming the path and what
 * to do when one is not trustworthy.
 * @param files the plugin file and every local module it imports (absolute paths).
 * @param folder the plugin's folder.
 */
export async function checkTrust(files: readonly string[], folder: string): Promise<void> {
  const root = await Deno.realPath(folder);
  const fix = "make it owned by root (or this user) and not writable by others, e.g. chmod go-w";
  const checked = new Set<string>();
  const checkPath = async (path: string, sticky: boolean) => {
    if (checked.has(path)) return;
    checked.add(path);
    const problem = whoCanWrite(await Deno.stat(path), sticky);
    if (problem) throw new Error(`${path} is ${problem}; ${fix}`);
  };
  for (const file of files) {
    const link = await Deno.lstat(file);
    const real = await Deno.realPath(file);
    if (!within(root, real)) {
      throw new Error(
        `${file} ${
          link.isSymlink ? "is a symlink leading" : "resolves to a path"
        } outside the plugin's folder; ` +
          `keep the plugin's files inside ${folder}`,
      );
    }
    await checkPath(real, false);
    for (let dir = dirname(real); within(root, dir); dir = dirname(dir)) {
      await checkPath(dir, false);
      if (dir === root) break;
    }
  }
  for (let dir = dirname(root);; dir = dirname(dir)) {
    await checkPath(dir, true);
    if (dirname(dir) === dir) break;
  }
}
