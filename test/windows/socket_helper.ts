/**
 * Lab helper, run as a second wine process by the Windows tests: opens TCP listeners and
 * connections on 127.0.0.1 and ::1 and UDP sockets on both, prints one JSON line describing them,
 * then holds them until its stdin closes (or, with `--exit-after-ms N`, until N ms have passed).
 *
 * @module
 */

/** What the helper prints on its first stdout line. */
export interface HelperSockets {
  /** The helper's pid. */
  pid: number;
  /** tcp4 listener port on 127.0.0.1. */
  tcp4Listen: number;
  /** tcp4 client-side local port of a connection to tcp4Listen. */
  tcp4Client: number;
  /** tcp6 listener port on ::1. */
  tcp6Listen: number;
  /** tcp6 client-side local port of a connection to tcp6Listen. */
  tcp6Client: number;
  /** udp4 port on 127.0.0.1. */
  udp4: number;
  /** udp6 port on ::1. */
  udp6: number;
  /** The value after `--password` on the helper's command line, if any (must never reach a log). */
  secret?: string;
}

if (import.meta.main) {
  const port = (a: Deno.Addr) => (a as Deno.NetAddr).port;
  const l4 = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const c4 = await Deno.connect({ hostname: "127.0.0.1", port: port(l4.addr) });
  const a4 = await l4.accept();
  const l6 = Deno.listen({ hostname: "::1", port: 0 });
  const c6 = await Deno.connect({ hostname: "::1", port: port(l6.addr) });
  const a6 = await l6.accept();
  const u4 = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const u6 = Deno.listenDatagram({ hostname: "::1", port: 0, transport: "udp" });
  const out: HelperSockets = {
    pid: Deno.pid,
    tcp4Listen: port(l4.addr),
    tcp4Client: port(c4.localAddr),
    tcp6Listen: port(l6.addr),
    tcp6Client: port(c6.localAddr),
    udp4: port(u4.addr),
    udp6: port(u6.addr),
  };
  const p = Deno.args.indexOf("--password");
  if (p >= 0) out.secret = Deno.args[p + 1];
  console.log(JSON.stringify(out));
  const i = Deno.args.indexOf("--exit-after-ms");
  if (i >= 0) await new Promise((r) => setTimeout(r, Number(Deno.args[i + 1])));
  else for await (const _ of Deno.stdin.readable) { /* hold until EOF */ }
  for (const c of [c4, a4, c6, a6]) c.close();
  for (const l of [l4, l6, u4, u6]) l.close();
}
