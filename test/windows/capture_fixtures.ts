/**
 * Captures real table bytes in the wine lab for `src/platform/windows/decode_test.ts`:
 *
 *   bash test/windows/lab/run.sh deno run -A --unstable-net test/windows/capture_fixtures.ts
 *
 * Opens its own sockets (tcp4/tcp6 listener + connected pair, udp4/udp6, wildcard listeners), reads
 * all eight tables (four kinds × PID/MODULE classes) and writes `test/fixtures/windows/<kind>-<flavour>.bin`
 * plus `captured.json`, the sockets it opened as the decoder must report them.
 *
 * @module
 */

import type { SocketRecord } from "../../src/model/types.ts";
import { TABLE_KINDS, TableReader } from "../../src/platform/windows/tables.ts";

if (Deno.build.os !== "windows") {
  console.error("capture_fixtures.ts runs only under the Windows deno.exe (the wine lab)");
  Deno.exit(2);
}
const port = (a: Deno.Addr) => (a as Deno.NetAddr).port;
const l4 = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const c4 = await Deno.connect({ hostname: "127.0.0.1", port: port(l4.addr) });
const a4 = await l4.accept();
const l6 = Deno.listen({ hostname: "::1", port: 0 });
const c6 = await Deno.connect({ hostname: "::1", port: port(l6.addr) });
const a6 = await l6.accept();
const lw4 = Deno.listen({ hostname: "0.0.0.0", port: 0 });
const lw6 = Deno.listen({ hostname: "::", port: 0 });
const u4 = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
const u6 = Deno.listenDatagram({ hostname: "::1", port: 0, transport: "udp" });
// a connection the peer closed: CLOSE_WAIT on our side while we keep it open
const lc = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const cc = await Deno.connect({ hostname: "127.0.0.1", port: port(lc.addr) });
const ac = await lc.accept();
cc.close();
await new Promise((r) => setTimeout(r, 300));

const pid = Deno.pid;
const tcp = (family: 4 | 6, la: string, lp: number, ra: string, rp: number, state: SocketRecord["state"]) =>
  ({
    protocol: "tcp",
    family,
    localAddress: la,
    localPort: lp,
    remoteAddress: ra,
    remotePort: rp,
    state,
    pid,
  }) as SocketRecord;
const udp = (family: 4 | 6, la: string, lp: number) =>
  ({
    protocol: "udp",
    family,
    localAddress: la,
    localPort: lp,
    remoteAddress: family === 4 ? "0.0.0.0" : "::",
    remotePort: 0,
    state: null,
    pid,
  }) as SocketRecord;
const expected: SocketRecord[] = [
  tcp(4, "127.0.0.1", port(l4.addr), "0.0.0.0", 0, "LISTEN"),
  tcp(4, "127.0.0.1", port(c4.localAddr), "127.0.0.1", port(l4.addr), "ESTABLISHED"),
  tcp(4, "127.0.0.1", port(l4.addr), "127.0.0.1", port(c4.localAddr), "ESTABLISHED"),
  tcp(4, "0.0.0.0", port(lw4.addr), "0.0.0.0", 0, "LISTEN"),
  tcp(4, "127.0.0.1", port(lc.addr), "127.0.0.1", port(cc.localAddr), "CLOSE_WAIT"),
  tcp(6, "::1", port(l6.addr), "::", 0, "LISTEN"),
  tcp(6, "::1", port(c6.localAddr), "::1", port(l6.addr), "ESTABLISHED"),
  tcp(6, "::1", port(l6.addr), "::1", port(c6.localAddr), "ESTABLISHED"),
  tcp(6, "::", port(lw6.addr), "::", 0, "LISTEN"),
  udp(4, "127.0.0.1", port(u4.addr)),
  udp(6, "::1", port(u6.addr)),
];

const dir = new URL("../fixtures/windows/", import.meta.url);
Deno.mkdirSync(dir, { recursive: true });
for (const flavour of ["pid", "module"] as const) {
  const reader = new TableReader({ flavour });
  for (const kind of TABLE_KINDS) {
    const bytes = await reader.readRaw(kind);
    Deno.writeFileSync(new URL(`${kind}-${flavour}.bin`, dir), bytes);
    console.log(`${kind}-${flavour}.bin: ${bytes.byteLength} bytes`);
  }
}
Deno.writeTextFileSync(
  new URL("captured.json", dir),
  JSON.stringify(
    { note: "captured in the wine lab by test/windows/capture_fixtures.ts", pid, expected },
    null,
    2,
  ) + "\n",
);
for (const c of [c4, a4, c6, a6, ac]) c.close();
for (const l of [l4, l6, lw4, lw6, u4, u6, lc]) l.close();
