import assert from "node:assert/strict";
import type { SocketRecord } from "../../model/types.ts";
import { parseProcNet } from "./procnet.ts";
import { ipv4Text, ipv6Text } from "./address.ts";
import { LINUX_TCP_STATE_NAMES } from "./tcp_states.ts";
import { fixtureText } from "./fixtures_test_util.ts";

/** A record as the parsers produce it (owner not yet resolved). */
function row(
  protocol: "tcp" | "udp",
  family: 4 | 6,
  local: string,
  localPort: number,
  remote: string,
  remotePort: number,
  state: SocketRecord["state"],
  inode: number,
): SocketRecord {
  return {
    protocol,
    family,
    localAddress: local,
    localPort,
    remoteAddress: remote,
    remotePort,
    state,
    pid: 0,
    inode,
  };
}

Deno.test("parseProcNet: captured /proc/net/tcp gives the exact rows", () => {
  assert.deepEqual(parseProcNet(fixtureText("proc_net_tcp.txt"), "tcp", 4), [
    row("tcp", 4, "127.0.0.1", 39737, "0.0.0.0", 0, "LISTEN", 41691),
    row("tcp", 4, "0.0.0.0", 2024, "0.0.0.0", 0, "LISTEN", 1565),
    row("tcp", 4, "127.0.0.1", 38478, "127.0.0.1", 39737, "ESTABLISHED", 41694),
    row("tcp", 4, "127.0.0.1", 38488, "127.0.0.1", 39737, "FIN_WAIT2", 41700),
    row("tcp", 4, "127.0.0.1", 39737, "127.0.0.1", 38488, "CLOSE_WAIT", 41701),
    row("tcp", 4, "127.0.0.1", 39737, "127.0.0.1", 38478, "ESTABLISHED", 41695),
    row("tcp", 4, "127.0.0.1", 35924, "127.0.0.1", 39575, "ESTABLISHED", 41698),
  ]);
});

Deno.test("parseProcNet: captured /proc/net/tcp6 keeps v4-mapped addresses in family 6", () => {
  assert.deepEqual(parseProcNet(fixtureText("proc_net_tcp6.txt"), "tcp", 6), [
    row("tcp", 6, "::", 39575, "::", 0, "LISTEN", 41693),
    row("tcp", 6, "::1", 43115, "::", 0, "LISTEN", 41692),
    row("tcp", 6, "::1", 43115, "::1", 44642, "ESTABLISHED", 41697),
    row("tcp", 6, "::1", 44642, "::1", 43115, "ESTABLISHED", 41696),
    row("tcp", 6, "::1", 44652, "::1", 43115, "TIME_WAIT", 0),
    row("tcp", 6, "::ffff:127.0.0.1", 39575, "::ffff:127.0.0.1", 35924, "ESTABLISHED", 41699),
  ]);
});

Deno.test("parseProcNet: captured /proc/net/udp and udp6 have no state and no peer", () => {
  assert.deepEqual(parseProcNet(fixtureText("proc_net_udp.txt"), "udp", 4), [
    row("udp", 4, "127.0.0.1", 48889, "0.0.0.0", 0, null, 41704),
  ]);
  assert.deepEqual(parseProcNet(fixtureText("proc_net_udp6.txt"), "udp", 6), [
    row("udp", 6, "::", 48956, "::", 0, null, 41706),
    row("udp", 6, "::1", 50335, "::", 0, null, 41705),
  ]);
});

Deno.test("parseProcNet: every Linux TCP state number 1..12 maps to its name", () => {
  const rows = parseProcNet(fixtureText("proc_net_tcp_states.txt"), "tcp", 4);
  assert.deepEqual(rows.map((r) => r.state), [
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
  ]);
  assert.deepEqual(rows[2], row("tcp", 4, "127.0.0.1", 8083, "10.0.0.3", 49155, "SYN_RECEIVED", 5003));
  assert.equal(LINUX_TCP_STATE_NAMES[13], "BOUND");
});

Deno.test("parseProcNet: IPv6 addresses come out in RFC 5952 form", () => {
  const rows = parseProcNet(fixtureText("proc_net_tcp6_addresses.txt"), "tcp", 6);
  assert.deepEqual(rows.map((r) => r.localAddress), [
    "2001:db8::1",
    "fe80::1:2",
    "2001:db8:0:1:1:1:1:1", // a lone zero group is not compressed
    "2001:0:0:1::1", // the longest run wins
    "2001:db8::1:0:0:1", // on a tie, the first run
    "::ffff:10.1.2.3",
    "1:2:3:4:5:6:7:8",
    "1::",
    "0:2:3:4:5:6:7:8",
    "::",
  ]);
  assert.deepEqual(rows[0], row("tcp", 6, "2001:db8::1", 0x2000, "::1", 80, "ESTABLISHED", 7000));
});

Deno.test("parseProcNet: a connected UDP socket has a peer but still no state", () => {
  assert.deepEqual(parseProcNet(fixtureText("proc_net_udp_connected.txt"), "udp", 4), [
    row("udp", 4, "127.0.0.1", 53, "0.0.0.0", 0, null, 9001),
    row("udp", 4, "127.0.0.1", 54321, "127.0.0.1", 53, null, 9002),
    row("udp", 4, "0.0.0.0", 68, "0.0.0.0", 0, null, 9003),
  ]);
});

Deno.test("parseProcNet: header-only, empty and malformed input", () => {
  const header = fixtureText("proc_net_tcp.txt").split("\n")[0];
  assert.deepEqual(parseProcNet("", "tcp", 4), []);
  assert.deepEqual(parseProcNet(header + "\n", "tcp", 4), []);
  const garbage = `${header}\n   0: nothex:0050 00000000:0000 0A x x x 0 0 1\n   1: 0100007F:0050\n` +
    `   2: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 77 1 0\n`;
  assert.deepEqual(parseProcNet(garbage, "tcp", 4), [
    row("tcp", 4, "127.0.0.1", 80, "0.0.0.0", 0, "LISTEN", 77),
  ]);
  // Appends to the array it is given.
  const rows: SocketRecord[] = [];
  parseProcNet(garbage, "tcp", 4, rows);
  parseProcNet(garbage, "tcp", 4, rows);
  assert.equal(rows.length, 2);
});

Deno.test("address text: IPv4 dotted quad and IPv6 special forms", () => {
  assert.equal(ipv4Text(0x7f000001), "127.0.0.1");
  assert.equal(ipv4Text(0xffffffff), "255.255.255.255");
  assert.equal(ipv4Text(0), "0.0.0.0");
  assert.equal(ipv6Text(0, 0, 0, 0), "::");
  assert.equal(ipv6Text(0, 0, 0, 1), "::1");
  assert.equal(ipv6Text(0, 0, 0xffff, 0x7f000001), "::ffff:127.0.0.1");
  assert.equal(ipv6Text(0xfe800000, 0, 0x0211_22ff, 0xfe33_4455), "fe80::211:22ff:fe33:4455");
  assert.equal(ipv6Text(0x20010db8, 0xabcd0000, 0, 0x00000001), "2001:db8:abcd::1");
});
