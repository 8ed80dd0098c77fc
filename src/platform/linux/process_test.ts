import assert from "node:assert/strict";
import type { ProcessInfo } from "../../model/types.ts";
import {
  isSharedObjectName,
  parseBootTime,
  parseCmdline,
  parsePasswd,
  parseProcMaps,
  parseProcStat,
  parseProcStatus,
  ProcessInfoReader,
  startTimeMs,
} from "./process.ts";
import { WARNING_PROCESS_VANISHED, type WarningCounts } from "./warnings.ts";
import { fixtureBytes, fixtureText } from "./fixtures_test_util.ts";

const SLEEP_MODULES = [
  { name: "sleep", path: "/usr/bin/sleep", baseAddress: "0x558fdb7de000", size: 0xb000 },
  {
    name: "libc.so.6",
    path: "/usr/lib/x86_64-linux-gnu/libc.so.6",
    baseAddress: "0x7f41718f5000",
    size: 0x1d5000,
  },
  {
    name: "ld-linux-x86-64.so.2",
    path: "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
    baseAddress: "0x7f4171aea000",
    size: 0x35000,
  },
];

Deno.test("parsers: captured /proc/<pid> files of a sleep process", () => {
  assert.deepEqual(parseProcStat(fixtureText("process_sleep_stat")), {
    shortName: "sleep",
    parentPid: 21416,
    startTicks: 61377,
  });
  assert.deepEqual(parseProcStatus(fixtureText("process_sleep_status")), {
    name: "sleep",
    parentPid: 21416,
    uid: 0,
  });
  assert.equal(parseCmdline(fixtureBytes("process_sleep_cmdline")), "/usr/bin/sleep 30");
  assert.deepEqual(parseProcMaps(fixtureText("process_sleep_maps"), "/usr/bin/sleep"), SLEEP_MODULES);
});

Deno.test("parseProcStat: names with spaces and parentheses; malformed text", () => {
  const stat = "77 (a) b (c)) R 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 4242 0 0";
  assert.deepEqual(parseProcStat(stat), { shortName: "a) b (c)", parentPid: 1, startTicks: 4242 });
  assert.equal(parseProcStat("garbage"), undefined);
  assert.equal(parseProcStat("1 (x) S 0"), undefined);
});

Deno.test("parseProcMaps: exe first, deleted files, far remaps, non-library files", () => {
  const maps = [
    "7f0000000000-7f0000001000 r--p 00000000 08:01 2 /lib/libz.so.1.2.13",
    "7f0000001000-7f0000003000 r-xp 00001000 08:01 2 /lib/libz.so.1.2.13",
    "55aa00000000-55aa00010000 r--p 00000000 08:01 1 /opt/app/server (deleted)",
    "55aa00200000-55aa00300000 r-xp 00200000 08:01 1 /opt/app/server (deleted)",
    "7f1000000000-7f1000100000 r-xp 00100000 08:01 1 /opt/app/server (deleted)",
    "7f2000000000-7f2000001000 r--s 00000000 08:01 3 /var/cache/data.bin",
    "7f3000000000-7f3000001000 rw-p 00000000 00:00 0 [heap]",
    "7f4000000000-7f4000001000 r--p 00000000 08:01 4 /usr/lib/plugin.so",
  ].join("\n");
  assert.deepEqual(parseProcMaps(maps, "/opt/app/server"), [
    { name: "server", path: "/opt/app/server", baseAddress: "0x55aa00000000", size: 0x300000 },
    { name: "libz.so.1.2.13", path: "/lib/libz.so.1.2.13", baseAddress: "0x7f0000000000", size: 0x3000 },
    { name: "plugin.so", path: "/usr/lib/plugin.so", baseAddress: "0x7f4000000000", size: 0x1000 },
  ]);
  assert.ok(isSharedObjectName("libc.so.6") && isSharedObjectName("x.so") && !isSharedObjectName("so.txt"));
});

Deno.test("parsers: passwd, btime, start time at 100 ticks per second", () => {
  const users = parsePasswd(
    "root:x:0:0:root:/root:/bin/bash\n# comment\nalias:x:0:0::/:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n",
  );
  assert.deepEqual([...users], [[0, "root"], [1000, "bob"]]);
  assert.equal(parseBootTime("cpu  1 2 3\nbtime 1700000000\nprocesses 9\n"), 1700000000);
  assert.equal(parseBootTime("cpu 1\n"), undefined);
  assert.equal(startTimeMs(1700000000, 61377), 1700000613770);
});

/** A fake proc root holding the captured sleep process (pid 21422) and its parent (pid 21416). */
function fakeProcRoot(): { root: string; passwd: string } {
  const root = Deno.makeTempDirSync({ prefix: "portreporter-proc-" });
  Deno.writeTextFileSync(`${root}/stat`, "cpu  1 2 3 4\nbtime 1700000000\n");
  Deno.mkdirSync(`${root}/21422`);
  for (const file of ["stat", "status", "cmdline", "maps"]) {
    Deno.writeFileSync(`${root}/21422/${file}`, fixtureBytes(`process_sleep_${file}`));
  }
  Deno.symlinkSync("/usr/bin/sleep", `${root}/21422/exe`);
  Deno.mkdirSync(`${root}/21416`);
  Deno.writeTextFileSync(`${root}/21416/comm`, "bash\n");
  const passwd = `${root}/passwd`;
  Deno.writeTextFileSync(passwd, "root:x:0:0:root:/root:/bin/bash\n");
  return { root, passwd };
}

