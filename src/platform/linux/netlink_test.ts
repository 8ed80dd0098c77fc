import assert from "node:assert/strict";
import type { SocketRecord } from "../../model/types.ts";
import {
  AF_INET,
  AF_INET6,
  CHUNK_DONE,
  CHUNK_MORE,
  decodeInetDiagMessages,
  decodeNetlinkChunk,
  encodeSockDiagRequest,
  encodeTcpDiagCompatRequest,
  IDIAG_DPORT_OFFSET,
  IDIAG_DST_OFFSET,
  IDIAG_FAMILY_OFFSET,
  IDIAG_IF_OFFSET,
  IDIAG_INODE_OFFSET,
  IDIAG_SPORT_OFFSET,
  IDIAG_SRC_OFFSET,
  IDIAG_STATE_OFFSET,
  IDIAG_UID_OFFSET,
  INET_DIAG_MSG_SIZE,
  INET_DIAG_REQ_COMPAT_STATES_OFFSET,
  INET_DIAG_REQ_SIZE,
  INET_DIAG_REQ_V2_SIZE,
  NetlinkDumpError,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  SOCK_DIAG_BY_FAMILY,
  TCPDIAG_GETSOCK,
} from "./netlink.ts";
import { SockDiagClient } from "./sock_diag_client.ts";
import { parseProcNet } from "./procnet.ts";
import { fixtureBytes, fixtureText, rowLines } from "./fixtures_test_util.ts";

Deno.test("layout constants match the kernel's structs", () => {
  assert.equal(NLMSG_HDRLEN, 16);
  assert.equal(INET_DIAG_REQ_V2_SIZE, 56);
  assert.equal(INET_DIAG_MSG_SIZE, 72);
  assert.deepEqual(
    [
      IDIAG_FAMILY_OFFSET,
      IDIAG_STATE_OFFSET,
      IDIAG_SPORT_OFFSET,
      IDIAG_DPORT_OFFSET,
      IDIAG_SRC_OFFSET,
      IDIAG_DST_OFFSET,
      IDIAG_IF_OFFSET,
      IDIAG_UID_OFFSET,
      IDIAG_INODE_OFFSET,
    ],
    [0, 1, 4, 6, 8, 24, 40, 64, 68],
  );
});

Deno.test("encodeSockDiagRequest: the exact 72 request bytes", () => {
  const bytes = encodeSockDiagRequest(new Uint8Array(72).fill(0xee), "udp", 6, 0x01020304);
  const expected = new Uint8Array(72);
  expected.set([72, 0, 0, 0, 20, 0, 0x01, 0x03, 0x04, 0x03, 0x02, 0x01, 0, 0, 0, 0]); // nlmsghdr
  expected.set([AF_INET6, 17, 0, 0, 0xff, 0xff, 0xff, 0xff], 16); // family, protocol, ext, pad, states
  assert.deepEqual(bytes, expected);
});

Deno.test("encodeTcpDiagCompatRequest: the exact 76 request bytes (TCPDIAG_GETSOCK, every state)", () => {
  const bytes = encodeTcpDiagCompatRequest(new Uint8Array(76).fill(0xee), 0x01020304);
  const expected = new Uint8Array(76);
  expected.set([76, 0, 0, 0, TCPDIAG_GETSOCK, 0, 0x01, 0x03, 0x04, 0x03, 0x02, 0x01, 0, 0, 0, 0]); // nlmsghdr
  expected.set([0xff, 0xff, 0xff, 0xff], 16 + INET_DIAG_REQ_COMPAT_STATES_OFFSET); // idiag_states
  assert.deepEqual(bytes, expected);
  assert.equal(INET_DIAG_REQ_SIZE, 60);
  assert.equal(INET_DIAG_REQ_COMPAT_STATES_OFFSET, 4 + 48); // after family, lengths, ext and the sockid
});

/** The captured rows from /proc at the same moment as the netlink capture (sorted lines). */
function procRows(name: string, protocol: "tcp" | "udp", family: 4 | 6): string[] {
  return rowLines(parseProcNet(fixtureText(`proc_net_${name}.txt`), protocol, family));
}

