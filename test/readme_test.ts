/**
 * The README cannot drift: every fenced `sh`/`powershell` block in it is either run by a test (listed
 * in {@link RUN_BY}, matched by its exact content, pointing at the test that runs it) or preceded by
 * `<!-- readme: not run (reason) -->`. The cheap blocks are run here, line by line, as a reader would
 * type them (`npx -y deno@2.9.6` is this test's own Deno 2.9.6; the monitor gets a temporary log
 * directory and is stopped with SIGTERM once it has started).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, waitFor } from "./helpers.ts";

/** A fenced block of the README. */
interface Block {
  /** `sh`, `powershell`, ... */
  lang: string;
  /** The lines between the fences, joined with `\n`. */
  content: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The `not run` reason, when the block is marked. */
  notRun?: string;
}

/** Languages whose blocks are commands a reader runs. */
const COMMAND_LANGS = new Set(["sh", "bash", "shell", "console", "powershell", "ps1", "pwsh"]);

/** Which test runs each command block. `block` is the block's exact text (without the fences). */
const RUN_BY: { block: string; by: string; test: string }[] = [
  {
    block: [
      "npx -y deno@2.9.6 task snapshot                 # every TCP/UDP endpoint now, with its process and user",
      "npx -y deno@2.9.6 run -A main.ts version        # any command runs this way: main.ts <command> [options]",
      "npx -y deno@2.9.6 run -A main.ts help run       # the options of 'run'",
    ].join("\n"),
    by: "test/readme_test.ts",
    test: "README: the first commands run as shown",
  },
  {
    block: [
      "npx -y deno@2.9.6 task start    # run the monitor on its defaults (Ctrl+C stops; it prints where the logs are)",
      "npx -y deno@2.9.6 task test     # run the tests (see Tests and CI)",
    ].join("\n"),
    by: "test/readme_test.ts",
    test: "README: the first two commands: the monitor on its defaults, and the test command CI runs",
  },
  {
    block:
      "npx -y deno@2.9.6 task start --interval 500     # options of 'portreporter run' go after the task name",
    by: "test/readme_test.ts",
    test: "README: deno task start, with and without options, starts the monitor",
  },
  {
    block: [
      "mkdir -p user-plugins && cp examples/unknown-listener.ts user-plugins/",
      "npx -y deno@2.9.6 task start          # then, elsewhere: python3 -m http.server 8000",
      '# PR-ALERTS-….jsonl: {"v":1,"event":"alert",…,"plugin":"unknown-listener","severity":"warning",',
      '#                     "message":"python3.11 (pid 4242) listens on port 8000","change":{…}}',
      "# (the name logged is the executable's file name: python3 is a link to python3.11 on Debian 12)",
    ].join("\n"),
    by: "test/plugin_example_test.ts",
    test: "the unknown-listener example plugin, dropped into the plugins folder, alerts on a new listener",
  },
  {
    block: [
      'portreporter connections --port 8000 --since "2026-11-26 10:00" --until "2026-11-26 10:05"   # 1. who talked to port 8000 then, and for how long?',
      "portreporter snapshot -l                                                          # 2. what is listening now, as which process and user?",
      'portreporter query --process "powershell*" --event opened --since yesterday       # 3. what did this program open (and when, as whom)?',
      "portreporter connections --not-loopback --owned --since -2h --format csv          # 4. which remote peers in the last two hours (for a spreadsheet)?",
      "portreporter sets                                                                 # 5. which files cover which time (oldest first)?",
    ].join("\n"),
    by: "test/read/readme_read_test.ts",
    test: "README 'Reading the logs': every command runs as written",
  },
];

const MARKER = /^<!-- readme: not run \((.+)\) -->$/;

/** Every fenced block of `markdown`, with the `not run` marker that precedes it (blank lines allowed). */
export function fencedBlocks(markdown: string): Block[] {
  const lines = markdown.split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]);
    if (!open) continue;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
    let before = i - 1;
    while (before >= 0 && lines[before].trim() === "") before--;
    const notRun = before >= 0 ? MARKER.exec(lines[before].trim())?.[1] : undefined;
    blocks.push({ lang: open[1], content: lines.slice(i + 1, end).join("\n"), line: i + 1, notRun });
    i = end;
  }
  return blocks;
}

/** What is wrong with the README's command blocks against `runBy`, one message per problem. */
export function readmeProblems(markdown: string, runBy: typeof RUN_BY): string[] {
  const problems: string[] = [];
  const blocks = fencedBlocks(markdown).filter((b) => COMMAND_LANGS.has(b.lang));
  for (const b of blocks) {
    if (b.notRun !== undefined || runBy.some((r) => r.block === b.content)) continue;
    problems.push(
      `README.md line ${b.line}: this \`\`\`${b.lang} block is neither run by a test nor marked as not run:\n` +
        b.content.split("\n").map((l) => `      ${l}`).join("\n") + "\n" +
        "  Do one of these:\n" +
        "  - run it in a test, then add it to RUN_BY in test/readme_test.ts:\n" +
        `      { block: ${
          JSON.stringify(b.content)
        }, by: "test/<file>.ts", test: "<the Deno.test name>" },\n` +
        "  - or, if it cannot run here, put this line above the block (a blank line between is fine):\n" +
        "      <!-- readme: not run (why, e.g. Windows only / needs network / needs systemd) -->",
    );
  }
  for (const r of runBy) {
    if (!blocks.some((b) => b.content === r.block)) {
      problems.push(
        `test/readme_test.ts RUN_BY: no README block is exactly ${
          JSON.stringify(r.block.split("\n")[0])
        }...; ` +
          `the block was edited or removed: update (or remove) this entry and check that '${r.test}' in ${r.by} ` +
          "still runs the new text",
      );
    }
  }
  return problems;
}

