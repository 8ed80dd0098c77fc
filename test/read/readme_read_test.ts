/**
 * The README's "Reading the logs" commands, run as written (reading commands against a fixture
 * directory through --log-dir; `snapshot` against this machine; `follow` until SIGINT).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, runCli, runtimeFlags } from "../helpers.ts";
import { fixture } from "./logs.ts";

/** The `sh` block and the inline `follow` command of the section. */
function readmeCommands(): string[][] {
  const readme = Deno.readTextFileSync(join(ROOT, "README.md"));
  const section = readme.slice(readme.indexOf("## Reading the logs"));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1];
  const lines = block.split("\n").filter((l) => l.trim()).map((l) => l.replace(/\s+# .*$/, ""));
  lines.push(/`(portreporter follow [^`]*)`/.exec(section)![1]);
  return lines.map((l) => [...l.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]));
}

Deno.test("README 'Reading the logs': every command runs as written", async () => {
  const dir = await fixture();
  try {
    const commands = readmeCommands();
    assert.equal(commands.length, 6);
    for (const [program, command, ...args] of commands) {
      assert.equal(program, "portreporter");
      if (command === "follow") {
        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", ...runtimeFlags(), join(ROOT, "main.ts"), command, ...args, "--log-dir", dir],
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        await new Promise((r) => setTimeout(r, 1500));
        child.kill("SIGINT");
        const out = await child.output();
        assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
        continue;
      }
      const where = command === "snapshot" ? [] : ["--log-dir", dir];
      const r = await runCli([command, ...args, ...where], { env: { TZ: "UTC" } });
      assert.equal(r.code, 0, `${command} ${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr, "");
      if (command === "connections" && args.includes("8000")) {
        assert.match(r.stdout, /10:01:00 +2026-11-26 10:01:05 +5\.0s +TCP .*python3/, r.stdout);
        assert.match(r.stdout, /10:01:30 +2026-11-26 10:06:30 +5m00s/, r.stdout);
      }
      if (command === "sets") assert.match(r.stdout, /26-11-26-10-59-0 /);
      if (command === "snapshot") assert.match(r.stdout, /Proto +Local Address/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
