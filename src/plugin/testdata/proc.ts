/**
 * Linux `/proc` helpers for the plugin host tests: child processes, liveness and CPU time of a process.
 *
 * @module
 */

/** Fields of `/proc/<pid>/stat` after the command name: [0] is the state, [1] the ppid, [11]/[12] utime/stime. */
function statFields(pid: number): string[] | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** Whether `pid` exists and is not a zombie. */
export function alive(pid: number): boolean {
  const fields = statFields(pid);
  return fields !== null && fields[0] !== "Z";
}

/** CPU time (user + system) used so far by `pid`, in seconds (0 when it is gone). */
export function cpuSeconds(pid: number = Deno.pid): number {
  const fields = statFields(pid);
  return fields ? (Number(fields[11]) + Number(fields[12])) / 100 : 0; // CLK_TCK is 100 on Linux
}

/** Live child processes of `pid`. */
export function childrenOf(pid: number = Deno.pid): number[] {
  const out: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const fields = statFields(Number(entry.name));
    if (fields && fields[0] !== "Z" && Number(fields[1]) === pid) out.push(Number(entry.name));
  }
  return out;
}

/** Polls `check` every 50 ms until it is true or `ms` have passed; returns its last value. */
export async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (!check()) {
    if (performance.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** Live child processes of this process whose command line contains `marker` (e.g. a plugin's folder). */
export function hostsWith(marker: string): number[] {
  return childrenOf().filter((pid) => {
    try {
      return Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes(marker);
    } catch {
      return false;
    }
  });
}

/** CPU seconds used so far by each thread of this process, by thread id. */
export function threadCpuSeconds(): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of Deno.readDirSync("/proc/self/task")) {
    try {
      const stat = Deno.readTextFileSync(`/proc/self/task/${entry.name}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(Number(entry.name), (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // the thread ended
    }
  }
  return out;
}
