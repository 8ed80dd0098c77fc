/**
 * Shell completion and the man page against the real flag list: every flag a command's parser accepts
 * is offered by each shell's script and documented in the man page, and each script works in its real
 * shell (bash's `complete -F`, fish's `complete -C`, zsh's parser, PowerShell's TabExpansion2).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { commandShapes } from "../src/cli/cli_table.ts";
import { type CliIo, COMMANDS, main } from "../src/cli/main.ts";
import { ROOT, runCli } from "./helpers.ts";

const quiet: CliIo = { out: () => {}, err: () => {} };
const shapes = await commandShapes(COMMANDS, { service: "run" });
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

async function script(shell: string): Promise<string> {
  const r = await runCli(["completion", shell]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

async function sh(cmd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  return { code: out.code, out: decode(out.stdout), err: decode(out.stderr) };
}

Deno.test("the table is the parsers': every listed flag is accepted by its command", async () => {
  const names = Object.keys(COMMANDS).filter((n) => !COMMANDS[n].hidden);
  assert.deepEqual(shapes.map((s) => s.name), names);
  const run = shapes.find((s) => s.name === "run")!;
  assert.ok(run.options.some((o) => o.name === "interval" && o.takesValue && o.valueName === "time"));
  assert.ok(run.options.some((o) => o.name === "plugin" && o.multiple));
  for (const c of shapes) {
    for (const o of c.options) {
      if (o.name === "help") continue;
      const flag = o.name.length === 1 ? `-${o.name}` : `--${o.name}`;
      const args = o.takesValue ? [c.name, `${flag}=1`, "--help"] : [c.name, flag, "--help"];
      assert.equal(await main(args, quiet), 0, `portreporter ${args.join(" ")}`);
    }
  }
  assert.equal(await main(["run", "--no-such-flag", "--help"], quiet), 2, "an unknown flag is refused");
});

Deno.test("every shell's script and the man page name every flag of every command", async () => {
  const texts = { bash: await script("bash"), zsh: await script("zsh"), fish: await script("fish") };
  const ps = await script("powershell");
  const man = (await runCli(["man"])).stdout;
  for (const c of shapes) {
    for (const text of [texts.bash, texts.zsh, ps, man]) assert.ok(text.includes(c.name), c.name);
    for (const o of c.options) {
      const long = o.name.length === 1 ? `-${o.name}` : `--${o.name}`;
      assert.ok(
        texts.bash.includes(` ${long}`) || texts.bash.includes(`'${long}`),
        `bash: ${c.name} ${long}`,
      );
      assert.ok(texts.zsh.includes(`${long}[`), `zsh: ${c.name} ${long}`);
      assert.ok(ps.includes(`'${long}'`), `powershell: ${c.name} ${long}`);
      assert.match(texts.fish, new RegExp(`from ${c.name}" (-l|-s) ${o.name}\\b`), `fish: ${c.name} ${long}`);
      assert.ok(man.includes(long.replaceAll("-", "\\-")), `man: ${c.name} ${long}`);
    }
  }
  assert.equal((await runCli(["completion", "tcsh"])).code, 2);
});

Deno.test("bash completes commands, flags and the commands after help", async () => {
  const file = await Deno.makeTempFile({ suffix: ".bash" });
  try {
    await Deno.writeTextFile(file, await script("bash"));
    const complete = async (...words: string[]) => {
      const code = `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); ` +
        `COMP_CWORD=${words.length - 1}; _portreporter; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const r = await sh("bash", ["-c", code]);
      assert.equal(r.code, 0, r.err);
      return r.out.trim().split("\n");
    };
    assert.deepEqual(await complete("portreporter", "sn"), ["snapshot"]);
    assert.deepEqual(await complete("portreporter", "run", "--inter"), ["--interval"]);
    assert.deepEqual(await complete("portreporter", "query", "--not"), ["--not-loopback"]);
    assert.deepEqual(await complete("portreporter", "help", "conn"), ["connections"]);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("fish completes for real; zsh parses its script", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "c.fish"), await script("fish"));
    await Deno.writeTextFile(join(dir, "c.zsh"), await script("zsh"));
    const fish = await sh("fish", [
      "--no-config",
      "-c",
      `source ${dir}/c.fish; complete -C 'portreporter run --inter'`,
    ]);
    assert.equal(fish.code, 0, fish.err);
    assert.match(fish.out, /^--interval\tTime between polls/m);
    const cmds = await sh("fish", [
      "--no-config",
      "-c",
      `source ${dir}/c.fish; complete -C 'portreporter con'`,
    ]);
    assert.match(cmds.out, /^connections\tOne row per connection/m);
    const zsh = await sh("zsh", ["-n", join(dir, "c.zsh")]);
    assert.equal(zsh.code, 0, zsh.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("PowerShell's TabExpansion2 completes with the script", async () => {
  const install = await sh("bash", [join(ROOT, ".ci", "install-pwsh.sh")], {
    ...Deno.env.toObject(),
  });
  assert.equal(install.code, 0, install.err);
  const pwsh = install.out.trim().split("\n").at(-1)!;
  const file = await Deno.makeTempFile({ suffix: ".ps1" });
  try {
    await Deno.writeTextFile(file, await script("powershell"));
    const tab = (input: string) =>
      `(TabExpansion2 -inputScript '${input}' -cursorColumn ${input.length}).CompletionMatches.CompletionText`;
    const code = `. '${file}'; ${tab("portreporter run --inter")}; ${tab("portreporter sna")}`;
    const r = await sh(pwsh, ["-NoLogo", "-NoProfile", "-NonInteractive", "-Command", code], {
      ...Deno.env.toObject(),
      POWERSHELL_TELEMETRY_OPTOUT: "1",
      POWERSHELL_UPDATECHECK: "Off",
    });
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.trim().split(/\r?\n/), ["--interval", "snapshot"]);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("the man page renders without a warning", async () => {
  const file = await Deno.makeTempFile({ suffix: ".1" });
  try {
    await Deno.writeTextFile(file, (await runCli(["man"])).stdout);
    const groff = await sh("groff", ["-man", "-ww", "-z", file]);
    assert.equal(groff.code, 0, groff.err);
    assert.equal(groff.err, "");
    const man = await sh("man", ["-l", file], { MANWIDTH: "100", MANPAGER: "cat", PAGER: "cat" });
    assert.match(man.out, /portreporter\s+-\s+which\s+process\s+used\s+which\s+TCP/);
    assert.match(man.out, /--interval <time>/);
  } finally {
    await Deno.remove(file);
  }
});
