/**
 * Holds loopback TCP connections open for the benchmarks, one server/client pair of processes per
 * up to 15 000 connections (the per-process fd limit is 20 000 here; see `hold_sockets.ts`).
 * `server` listens on 127.0.0.1 and ::1, prints `ports <v4> <v6>`, accepts and never reads;
 * `client <v4> <v6> <count> <v6share>` opens `count` connections, sends one byte on each (so that
 * killing the server resets them instead of leaving TIME_WAIT behind) and prints `ready`.
 * Both print `ready <n>` once they hold their sockets and then wait to be killed.
 *
 * @module
 */

const [mode, ...args] = Deno.args;
const held: Deno.Conn[] = [];
const write = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));

if (mode === "server") {
  const expected = Number(args[0]);
  const listeners = [
    Deno.listen({ hostname: "127.0.0.1", port: 0 }),
    Deno.listen({ hostname: "::1", port: 0 }),
  ];
  write(`ports ${listeners.map((l) => (l.addr as Deno.NetAddr).port).join(" ")}`);
  await Promise.all(listeners.map(async (listener) => {
    for await (const conn of listener) {
      held.push(conn);
      if (held.length === expected) write(`ready ${held.length}`);
    }
  }));
} else if (mode === "client") {
  const [port4, port6, count, v6share] = args.map(Number);
  const one = new Uint8Array([1]);
  const batch = 200;
  for (let i = 0; i < count; i += batch) {
    const conns = await Promise.all(
      Array.from(
        { length: Math.min(batch, count - i) },
        (_, j) =>
          (i + j) % Math.round(1 / v6share) === 0
            ? Deno.connect({ hostname: "::1", port: port6 })
            : Deno.connect({ hostname: "127.0.0.1", port: port4 }),
      ),
    );
    for (const c of conns) await c.write(one);
    held.push(...conns);
  }
  write(`ready ${held.length}`);
  setInterval(() => {}, 60_000); // hold the sockets until killed
} else {
  console.error("usage: socket_holder.ts server <expected> | client <port4> <port6> <count> <v6share>");
  Deno.exit(2);
}
