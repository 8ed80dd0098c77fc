import assert from "node:assert/strict";
import { endpointKey, type SocketRecord } from "../../../model/types.ts";
import { ipv6Text, parseIpv4, parseIpv6 } from "../address.ts";
import { fixtureBytes } from "../fixtures_test_util.ts";
import { decodeDestroyCapture } from "./destroy_decode.ts";
import { joinKey4, joinKeyOf, joinKeyText } from "./join_key.ts";

const tcp = (
  family: 4 | 6,
  localAddress: string,
  remoteAddress: string,
  localPort = 40000,
): SocketRecord => ({
  protocol: "tcp",
  family,
  localAddress,
  localPort,
  remoteAddress,
  remotePort: 443,
  state: "ESTABLISHED",
  pid: 0,
});

const SOCKETS = [
  tcp(4, "127.0.0.1", "10.0.0.255"),
  tcp(4, "0.0.0.0", "255.255.255.255", 0),
  tcp(4, "192.168.1.2", "192.168.1.20", 65535),
  tcp(6, "::", "::1"),
  tcp(6, "::ffff:127.0.0.1", "::ffff:10.1.2.3"),
  tcp(6, "fe80::1", "2001:db8::8:800:200c:417a"),
  tcp(6, "2001:db8:0:1:1:1:1:1", "1::"),
  tcp(6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::7f00:1"),
];

Deno.test("join keys tell connections apart exactly as their endpoint keys do, and give those back", () => {
  const keys = SOCKETS.map((s) => joinKeyOf(s)!);
  assert.deepEqual(keys.map(joinKeyText), SOCKETS.map(endpointKey));
  assert.equal(new Set(keys).size, SOCKETS.length);
  assert.equal(joinKeyOf({ ...SOCKETS[0] })!, keys[0], "the same connection, the same key");
  assert.notEqual(joinKeyOf({ ...SOCKETS[0], localPort: 40001 }), keys[0]);
  assert.notEqual(joinKeyOf({ ...SOCKETS[0], remoteAddress: "10.0.1.255" }), keys[0]);
  assert.equal(keys[0], joinKey4(0x7f000001, 40000, 0x0a0000ff, 443));
  assert.equal(keys[0].length, 7);
  assert.equal(keys[3].length, 19);
  assert.equal(joinKeyOf(tcp(4, "not an address", "127.0.0.1")), undefined);
  assert.equal(joinKeyOf(tcp(6, "fe80::1::2", "::1")), undefined);
});

Deno.test("addresses parse back from every text form to the words the kernel gives", () => {
  assert.equal(parseIpv4("127.0.0.1"), 0x7f000001);
  assert.equal(parseIpv4("255.255.255.255"), 0xffffffff);
  for (const bad of ["256.0.0.1", "1.2.3", "1.2.3.4.5", "1.2.3.x", "", "1..2.3"]) {
    assert.equal(parseIpv4(bad), undefined, bad);
  }
  const words = new Uint32Array(4);
  const cases: [string, number[]][] = [
    ["::", [0, 0, 0, 0]],
    ["::1", [0, 0, 0, 1]],
    ["1::", [0x00010000, 0, 0, 0]],
    ["::ffff:1.2.3.4", [0, 0, 0xffff, 0x01020304]],
    ["fe80::1:2", [0xfe800000, 0, 0, 0x00010002]],
    ["2001:DB8:0:0:0:0:0:1", [0x20010db8, 0, 0, 1]],
    ["1:2:3:4:5:6:7:8", [0x00010002, 0x00030004, 0x00050006, 0x00070008]],
  ];
  for (const [text, expected] of cases) {
    assert.equal(parseIpv6(text, words), true, text);
    assert.deepEqual([...words], expected, text);
    assert.equal(
      ipv6Text(words[0], words[1], words[2], words[3]),
      ipv6Text(...expected as [number, number, number, number]),
    );
  }
  for (
    const bad of [
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      "12345::",
      "g::",
      ":::",
      "1:2:3:4:5:6:7:8::",
    ]
  ) {
    assert.equal(parseIpv6(bad, words), false, bad);
  }
});

Deno.test("a destroy notification's join key, made from its raw message, is its record's", () => {
  const tcpSockets = decodeDestroyCapture(fixtureBytes("destroy_notifications.bin"))
    .filter((d) => d.socket.protocol === "tcp");
  assert.equal(tcpSockets.length, 3);
  for (const destroyed of tcpSockets) {
    assert.equal(destroyed.joinKey, joinKeyOf(destroyed.socket));
    assert.equal(joinKeyText(destroyed.joinKey!), endpointKey(destroyed.socket));
  }
});
