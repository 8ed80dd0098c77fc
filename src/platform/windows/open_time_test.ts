/**
 * True open times from `liCreateTimestamp` (Windows fills it; wine leaves it zero, so the decode is
 * tested on synthetic rows and the fallback on the bytes wine really returned).
 */
import assert from "node:assert/strict";
import { EndpointTracker } from "../../diff/diff.ts";
import type { Snapshot, SocketRecord } from "../../model/types.ts";
import { decodeTable, tableLayout } from "./decode.ts";
import { FILETIME_UNIX_EPOCH } from "./layouts.ts";

const FIX = new URL("../../../test/fixtures/windows/", import.meta.url);

/** One tcp4 OWNER_MODULE row: 127.0.0.1:8080 ESTABLISHED to 127.0.0.1:50000, pid 42, created at `created`. */
function moduleRow(createdMs: number | undefined): Uint8Array {
  const L = tableLayout("tcp4", "module");
  const b = new Uint8Array(L.header + L.row);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 1, true);
  const o = L.header;
  dv.setUint32(o + L.state, 5, true);
  b.set([127, 0, 0, 1], o + L.localAddr);
  dv.setUint16(o + L.localPort, 8080, false);
  b.set([127, 0, 0, 1], o + L.remoteAddr);
  dv.setUint16(o + L.remotePort, 50000, false);
  dv.setUint32(o + L.pid, 42, true);
  if (createdMs !== undefined) {
    dv.setBigUint64(o + L.createTimestamp, BigInt(createdMs) * 10000n + FILETIME_UNIX_EPOCH, true);
  }
  return b;
}

Deno.test("open time: liCreateTimestamp decodes to openTime; zero (wine) leaves it absent", () => {
  const created = Date.UTC(2026, 11, 1, 8, 30, 0, 125);
  assert.equal(decodeTable("tcp4", "module", moduleRow(created))[0].openTime, created);
  assert.ok(!("openTime" in decodeTable("tcp4", "module", moduleRow(undefined))[0]));
  assert.ok(!("openTime" in decodeTable("tcp4", "pid", Deno.readFileSync(new URL("tcp4-pid.bin", FIX)))[0]));
  for (const kind of ["tcp4", "tcp6", "udp4", "udp6"] as const) {
    for (const s of decodeTable(kind, "module", Deno.readFileSync(new URL(`${kind}-module.bin`, FIX)))) {
      assert.equal(s.openTime, undefined, `${kind}: wine's rows carry no creation time`);
    }
  }
});

Deno.test("open time: an endpoint first seen mid-life gets its real open time and an exact duration", () => {
  const created = 1_700_000_000_000;
  const [socket] = decodeTable("tcp4", "module", moduleRow(created));
  const snap = (time: number, sockets: SocketRecord[]): Snapshot => ({
    time,
    sockets,
    processes: new Map([[42, { pid: 42, name: "svc.exe" }]]),
    warnings: {},
  });
  const t = new EndpointTracker();
  t.observe(snap(created + 60_000, []));
  const [opened] = t.observe(snap(created + 61_000, [socket]));
  assert.equal(opened.kind, "opened");
  assert.equal(opened.firstSeen, created);
  const [closed] = t.observe(snap(created + 90_000, []));
  assert.equal(closed.kind, "closed");
  assert.equal(closed.durationMs, 90_000);
  // present at the monitor's start: with an OS time its duration is still exact
  const t3 = new EndpointTracker();
  t3.observe(snap(created + 5_000, [socket]));
  const [closedAtStart] = t3.observe(snap(created + 9_000, []));
  assert.equal(closedAtStart.durationMs, 9_000);
  assert.equal(closedAtStart.durationExact, undefined);
  // without an OS time (wine, Linux): first seen is the poll
  const [plain] = decodeTable("tcp4", "module", moduleRow(undefined));
  const t2 = new EndpointTracker();
  t2.observe(snap(5_000, []));
  assert.equal(t2.observe(snap(6_000, [plain]))[0].firstSeen, 6_000);
});
