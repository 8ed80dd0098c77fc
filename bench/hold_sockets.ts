/**
 * Loopback TCP sockets held open for the benchmarks by `socket_holder.ts` processes. The open-file
 * limit is 20 000 per process here (hard, even for root), so the connections are spread over pairs of
 * processes, a server and its client, each pair holding at most {@link CONNECTIONS_PER_PAIR}
 * connections on its own listening ports (so the 4-tuples of different pairs never collide).
 *
 * @module
 */

import { join } from "node:path";

/** Most connections one server/client pair holds (each side keeps one descriptor per connection). */
export const CONNECTIONS_PER_PAIR = 15_000;

const here = new URL(".", import.meta.url).pathname;

/** Sockets held by {@link holdSockets}; `release` kills every holder. */
export interface HeldSockets {
  /** Pids of the holder processes (servers first). */
  pids: number[];
  /** Listening ports of the servers (IPv4 and IPv6 of each). */
  ports: number[];
  /** Kills the servers, then the clients (see {@link holdSockets}), and waits for them. */
  release(): Promise<void>;
}

/** How {@link holdSockets} splits `connections` into pairs: the connection count of each pair. */
export function pairSizes(connections: number, perPair = CONNECTIONS_PER_PAIR): number[] {
  const pairs = Math.max(1, Math.ceil(connections / perPair));
  return Array.from(
    { length: pairs },
    (_, i) => Math.floor(connections / pairs) + (i < connections % pairs ? 1 : 0),
  );
}

async function readLine(reader: ReadableStreamDefaultReader<string>, prefix: string): Promise<string> {
  let buffered = "";
  while (true) {
    const nl = buffered.indexOf("\n");
    if (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.startsWith(prefix)) return line;
      continue;
    }
    const { value, done } = await reader.read();
    if (done) throw new Error(`socket holder exited before printing '${prefix}'`);
    buffered += value;
  }
}

function holder(args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(here, "socket_holder.ts"), ...args],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  return { child, lines: child.stdout.pipeThrough(new TextDecoderStream()).getReader() };
}

/**
 * Starts holders with `sockets` loopback TCP sockets in all (`sockets / 2` connections, 20 % over
 * ::1), in as few pairs as the descriptor limit allows. Release kills the servers first: their
 * unread bytes make the kernel reset each connection, so nothing lingers in TIME_WAIT, and all the
 * sockets close at once.
 */
export async function holdSockets(sockets: number): Promise<HeldSockets> {
  const servers: ReturnType<typeof holder>[] = [];
  const clients: ReturnType<typeof holder>[] = [];
  const ports: number[] = [];
  const release = async () => {
    for (const { child } of [...servers, ...clients]) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
    }
  };
  try {
    for (const connections of pairSizes(Math.floor(sockets / 2))) {
      const server = holder(["server", String(connections)]);
      servers.push(server);
      const [, port4, port6] = (await readLine(server.lines, "ports")).split(" ");
      ports.push(Number(port4), Number(port6));
      const client = holder(["client", port4, port6, String(connections), "0.2"]);
      clients.push(client);
      await Promise.all([readLine(client.lines, "ready"), readLine(server.lines, "ready")]);
    }
  } catch (error) {
    await release();
    throw error;
  }
  return { pids: [...servers, ...clients].map(({ child }) => child.pid), ports, release };
}
