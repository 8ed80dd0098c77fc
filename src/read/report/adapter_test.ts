import assert from "node:assert/strict";
import { join } from "node:path";
import { logSets, readEventRows, type ReadStats, rowFromRecord } from "./jsonl_adapter.ts";
import { readInitial, withInitial } from "./initial.ts";
import type { ReportRow } from "./rows.ts";

const stats = (): ReadStats => ({ files: 0, lines: 0, skipped: 0 });

Deno.test("PR-EVENTS records: malformed ones skipped and counted, wrong-typed fields dropped, sets by stamp", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const ok = {
      v: 1,
      event: "opened",
      time: "2026-11-26T10:00:00Z",
      host: "H",
      protocol: "tcp",
      family: 4,
      localAddress: "0.0.0.0",
      localPort: 22,
      remoteAddress: "0.0.0.0",
      remotePort: 0,
      state: "LISTEN",
      pid: 1,
    };
    const lines = [
      JSON.stringify({ v: 1, event: "set-start", time: "2026-11-26T10:00:00Z", host: "H" }),
      JSON.stringify({ ...ok, processName: 42, user: "root", services: ["a", 3] }),
      JSON.stringify({ ...ok, localPort: "22" }),
      "not json",
      "[1,2]",
      JSON.stringify({ ...ok, time: "yesterday" }),
    ];
    // 26-11-26-9-... sorts before 26-11-26-10-... by stamp, not by name
    Deno.writeTextFileSync(join(dir, "PR-EVENTS-26-11-26-10-0-0.jsonl"), lines.join("\r\n") + "\r\n");
    Deno.writeTextFileSync(join(dir, "PR-EVENTS-26-11-26-9-0-0.jsonl"), "");
    Deno.writeTextFileSync(join(dir, "PR-INITIAL-26-11-26-9-0-0.log"), "");
    const sets = logSets(dir);
    assert.deepEqual(sets.map((s) => s.events?.split("/").at(-1)), [
      "PR-EVENTS-26-11-26-9-0-0.jsonl",
      "PR-EVENTS-26-11-26-10-0-0.jsonl",
    ]);
    assert.ok(sets[0].initial);
    const s = stats();
    const rows = [...readEventRows(sets[1].events!, s)];
    assert.equal(rows.length, 2);
    assert.deepEqual(s, { files: 1, lines: 6, skipped: 4 });
    const change = rows[1];
    assert.equal(change.type, "change");
    assert.equal(change.time, Date.parse("2026-11-26T10:00:00Z"));
    assert.equal((change as { processName?: unknown }).processName, undefined);
    assert.deepEqual((change as { services?: unknown }).services, ["a"]);
    assert.equal(rowFromRecord({ ...ok, state: 5 }), undefined);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("PR-INITIAL process entries become opened rows after the set's opening records", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = join(dir, "PR-INITIAL-26-11-26-10-0-0.log");
    Deno.writeTextFileSync(
      path,
      "Port Reporter Version 1.01 Log File\n\nService initialization log\n\nActive endpoints: 3\n\n" +
        "  Proto  Local Address  Foreign Address  State  PID  Process  User\n  TCP    0.0.0.0:22  0.0.0.0:0  LISTENING  7  sshd  root\n\n" +
        "Processes: 1\n\nPID: 1044\nProcess: svchost.exe\nPath: C:\\\\Users\\\\x\\x2cy\\\\svchost.exe\nUser context: <NT AUTHORITY\\\\SYSTEM>\n" +
        "Services: Dnscache, NlaSvc\nPorts:\n  TCP 0.0.0.0:135 0.0.0.0:0 LISTEN\n  UDP [::1]:5353 *:*\n  TCP [2001:db8::1]:50000 [2001:db8::2]:443 ESTABLISHED\n" +
        "Modules: 1\n  0x400000 4096 C:\\\\Windows\\\\System32\\\\svchost.exe\n",
    );
    const initial = readInitial(path, stats());
    assert.deepEqual(
      initial.map((e) => [e.protocol, e.localAddress, e.localPort, e.remoteAddress, e.remotePort, e.state]),
      [
        ["tcp", "0.0.0.0", 135, "0.0.0.0", 0, "LISTEN"],
        ["udp", "::1", 5353, "::", 0, null],
        ["tcp", "2001:db8::1", 50000, "2001:db8::2", 443, "ESTABLISHED"],
      ],
    );
    assert.deepEqual([
      initial[0].pid,
      initial[0].processName,
      initial[0].processPath,
      initial[0].user,
      initial[0].services,
    ], [
      1044,
      "svchost.exe",
      "C:\\Users\\x,y\\svchost.exe",
      "NT AUTHORITY\\SYSTEM",
      ["Dnscache", "NlaSvc"],
    ]);
    const markers: ReportRow[] = [
      { type: "marker", event: "set-start", time: 100 },
      { type: "marker", event: "monitor-start", time: 101 },
      { type: "marker", event: "heartbeat", time: 160 },
    ];
    const out = [...withInitial(markers, initial, 0)];
    assert.deepEqual(out.map((r) => `${r.event}@${r.time}`), [
      "set-start@100",
      "monitor-start@101",
      "opened@101",
      "opened@101",
      "opened@101",
      "heartbeat@160",
    ]);
    assert.deepEqual([...withInitial([], initial.slice(0, 1), 5)].map((r) => `${r.event}@${r.time}`), [
      "opened@5",
    ]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
