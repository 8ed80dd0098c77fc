/**
 * Process details for odd pids (lab only): unknown, 0, 4, and a process that exits between the
 * table read and the detail read.
 */
import assert from "node:assert/strict";
import { ProcessDetails, readModules, walkProcesses } from "../../src/platform/windows/process.ts";
import { TableReader } from "../../src/platform/windows/tables.ts";
import { ignore, startHelper } from "./lab_util.ts";

Deno.test(
  { name: "process: pid 0, pid 4 and an unknown pid give partial records, never a throw", ignore },
  () => {
    const d = new ProcessDetails();
    try {
      const unknown = 0x7ffffff8;
      const { processes, warnings } = d.read([0, 4, unknown]);
      assert.deepEqual(processes.get(0), {
        pid: 0,
        name: "System Idle Process",
        partial: "pid 0: the idle process owns no image",
      });
      const sys = processes.get(4)!;
      assert.equal(sys.name, "System");
      assert.ok(sys.partial, "pid 4 is partial");
      const u = processes.get(unknown)!;
      assert.equal(u.name, "unknown");
      assert.match(u.partial ?? "", /exited|no such process/);
      assert.equal(warnings["process-idle"], 1);
      assert.equal(warnings["process-system"], 1);
      assert.equal(warnings["process-vanished"], 1);
    } finally {
      d.close();
    }
  },
);

Deno.test({ name: "process: a process that exits between table read and detail read", ignore }, async () => {
  const helper = await startHelper();
  const tables = new TableReader();
  const d = new ProcessDetails();
  try {
    const sockets = await tables.readAll();
    const pid = helper.sockets.pid;
    assert.ok(sockets.some((s) => s.pid === pid), "helper sockets seen");
    await helper.kill();
    const { processes, warnings } = d.read(new Set(sockets.map((s) => s.pid).filter((p) => p !== 0)));
    const p = processes.get(pid)!;
    assert.ok(p, "a record for the vanished pid");
    assert.ok(p.partial, "partial");
    assert.equal(p.pid, pid);
    assert.ok((warnings["process-vanished"] ?? 0) >= 1, JSON.stringify(warnings));
    assert.equal(d.cacheSize, [...processes.values()].filter((x) => !x.partial).length);
  } finally {
    d.close();
    await helper.kill();
  }
});

Deno.test({ name: "process: toolhelp walk and module list of this process", ignore }, () => {
  const walk = walkProcesses();
  const me = walk.get(Deno.pid);
  assert.ok(me, "own pid in the walk");
  assert.equal(me.exeName.toLowerCase(), "deno.exe");
  const mods = readModules(Deno.pid);
  assert.ok(Array.isArray(mods));
  assert.ok(mods.some((m) => m.name.toLowerCase() === "ntdll.dll"));
  assert.deepEqual(readModules(0x7ffffff8), { error: 87 }); // wine and Windows: ERROR_INVALID_PARAMETER
});

Deno.test(
  { name: "process: cache is keyed by pid and start time, and forgets exited processes", ignore },
  async () => {
    const helper = await startHelper();
    const d = new ProcessDetails();
    try {
      const pid = helper.sockets.pid;
      const first = d.read([pid]).processes.get(pid)!;
      assert.equal(first.partial, undefined);
      assert.equal(d.read([pid]).processes.get(pid), first);
      await helper.kill();
      d.read([Deno.pid]);
      assert.equal(d.cacheSize, 1, "the exited helper was evicted");
    } finally {
      d.close();
      await helper.kill();
    }
  },
);
