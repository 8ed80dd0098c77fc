import assert from "node:assert/strict";
import {
  decodeDestroyCapture,
  decodeDestroyDatagram,
  decodeFreedSocket,
  DESTROY_GROUPS_MASK,
  INET_DIAG_INFO,
  INET_DIAG_PROTOCOL,
  TCPI_BYTES_ACKED_OFFSET,
  TCPI_BYTES_RECEIVED_OFFSET,
} from "./destroy_decode.ts";
import { decodeInetDiagMsg, IDIAG_COOKIE_OFFSET, IDIAG_IF_OFFSET, NLMSG_HDRLEN } from "../netlink.ts";
import { fixtureBytes } from "../fixtures_test_util.ts";

Deno.test("destroy layouts are the kernel's (uapi inet_diag.h, sock_diag.h, tcp.h)", () => {
  assert.equal(DESTROY_GROUPS_MASK, 0b1111);
  assert.equal(IDIAG_COOKIE_OFFSET, 44);
  assert.equal(INET_DIAG_INFO, 2);
  assert.equal(INET_DIAG_PROTOCOL, 10);
  assert.equal(TCPI_BYTES_ACKED_OFFSET, 120);
  assert.equal(TCPI_BYTES_RECEIVED_OFFSET, 128);
});

Deno.test("captured destroy notifications decode to the connection, its listener and a UDP socket", () => {
  const decoded = decodeDestroyCapture(fixtureBytes("destroy_notifications.bin"));
  assert.deepEqual(
    decoded.map((d) => [
      d.socket.protocol,
      d.socket.family,
      `${d.socket.localAddress}:${d.socket.localPort}`,
      `${d.socket.remoteAddress}:${d.socket.remotePort}`,
      d.socket.state,
      d.socket.pid,
      d.socket.inode,
      d.cookie,
      d.bytesSent,
      d.bytesReceived,
    ]),
    [
      // tcp_info counts sequence space: the SYN and the FIN count one byte each
      ["tcp", 4, "127.0.0.1:34354", "127.0.0.1:33571", "CLOSED", 0, undefined, 118464, 102, 7],
      ["tcp", 4, "127.0.0.1:33571", "127.0.0.1:34354", "CLOSED", 0, undefined, 110998, 8, 101],
      ["tcp", 4, "127.0.0.1:33571", "0.0.0.0:0", "CLOSED", 0, undefined, 110999, 0, 0],
      ["udp", 6, "::1:51191", ":::0", null, 0, undefined, 111000, undefined, undefined],
    ],
  );
});

Deno.test("a truncated destroy datagram is reported, not half-decoded", () => {
  const bytes = fixtureBytes("destroy_notifications.bin");
  const first = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  const datagram = bytes.slice(4, 4 + first);
  const out: never[] = [];
  assert.equal(decodeDestroyDatagram(new DataView(datagram.buffer), first - 8, out) < 0, true);
  assert.equal(out.length, 0);
  assert.equal(decodeDestroyDatagram(new DataView(datagram.buffer), first, out as unknown[] as never[]), 1);
});

Deno.test("a freed socket's record has no inode field at all, and every other field of the dump's record, in its order", () => {
  for (const { socket } of decodeDestroyCapture(fixtureBytes("destroy_notifications.bin"))) {
    assert.equal("inode" in socket, false);
  }
  const bytes = fixtureBytes("destroy_notifications.bin");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let checked = 0;
  for (let offset = 0; offset < bytes.byteLength; offset += 4 + view.getUint32(offset, true)) {
    const payload = offset + 4 + NLMSG_HDRLEN;
    const protocol = view.getUint8(payload) === 10 ? "udp" : "tcp"; // the fixture's UDP socket is the IPv6 one
    for (const scope of [0, 3]) {
      view.setUint32(payload + IDIAG_IF_OFFSET, scope, true);
      const { inode, ...dumped } = decodeInetDiagMsg(view, payload, protocol);
      assert.equal(inode, 0);
      const freed = decodeFreedSocket(view, payload, protocol);
      assert.deepEqual(Object.entries(freed), Object.entries(dumped));
      assert.equal(freed.scopeId, protocol === "udp" && scope ? 3 : undefined, "an IPv6 socket's scope");
      checked++;
    }
  }
  assert.equal(checked, 8);
});

Deno.test("decoded records keep V8's fast properties (a `delete` would make each a ~480-byte dictionary)", async () => {
  const decoder = new URL("./destroy_decode.ts", import.meta.url).href;
  const fixture = new URL("../../../../test/fixtures/linux/destroy_notifications.bin", import.meta.url);
  const script = `import { decodeDestroyCapture } from ${JSON.stringify(decoder)};
const decoded = decodeDestroyCapture(Deno.readFileSync(new URL(${JSON.stringify(fixture.href)})));
const fast = new Function("o", "return %HasFastProperties(o)");
console.log(decoded.map((d) => fast(d.socket)).join(","));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--allow-natives-syntax", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(out.stderr), "");
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "true,true,true,true");
});
