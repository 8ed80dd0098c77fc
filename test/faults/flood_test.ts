/**
 * Flooding and stamps, for real: a process with 15 arguments of 100 KB opening and closing UDP
 * sockets as fast as it can, against `--max-size 64KB`; names planted for the coming seconds.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { waitFor } from "../helpers.ts";
import { eventsOf, logFiles, namesOf, startMonitor, waitForStart } from "./fault_helpers.ts";
import { formatStamp, parseLogFileName } from "../../src/log/file_names.ts";
import { LocalTime } from "../../src/log/local_time.ts";

const FLOODER = `
const end = Date.now() + Number(Deno.args[0]);
while (Date.now() < end) {
  const s = Array.from({ length: 5 }, () => Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 }));
  await new Promise((r) => setTimeout(r, 150));
  for (const x of s) x.close();
}
`;

/** Milliseconds a set's stamp is ahead of its set-start record's time (local wall clock both). */
function stampLead(stamp: string, time: string, local: LocalTime): number {
  const s = parseLogFileName(`PR-PORTS-${stamp}.log`)!.stamp;
  const p = local.parts(Date.parse(time));
  return Date.UTC(s.year, s.month - 1, s.day, s.hour, s.minute, s.second) -
    Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
}

Deno.test("flood: no file passes --max-size, no line passes 16 KB, the command line once per set", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "pr-flood-" });
  const logs = join(tmp, "logs");
  Deno.writeTextFileSync(join(tmp, "flooder.ts"), FLOODER);
  const m = startMonitor(logs, ["--interval", "100", "--max-size", "64KiB", "--max-total-size", "0"]);
  const big = Array.from({ length: 15 }, (_, i) => String.fromCharCode(65 + i).repeat(100_000));
  try {
    await waitForStart(m);
    const flooder = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-net", join(tmp, "flooder.ts"), "3000", ...big],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const pid = flooder.pid;
    await flooder.status;
    await waitFor(
      "the flooder's last close",
      () =>
        eventsOf(logFiles(logs), "writing").filter((e) => e.pid === pid && e.event === "closed").length > 0
          ? true
          : undefined,
    ).catch((e) => {
      const ev = eventsOf(logFiles(logs), "writing");
      const kinds = [...new Set(ev.map((e) => `${e.event}:${e.pid}`))].slice(0, 30);
      throw new Error(`${e.message}; ${m.stderr()}; ${ev.length} records; ${kinds}; pid ${pid}`);
    });
    await new Promise((r) => setTimeout(r, 500));
    const { code, stderr } = await m.stop();
    assert.equal(code, 0, stderr);
    const files = logFiles(logs);
    let total = 0;
    for (const [name, bytes] of files) {
      if (!name.startsWith("PR-INITIAL")) total += bytes.length;
      // PR-INITIAL holds the whole first snapshot (whatever this machine runs): its values are capped, not its size
      if (!name.startsWith("PR-INITIAL")) {
        assert.ok(bytes.length <= 64 * 1024, `${name} is ${bytes.length} bytes`);
      }
      let start = 0;
      for (let i = bytes.indexOf(0x0a); i >= 0; start = i + 1, i = bytes.indexOf(0x0a, start)) {
        assert.ok(i - start <= 16 * 1024, `${name}: a line of ${i - start} bytes`);
      }
    }
    const events = eventsOf(files);
    const changes = events.filter((e) => e.pid === pid && (e.event === "opened" || e.event === "closed"));
    assert.ok(changes.length > 2, `${changes.length} changes of the flooder`);
    assert.ok(changes.every((e) => e.commandLine === undefined), "no change repeats the command line");
    const records = events.filter((e) => e.pid === pid && e.event === "process");
    const sets = namesOf(files, "EVENTS").length;
    assert.ok(
      records.length >= 1 && records.length <= sets,
      `${records.length} process records in ${sets} sets`,
    );
    assert.match(
      records[0].commandLine as string,
      /^\S+ run -A --unstable-net \S+ 3000 A{100,}…\[cut \d+ bytes\]$/,
    );
    // worst case: a few KB per change, far from the 1.5 MB command line per change of old
    const all = events.filter((e) =>
      e.event === "opened" || e.event === "closed" || e.event === "changed"
    ).length;
    assert.ok(total / all < 8 * 1024, `${Math.round(total / all)} bytes per change`);
    const local = new LocalTime();
    for (const e of events.filter((e) => e.event === "set-start")) {
      assert.ok(
        stampLead(e.stamp as string, e.time as string, local) <= 2000,
        `stamp ${e.stamp} at ${e.time}`,
      );
    }
  } finally {
    await m.stop();
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("names planted for the coming seconds, and restarts in a row: every start works, no stamp ahead", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "pr-stamps-" });
  const local = new LocalTime();
  const planted = new Set<string>();
  for (let s = 0; s < 20; s++) {
    const stamp = formatStamp(local.parts(Date.now() + s * 1000));
    planted.add(stamp);
    Deno.writeTextFileSync(join(tmp, `PR-PORTS-${stamp}.log`), "planted\n");
  }
  try {
    const stamps: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = startMonitor(tmp, ["--interval", "100"]);
      await waitForStart(m);
      const { code, stderr } = await m.stop();
      assert.equal(code, 0, stderr);
      const mine = namesOf(logFiles(tmp), "INITIAL").map((n) => parseLogFileName(n)!.stampText);
      stamps.push(mine.at(-1)!);
    }
    assert.equal(new Set(stamps).size, 3);
    for (const stamp of stamps) assert.ok(!planted.has(stamp) || stamp.includes("_"), stamp);
    for (const e of eventsOf(logFiles(tmp)).filter((e) => e.event === "set-start")) {
      assert.ok(
        stampLead(e.stamp as string, e.time as string, local) <= 2000,
        `stamp ${e.stamp} at ${e.time}`,
      );
    }
    for (const name of [...planted].map((s) => `PR-PORTS-${s}.log`)) {
      assert.equal(Deno.readTextFileSync(join(tmp, name)), "planted\n", "a planted file is never written to");
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
