import assert from "node:assert/strict";
import { join } from "node:path";
import { listLogSets, logSetsOfFiles } from "./sets.ts";
import { newReadStats, readRows } from "./events.ts";
import type { ReadRow } from "./rows.ts";
import { change, connection, proc, sock, tempDir, writeSets } from "../../test/read/logs.ts";
import { UsageError } from "../errors.ts";

async function collect(dir: string, timeZone: string): Promise<ReadRow[]> {
  const rows: ReadRow[] = [];
  for await (const r of readRows(await listLogSets(dir, { timeZone }), { timeZone })) rows.push(r);
  return rows;
}

const ports = (rows: ReadRow[]) => rows.flatMap((r) => r.type === "change" ? [r.localPort] : []);

Deno.test("sets: across local midnight, ordered by time although the names do not sort as text", async () => {
  const dir = await tempDir();
  try {
    const z = "Europe/Berlin";
    const t0 = Date.parse("2026-11-09T22:59:58Z"); // 23:59:58 local
    const p = proc(42, "app");
    writeSets(dir, z, t0, [
      { time: t0 + 1000, changes: [change("opened", t0 + 1000, sock(81), p)] },
      { time: t0 + 3000, changes: [change("opened", t0 + 3000, sock(82), p)] }, // 00:00:01 next day
      { time: t0 + 4000, changes: [change("opened", t0 + 4000, sock(83), p)] },
    ]);
    const sets = await listLogSets(dir, { timeZone: z });
    assert.deepEqual(sets.map((s) => s.stamp), ["26-11-9-23-59-58", "26-11-10-0-0-1"]);
    const names = sets.map((s) => s.files.EVENTS!);
    assert.notDeepEqual([...names].sort(), names, "as text, the names sort the other way");
    assert.deepEqual(ports(await collect(dir, z)), [81, 82, 83]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sets: the repeated hour of a DST change (a later set with an earlier stamp) stays in time order", async () => {
  const dir = await tempDir();
  try {
    const z = "Europe/Berlin"; // 2026-10-25 03:00 CEST → 02:00 CET
    const t0 = Date.parse("2026-10-25T00:30:00Z"); // 02:30 CEST
    const p = proc(42, "app", { commandLine: "x".repeat(3000) });
    const batches = [];
    for (let i = 0; i < 8; i++) { // one change every 10 minutes, 4 KB limit: a new set every batch or two
      const t = t0 + i * 600_000;
      batches.push({ time: t, changes: [change("opened", t, sock(1000 + i), p)] });
    }
    writeSets(dir, z, t0, batches, 4096);
    const sets = await listLogSets(dir, { timeZone: z });
    assert.ok(sets.length >= 3, `sets: ${sets.map((s) => s.stamp)}`);
    const starts = sets.map((s) => s.start);
    assert.deepEqual(starts, [...starts].sort((a, b) => a - b));
    const byName = sets.map((s) => s.stamp);
    assert.notDeepEqual(byName, [...byName].sort(), "the stamps alone would misorder these sets");
    assert.deepEqual(ports(await collect(dir, z)), [1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sets: a clock jump back starts a new set; no row is lost and each set keeps its written order", async () => {
  const dir = await tempDir();
  try {
    const z = "UTC";
    const t0 = Date.parse("2026-11-26T10:00:00Z");
    const p = proc(42, "app");
    writeSets(dir, z, t0, [{ time: t0 + 1000, changes: [change("opened", t0 + 1000, sock(81), p)] }]);
    const back = t0 - 3_600_000; // the clock was set back an hour; the monitor restarts its set
    await Deno.writeTextFile(
      join(dir, "PR-EVENTS-26-11-26-9-0-0.jsonl"),
      JSON.stringify({
        v: 1,
        event: "set-start",
        time: new Date(back).toISOString(),
        host: "T",
        stamp: "26-11-26-9-0-0",
        reason: "clock-jump",
      }) + "\n" +
        JSON.stringify({
          v: 1,
          event: "clock-jump",
          time: new Date(back).toISOString(),
          host: "T",
          fromTime: new Date(t0 + 2000).toISOString(),
        }) + "\n" +
        JSON.stringify({
          v: 1,
          event: "opened",
          time: new Date(back + 1000).toISOString(),
          host: "T",
          protocol: "tcp",
          family: 4,
          localAddress: "127.0.0.1",
          localPort: 82,
          remoteAddress: "0.0.0.0",
          remotePort: 0,
          state: "LISTEN",
          pid: 42,
          firstSeen: new Date(back + 1000).toISOString(),
        }) + "\n",
    );
    const rows = await collect(dir, z);
    assert.deepEqual(ports(rows).sort(), [81, 82]);
    const jump = rows.find((r) => r.type === "marker" && r.event === "clock-jump");
    assert.ok(jump, "the clock-jump marker is read");
    // --since before the jump still reads the set after it (its rows are earlier only by the clock)
    const sets = await listLogSets(dir, { timeZone: z });
    const since: number[] = [];
    for await (const r of readRows(sets, { since: t0 - 60_000 })) {
      if (r.type === "change") since.push(r.localPort);
    }
    assert.deepEqual(since.sort(), [81, 82]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sets: PR-EVENTS wins over PR-PORTS in one set; unknown kinds and bad lines are skipped and counted", async () => {
  const dir = await tempDir();
  try {
    const t0 = Date.parse("2026-11-26T10:00:00Z");
    writeSets(dir, "UTC", t0, [{
      time: t0 + 1000,
      changes: connection(8000, 50000, t0 + 1000, t0 + 1000, proc(7, "srv")),
    }]);
    const [set] = await listLogSets(dir, { timeZone: "UTC" });
    assert.equal(set.primary?.kind, "EVENTS");
    await Deno.writeTextFile(
      set.files.EVENTS!,
      '{"v":1,"event":"process","time":"2026-11-26T10:00:02Z","host":"T","pid":7}\n' +
        '{"v":1,"event":"heartbeat","time":"2026-11-26T10:00:03Z","host":"T"}\n' +
        "not json\n" +
        '{"v":1,"event":"opened","time":"2026-11-26T10:00:04Z","protocol":"sctp"}\n' +
        '{"v":1,"event":"opened","time":"2026-11-26T10:00:05Z","host":"T","protocol":"udp","family":6,"localAddress":"::1","localPort":53,"remoteAddress":"::","remotePort":0,"state":null,"pid":1,"source":"event","bytesSent":10,"bytesReceived":20,"durationExact":false}\n' +
        '{"v":1,"event":"opened","time":"2026-11-26T10:00:06Z","host":"T","protocol":"udp","family":6,"localAddress":"::1","localPort":54,"rem',
      { append: true },
    );
    const stats = newReadStats();
    const rows: ReadRow[] = [];
    for await (const r of readRows([set], { stats })) rows.push(r);
    assert.deepEqual(rows.map((r) => r.type === "change" ? `${r.event}:${r.localPort}` : r.event), [
      "set-start",
      "opened:8000",
      "closed:8000",
      "heartbeat",
      "opened:53",
    ], "the unfinished last line of the open set is left for later");
    // the writer's own `process` record of pid 7 and the added one are kinds this reader skips
    assert.deepEqual([stats.unknownKinds, stats.malformed], [2, 2]);
    const udp = rows.find((r) => r.type === "change" && r.localPort === 53);
    assert.ok(udp?.type === "change");
    assert.deepEqual([udp.seenBy, udp.bytesSent, udp.bytesReceived, udp.durationExact, udp.family], [
      "event",
      10,
      20,
      false,
      6,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sets: named files group by stamp however they are padded; a missing directory is one usage line", async () => {
  const dir = await tempDir();
  try {
    for (
      const n of [
        "PR-PORTS-05-07-6-13-44-4.log",
        "PR-PIDS-05-07-06-13-44-04.log",
        "notes.txt",
        "PR-PORTS-05-07-6-9-1-1.log",
      ]
    ) {
      await Deno.writeTextFile(join(dir, n), "");
    }
    const sets = await listLogSets(dir, { timeZone: "UTC" });
    assert.deepEqual(sets.map((s) => [s.stamp, Object.keys(s.files).sort().join("+")]), [
      ["05-07-6-9-1-1", "PORTS"],
      ["05-07-6-13-44-4", "PIDS+PORTS"],
    ]);
    const named = await logSetsOfFiles([join(dir, "PR-PORTS-05-07-6-13-44-4.log"), join(dir, "notes.txt")]);
    assert.equal(named.length, 2);
    await assert.rejects(
      () => listLogSets(join(dir, "nope")),
      (e: unknown) =>
        e instanceof UsageError && /does not exist; name the directory with --log-dir/.test(e.message),
    );
    await assert.rejects(() => logSetsOfFiles([join(dir, "gone.jsonl")]), UsageError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
