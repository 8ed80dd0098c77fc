/**
 * Process details (lab only): odd pids (unknown, 0, 4), a process that exits between the table read
 * and the detail read, and the walk-free steady state of ProcessDetails.read (cached pids checked by
 * start time; the toolhelp walk only for a new, reused or exited pid, or every walkMaxAgeMs), observed
 * through `ProcessDetails.stats.walks` with real child deno.exe processes.
 */
import assert from "node:assert/strict";
import type { ProcessInfo } from "../../src/model/types.ts";
import { kernel32 } from "../../src/platform/windows/ffi/kernel32.ts";
import { PROCESS_QUERY_LIMITED_INFORMATION } from "../../src/platform/windows/layouts.ts";
import { ProcessDetails, readModules, walkProcesses } from "../../src/platform/windows/process.ts";
import { TableReader } from "../../src/platform/windows/tables.ts";
import { firstLine, ignore, startHelper } from "./lab_util.ts";

Deno.test(
  { name: "process: pid 0, pid 4 and an unknown pid give partial records, never a throw", ignore },
  async () => {
    const d = new ProcessDetails();
    try {
      const unknown = 0x7ffffff8;
      const { processes, warnings } = await d.read([0, 4, unknown]);
      assert.deepEqual(processes.get(0), {
        pid: 0,
        name: "System Idle Process",
        partial: "pid 0: the idle process owns no image",
      });
      // pid 4 is complete (wine has no System process: this is the record built without one)
      const sys = processes.get(4)!;
      assert.equal(sys.name, "System");
      assert.equal(sys.partial, undefined, "pid 4 is complete");
      assert.match(sys.user ?? "", /^[^\\]+\\SYSTEM$/i, "the host's name of S-1-5-18");
      assert.deepEqual(sys.modules, []);
      const u = processes.get(unknown)!;
      assert.equal(u.name, "unknown");
      assert.match(u.partial ?? "", /exited|no such process/);
      assert.equal(warnings["process-idle"], 1);
      assert.equal(warnings["process-system"], undefined, "pid 4 is no cause for a warning");
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
    const { processes, warnings } = await d.read(new Set(sockets.map((s) => s.pid).filter((p) => p !== 0)));
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
      const first = (await d.read([pid])).processes.get(pid)!;
      assert.equal(first.partial, undefined);
      assert.equal((await d.read([pid])).processes.get(pid), first);
      await helper.kill();
      await d.read([Deno.pid]);
      assert.equal(d.cacheSize, 1, "the exited helper was evicted");
    } finally {
      d.close();
      await helper.kill();
    }
  },
);

// ---- the steady state skips the process walk (ProcessDetails.read: cached pids are checked with
// OpenProcess + GetProcessTimes; the toolhelp walk runs only for a miss, or every walkMaxAgeMs) ----

/** A child deno.exe that idles until its stdin closes (a real process with a real image and modules). */
interface Idle {
  pid: number;
  /** Kills it and waits for it to be gone. */
  kill(): Promise<void>;
}

async function spawnIdle(): Promise<Idle> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "console.log('ready'); for await (const _ of Deno.stdin.readable);"],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  // wait until it runs JS: its modules are all mapped by then
  await firstLine(child, "idle child");
  let gone: Promise<void> | undefined;
  return {
    pid: child.pid,
    kill: () =>
      gone ??= (async () => {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
        await child.stdin.close().catch(() => {});
        await child.stdout.cancel().catch(() => {});
        await child.status;
      })(),
  };
}

/** Asserts a complete record of a child deno.exe of this process. */
function assertFullChild(p: ProcessInfo | undefined, pid: number): void {
  assert.ok(p, `a record for ${pid}`);
  assert.equal(p.pid, pid);
  assert.equal(p.partial, undefined, `complete: ${p.partial}`);
  assert.match(p.path ?? "", /\\deno\.exe$/i);
  assert.equal(p.name.toLowerCase(), "deno.exe");
  assert.equal(p.parentPid, Deno.pid);
  assert.equal(typeof p.startTime, "number");
  assert.ok(p.user, "user");
  assert.ok(p.modules?.some((m) => m.name.toLowerCase() === "ntdll.dll"), "ntdll.dll among the modules");
}

Deno.test(
  { name: "process: steady state, a second read of the same live pids takes no walk", ignore },
  async () => {
    const kids = [await spawnIdle(), await spawnIdle()];
    const d = new ProcessDetails();
    try {
      const pids = kids.map((k) => k.pid);
      assert.equal(d.stats.walks, 0);
      const first = await d.read(pids);
      assert.equal(d.stats.walks, 1, "the first read walks (nothing cached)");
      for (const pid of pids) assertFullChild(first.processes.get(pid), pid);
      assert.deepEqual(first.warnings, {});
      for (let i = 0; i < 3; i++) {
        const again = await d.read(pids);
        assert.equal(d.stats.walks, 1, `read ${i + 2}: no walk in the steady state`);
        assert.deepEqual(again.warnings, {});
        for (const pid of pids) {
          assert.equal(
            again.processes.get(pid),
            first.processes.get(pid),
            "the cached record",
          );
        }
      }
    } finally {
      d.close();
      for (const k of kids) await k.kill();
    }
  },
);

