import assert from "node:assert/strict";
import type { SocketRecord } from "../../model/types.ts";
import {
  decodeOwnerModuleRows,
  decodeTable,
  fileTimeToUnixMs,
  ipv4Text,
  ipv6Text,
  portFromDword,
  readWideIn,
  rowCount,
  type TableFlavour,
  type TableKind,
  tableLayout,
} from "./decode.ts";
import { FILETIME_UNIX_EPOCH } from "./layouts.ts";
import { baseName, sidToString } from "./process.ts";
import { formatOsName } from "./host.ts";

// --- synthetic tables ---------------------------------------------------------------------------

interface Row {
  state?: number;
  local: number[];
  localScope?: number;
  localPortRaw: number;
  remote?: number[];
  remoteScope?: number;
  remotePortRaw?: number;
  pid: number;
  createTime?: bigint;
  moduleInfo?: bigint;
}

/** Little-endian port DWORD for `port`, with `garbage` in the high 16 bits. */
const portDword = (port: number, garbage = 0) =>
  (((port & 0xff) << 8) | (port >>> 8) | (garbage << 16)) >>> 0;

function table(kind: TableKind, flavour: TableFlavour, rows: Row[], claim = rows.length): Uint8Array {
  const L = tableLayout(kind, flavour);
  const buf = new Uint8Array(L.header + rows.length * L.row);
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, claim, true);
  rows.forEach((r, i) => {
    const o = L.header + i * L.row;
    buf.set(r.local, o + L.localAddr);
    dv.setUint32(o + L.localPort, r.localPortRaw, true);
    dv.setUint32(o + L.pid, r.pid, true);
    if (L.localScopeId >= 0) dv.setUint32(o + L.localScopeId, r.localScope ?? 0, true);
    if (L.state >= 0) {
      dv.setUint32(o + L.state, r.state ?? 0, true);
      buf.set(r.remote ?? [], o + L.remoteAddr);
      dv.setUint32(o + L.remotePort, r.remotePortRaw ?? 0, true);
      if (L.remoteScopeId >= 0) dv.setUint32(o + L.remoteScopeId, r.remoteScope ?? 0, true);
    }
    if (L.createTimestamp >= 0) dv.setBigUint64(o + L.createTimestamp, r.createTime ?? 0n, true);
    if (L.owningModuleInfo >= 0) dv.setBigUint64(o + L.owningModuleInfo + 8 * 3, r.moduleInfo ?? 0n, true);
  });
  return buf;
}

const v6 = (...groups: number[]) => groups.flatMap((g) => [g >> 8, g & 0xff]);
const LOOP6 = v6(0, 0, 0, 0, 0, 0, 0, 1);
const ANY6 = v6(0, 0, 0, 0, 0, 0, 0, 0);

Deno.test("ports: network byte order in the low 16 bits, high bits masked", () => {
  assert.equal(portFromDword(portDword(80)), 80);
  assert.equal(portFromDword(portDword(0x1f90, 0xdead)), 8080);
  assert.equal(portFromDword(portDword(65535, 0xffff)), 65535);
  assert.equal(portFromDword(0), 0);
});

Deno.test("IPv4 text is network order", () => {
  assert.equal(ipv4Text(new Uint8Array([127, 0, 0, 1]), 0), "127.0.0.1");
  assert.equal(ipv4Text(new Uint8Array([9, 192, 168, 1, 254]), 1), "192.168.1.254");
});

Deno.test("IPv6 text is RFC 5952", () => {
  const t = (...g: number[]) => ipv6Text(new Uint8Array(v6(...g)), 0);
  assert.equal(t(0, 0, 0, 0, 0, 0, 0, 0), "::");
  assert.equal(t(0, 0, 0, 0, 0, 0, 0, 1), "::1");
  assert.equal(t(0xfe80, 0, 0, 0, 0x00fc, 0x00ff, 0xfe00, 1), "fe80::fc:ff:fe00:1");
  assert.equal(t(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), "2001:db8::1");
  assert.equal(t(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1), "2001:db8:0:1:1:1:1:1"); // one zero group: not compressed
  assert.equal(t(0x2001, 0, 0, 1, 0, 0, 0, 1), "2001:0:0:1::1"); // the longest run wins
  assert.equal(t(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1), "2001:db8::1:0:0:1"); // first of equal runs
  assert.equal(t(0x2001, 0xDB8, 0xABCD, 0, 0, 0, 0, 0), "2001:db8:abcd::"); // lower case, trailing run
  assert.equal(t(1, 0, 0, 0, 0, 0, 0, 0), "1::");
  assert.equal(t(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201), "::ffff:192.0.2.1");
});

