/**
 * Which process a pid names right now, for the price of one `stat`.
 *
 * procfs gives every process instance its own inode for `/proc/<pid>`: a fresh number from the
 * kernel's inode counter, with its change time set when the inode is made. The pair therefore names
 * one process: unchanged means the same process as before; changed means another process reused the
 * pid — or, rarely, the same process after the kernel evicted and remade the inode — and callers fall
 * back to what they did before this check (reading the start time, rescanning descriptors). A poll
 * thus costs one `stat` per owner process instead of a listing of /proc and a read of
 * `/proc/<pid>/stat` per owner.
 *
 * @module
 */

/**
 * The instance token of `pid` under `procRoot` (inode number and change time of its directory), or
 * undefined when the pid does not exist (or cannot be seen).
 */
export function pidInstanceToken(procRoot: string, pid: number): string | undefined {
  try {
    const info = Deno.statSync(`${procRoot}/${pid}`);
    return `${info.ino ?? 0}:${info.ctime?.getTime() ?? 0}`;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied) {
      return undefined;
    }
    throw error; // e.g. NotCapable: a setup fault, not a process fault
  }
}
