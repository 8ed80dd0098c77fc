import assert from "node:assert/strict";
import { join } from "node:path";
import { UsageError } from "../../src/errors.ts";
import type { Alert } from "../../src/model/types.ts";
import { change } from "../../src/plugin/testdata/changes.ts";
import { testContext } from "../../src/plugin/testdata/harness.ts";
import exec, { runOnce } from "./mod.ts";

function alert(n: number): Alert {
  return {
    time: 1_700_000_000_000 + n,
    pluginId: "test",
    severity: "critical",
    message: `alert ${n}`,
    change: change(),
  };
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("exec: each alert goes to the command as one JSON line on stdin, in order", async () => {
  const dir = await Deno.makeTempDir();
  const out = join(dir, "alerts.jsonl");
  const options = {
    command: ["sh", "-c", 'printf "%s " "$PR_ALERT_SEVERITY" >> "$1"; cat >> "$1"', "sh", out],
  };
  const t = testContext("exec", options);
  const p = exec(options);
  try {
    await p.init!(options, t.ctx);
    await p.onAlerts!([alert(1), alert(2)]);
    await p.onAlerts!([alert(3)]);
    // a line is whole once its newline is there (the command writes the severity, then the JSON line)
    const lines = async () => {
      const text = await Deno.readTextFile(out).catch(() => "");
      return text.slice(0, text.lastIndexOf("\n") + 1).split("\n").filter(Boolean);
    };
    await until("three whole lines", async () => (await lines()).length === 3);
    const got = (await lines()).map((l) => {
      const [severity, ...json] = l.split(" ");
      return [severity, (JSON.parse(json.join(" ")) as Alert).message];
    });
    assert.deepEqual(got, [["critical", "alert 1"], ["critical", "alert 2"], ["critical", "alert 3"]]);
    await p.close!();
    assert.deepEqual(t.lines, []);
  } finally {
    await p.close!();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("exec: a command that outlives its timeout is killed", async () => {
  const start = Date.now();
  const outcome = await runOnce({ command: ["sleep", "10"], env: {}, timeoutMs: 300 }, "{}\n");
  assert.deepEqual(outcome, { kind: "timeout" });
  assert.ok(Date.now() - start < 5000, "killed well before it would have ended");

  const options = { command: ["sleep", "10"], timeoutMs: 300 };
  const t = testContext("exec", options);
  const p = exec(options);
  await p.init!(options, t.ctx);
  await p.onAlerts!([alert(1)]);
  await until("the kill to be logged", () => t.lines.length > 0);
  assert.match(t.lines[0], /^sleep: killed after 300 ms/);
  await p.close!();
});

Deno.test("exec: failures are reported once, with the exit code and stderr", async () => {
  assert.deepEqual(
    await runOnce({ command: ["sh", "-c", "echo oops >&2; exit 3"], env: {}, timeoutMs: 5000 }, ""),
    {
      kind: "exit",
      code: 3,
      stderr: "oops",
    },
  );
  const missing = await runOnce({ command: ["/nonexistent/notify"], env: {}, timeoutMs: 5000 }, "");
  assert.equal(missing.kind, "spawn");

  const options = { command: ["sh", "-c", "exit 1"] };
  const t = testContext("exec", options);
  const p = exec(options);
  await p.init!(options, t.ctx);
  await p.onAlerts!([alert(1), alert(2), alert(3)]);
  await p.close!();
  assert.equal(t.lines.filter((l) => l.includes("exited with code 1")).length, 1, t.lines.join("\n"));
  assert.ok(t.lines.some((l) => l === "sh: 3 runs failed in total"), t.lines.join("\n"));
});

Deno.test("exec: close() is bounded and kills a running command", async () => {
  const options = { command: ["sleep", "10"], timeoutMs: 60_000, flushTimeoutMs: 200 };
  const t = testContext("exec", options);
  const p = exec(options);
  await p.init!(options, t.ctx);
  await p.onAlerts!([alert(1), alert(2)]);
  const start = Date.now();
  await p.close!();
  assert.ok(Date.now() - start < 5000);
  assert.ok(t.lines.some((l) => l.includes("1 alerts not handled at shutdown")), t.lines.join("\n"));
});

Deno.test("exec: option errors at start", async () => {
  for (
    const options of [{}, { command: [] }, { command: "notify-send" }, { command: ["x"], timeoutMs: 0 }, {
      command: ["x"],
      shell: true,
    }]
  ) {
    assert.throws(() => exec(options), UsageError, JSON.stringify(options));
  }
  const options = { command: ["x"], cwd: "/nonexistent/dir" };
  await assert.rejects(
    async () => await exec(options).init!(options, testContext("exec").ctx),
    /is not a directory/,
  );
});