Deno.test("tcp4 PID table: every MIB_TCP_STATE, addresses, ports, pid", () => {
  const rows: Row[] = Array.from({ length: 12 }, (_, i) => ({
    state: i + 1,
    local: [10, 0, 0, i],
    localPortRaw: portDword(1000 + i, 0xbeef),
    remote: [192, 168, 0, 1],
    remotePortRaw: portDword(443),
    pid: 100 + i,
  }));
  const got = decodeTable("tcp4", "pid", table("tcp4", "pid", rows));
  assert.equal(got.length, 12);
  assert.deepEqual(got.map((s) => s.state), [
    "CLOSED",
    "LISTEN",
    "SYN_SENT",
    "SYN_RECEIVED",
    "ESTABLISHED",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "CLOSE_WAIT",
    "CLOSING",
    "LAST_ACK",
    "TIME_WAIT",
    "DELETE_TCB",
  ]);
  assert.deepEqual(
    got[4],
    {
      protocol: "tcp",
      family: 4,
      localAddress: "10.0.0.4",
      localPort: 1004,
      remoteAddress: "192.168.0.1",
      remotePort: 443,
      state: "ESTABLISHED",
      pid: 104,
    } satisfies SocketRecord,
  );
  assert.ok(!("scopeId" in got[0]));
});

Deno.test("tcp6 table keeps the scope id only as scopeId", () => {
  for (const flavour of ["pid", "module"] as const) {
    const bytes = table("tcp6", flavour, [
      { state: 2, local: ANY6, localPortRaw: portDword(445), pid: 4 },
      {
        state: 5,
        local: v6(0xfe80, 0, 0, 0, 0, 0, 0, 0x10),
        localScope: 12,
        localPortRaw: portDword(50000, 1),
        remote: v6(0xfe80, 0, 0, 0, 0, 0, 0, 0x20),
        remoteScope: 12,
        remotePortRaw: portDword(22),
        pid: 777,
      },
    ]);
    assert.deepEqual(decodeTable("tcp6", flavour, bytes), [
      {
        protocol: "tcp",
        family: 6,
        localAddress: "::",
        localPort: 445,
        remoteAddress: "::",
        remotePort: 0,
        state: "LISTEN",
        pid: 4,
        scopeId: 0,
      },
      {
        protocol: "tcp",
        family: 6,
        localAddress: "fe80::10",
        localPort: 50000,
        remoteAddress: "fe80::20",
        remotePort: 22,
        state: "ESTABLISHED",
        pid: 777,
        scopeId: 12,
      },
    ], flavour);
  }
});

Deno.test("udp4 / udp6 tables: no state, no peer", () => {
  for (const flavour of ["pid", "module"] as const) {
    assert.deepEqual(
      decodeTable(
        "udp4",
        flavour,
        table("udp4", flavour, [{ local: [0, 0, 0, 0], localPortRaw: portDword(53, 7), pid: 9 }]),
      ),
      [
        {
          protocol: "udp",
          family: 4,
          localAddress: "0.0.0.0",
          localPort: 53,
          remoteAddress: "0.0.0.0",
          remotePort: 0,
          state: null,
          pid: 9,
        },
      ],
    );
    assert.deepEqual(
      decodeTable(
        "udp6",
        flavour,
        table("udp6", flavour, [{ local: LOOP6, localScope: 4096, localPortRaw: portDword(5353), pid: 10 }]),
      ),
      [
        {
          protocol: "udp",
          family: 6,
          localAddress: "::1",
          localPort: 5353,
          remoteAddress: "::",
          remotePort: 0,
          state: null,
          pid: 10,
          scopeId: 4096,
        },
      ],
    );
  }
});

Deno.test("a count larger than the bytes present reads only complete rows", () => {
  const bytes = table(
    "tcp4",
    "pid",
    [{ state: 2, local: [1, 2, 3, 4], localPortRaw: portDword(1), pid: 1 }],
    1000,
  );
  assert.equal(rowCount(bytes, tableLayout("tcp4", "pid")), 1);
  assert.equal(decodeTable("tcp4", "pid", bytes).length, 1);
  assert.deepEqual(decodeTable("tcp4", "pid", new Uint8Array(2)), []);
  assert.deepEqual(decodeTable("udp6", "pid", bytes.subarray(0, 4)), []);
  // a view into a larger buffer at an offset
  const big = new Uint8Array(100 + bytes.byteLength);
  big.set(bytes, 100);
  assert.equal(decodeTable("tcp4", "pid", big.subarray(100))[0].localAddress, "1.2.3.4");
});

Deno.test("unknown MIB_TCP_STATE decodes as CLOSED", () => {
  const bytes = table("tcp4", "pid", [{ state: 99, local: [1, 2, 3, 4], localPortRaw: 0, pid: 1 }]);
  assert.equal(decodeTable("tcp4", "pid", bytes)[0].state, "CLOSED");
});

