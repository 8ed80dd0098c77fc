/**
 * Whether a log directory can be trusted with evidence, checked as sshd's `StrictModes` checks its
 * files: the directory and every parent up to `/` must be owned by root or by the monitor's user and
 * not writable by group or others, except that a root-owned sticky directory (such as `/tmp`) is fine
 * as a parent (nobody else can rename or replace an entry in it); the directory itself must not be a
 * symbolic link. Otherwise another local user could delete or rename the logs, plant the next names,
 * or swap the directory.
 *
 * The checks are pure over an injected `lstat` ({@link TrustProbe}); {@link posixLogDirSecurity} is the
 * real one. On Windows (no uid or mode) the POSIX check does not apply: the `windows` side passes its
 * own {@link LogDirSecurity} whose `create` gives a new directory a protected DACL (SYSTEM,
 * Administrators, the running account).
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { escapeField } from "../model/text.ts";

/** What the check needs to know about one path (from `lstat`). */
export interface PathInfo {
  /** Owner uid; null where the OS has none. */
  uid: number | null;
  /** Mode bits; null where the OS has none. */
  mode: number | null;
  /** Whether it is a directory. */
  isDirectory: boolean;
  /** Whether it is a symbolic link. */
  isSymlink: boolean;
}

/** The injected file facts. */
export interface TrustProbe {
  /** The monitor's uid; null on Windows. */
  uid: number | null;
  /** `lstat`, or undefined when nothing is there. */
  lstat(path: string): PathInfo | undefined;
  /** The canonical path of an existing directory (`realpath`). */
  realPath(path: string): string;
}

/** How log directories are checked and created on this platform. */
export interface LogDirSecurity {
  /** A problem with `dir` as one sentence with its fix, or undefined when it can be trusted. */
  check(dir: string): string | undefined;
  /** Creates `dir` (and missing parents) readable only by administrators and the monitor's user. */
  create(dir: string): void;
}

/** A path in a message: control characters escaped (with the one grammar), everything else as it is. */
export function pathText(path: string): string {
  // deno-lint-ignore no-control-regex -- matching control characters is the point
  return path.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, (c) => escapeField(c));
}

const octal = (mode: number) => "0" + (mode & 0o7777).toString(8);

function ownerProblem(raw: string, info: PathInfo, uid: number): string | undefined {
  const path = pathText(raw);
  if (info.uid === null || info.uid === 0 || info.uid === uid) return undefined;
  return `${path} is owned by uid ${info.uid}, not by root or the monitor's user (uid ${uid}); ` +
    `run 'chown ${uid} ${path}' or choose another --log-dir`;
}

function writableProblem(raw: string, info: PathInfo, asParent: boolean): string | undefined {
  const path = pathText(raw);
  if (info.mode === null || (info.mode & 0o022) === 0) return undefined;
  if (asParent && info.uid === 0 && (info.mode & 0o1000) !== 0) return undefined; // /tmp-like
  return `${path} is writable by ${info.mode & 0o002 ? "others" : "its group"} (mode ${octal(info.mode)}); ` +
    `run 'chmod go-w ${path}' or choose another --log-dir`;
}

/** Checks `dir` (which need not exist yet) and its parents; the first problem, or undefined. */
export function checkLogDirTrust(dir: string, probe: TrustProbe): string | undefined {
  if (probe.uid === null) return undefined;
  const abs = resolve(dir);
  const own = probe.lstat(abs);
  if (own?.isSymlink) {
    const path = pathText(abs);
    return `${path} is a symbolic link; pass the directory it points to as --log-dir, or remove the link`;
  }
  if (own?.isDirectory) { // anything else in the way is the creation's error
    const problem = ownerProblem(abs, own, probe.uid) ?? writableProblem(abs, own, false);
    if (problem) return problem;
  }
  // the parents as they really are (a parent that is a link is checked where it leads)
  let existing = dirname(abs);
  while (!probe.lstat(existing) && dirname(existing) !== existing) existing = dirname(existing);
  for (let p = probe.realPath(existing);; p = dirname(p)) {
    const info = probe.lstat(p);
    if (info) {
      const problem = ownerProblem(p, info, probe.uid) ?? writableProblem(p, info, true);
      if (problem) return problem;
    }
    if (dirname(p) === p) return undefined;
  }
}

/** The real probe. */
export const denoTrustProbe: TrustProbe = {
  get uid() {
    return Deno.uid();
  },
  lstat(path) {
    try {
      const i = Deno.lstatSync(path);
      return { uid: i.uid, mode: i.mode, isDirectory: i.isDirectory, isSymlink: i.isSymlink };
    } catch (e) {
      if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return undefined;
      throw e;
    }
  },
  realPath: (path) => Deno.realPathSync(path),
};

/** POSIX: the check above, and directories created 0700. */
export const posixLogDirSecurity: LogDirSecurity = {
  check: (dir) => checkLogDirTrust(dir, denoTrustProbe),
  create(dir) {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  },
};
