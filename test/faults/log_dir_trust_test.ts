/**
 * A log directory that cannot be trusted, for real: 0777, owned by another user, a symbolic link, a
 * group-writable parent. Each start is refused with one line, exit 2, and nothing written.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers.ts";

async function refused(dir: string, pattern: RegExp) {
  const r = await runCli(["run", "--log-dir", dir]);
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^portreporter: log directory .* is not safe for evidence: /);
  assert.match(lines[0], pattern);
}

Deno.test("an untrusted log directory is refused: one line with the fix, exit 2, nothing written", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "pr-trust-" });
  try {
    const open = join(tmp, "open");
    Deno.mkdirSync(open);
    Deno.chmodSync(open, 0o777);
    await refused(open, /writable by others \(mode 0777\); run 'chmod go-w /);
    const theirs = join(tmp, "theirs");
    Deno.mkdirSync(theirs, { mode: 0o700 });
    Deno.chownSync(theirs, 4242, 4242);
    await refused(theirs, /owned by uid 4242, not by root or the monitor's user/);
    const real = join(tmp, "real");
    Deno.mkdirSync(real, { mode: 0o700 });
    Deno.symlinkSync(real, join(tmp, "link"));
    await refused(join(tmp, "link"), /is a symbolic link/);
    const shared = join(tmp, "shared");
    Deno.mkdirSync(shared);
    Deno.chmodSync(shared, 0o775);
    await refused(join(shared, "logs"), /shared is writable by its group \(mode 0775\)/);
    for (const d of [open, theirs, real]) {
      assert.deepEqual([...Deno.readDirSync(d)], [], `nothing written in ${d}`);
    }
    assert.deepEqual([...Deno.readDirSync(shared)], [], "the log dir was not created");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