Deno.test("OWNER_MODULE rows: creation time and module presence", () => {
  const ft = FILETIME_UNIX_EPOCH + 1_700_000_000_000n * 10000n;
  const bytes = table("tcp4", "module", [
    {
      state: 2,
      local: [0, 0, 0, 0],
      localPortRaw: portDword(135),
      pid: 900,
      createTime: ft,
      moduleInfo: 0x1234n,
    },
    { state: 2, local: [0, 0, 0, 0], localPortRaw: portDword(136), pid: 901 },
  ]);
  const rows = decodeOwnerModuleRows("tcp4", bytes);
  assert.equal(rows.length, 2);
  assert.equal(rows[0].createTime, 1_700_000_000_000);
  assert.equal(rows[0].hasModuleInfo, true);
  assert.equal(rows[0].row.byteLength, 160);
  assert.equal(rows[1].createTime, undefined);
  assert.equal(rows[1].hasModuleInfo, false);
  assert.equal(fileTimeToUnixMs(0n), undefined);
  assert.equal(fileTimeToUnixMs(FILETIME_UNIX_EPOCH), 0);
});

Deno.test("small pure helpers: UTF-16 in buffers, SIDs, base names, OS names", () => {
  const b = new Uint8Array(16);
  "ab\u00e9".split("").forEach((c, i) => new DataView(b.buffer).setUint16(2 + 2 * i, c.charCodeAt(0), true));
  assert.equal(readWideIn(b, 2, 100), "ab\u00e9");
  assert.equal(readWideIn(b, 2, 2), "ab");
  // S-1-5-21-1-2-3-1000
  const sid = new Uint8Array([
    1,
    5,
    0,
    0,
    0,
    0,
    0,
    5,
    21,
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    2,
    0,
    0,
    0,
    3,
    0,
    0,
    0,
    0xe8,
    3,
    0,
    0,
  ]);
  assert.equal(sidToString(sid), "S-1-5-21-1-2-3-1000");
  assert.equal(sidToString(new Uint8Array([1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0])), "S-1-5-18");
  assert.equal(baseName("C:\\Windows\\System32\\svchost.exe"), "svchost.exe");
  assert.equal(baseName("Z:\\w\\deno.exe"), "deno.exe");
  assert.equal(baseName("System"), "System");
  assert.equal(
    formatOsName("Windows 10 Pro", "23H2", { major: 10, minor: 0, build: 22631 }),
    "Windows 11 Pro 23H2 (10.0.22631)",
  );
  assert.equal(
    formatOsName("Windows 10 Pro", undefined, { major: 10, minor: 0, build: 19043 }),
    "Windows 10 Pro (10.0.19043)",
  );
  assert.equal(
    formatOsName("Windows Server 2022 Datacenter", "21H2", { major: 10, minor: 0, build: 20348 }),
    "Windows Server 2022 Datacenter 21H2 (10.0.20348)",
  );
  assert.equal(formatOsName(undefined, undefined, undefined), "Windows");
});

// --- captured tables (wine lab, test/windows/capture_fixtures.ts) -------------------------------

const FIX = new URL("../../../test/fixtures/windows/", import.meta.url);
const captured = JSON.parse(Deno.readTextFileSync(new URL("captured.json", FIX))) as {
  pid: number;
  expected: SocketRecord[];
};
const strip = ({ scopeId: _s, ...rest }: SocketRecord) => rest;
const kindOf = (s: SocketRecord) => `${s.protocol}${s.family}` as TableKind;

for (const flavour of ["pid", "module"] as const) {
  Deno.test(`captured ${flavour} tables decode to the sockets the capture opened`, () => {
    const all: SocketRecord[] = [];
    for (const kind of ["tcp4", "tcp6", "udp4", "udp6"] as const) {
      const bytes = Deno.readFileSync(new URL(`${kind}-${flavour}.bin`, FIX));
      const L = tableLayout(kind, flavour);
      const n = new DataView(bytes.buffer).getUint32(0, true);
      assert.equal(bytes.byteLength, L.header + n * L.row, `${kind}-${flavour}: size == header + n*row`);
      const got = decodeTable(kind, flavour, bytes);
      assert.equal(got.length, n);
      for (const s of got) assert.equal(kindOf(s), kind);
      all.push(...got);
      if (flavour === "module") {
        // wine leaves creation time and module info zero (a FIXME); Windows fills them
        for (const r of decodeOwnerModuleRows(kind, bytes)) {
          assert.equal(r.createTime, undefined);
          assert.equal(r.hasModuleInfo, false);
        }
      }
    }
    for (const want of captured.expected) {
      const found = all.find((s) => JSON.stringify(strip(s)) === JSON.stringify(want));
      assert.ok(found, `missing ${JSON.stringify(want)}`);
      if (want.family === 6) assert.equal(typeof found.scopeId, "number");
    }
    // the PID and MODULE classes describe the same sockets
    const mine = all.filter((s) => s.pid === captured.pid);
    assert.ok(mine.length >= captured.expected.length);
  });
}
