/**
 * `portreporter snapshot` flags against real sockets held by a real helper process: a TCP listener
 * (v4 and v6), a connected UDP socket (its peer is shown) and an unconnected one.
 */

import assert from "node:assert/strict";
import { ROOT, runCli } from "../helpers.ts";

const HOLDER = `
import socket, sys, time
t4 = socket.socket(); t4.bind(("127.0.0.1", 0)); t4.listen()
t6 = socket.socket(socket.AF_INET6); t6.bind(("::1", 0)); t6.listen()
peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); peer.bind(("127.0.0.1", 0))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0)); u.connect(peer.getsockname())
print(t4.getsockname()[1], t6.getsockname()[1], u.getsockname()[1], peer.getsockname()[1], flush=True)
sys.stdin.read()
`;

async function withHolder(body: (pid: number, ports: number[]) => Promise<void>) {
  const child = new Deno.Command("python3", { args: ["-c", HOLDER], stdin: "piped", stdout: "piped" })
    .spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let first = "";
  while (!first.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the socket holder stopped: ${first}`);
    first += value;
  }
  const ports = first.trim().split(" ").map(Number);
  try {
    await body(child.pid, ports);
  } finally {
    await child.stdin.close();
    await reader.cancel();
    await child.status;
  }
}

function rows(stdout: string): string[] {
  return stdout.split("\n").filter((l) => l.trim() && !l.includes("Proto"));
}

Deno.test("snapshot: -t -u -l -4 -6, --port, --pid, --process, --state, --no-header on real sockets", async () => {
  await withHolder(async (pid, [t4, t6, u, peer]) => {
    const snap = async (...args: string[]) => {
      const r = await runCli(["snapshot", "--pid", String(pid), ...args]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    const all = rows(await snap());
    assert.equal(all.length, 4, all.join("\n"));
    const udpLine = all.find((l) => l.includes(`127.0.0.1:${u} `))!;
    assert.match(
      udpLine,
      new RegExp(`^  UDP +127\\.0\\.0\\.1:${u} +127\\.0\\.0\\.1:${peer} +${pid} `),
      `the peer of a connected UDP socket (${u} → ${peer}, pid ${pid}):\n${all.join("\n")}`,
    );
    assert.match(all.find((l) => l.includes(`:${peer} `) && l.includes("*:*"))!, /UDP/);
    assert.match(
      all.find((l) => l.includes(`127.0.0.1:${t4}`))!,
      new RegExp(`TCP +127\\.0\\.0\\.1:${t4} +0\\.0\\.0\\.0:0 +LISTEN +${pid}`),
    );
    assert.equal(rows(await snap("-t")).length, 2);
    assert.equal(rows(await snap("-u")).length, 2);
    assert.equal(rows(await snap("-l")).length, 3, "the connected UDP socket is not a listener");
    assert.deepEqual(rows(await snap("-6")).map((l) => l.includes(`[::1]:${t6}`)), [true]);
    assert.equal(rows(await snap("-4", "-l", "-t")).length, 1);
    assert.equal(rows(await snap("--port", String(peer))).length, 2, "local or remote port");
    assert.equal(rows(await snap("--state", "LISTENING")).length, 2);
    assert.equal(rows(await snap("--state", "ESTABLISHED")).length, 0);
    assert.equal(rows(await snap("--process", "python*")).length, 4);
    assert.equal(rows(await snap("--process", "nginx")).length, 0);
    const bare = await snap("--no-header", "-t");
    assert.ok(!bare.includes("Proto"));
    assert.equal(bare.trimEnd().split("\n").length, 2);
    const json = JSON.parse(await snap("--json", "-u"));
    assert.deepEqual(json.sockets.map((s: { protocol: string }) => s.protocol), ["udp", "udp"]);
    assert.deepEqual(json.processes.map((p: { pid: number }) => p.pid), [pid]);
  });
});

Deno.test("snapshot --watch prints again every interval until SIGINT, then exits 0", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}/main.ts`, "snapshot", "--watch", "200ms", "-t", "-l"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  await new Promise((r) => setTimeout(r, 2500));
  child.kill("SIGINT");
  const out = await child.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const text = new TextDecoder().decode(out.stdout);
  const titles = text.split("\n").filter((l) =>
    /^# \d{4}-\d\d-\d\d \d\d:\d\d:\d\d .*every 200 ms; Ctrl\+C stops$/.test(l)
  );
  assert.ok(titles.length >= 2, text);
  assert.ok(!text.includes("\x1b"), "no screen control codes when stdout is not a terminal");
});

Deno.test("snapshot: bad flags are one usage line", async () => {
  for (
    const [args, message] of [
      [["-t", "-u"], /^portreporter: snapshot: -t and -u together/],
      [["--watch", "0"], /^portreporter: snapshot: --watch: 0 ms is below the minimum/],
      [["--port", "x"], /^portreporter: --port: "x" is not a port/],
      [["--state", "LISTENS"], /^portreporter: --state: 'LISTENS' is not one of/],
    ] as [string[], RegExp][]
  ) {
    const r = await runCli(["snapshot", ...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1);
  }
});