/** Replaces `<root>/<pid>` by a new directory with copies of its files (a new inode). */
function remakePidDirectory(root: string, pid: number): void {
  const aside = `${root}/${pid}.${crypto.randomUUID()}`;
  Deno.renameSync(`${root}/${pid}`, aside);
  Deno.mkdirSync(`${root}/${pid}`);
  for (const entry of Deno.readDirSync(aside)) {
    if (entry.isSymlink) {
      Deno.symlinkSync(Deno.readLinkSync(`${aside}/${entry.name}`), `${root}/${pid}/${entry.name}`);
    } else Deno.copyFileSync(`${aside}/${entry.name}`, `${root}/${pid}/${entry.name}`);
  }
}

const SLEEP_INFO: ProcessInfo = {
  pid: 21422,
  name: "sleep",
  path: "/usr/bin/sleep",
  commandLine: "/usr/bin/sleep 30",
  parentPid: 21416,
  user: "root",
  startTime: 1700000613770,
  parentName: "bash",
  modules: SLEEP_MODULES,
  services: [],
};

Deno.test("ProcessInfoReader: full details once per (pid, start time); a reused pid is re-read", () => {
  const { root, passwd } = fakeProcRoot();
  try {
    const reader = new ProcessInfoReader({ procRoot: root, passwdPath: passwd });
    const warnings: WarningCounts = {};
    const first = reader.read(21422, warnings);
    assert.deepEqual(first, SLEEP_INFO);
    reader.endPoll();
    assert.equal(reader.read(21422, warnings), first); // same object: nothing re-read
    assert.equal(reader.stats.detailReads, 1);
    reader.endPoll();

    // The pid is reused by another process: a new /proc/<pid> directory (the old one is kept aside so
    // that its inode number cannot be handed out again), other start time, other command line.
    assert.equal(reader.stats.statReads, 1); // the directory was unchanged: no stat file read
    remakePidDirectory(root, 21422);
    Deno.writeTextFileSync(
      `${root}/21422/stat`,
      fixtureText("process_sleep_stat").replace(" 61377 ", " 99900 "),
    );
    Deno.writeTextFileSync(`${root}/21422/cmdline`, "sleep\x00600\x00");
    const second = reader.read(21422, warnings);
    assert.equal(reader.stats.detailReads, 2);
    assert.equal(second.commandLine, "sleep 600");
    assert.equal(second.startTime, 1700000999000);
    assert.deepEqual(warnings, {});

    // The same process with a remade /proc directory (the kernel evicted its inode): the start time
    // is read again and matches, so the details are not.
    reader.endPoll();
    remakePidDirectory(root, 21422);
    assert.equal(reader.read(21422, warnings), second);
    assert.deepEqual(reader.stats, { detailReads: 2, statReads: 3 });

    // Not asked for during one poll: forgotten, read again later.
    reader.endPoll();
    reader.endPoll();
    reader.read(21422, warnings);
    assert.equal(reader.stats.detailReads, 3);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("ProcessInfoReader: a process whose files vanish gives partial info and a counted warning", () => {
  const { root, passwd } = fakeProcRoot();
  try {
    const reader = new ProcessInfoReader({ procRoot: root, passwdPath: passwd });
    Deno.removeSync(`${root}/21422/maps`);
    Deno.removeSync(`${root}/21422/status`);
    const warnings: WarningCounts = {};
    const info = reader.read(21422, warnings);
    assert.equal(info.name, "sleep");
    assert.equal(info.partial, `vanished: ${root}/21422/status; vanished: ${root}/21422/maps`);
    assert.equal(info.modules, undefined);
    assert.deepEqual(warnings, { [WARNING_PROCESS_VANISHED]: 1 });
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("ProcessInfoReader: a real process killed before its details are read", async () => {
  const child = new Deno.Command("sleep", { args: ["60"], stdout: "null", stderr: "null" }).spawn();
  const pid = child.pid;
  const reader = new ProcessInfoReader();
  const warnings: WarningCounts = {};
  const alive = reader.read(pid, warnings);
  assert.equal(alive.name, "sleep");
  assert.equal(alive.partial, undefined);
  reader.endPoll();
  assert.equal(reader.read(pid, warnings), alive); // known and unchanged: one stat, no file read
  assert.deepEqual(reader.stats, { detailReads: 1, statReads: 1 });
  reader.endPoll();
  child.kill("SIGKILL");
  await child.status; // reaped: /proc/<pid> is gone
  const gone = reader.read(pid, warnings);
  assert.deepEqual(gone, { pid, name: "unknown", partial: `vanished: /proc/${pid}/stat` });
  assert.deepEqual(warnings, { [WARNING_PROCESS_VANISHED]: 1 });
});
