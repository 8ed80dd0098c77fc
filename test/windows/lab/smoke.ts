// Lab smoke check, run by setup.sh under wine: a listener of ours must appear in
// GetExtendedTcpTable (AF_INET, TCP_TABLE_OWNER_PID_ALL) with our pid. Self-contained on purpose.
const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const port = (l.addr as Deno.NetAddr).port;
const ip = Deno.dlopen("iphlpapi.dll", {
  GetExtendedTcpTable: { parameters: ["buffer", "buffer", "i32", "u32", "i32", "u32"], result: "u32" },
});
const size = new Uint32Array([0]);
ip.symbols.GetExtendedTcpTable(null, size, 0, 2, 5, 0);
const buf = new Uint8Array(size[0] + 4096);
size[0] = buf.byteLength;
const rc = ip.symbols.GetExtendedTcpTable(buf, size, 0, 2, 5, 0);
const dv = new DataView(buf.buffer);
let found = false;
for (let i = 0, n = dv.getUint32(0, true); i < n; i++) {
  const o = 4 + 24 * i;
  if (
    dv.getUint16(o + 8, false) === port && dv.getUint32(o + 20, true) === Deno.pid &&
    dv.getUint32(o, true) === 2
  ) {
    found = true;
  }
}
l.close();
ip.close();
console.log(found ? `smoke ok: own listener 127.0.0.1:${port} pid ${Deno.pid}` : `smoke FAILED: rc=${rc}`);
if (!found) Deno.exit(1);
