/**
 * Real hostile processes for the hostile-process suite: a copy of bash under a name made of
 * arbitrary bytes (not UTF-8, commas, line breaks, terminal controls, a whole forged log line), with
 * an arbitrary argv, optionally as another uid, holding a real TCP connection to a listener of the
 * test. Deno cannot pass such bytes as a path or an argument, so a small bash script builds them
 * with `printf` octal escapes.
 *
 * @module
 */

import { join } from "node:path";
import { ROOT, runtimeFlags } from "../helpers.ts";

/** An argument: exact bytes, or `text` repeated `times` times (built in the shell: too long for argv). */
export type Arg = Uint8Array | { repeat: string; times: number };

/** One running hostile process. */
export interface Hostile {
  /** Its pid. */
  pid: number;
  /** Absolute path of its executable, as bytes. */
  exe: Uint8Array;
  /** Local port of its connection to the test's listener. */
  localPort: number;
  /** Ends it. */
  stop(): Promise<void>;
}

const utf8 = new TextEncoder();

/** Bytes of a string (UTF-8) and byte values, concatenated. */
export function bytes(...parts: (string | number[] | Uint8Array)[]): Uint8Array {
  const arrays = parts.map((p) => typeof p === "string" ? utf8.encode(p) : Uint8Array.from(p));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

/** A shell word that expands to exactly these bytes (trailing line feeds included). */
function shellBytes(value: Uint8Array, variable: string): string {
  const octal = [...value].map((b) => "\\" + b.toString(8).padStart(3, "0")).join("");
  return `${variable}=$(printf '${octal}X'); ${variable}=\${${variable}%X}`;
}

/** The bytes of the directory part of a path (everything before the last `/`). */
function dirnameBytes(path: Uint8Array): Uint8Array {
  return path.subarray(0, path.lastIndexOf(0x2f));
}

/**
 * Starts bash copied to `<dir>/<relativeExe>` with argv `args` (argv[0] first), connected to
 * 127.0.0.1:`port`; resolves once `listener` accepted its connection.
 */
export async function startHostile(options: {
  dir: string;
  relativeExe: Uint8Array;
  args: Arg[];
  listener: Deno.Listener;
  uid?: number;
}): Promise<Hostile> {
  const { dir, relativeExe, args, listener, uid } = options;
  const port = (listener.addr as Deno.NetAddr).port;
  const exe = bytes(dir, "/", relativeExe);
  const lines = ["set -e", shellBytes(exe, "exe"), shellBytes(dirnameBytes(exe), "d"), 'mkdir -p -- "$d"'];
  lines.push('cp /bin/bash "$exe"', 'chmod 755 "$exe"');
  const words: string[] = [];
  args.forEach((arg, i) => {
    if (arg instanceof Uint8Array) lines.push(shellBytes(arg, `a${i}`));
    else {
      const length = arg.repeat.length * arg.times; // doubled until long enough: bash's own loops are slow
      lines.push(`a${i}='${arg.repeat}'`, `while [ \${#a${i}} -lt ${length} ]; do a${i}=$a${i}$a${i}; done`);
      lines.push(`a${i}=\${a${i}:0:${length}}`);
    }
    words.push(`"$a${i}"`);
  });
  const script = `exec 3<>/dev/tcp/127.0.0.1/${port}; echo ready; read -r _`;
  const [argv0, ...rest] = words;
  const run = `exec -a ${argv0} "$exe" -c '${script}' ${rest.join(" ")}`;
  if (uid === undefined) lines.push(run);
  else {
    lines.push(`chmod 755 "${dir}"`);
    lines.push(
      `exec setpriv --reuid=${uid} --regid=${uid} --clear-groups bash -c 'exec -a "$0" "$@"' ` +
        `${argv0} "$exe" -c '${script}' ${rest.join(" ")}`,
    );
  }
  const child = new Deno.Command("bash", {
    args: ["-c", lines.join("\n")],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const accepted = await Promise.race([
    listener.accept(),
    child.status.then((status): never => {
      throw new Error(`the hostile process exited with ${status.code} before connecting`);
    }),
  ]);
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  if (!new TextDecoder().decode(value).startsWith("ready")) {
    throw new Error("the hostile process did not start");
  }
  reader.releaseLock();
  return {
    pid: child.pid,
    exe,
    localPort: (accepted.remoteAddr as Deno.NetAddr).port,
    stop: async () => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await child.status;
      await child.stdout.cancel().catch(() => {});
      await child.stdin.close().catch(() => {});
      accepted.close();
    },
  };
}

/**
 * `deno run <compile flags> main.ts ...args`, optionally in a private mount namespace where
 * `passwd` is bind-mounted over /etc/passwd (so user names can be hostile without touching the
 * machine's user database). Signals reach deno itself (every step execs).
 */
export function monitorCommand(
  args: string[],
  passwd?: string,
  stdout: "piped" | "null" = "piped",
): Deno.Command {
  const deno = [Deno.execPath(), "run", ...runtimeFlags(), join(ROOT, "main.ts"), ...args];
  const command = passwd === undefined ? deno : [
    "unshare",
    "-m",
    "--propagation",
    "private",
    "sh",
    "-c",
    'mount --bind "$0" /etc/passwd && exec "$@"',
    passwd,
    ...deno,
  ];
  return new Deno.Command(command[0], {
    args: command.slice(1),
    cwd: ROOT,
    stdin: "null",
    stdout,
    stderr: "piped",
  });
}

/**
 * Reads every log file of `dir` as bytes, by kind (`PORTS`, `PIDS`, `INITIAL`, `EVENTS`, `ALERTS`);
 * empty while the directory does not exist.
 */
export function readLogBytes(dir: string): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return out;
    throw error;
  }
  for (const entry of entries) {
    const kind = /^PR-([A-Z]+)-/.exec(entry.name)?.[1];
    if (kind === undefined) continue;
    const data = Deno.readFileSync(join(dir, entry.name));
    out[kind] = out[kind] ? bytes(out[kind], data) : data;
  }
  return out;
}
