/**
 * The table reader's retry rules against an injected fake of the iphlpapi call (the real call is tested
 * in the wine lab, test/windows/tables_test.ts; wine never fails transiently, so these cases are injected).
 */
import assert from "node:assert/strict";
import { OsCallError } from "../../errors.ts";
import { createWindowsCollector } from "./collector.ts";
import { decodeTable } from "./decode.ts";
import { STATUS_UNSUCCESSFUL, type TableCall, TableReader } from "./tables.ts";

const fixture = Deno.readFileSync(new URL("../../../test/fixtures/windows/tcp4-pid.bin", import.meta.url));

/** A fake GetExtendedTcpTable answering `codes` in turn, then the fixture; records every call. */
function fakeCall(codes: number[]): { call: TableCall; calls: number[] } {
  const calls: number[] = [];
  const call: TableCall = (_kind, buf, size) => {
    const rc = codes.shift();
    calls.push(rc ?? 0);
    if (rc !== undefined) return Promise.resolve(rc);
    if (buf.byteLength < fixture.byteLength) {
      size[0] = fixture.byteLength;
      return Promise.resolve(122);
    }
    buf.set(fixture);
    size[0] = fixture.byteLength;
    return Promise.resolve(0);
  };
  return { call, calls };
}

Deno.test("tables: STATUS_UNSUCCESSFUL is retried with backoff and the rows come back intact", async () => {
  const waits: number[] = [];
  const { call, calls } = fakeCall([STATUS_UNSUCCESSFUL, STATUS_UNSUCCESSFUL]);
  const r = new TableReader({ call, sleep: (ms) => (waits.push(ms), Promise.resolve()) });
  const rows = await r.read("tcp4");
  assert.deepEqual(rows, decodeTable("tcp4", "pid", fixture));
  assert.ok(rows.length > 0);
  assert.deepEqual(calls, [STATUS_UNSUCCESSFUL, STATUS_UNSUCCESSFUL, 0]);
  assert.deepEqual(waits, [20, 80]);
  assert.equal(r.retries, 2);
});

Deno.test("tables: a failure that persists past the retries names the API, code and retries", async () => {
  const { call, calls } = fakeCall([STATUS_UNSUCCESSFUL, 31, STATUS_UNSUCCESSFUL, STATUS_UNSUCCESSFUL]);
  const r = new TableReader({ call, sleep: () => Promise.resolve() });
  await assert.rejects(r.read("tcp4"), (e: unknown) => {
    assert.ok(e instanceof OsCallError);
    assert.equal(e.code, STATUS_UNSUCCESSFUL);
    assert.match(
      e.message,
      /GetExtendedTcpTable failed with code 3221225473 .*still failing after 3 retries/,
    );
    return true;
  });
  assert.equal(calls.length, 4);
});

Deno.test("tables: ERROR_INVALID_PARAMETER is not retried; a grow after a transient failure still works", async () => {
  const bad = fakeCall([87]);
  await assert.rejects(
    new TableReader({ call: bad.call, sleep: () => Promise.resolve() }).read("tcp4"),
    /code 87/,
  );
  assert.equal(bad.calls.length, 1);
  const grow = fakeCall([STATUS_UNSUCCESSFUL]);
  const r = new TableReader({ call: grow.call, initialBytes: 8, sleep: () => Promise.resolve() });
  assert.equal((await r.read("tcp4")).length, decodeTable("tcp4", "pid", fixture).length);
  assert.equal(r.grows, 1);
  assert.equal(r.retries, 1);
});

Deno.test("collector: a failing first collect is retried with backoff; later failures reject at once", async () => {
  const failures = [3, 0, 1]; // the first collect fails 3 times, the second poll succeeds, the third fails once
  let round = 0;
  const waits: number[] = [];
  const tables = {
    readAll() {
      if (failures[round] > 0) {
        failures[round]--;
        return Promise.reject(new OsCallError("GetExtendedTcpTable", STATUS_UNSUCCESSFUL));
      }
      round++;
      return Promise.resolve(decodeTable("tcp4", "pid", fixture));
    },
  };
  const details = { read: () => ({ processes: new Map(), warnings: {} }), close() {} };
  const c = createWindowsCollector({ tables, details, sleep: (ms) => (waits.push(ms), Promise.resolve()) });
  const first = await c.collect();
  assert.ok(first.sockets.length > 0);
  assert.deepEqual(waits, [250, 500, 1000]);
  await c.collect();
  round = 2;
  await assert.rejects(c.collect(), OsCallError);
  assert.deepEqual(waits, [250, 500, 1000], "no retry after the first success");
  c.close();
});

Deno.test("collector: a first collect that never succeeds rejects after the last retry", async () => {
  let calls = 0;
  const tables = {
    readAll: () => (calls++, Promise.reject(new OsCallError("GetExtendedUdpTable", STATUS_UNSUCCESSFUL))),
  };
  const details = { read: () => ({ processes: new Map(), warnings: {} }), close() {} };
  const c = createWindowsCollector({
    tables,
    details,
    firstCollectBackoffMs: [1, 2],
    sleep: () => Promise.resolve(),
  });
  await assert.rejects(c.collect(), /GetExtendedUdpTable/);
  assert.equal(calls, 3);
});