Deno.test("README: every sh/powershell block is run by a test or marked as not run", async () => {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const problems = readmeProblems(readme, RUN_BY);
  assert.equal(problems.length, 0, "\n" + problems.join("\n\n"));
  for (const r of RUN_BY) {
    const source = await Deno.readTextFile(join(ROOT, r.by));
    assert.ok(source.includes(JSON.stringify(r.test)), `${r.by} has a test named ${JSON.stringify(r.test)}`);
  }
  for (const b of fencedBlocks(readme).filter((b) => b.notRun !== undefined)) {
    assert.ok(b.notRun!.trim().length >= 5, `README.md line ${b.line}: say why the block is not run`);
  }
});

Deno.test("README checker: an unmarked block, a marked one and an edited one", () => {
  const md = [
    "text",
    "```sh",
    "echo one",
    "```",
    "<!-- readme: not run (Windows only) -->",
    "",
    "```powershell",
    ".\\install.ps1",
    "```",
    "```jsonc",
    "{}",
    "```",
  ].join("\n");
  const problems = readmeProblems(md, [{ block: "echo two", by: "x", test: "t" }]);
  assert.equal(problems.length, 2);
  assert.match(problems[0], /^README\.md line 2: this ```sh block is neither run by a test nor marked/);
  assert.match(problems[0], /\{ block: "echo one", by: "test\/<file>\.ts"/);
  assert.match(problems[0], /<!-- readme: not run \(why/);
  assert.match(problems[1], /no README block is exactly "echo two"/);
  assert.deepEqual(readmeProblems(md, [{ block: "echo one", by: "x", test: "t" }]), []);
});

/** The README block of `RUN_BY` run by the test `name`, as commands: comments and blank lines dropped. */
async function commandsOf(name: string): Promise<string[]> {
  const entry = RUN_BY.find((r) => r.test === name)!;
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  assert.ok(
    fencedBlocks(readme).some((b) => b.content === entry.block),
    `README still has the block of ${name}`,
  );
  return entry.block.split("\n").map((l) => l.replace(/\s+#.*$/, "").trim()).filter((l) =>
    l && !l.startsWith("#")
  );
}

/** A README command line with `npx -y deno@2.9.6` as this test's Deno, for bash. */
function asTyped(line: string): string {
  assert.match(line, /^npx -y deno@2\.9\.6 /, "the README's commands start with npx -y deno@2.9.6");
  return line.replace(/^npx -y deno@2\.9\.6 /, `'${Deno.execPath()}' `);
}

Deno.test("README: the first commands run as shown", async () => {
  const expected = [
    /Proto +Local Address/i,
    /^portreporter \d+\.\d+\.\d+ \(deno 2\.9\.6/,
    /^Usage: portreporter run/,
  ];
  const commands = await commandsOf("README: the first commands run as shown");
  assert.equal(commands.length, expected.length);
  for (const [i, line] of commands.entries()) {
    const out = await new Deno.Command("bash", { args: ["-c", asTyped(line)], cwd: ROOT, stdin: "null" })
      .output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, `${line}: ${new TextDecoder().decode(out.stderr)}`);
    assert.match(stdout, expected[i], line);
  }
});

Deno.test("README: the first two commands: the monitor on its defaults, and the test command CI runs", async () => {
  const commands = await commandsOf(
    "README: the first two commands: the monitor on its defaults, and the test command CI runs",
  );
  assert.deepEqual(commands, ["npx -y deno@2.9.6 task start", "npx -y deno@2.9.6 task test"]);
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const first = fencedBlocks(readme).find((b) => COMMAND_LANGS.has(b.lang));
  assert.equal(
    first?.content.split("\n")[0].replace(/\s+#.*$/, ""),
    commands[0],
    "the README starts with them",
  );
  await startsAndStops(commands[0]);
  // the tests are not run from inside themselves: CI runs exactly this task
  const ci = await Deno.readTextFile(join(ROOT, ".ci", "run"));
  assert.match(ci, /^run_counted deno task test$/m, ".ci/run calls the README's test command");
});

Deno.test("README: deno task start, with and without options, starts the monitor", async () => {
  const commands = await commandsOf("README: deno task start, with and without options, starts the monitor");
  assert.equal(commands.length, 1);
  for (const line of commands) await startsAndStops(line);
});

/** Runs a `deno task start` line of the README with a temporary log directory, then stops it with SIGTERM. */
async function startsAndStops(line: string): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "portreporter-readme-" });
  try {
    const child = new Deno.Command("bash", {
      args: ["-c", `exec ${asTyped(line)} --log-dir '${dir}'`],
      cwd: ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let stderr = "";
    const reading = (async () => {
      for await (const chunk of child.stderr) stderr += new TextDecoder().decode(chunk);
    })();
    await waitFor(`${line}: the start line`, () => (/logging to /.test(stderr) ? true : undefined));
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0, stderr);
    await reading;
    assert.match(stderr, /stopped after \d+ polls?: /);
    assert.match(stderr, line.includes("--interval 500") ? /every 500 ms/ : /every 1000 ms/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
