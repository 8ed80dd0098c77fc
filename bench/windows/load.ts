/**
 * Socket holder for the Windows poll benchmark (`bench/windows/bench.ts`), run by the Windows
 * deno.exe as a second process: opens loopback sockets and holds them so that another process's
 * socket tables have a realistic size.
 *
 *   deno run -A --no-config --unstable-net bench/windows/load.ts [tcp4Pairs tcp6Pairs udp4 udp6]
 *
 * Defaults 500 250 250 250: a tcp4 listener on 127.0.0.1 plus 500 connected pairs (1001 tcp4 rows),
 * a tcp6 listener on ::1 plus 250 pairs (501 tcp6 rows), 250 udp4 and 250 udp6 sockets: 2002 in
 * all. Prints `ready {"pid":…,"tcp4":…,"tcp6":…,"udp4":…,"udp6":…}` once they are open, then holds
 * them until its stdin closes, or at most `PR_LOAD_MAX_MS` ms (default 600 000) so that a crashed
 * bench never leaves it behind.
 *
 * @module
 */

/** What the holder prints after `ready `: its pid and how many table rows it holds per table. */
export interface LoadReady {
  /** The holder's pid. */
  pid: number;
  /** tcp4 rows: the listener plus both ends of every pair. */
  tcp4: number;
  /** tcp6 rows. */
  tcp6: number;
  /** udp4 sockets. */
  udp4: number;
  /** udp6 sockets. */
  udp6: number;
}

/** Opens `pairs` connected pairs to one listener on `hostname`; returns every socket (listener first). */
async function tcpPairs(hostname: string, pairs: number): Promise<{ close(): void }[]> {
  const held: { close(): void }[] = [];
  const listener = Deno.listen({ hostname, port: 0 });
  held.push(listener);
  const port = (listener.addr as Deno.NetAddr).port;
  const accepted = (async () => {
    for (let i = 0; i < pairs; i++) held.push(await listener.accept());
  })();
  for (let i = 0; i < pairs; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, pairs - i) }, () => Deno.connect({ hostname, port })),
    );
    held.push(...batch);
  }
  await accepted;
  return held;
}

if (import.meta.main) {
  const [p4, p6, u4, u6] = (Deno.args.length ? Deno.args : ["500", "250", "250", "250"]).map(Number);
  const held: { close(): void }[] = [];
  held.push(...await tcpPairs("127.0.0.1", p4));
  held.push(...await tcpPairs("::1", p6));
  for (let i = 0; i < u4; i++) {
    held.push(Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" }));
  }
  for (let i = 0; i < u6; i++) held.push(Deno.listenDatagram({ hostname: "::1", port: 0, transport: "udp" }));
  const ready: LoadReady = { pid: Deno.pid, tcp4: 1 + 2 * p4, tcp6: 1 + 2 * p6, udp4: u4, udp6: u6 };
  console.log(`ready ${JSON.stringify(ready)}`);
  const maxMs = Number(Deno.env.get("PR_LOAD_MAX_MS") ?? 600_000);
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    (async () => {
      for await (const _ of Deno.stdin.readable) { /* hold until EOF */ }
    })(),
    new Promise((r) => (timer = setTimeout(r, maxMs))),
  ]);
  clearTimeout(timer);
  for (const s of held) {
    try {
      s.close();
    } catch { /* already closed */ }
  }
  Deno.exit(0);
}
