/**
 * The private channel between the monitor and the plugin host: a loopback TCP connection that only the host
 * can open, and that no plugin can read or write.
 *
 * - The monitor listens on `127.0.0.1`, port 0, and starts the host with its stdin piped: the first and only
 *   line on it is `{"port":P,"secret":S}` (S: 32 random bytes), then the monitor closes that pipe. The host
 *   reads it before any plugin exists, connects, and sends S as its first line; the monitor takes the first
 *   connection that does so within the set-up bound and closes the listener. Anything else is dropped.
 * - The host's stdout is `/dev/null` and its stdin is at its end, so the standard streams a plugin's Worker
 *   can reach (every Worker has its own resource table with only rids 0-2, which Deno maps to the process's
 *   stdio; the host's socket is in the host's own table) carry nothing and change nothing. Its stderr is
 *   read as Deno's own error output, escaped, bounded and prefixed `plugin host:`.
 * - The host exits when the connection ends (the monitor closed it, or died).
 *
 * One JSON object per line each way (see `plugin_host.ts` for the messages).
 *
 * @module
 */

import { escapeField } from "../model/text.ts";

/** How to start the plugin host. */
export interface HostCommand {
  /** The executable (`Deno.execPath()`). */
  exe: string;
  /** Its arguments. */
  args: string[];
}

/** What the monitor writes on the host's stdin: where to connect, and the proof to send first. */
export interface ChannelInvite {
  /** The loopback port. */
  port: number;
  /** Hex; the host's first line on the connection. */
  secret: string;
}

const encoder = new TextEncoder();

/** A timer that can be cancelled. */
export function delay(ms: number): { done: Promise<void>; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const done = new Promise<void>((res) => timer = setTimeout(res, ms));
  return { done, cancel: () => clearTimeout(timer) };
}

/** Resolves with `work`'s value, or with `timedOut` after `ms`. */
export async function bounded<T, U>(work: Promise<T>, ms: number, timedOut: U): Promise<T | U> {
  const d = delay(ms);
  try {
    return await Promise.race([work, d.done.then(() => timedOut)]);
  } finally {
    d.cancel();
  }
}

function randomSecret(): string {
  return [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Splits a byte stream into lines (without the line end; `\r\n` and `\n`). The last line is yielded even
 * without a final newline. Aborting `signal` cancels the stream (and ends the iteration with an error).
 */
export async function* readLines(
  stream: ReadableStream<Uint8Array>,
  signal?: AbortSignal,
): AsyncGenerator<string> {
  let buffered = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream(), { signal })) {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      yield line.endsWith("\r") ? line.slice(0, -1) : line;
    }
  }
  if (buffered !== "") yield buffered;
}

/** Reads the first line of a connection within `ms`; `null` on timeout, end or error. */
async function firstLine(conn: Deno.Conn, ms: number): Promise<{ line: string; rest: Uint8Array } | null> {
  const buf = new Uint8Array(256);
  let got = new Uint8Array(0);
  const timer = setTimeout(() => conn.close(), ms);
  try {
    while (got.length < 4096) {
      const n = await conn.read(buf);
      if (n === null) return null;
      const next = new Uint8Array(got.length + n);
      next.set(got);
      next.set(buf.subarray(0, n), got.length);
      got = next;
      const nl = got.indexOf(10);
      if (nl >= 0) return { line: new TextDecoder().decode(got.subarray(0, nl)), rest: got.subarray(nl + 1) };
    }
    return null;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

/** A started plugin host process and its private connection. */
export interface HostProcess {
  /** The child. */
  child: Deno.ChildProcess;
  /** The authenticated connection. */
  conn: Deno.Conn;
  /** Bytes the host sent after its secret (already read). */
  rest: Uint8Array;
}

/**
 * Starts the plugin host and waits (up to `ms`) for it to connect with the secret.
 * @param onStderr receives each line of the host's stderr, escaped (Deno's own error output).
 * @throws Error when it cannot be started or does not connect in time (the child is killed then).
 */
export async function startHost(
  command: HostCommand,
  ms: number,
  onStderr: (line: string) => void,
): Promise<HostProcess> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const invite: ChannelInvite = { port: (listener.addr as Deno.NetAddr).port, secret: randomSecret() };
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command.exe, {
      args: command.args,
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    listener.close();
    throw err;
  }
  void (async () => {
    for await (const line of readLines(child.stderr)) {
      // deno-lint-ignore no-control-regex
      const plain = line.replace(/\u001b\[[0-9;]*m/g, "").trim();
      if (plain !== "") onStderr(escapeField(plain.slice(0, 500)));
    }
  })().catch(() => {});
  const writer = child.stdin.getWriter();
  await writer.write(encoder.encode(`${JSON.stringify(invite)}\n`)).catch(() => {});
  await writer.close().catch(() => {});
  const timer = setTimeout(() => listener.close(), ms);
  try {
    for await (const conn of listener) {
      const first = await firstLine(conn, ms);
      if (first?.line === invite.secret) return { child, conn, rest: first.rest };
      try {
        conn.close();
      } catch {
        // closed by the timeout
      }
    }
  } catch {
    // the listener was closed by the timeout
  } finally {
    clearTimeout(timer);
    try {
      listener.close();
    } catch {
      // already closed
    }
  }
  try {
    child.kill("SIGKILL");
  } catch {
    // already gone
  }
  throw new Error(`the plugin host did not connect within ${ms} ms`);
}

/**
 * The host's side: reads the invitation from stdin (the first line, before any plugin runs), connects and
 * proves itself. Returns the connection, or `null` when there is no valid invitation.
 */
export async function joinMonitor(): Promise<Deno.Conn | null> {
  let line: string | undefined;
  try {
    for await (const l of readLines(Deno.stdin.readable)) {
      line = l;
      break;
    }
  } catch {
    return null;
  }
  let invite: ChannelInvite;
  try {
    invite = JSON.parse(line ?? "");
  } catch {
    return null;
  }
  if (!Number.isInteger(invite?.port) || typeof invite.secret !== "string") return null;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: invite.port });
  await conn.write(encoder.encode(`${invite.secret}\n`));
  return conn;
}