Deno.test("decodeInetDiagMessages: captured replies give the same rows as /proc captured with them", () => {
  for (
    const [name, protocol, family] of [["tcp", "tcp", 4], ["tcp6", "tcp", 6], ["udp", "udp", 4], [
      "udp6",
      "udp",
      6,
    ]] as const
  ) {
    const rows = decodeInetDiagMessages(fixtureBytes(`netlink_${name}.bin`), protocol);
    assert.deepEqual(rowLines(rows), procRows(name, protocol, family), name);
  }
});

Deno.test("decodeInetDiagMessages: exact rows of the captured tcp6 reply", () => {
  const rows = decodeInetDiagMessages(fixtureBytes("netlink_tcp6.bin"), "tcp");
  const mapped = rows.find((r) => r.localAddress.startsWith("::ffff:"));
  assert.deepEqual(
    mapped,
    {
      protocol: "tcp",
      family: 6,
      localAddress: "::ffff:127.0.0.1",
      localPort: 39575,
      remoteAddress: "::ffff:127.0.0.1",
      remotePort: 35924,
      state: "ESTABLISHED",
      pid: 0,
      inode: 41699,
    } satisfies SocketRecord,
  );
  assert.equal(rows.filter((r) => r.state === "TIME_WAIT" && r.inode === 0).length, 1);
});

/** Builds one netlink message (header + payload, padded to 4). */
function message(type: number, payload: Uint8Array): Uint8Array {
  const length = NLMSG_HDRLEN + payload.byteLength;
  const bytes = new Uint8Array((length + 3) & ~3);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, length, true);
  view.setUint16(4, type, true);
  bytes.set(payload, NLMSG_HDRLEN);
  return bytes;
}

function inetDiagMsg(
  fields: {
    family: number;
    state: number;
    sport: number;
    dport: number;
    src: number[];
    dst: number[];
    inode: number;
    ifindex?: number;
  },
): Uint8Array {
  const bytes = new Uint8Array(INET_DIAG_MSG_SIZE + 8); // + an attribute we must skip
  const view = new DataView(bytes.buffer);
  view.setUint8(IDIAG_FAMILY_OFFSET, fields.family);
  view.setUint8(IDIAG_STATE_OFFSET, fields.state);
  view.setUint16(IDIAG_SPORT_OFFSET, fields.sport, false);
  view.setUint16(IDIAG_DPORT_OFFSET, fields.dport, false);
  bytes.set(fields.src, IDIAG_SRC_OFFSET);
  bytes.set(fields.dst, IDIAG_DST_OFFSET);
  view.setUint32(IDIAG_IF_OFFSET, fields.ifindex ?? 0, true);
  view.setUint32(IDIAG_UID_OFFSET, 1000, true);
  view.setUint32(IDIAG_INODE_OFFSET, fields.inode, true);
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

const done = message(NLMSG_DONE, new Uint8Array(4));
const v6LinkLocal = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7];

Deno.test("decodeNetlinkChunk: synthetic messages, every state, scope id, bound-only sockets", () => {
  const messages = [];
  for (let state = 1; state <= 13; state++) {
    messages.push(message(
      SOCK_DIAG_BY_FAMILY,
      inetDiagMsg({
        family: AF_INET,
        state,
        sport: 1000 + state,
        dport: 0,
        src: [10, 0, 0, state],
        dst: [0, 0, 0, 0],
        inode: state,
      }),
    ));
  }
  messages.push(message(
    SOCK_DIAG_BY_FAMILY,
    inetDiagMsg({
      family: AF_INET6,
      state: 10,
      sport: 22,
      dport: 0,
      src: v6LinkLocal,
      dst: new Array(16).fill(0),
      inode: 99,
      ifindex: 3,
    }),
  ));
  const rows: SocketRecord[] = [];
  const bytes = concat(...messages);
  assert.equal(decodeNetlinkChunk(new DataView(bytes.buffer), bytes.byteLength, "tcp", rows), CHUNK_MORE);
  assert.deepEqual(rows.slice(0, 13).map((r) => r.state), [
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECEIVED",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "TIME_WAIT",
    "CLOSED",
    "CLOSE_WAIT",
    "LAST_ACK",
    "LISTEN",
    "CLOSING",
    "NEW_SYN_RECV",
    "BOUND",
  ]);
  assert.deepEqual(rows[0], {
    protocol: "tcp",
    family: 4,
    localAddress: "10.0.0.1",
    localPort: 1001,
    remoteAddress: "0.0.0.0",
    remotePort: 0,
    state: "ESTABLISHED",
    pid: 0,
    inode: 1,
  });
  assert.deepEqual(rows[13], {
    protocol: "tcp",
    family: 6,
    localAddress: "fe80::7",
    localPort: 22,
    remoteAddress: "::",
    remotePort: 0,
    state: "LISTEN",
    pid: 0,
    inode: 99,
    scopeId: 3,
  });
  const withDone = concat(bytes, done);
  assert.equal(decodeNetlinkChunk(new DataView(withDone.buffer), withDone.byteLength, "udp", []), CHUNK_DONE);
  const udp = decodeInetDiagMessages(withDone, "udp");
  assert.equal(udp.length, 14);
  assert.ok(udp.every((r) => r.state === null && r.protocol === "udp"));
});

