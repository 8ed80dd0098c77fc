/**
 * The Linux daemon: `deno task install` puts a working `portreporter` command in place with the compile
 * task's permissions and V8 flags, and `deploy/portreporter.service` passes `systemd-analyze verify` and
 * scores "OK" or better in `systemd-analyze security --offline=yes` (systemd 252, Debian 12).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, runtimeFlags } from "./helpers.ts";

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

async function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, { args, env, cwd: ROOT, stdout: "piped", stderr: "piped" })
    .output();
  return { code: out.code, out: decode(out.stdout) + decode(out.stderr) };
}

/** Installs the command into a temporary root with the real task; returns the command's path. */
async function installed(): Promise<{ root: string; bin: string }> {
  const root = await Deno.makeTempDir({ prefix: "portreporter-install-" });
  const task = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).tasks.install.command as string;
  const [, ...args] = task.split(/\s+/);
  const r = await run(Deno.execPath(), args, { DENO_INSTALL_ROOT: root });
  assert.equal(r.code, 0, r.out);
  return { root, bin: join(root, "bin", "portreporter") };
}

Deno.test("deno task install: a portreporter command with the compile task's permissions and V8 flags", async () => {
  const { root, bin } = await installed();
  try {
    const wrapper = await Deno.readTextFile(bin);
    for (const flag of runtimeFlags()) {
      const spelled = flag === "-A" ? "--allow-all" : flag;
      assert.ok(wrapper.includes(spelled), `${flag} missing from the installed command:\n${wrapper}`);
    }
    const dir = Deno.execPath().replace(/\/[^/]+$/, "");
    const v = await run(bin, ["version"], { PATH: `${dir}:/usr/bin:/bin` });
    assert.equal(v.code, 0, v.out);
    assert.match(v.out, /^portreporter \d+\.\d+\.\d+ \(deno 2\.9\.6, linux /);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("deploy/portreporter.service passes systemd-analyze verify and scores OK or better", async () => {
  const { root, bin } = await installed();
  try {
    const unit = await Deno.readTextFile(join(ROOT, "deploy", "portreporter.service"));
    assert.match(unit, /^ExecStart=\/usr\/local\/bin\/portreporter run /m);
    assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    // verify needs the command to exist: check the same unit with ExecStart pointing at the installed one
    const copy = join(root, "portreporter.service");
    await Deno.writeTextFile(copy, unit.replace("ExecStart=/usr/local/bin/portreporter", `ExecStart=${bin}`));
    const verify = await run("systemd-analyze", ["verify", "--man=no", copy]);
    assert.equal(verify.code, 0, verify.out);
    assert.equal(verify.out.trim(), "");
    const security = await run("systemd-analyze", ["security", "--offline=yes", copy]);
    const level = /Overall exposure level for portreporter\.service: ([\d.]+) (\w+)/.exec(security.out);
    assert.ok(level, security.out);
    assert.ok(["SAFE", "OK"].includes(level[2]), `exposure ${level[1]} ${level[2]}`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
