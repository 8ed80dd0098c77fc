/**
 * `portreporter follow` while the logs are written by the real writer, rolling over every few
 * lines: every line exactly once, in order; colours in a real terminal (tmux), plain in a pipe and
 * with NO_COLOR.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../helpers.ts";
import { tempDir } from "./logs.ts";
import { LogFollower } from "../../src/read/follow.ts";

function startWriter(dir: string, count: number, gapMs: number, base: number) {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(ROOT, "test/read/slow_writer.ts"),
      dir,
      String(count),
      String(gapMs),
      String(base),
      "4096",
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

async function waitFor(what: string, test: () => Promise<boolean>, tries = 200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await test()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const followArgs = (dir: string, ...more: string[]) => [
  "run",
  "-A",
  join(ROOT, "main.ts"),
  "follow",
  "--log-dir",
  dir,
  "--interval",
  "100ms",
  ...more,
];

Deno.test("follow (pipe): every line of a writer that rolls over every few lines, exactly once, in order, plain", async () => {
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(join(dir, "PR-EVENTS-26-1-1-0-0-0.jsonl"), ""); // an older, empty set
    const follow = new Deno.Command(Deno.execPath(), {
      args: followArgs(dir, "--port", "30000-30999"),
      stdout: "piped",
      stderr: "piped",
    })
      .spawn();
    await new Promise((r) => setTimeout(r, 1500)); // follow has read the directory once
    const writer = startWriter(dir, 150, 5, 30000);
    await writer.output();
    const sets = [...Deno.readDirSync(dir)].filter((e) => e.name.startsWith("PR-EVENTS")).length;
    assert.ok(sets > 10, `the writer rolled over many times (${sets} sets)`);
    await new Promise((r) => setTimeout(r, 1500));
    follow.kill("SIGINT");
    const out = await follow.output();
    assert.equal(out.code, 0);
    const text = new TextDecoder().decode(out.stdout);
    assert.ok(!text.includes("\x1b"), "plain when stdout is not a terminal");
    const ports = text.split("\n").filter((l) => / OPENED /.test(l)).map((l) =>
      Number(/127\.0\.0\.1:(\d+)/.exec(l)![1])
    );
    assert.deepEqual(ports, Array.from({ length: 150 }, (_, i) => 30000 + i));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("follower: a line added to an older set after a newer one appeared is not lost; a shrunk file is noticed", async () => {
  const dir = await tempDir();
  try {
    const line = (port: number, t: string) =>
      JSON.stringify({
        v: 1,
        event: "opened",
        time: t,
        host: "T",
        protocol: "tcp",
        family: 4,
        localAddress: "127.0.0.1",
        localPort: port,
        remoteAddress: "0.0.0.0",
        remotePort: 0,
        state: "LISTEN",
        pid: 1,
      }) + "\n";
    const a = join(dir, "PR-EVENTS-26-11-9-10-0-0.jsonl");
    const b = join(dir, "PR-EVENTS-26-11-10-10-0-0.jsonl");
    await Deno.writeTextFile(a, line(1, "2026-11-09T10:00:00Z"));
    const f = new LogFollower(dir, { timeZone: "UTC" });
    const ports = async () => {
      const out: number[] = [];
      for await (const r of f.poll()) if (r.type === "change") out.push(r.localPort);
      return out;
    };
    assert.deepEqual(await ports(), [], "starts at the end");
    await Deno.writeTextFile(a, line(2, "2026-11-09T10:00:01Z") + '{"v":1,"event":"ope', { append: true });
    await Deno.writeTextFile(b, line(3, "2026-11-10T10:00:00Z"));
    assert.deepEqual(await ports(), [2, 3]);
    await Deno.writeTextFile(a, 'ned"}\n' + line(4, "2026-11-09T10:00:02Z"), { append: true });
    assert.deepEqual(await ports(), [4], "the torn line completed later is one (malformed) line, then 4");
    assert.equal(f.stats.malformed, 1);
    await Deno.writeTextFile(b, line(5, "2026-11-10T10:00:01Z").replace('"host":"T",', "")); // replaced, shorter
    assert.deepEqual(await ports(), [5]);
    assert.deepEqual(f.notices.map((n) => [n.kind, n.file]), [["shrank", b]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const hasTmux =
  new Deno.Command("sh", { args: ["-c", "command -v tmux"], stdout: "null" }).outputSync().success;

Deno.test({
  name:
    "follow in a terminal (tmux): lines appear as they are written, opened green, closed red, changed yellow; NO_COLOR",
  ignore: !hasTmux,
  fn: async () => {
    const dir = await tempDir();
    const server = `pr-follow-${Deno.pid}`;
    const tmux = (...args: string[]) =>
      new Deno.Command("tmux", { args: ["-L", server, ...args], stdout: "piped", stderr: "piped" }).output();
    const capture = async (pane: string) =>
      new TextDecoder().decode((await tmux("capture-pane", "-p", "-e", "-J", "-S", "-", "-t", pane)).stdout);
    try {
      const file = join(dir, "PR-EVENTS-26-11-26-10-0-0.jsonl");
      await Deno.writeTextFile(file, "");
      const cmd = (env: string) => `env ${env} ${Deno.execPath()} ${followArgs(dir).join(" ")}`;
      assert.ok(
        (await tmux(
          "new-session",
          "-d",
          "-s",
          "color",
          "-x",
          "220",
          "-y",
          "50",
          cmd("-u NO_COLOR TERM=xterm"),
        )).success,
      );
      assert.ok(
        (await tmux("new-session", "-d", "-s", "plain", "-x", "220", "-y", "50", cmd("NO_COLOR=1"))).success,
      );
      await waitFor(
        "the follow header",
        async () =>
          (await capture("color")).includes("following") && (await capture("plain")).includes("following"),
      );
      const rec = (event: string, port: number, extra = {}) =>
        JSON.stringify({
          v: 1,
          event,
          time: new Date().toISOString(),
          host: "T",
          protocol: "tcp",
          family: 4,
          localAddress: "127.0.0.1",
          localPort: port,
          remoteAddress: "10.0.0.1",
          remotePort: 443,
          state: "ESTABLISHED",
          pid: 77,
          processName: "curl\x1b[31m",
          user: "bob",
          ...extra,
        }) + "\n";
      await Deno.writeTextFile(file, rec("opened", 41000), { append: true });
      await waitFor("the opened line", async () => (await capture("color")).includes(":41000"));
      await Deno.writeTextFile(
        file,
        rec("changed", 41000, { previousState: "ESTABLISHED", state: "CLOSE_WAIT" }),
        { append: true },
      );
      await Deno.writeTextFile(file, rec("closed", 41000, { state: "CLOSE_WAIT" }), { append: true });
      // a rollover: the next set appears and the follower moves on to it
      await Deno.writeTextFile(join(dir, "PR-EVENTS-26-11-26-10-0-5.jsonl"), rec("opened", 41001));
      await waitFor(
        "the line of the new set",
        async () =>
          (await capture("color")).includes(":41001") && (await capture("plain")).includes(":41001"),
      );
      const color = await capture("color");
      const lineOf = (text: string, what: RegExp) => text.split("\n").find((l) => what.test(l)) ?? "";
      const ESC = "\x1b";
      assert.ok(lineOf(color, /OPENED.*41000/).includes(`${ESC}[32m`), "opened in green");
      assert.ok(lineOf(color, /CHANGED.*41000/).includes(`${ESC}[33m`), "changed in yellow");
      assert.match(lineOf(color, /CHANGED.*41000/), /ESTABLISHED>CLOSE_WAIT/);
      assert.ok(lineOf(color, /CLOSED.*41000/).includes(`${ESC}[31m`), "closed in red");
      assert.ok(lineOf(color, /OPENED.*41001/).includes(`${ESC}[32m`));
      assert.match(
        lineOf(color, /OPENED.*41000/),
        /curl\\x1b\[31m/,
        "a hostile name is escaped, not interpreted",
      );
      const plain = await capture("plain");
      for (const c of ["[31m", "[32m", "[33m"]) assert.ok(!plain.includes(ESC + c), "NO_COLOR: no colours");
      assert.equal(plain.split("\n").filter((l) => / (OPENED|CHANGED|CLOSED) /.test(l)).length, 4);
    } finally {
      await tmux("kill-server");
      await Deno.remove(dir, { recursive: true });
    }
  },
});