Deno.test("decodeNetlinkChunk: errors and truncation", () => {
  const error = new Uint8Array(20);
  new DataView(error.buffer).setInt32(0, -1, true); // -EPERM + the request echoed (left out)
  const errorMessage = message(NLMSG_ERROR, error);
  assert.equal(decodeNetlinkChunk(new DataView(errorMessage.buffer), errorMessage.byteLength, "tcp", []), -1);
  assert.throws(() => decodeInetDiagMessages(errorMessage, "tcp"), (e: unknown) => {
    assert.ok(e instanceof NetlinkDumpError);
    assert.equal(e.code, -1);
    return true;
  });
  const truncated = concat(done).slice(0, 8);
  assert.equal(
    decodeNetlinkChunk(new DataView(truncated.buffer), truncated.byteLength, "tcp", []),
    CHUNK_MORE,
  );
  const lying = message(NLMSG_DONE, new Uint8Array(4));
  new DataView(lying.buffer).setUint32(0, 4096, true);
  assert.ok(decodeNetlinkChunk(new DataView(lying.buffer), lying.byteLength, "tcp", []) < 0);
  // A message shorter than inet_diag_msg is skipped, not read past its end.
  const short = concat(message(SOCK_DIAG_BY_FAMILY, new Uint8Array(8)), done);
  assert.deepEqual(decodeInetDiagMessages(short, "tcp"), []);
});

Deno.test("SockDiagClient: one TCPDIAG_GETSOCK dump gives the same TCP rows as the tcp4 and tcp6 dumps", async () => {
  const listeners = [
    Deno.listen({ hostname: "127.0.0.1", port: 0 }),
    Deno.listen({ hostname: "::1", port: 0 }),
  ];
  const ports = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  const connections = await Promise.all(
    ports.map((port, i) => Deno.connect({ hostname: i === 0 ? "127.0.0.1" : "::1", port })),
  );
  const accepted = await Promise.all(listeners.map((l) => l.accept()));
  const ours = (rows: SocketRecord[]) =>
    rowLines(rows.filter((r) => ports.includes(r.localPort) || ports.includes(r.remotePort)));
  const combined = new SockDiagClient();
  const perFamily = new SockDiagClient({ tcpCompatDump: false });
  try {
    const both = combined.dumpTcpBothFamilies([]);
    assert.ok(
      both.some((r) => r.family === 4) && both.some((r) => r.family === 6),
      "both families in one dump",
    );
    const separate = [...perFamily.dumpTable("tcp", 4, []), ...perFamily.dumpTable("tcp", 6, [])];
    assert.equal(ours(both).length, 6); // per family: the listener and both ends of the connection
    assert.deepEqual(ours(both), ours(separate));
    assert.deepEqual(ours(combined.dumpAll()), ours(perFamily.dumpAll()));
    assert.equal(combined.tcpCompatDump, true);
    assert.equal(perFamily.tcpCompatDump, false);
  } finally {
    combined.close();
    perFamily.close();
    for (const c of [...connections, ...accepted, ...listeners]) c.close();
  }
});

Deno.test("SockDiagClient: a live dump sees a listener of this process, and the socket is reused", () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const client = new SockDiagClient();
  try {
    for (let poll = 0; poll < 3; poll++) {
      const rows = client.dumpAll();
      assert.ok(rows.some((r) => r.protocol === "tcp" && r.localPort === port && r.state === "LISTEN"));
    }
    const raw = client.dumpRaw("tcp", 4);
    assert.ok(decodeInetDiagMessages(raw, "tcp").some((r) => r.localPort === port));
  } finally {
    client.close();
    listener.close();
  }
});
