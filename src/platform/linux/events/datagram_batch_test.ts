import assert from "node:assert/strict";
import {
  DATAGRAM_BATCH_SLOTS,
  DATAGRAM_SLOT_SIZE,
  IOVEC_SIZE,
  MMSGHDR_LEN_OFFSET,
  MMSGHDR_SIZE,
  MSGHDR_OFFSETS,
} from "./datagram_batch.ts";
import { DestroyListener } from "./destroy_listener.ts";
import type { DestroyedSocket } from "./destroy_decode.ts";

Deno.test("struct mmsghdr, msghdr and iovec layouts are glibc's on x86_64 (bits/socket.h, sys/uio.h)", () => {
  assert.deepEqual(MSGHDR_OFFSETS, {
    name: 0,
    nameLength: 8,
    iov: 16,
    iovLength: 24,
    control: 32,
    controlLength: 40,
    flags: 48,
  });
  assert.equal(MMSGHDR_LEN_OFFSET, 56);
  assert.equal(MMSGHDR_SIZE, 64);
  assert.equal(IOVEC_SIZE, 16);
  assert.ok(DATAGRAM_SLOT_SIZE >= 2 * 380, "twice a destroy notification of 6.18");
});

Deno.test("live: destroy notifications of more sockets than one batch holds are all read, each as sent", async () => {
  const listener = new DestroyListener();
  try {
    const sockets = Array.from(
      { length: 2 * DATAGRAM_BATCH_SLOTS + 5 },
      () => Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 }),
    );
    const ports = sockets.map((s) => (s.addr as Deno.NetAddr).port);
    for (const socket of sockets) socket.close();
    const out: DestroyedSocket[] = [];
    const raw: Uint8Array[] = [];
    const ours = () => out.filter((d) => d.socket.protocol === "udp" && ports.includes(d.socket.localPort));
    await new Promise((resolve) => setTimeout(resolve, 50)); // the kernel sends them from a work queue
    for (let i = 0; i < 100 && ours().length < ports.length; i++) {
      listener.drain(out, (datagram) => raw.push(datagram));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.deepEqual(ours().map((d) => d.socket.localPort), ports, "every one, in the order closed");
    assert.ok(ours().every((d) => d.socket.localAddress === "127.0.0.1" && d.socket.family === 4));
    assert.equal(raw.length, out.length, "one datagram per notification");
    assert.ok(
      raw.every((datagram) => new DataView(datagram.buffer).getUint32(0, true) === datagram.byteLength),
    );
    assert.equal(listener.stats.overruns, 0);
    assert.equal(listener.drain([]), 0, "nothing left");
  } finally {
    listener.close();
  }
});
