/** Retention on a real directory: old sets and an oversized total, with files of other tools beside them. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { eventsOf, logFiles, startMonitor, waitForStart } from "./fault_helpers.ts";
import { formatStamp } from "../../src/log/file_names.ts";
import { LocalTime } from "../../src/log/local_time.ts";
import { resolveSettings } from "../../src/cli/settings.ts";

Deno.test("retention: whole sets older than --max-age and the oldest over --max-total-size go; others' files stay", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "pr-retention-" });
  const local = new LocalTime();
  const day = 86_400_000;
  const stamp = (daysAgo: number) => formatStamp(local.parts(Date.now() - daysAgo * day));
  const [old, mid, recent] = [stamp(40), stamp(20), stamp(10)];
  const put = (name: string, bytes: number) => Deno.writeFileSync(join(tmp, name), new Uint8Array(bytes));
  for (const s of [old, mid, recent]) {
    put(`PR-PORTS-${s}.log`, 600_000);
    put(`PR-PIDS-${s}.log`, 200_000);
    put(`PR-EVENTS-${s}.jsonl`, 200_000);
  }
  put(`PR-PORTS-${old}.log.bak`, 10); // renamed by hand: does not parse
  put("notes.txt", 10);
  // the new set (its PR-INITIAL holds this machine's endpoints) is well under 0.5 MB: only the middle set must go
  const m = startMonitor(tmp, ["--max-age", "30d", "--max-total-size", "1.5MB"]);
  try {
    await waitForStart(m);
    const files = logFiles(tmp);
    const { code, stderr } = await m.stop();
    assert.equal(code, 0, stderr);

    const names = new Set(Deno.readDirSync(tmp).map((e) => e.name));
    for (const s of [old, mid]) {
      assert.ok(
        ![...names].some((n) => n.endsWith(`-${s}.log`) || n.endsWith(`-${s}.jsonl`)),
        `set ${s} removed`,
      );
    }
    assert.ok(names.has(`PR-PORTS-${recent}.log`), "the newest old set fits the total and stays");
    assert.ok(names.has(`PR-PORTS-${old}.log.bak`) && names.has("notes.txt"), "files that do not parse stay");
    const own = new Map([...files].filter(([name]) => !name.includes(`-${recent}.`)));
    const removed = eventsOf(own).filter((e) => e.event === "retention").map((
      e,
    ) => [e.stamp, e.reason, e.bytes]);
    assert.deepEqual(removed, [[old, "max-age", 1_000_000], [mid, "max-total-size", 1_000_000]]);
  } finally {
    await m.stop();
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("settings: defaults 90 days and 1 GiB; flags win over the config's maxAge/maxTotalSize", async () => {
  const dirs = { logDir: "/l", pluginDir: "/p" };
  const d = await resolveSettings({}, dirs);
  assert.deepEqual([d.maxAgeMs, d.maxTotalBytes], [90 * 86_400_000, 1024 ** 3]);
  const tmp = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${tmp}/c.jsonc`, `{ "maxAge": "30d", "maxTotalSize": "2GiB" }`);
    const c = await resolveSettings({ config: `${tmp}/c.jsonc` }, dirs);
    assert.deepEqual([c.maxAgeMs, c.maxTotalBytes], [30 * 86_400_000, 2 * 1024 ** 3]);
    const f = await resolveSettings({ config: `${tmp}/c.jsonc`, maxAge: "0", maxTotalSize: "0" }, dirs);
    assert.deepEqual([f.maxAgeMs, f.maxTotalBytes], [0, 0]);
    const mb = await resolveSettings({ maxTotalSize: "500MB" }, dirs);
    assert.equal(mb.maxTotalBytes, 500_000_000, "the units of --max-size");
    await assert.rejects(
      () => resolveSettings({ maxTotalSize: "lots" }, dirs),
      /--max-total-size: 'lots' is not a size/,
    );
    await assert.rejects(() => resolveSettings({ maxAge: "soon" }, dirs), /--max-age: 'soon' is not an age/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