Deno.test(
  { name: "process: a cached child that exits between reads is not reported live; the read walks", ignore },
  async () => {
    const [gone, zombie, stays] = [await spawnIdle(), await spawnIdle(), await spawnIdle()];
    const K = kernel32();
    let held: Deno.PointerValue = null;
    const d = new ProcessDetails();
    try {
      const pids = [gone.pid, zombie.pid, stays.pid];
      const first = await d.read(pids);
      for (const pid of pids) assertFullChild(first.processes.get(pid), pid);
      assert.equal(d.stats.walks, 1);
      assert.equal(d.cacheSize, 3);
      // a handle of our own keeps the exited process object (exit time set) openable: GetProcessTimes
      // still answers with the cached start time, and only the exit time / the walk tell it is gone
      held = K.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, zombie.pid);
      assert.ok(held, "OpenProcess of the second child");
      await gone.kill();
      await zombie.kill();

      const next = await d.read(pids);
      assert.equal(d.stats.walks, 2, "an exited cached pid is a miss: the read walks");
      for (const k of [gone, zombie]) {
        const p = next.processes.get(k.pid)!;
        assert.ok(p, `a record for exited ${k.pid}`);
        assert.notEqual(p, first.processes.get(k.pid), `exited ${k.pid}: not the stale cached record`);
        assert.match(p.partial ?? "", /exited|not in the process walk/, `exited ${k.pid}: partial`);
        assert.equal(p.modules, undefined, `exited ${k.pid}: no modules`);
      }
      assert.ok((next.warnings["process-vanished"] ?? 0) >= 2, JSON.stringify(next.warnings));
      assert.equal(
        next.processes.get(stays.pid),
        first.processes.get(stays.pid),
        "the live child: cached record",
      );
      assert.equal(d.cacheSize, 1, "the exited children were evicted");

      // the exited pids are gone from later reads of the live one, without another walk
      assert.equal((await d.read([stays.pid])).processes.get(stays.pid), first.processes.get(stays.pid));
      assert.equal(d.stats.walks, 2);
    } finally {
      if (held) K.CloseHandle(held);
      d.close();
      for (const k of [gone, zombie, stays]) await k.kill();
    }
  },
);

Deno.test({ name: "process: a new pid takes a walk and gets full details", ignore }, async () => {
  const kids = [await spawnIdle()];
  const d = new ProcessDetails();
  try {
    const a = kids[0].pid;
    const first = (await d.read([a])).processes.get(a);
    assertFullChild(first, a);
    assert.equal(d.stats.walks, 1);
    kids.push(await spawnIdle());
    const b = kids[1].pid;
    const r = await d.read([a, b]);
    assert.equal(d.stats.walks, 2, "the new pid is a miss: the read walks");
    assertFullChild(r.processes.get(b), b);
    assert.equal(r.processes.get(a), first, "the cached pid keeps its record");
    assert.deepEqual(r.warnings, {});
    assert.equal(d.cacheSize, 2);
    // and then it is cached: no walk
    assert.equal((await d.read([a, b])).processes.get(b), r.processes.get(b));
    assert.equal(d.stats.walks, 2);
  } finally {
    d.close();
    for (const k of kids) await k.kill();
  }
});

Deno.test(
  { name: "process: walkMaxAgeMs bounds the time between walks (0: every read)", ignore },
  async () => {
    const kid = await spawnIdle();
    const every = new ProcessDetails({ walkMaxAgeMs: 0 });
    let clock = 1_000_000;
    const aged = new ProcessDetails({ walkMaxAgeMs: 5_000, now: () => clock });
    try {
      const first = (await every.read([kid.pid])).processes.get(kid.pid);
      assertFullChild(first, kid.pid);
      for (let i = 2; i <= 4; i++) {
        const r = await every.read([kid.pid]);
        assert.equal(every.stats.walks, i, `walkMaxAgeMs 0: read ${i} walks`);
        assert.equal(r.processes.get(kid.pid), first, "same process, same start time: the cached record");
        assert.deepEqual(r.warnings, {});
      }

      await aged.read([kid.pid]);
      assert.equal(aged.stats.walks, 1);
      clock += 4_999;
      await aged.read([kid.pid]);
      assert.equal(aged.stats.walks, 1, "younger than walkMaxAgeMs: no walk");
      clock += 1;
      await aged.read([kid.pid]);
      assert.equal(aged.stats.walks, 2, "walkMaxAgeMs reached: a walk");
      await aged.read([kid.pid]);
      assert.equal(aged.stats.walks, 2, "and the age restarts from that walk");
    } finally {
      every.close();
      aged.close();
      await kid.kill();
    }
  },
);

Deno.test(
  { name: "process: a long first read yields to the event loop and reports progress", ignore },
  async () => {
    const a = await startHelper();
    const b = await startHelper();
    const d = new ProcessDetails({ yieldEveryMs: 0 }); // yield after every process read afresh
    try {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 0);
      const progress: string[] = [];
      const r = await d.read(
        [a.sockets.pid, b.sockets.pid],
        (done, total) => progress.push(`${done}/${total}`),
      );
      clearInterval(timer);
      assert.deepEqual(progress, ["1/2", "2/2"]);
      assert.equal(d.stats.yields, 2);
      assert.ok(ticks > 0, "timers ran during the read");
      assert.ok(r.processes.get(a.sockets.pid)?.modules?.length);
      // a second read of the same pids reads nothing afresh: no progress, no yield
      const again: string[] = [];
      await d.read([a.sockets.pid, b.sockets.pid], (done, total) => again.push(`${done}/${total}`));
      assert.deepEqual(again, []);
      assert.equal(d.stats.yields, 2);
    } finally {
      d.close();
      await a.stop();
      await b.stop();
    }
  },
);
