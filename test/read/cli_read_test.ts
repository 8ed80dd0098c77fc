/**
 * The reading commands end to end: the real CLI over log sets written by the real writer (and
 * original 1.01 files), every output format, bad input, and the open set being written while
 * `query` reads it.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, runCli } from "../helpers.ts";
import { fixture, original101Ports, tempDir } from "./logs.ts";
import { escapeField, escapeUser } from "../../src/model/text.ts";

const ENV = { TZ: "Europe/Berlin", NO_COLOR: "1" };

function dataLines(stdout: string): string[] {
  return stdout.split("\n").filter((l) => l && !l.startsWith("#"));
}

Deno.test("query: the table is aligned, local time with the zone in the header, one row per change", async () => {
  const dir = await fixture();
  try {
    const r = await runCli(["query", "--log-dir", dir], { env: ENV });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.match(lines[0], /^# times in Europe\/Berlin \(UTC\+01:00\)$/);
    assert.match(lines[1], /^Time +Event +Proto +Local Address +Foreign Address +State +PID +Process +User$/);
    assert.equal(lines.length, 2 + 7);
    assert.match(
      lines[2],
      /^2026-11-26 11:00:00 +opened +TCP +0\.0\.0\.0:8000 +0\.0\.0\.0:0 +LISTEN +100 +python3 +alice$/,
    );
    const col = lines[1].indexOf("Proto");
    for (const l of lines.slice(2)) assert.equal(l.slice(col, col + 3), "TCP", `aligned: ${l}`);
    const utc = await runCli(["query", "--log-dir", dir, "--utc", "--no-header"], { env: ENV });
    assert.match(utc.stdout.split("\n")[0], /^2026-11-26 10:00:00Z +opened/);
    const ny = await runCli(["query", "--log-dir", dir, "--time-zone", "America/New_York"], { env: ENV });
    assert.match(ny.stdout, /^# times in America\/New_York \(UTC-05:00\)\n.*\n2026-11-26 05:00:00 +opened/);
    const local = await runCli([
      "query",
      "--log-dir",
      dir,
      "--time-zone",
      "America/New_York",
      "--since",
      "2026-11-26 05:01:10",
      "--no-header",
    ], { env: ENV });
    assert.equal(dataLines(local.stdout).length, 4, "local times given are read in that zone");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("query: every filter from the command line", async () => {
  const dir = await fixture();
  try {
    const count = async (...args: string[]) => {
      const r = await runCli(["query", "--log-dir", dir, "--no-header", ...args], { env: ENV });
      assert.equal(r.code, 0, r.stderr);
      return dataLines(r.stdout).length;
    };
    assert.equal(await count("--port", "8000"), 6);
    assert.equal(await count("--port", "50001-50002"), 4);
    assert.equal(await count("--port", "22", "--family", "6"), 1);
    assert.equal(await count("--remote", "10.0.0.0/8"), 5);
    assert.equal(await count("--local", "::/0"), 1);
    assert.equal(await count("--process", "ssh*"), 1);
    assert.equal(await count("--process", "/usr/sbin/*"), 1);
    assert.equal(await count("--pid", "100"), 5);
    assert.equal(await count("--user", "root"), 1);
    assert.equal(await count("--proto", "udp"), 0);
    assert.equal(await count("--state", "LISTENING"), 2);
    assert.equal(await count("--state", "TIME_WAIT"), 1);
    assert.equal(await count("--event", "closed"), 2);
    assert.equal(await count("--owned"), 6);
    assert.equal(await count("--not-loopback"), 2);
    assert.equal(await count("--since", "2026-11-26 11:01:10", "--until", "2026-11-26T10:01:30Z"), 3);
    assert.equal(await count("--since", "2026-11-26T11:01:10", "--port", "8000", "--owned"), 2);
    assert.equal(await count("--since", "-1h"), 0, "the fixture is days old");
    assert.equal(await count("--until", "yesterday"), 7);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("query: CSV has a header and ISO times with the offset; JSON Lines round-trips the fields", async () => {
  const dir = await fixture();
  try {
    const csv = await runCli([
      "query",
      "--log-dir",
      dir,
      "--format",
      "csv",
      "--fields",
      "time,event,localPort,processName,user",
    ], { env: ENV });
    assert.equal(csv.code, 0, csv.stderr);
    const lines = csv.stdout.trimEnd().split("\n");
    assert.equal(lines[0], "time,event,localPort,processName,user");
    assert.equal(lines[1], "2026-11-26T11:00:00.000+01:00,opened,8000,python3,alice");
    assert.equal(lines.length, 8);
    const empty = await runCli(["query", "--log-dir", dir, "--format", "csv", "--port", "1"], { env: ENV });
    assert.equal(empty.stdout.split("\n")[0].split(",")[0], "time", "a header even with no rows");
    const jsonl = await runCli(["query", "--log-dir", dir, "--format", "jsonl", "--event", "closed"], {
      env: ENV,
    });
    const rows = jsonl.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.equal(rows.length, 2);
    assert.deepEqual(
      [
        rows[0].time,
        rows[0].event,
        rows[0].localPort,
        rows[0].remotePort,
        rows[0].durationMs,
        rows[0].processName,
      ],
      ["2026-11-26T10:01:05.000Z", "closed", 8000, 50001, 5000, "python3"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connections: one row per lifetime; --format jsonl has the issue's fields", async () => {
  const dir = await fixture();
  try {
    const r = await runCli([
      "connections",
      "--log-dir",
      dir,
      "--format",
      "jsonl",
      "--port",
      "8000",
      "--owned",
    ], { env: ENV });
    assert.equal(r.code, 0, r.stderr);
    const ls = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    const fields = [
      "protocol",
      "localAddress",
      "localPort",
      "remoteAddress",
      "remotePort",
      "pid",
      "processName",
      "user",
      "opened",
      "durationMs",
    ];
    for (const l of ls) for (const f of fields) assert.ok(f in l, `${f} in ${JSON.stringify(l)}`);
    const closedOnes = ls.filter((l) => l.closed);
    assert.deepEqual(closedOnes.map((l) => [l.remotePort, l.opened, l.closed, l.durationMs]), [
      [50001, "2026-11-26T10:01:00.000Z", "2026-11-26T10:01:05.000Z", 5000],
      [50002, "2026-11-26T10:01:30.000Z", "2026-11-26T10:06:30.000Z", 300000],
    ]);
    const open = ls.filter((l) => !("closed" in l));
    assert.deepEqual(open.map((l) => [l.localAddress, l.remotePort, l.durationBound]), [[
      "0.0.0.0",
      0,
      true,
    ]]);
    const table = await runCli([
      "connections",
      "--log-dir",
      dir,
      "--port",
      "8000",
      "--since",
      "2026-11-26 11:03",
      "--until",
      "2026-11-26 11:04",
    ], { env: ENV });
    const rows = dataLines(table.stdout).slice(1);
    assert.equal(rows.length, 3, table.stdout); // the 5-minute connection, the listener and the orphan overlap 11:03-11:04
    assert.ok(rows.some((l) => /2026-11-26 11:01:30 +2026-11-26 11:06:30 +5m00s +TCP/.test(l)), table.stdout);
    assert.ok(rows.some((l) => /still open +≥.* LISTEN /.test(l)), table.stdout);
    assert.ok(rows.some((l) => /still open +≥.* TIME_WAIT +0$/.test(l)), table.stdout);
    const csv = await runCli(["connections", "--log-dir", dir, "--format", "csv"], { env: ENV });
    assert.match(
      csv.stdout.split("\n")[0],
      /^protocol,family,localAddress,localPort,remoteAddress,remotePort,/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("query: an original 1.01 set with hostile escaped values is read back; the table escapes them", async () => {
  const dir = await tempDir();
  try {
    const stamp = "05-07-6-13-44-4";
    const evil = "ev\x1b[2Jil,\nname";
    await Deno.writeTextFile(
      join(dir, `PR-PORTS-${stamp}.log`),
      original101Ports(stamp, [
        "05/7/6,13:52:1,TCP,3389,0.0.0.0,,0.0.0.0,1096,svchost.exe,<NT AUTHORITY\\SYSTEM>",
        `05/7/6,13:52:2,TCP,3389,172.16.16.150,1486,172.16.16.100,1096,${escapeField(evil)},<${
          escapeUser("x<y>,z")
        }>`,
        "05/7/6,13:52:4,UDP,1088,0.0.0.0,*,*,1540,rdpclip.exe,<TEST\\Administrator>",
      ]),
    );
    const t = await runCli(["query", "--log-dir", dir, "--no-header"], { env: ENV });
    assert.equal(t.code, 0, t.stderr);
    const lines = dataLines(t.stdout);
    assert.equal(lines.length, 3);
    assert.match(
      lines[0],
      /^2005-07-06 13:52:01 +opened +TCP +0\.0\.0\.0:3389 +0\.0\.0\.0:0 +LISTEN +1096 +svchost\.exe +NT AUTHORITY\\SYSTEM$/,
    );
    assert.ok(lines[1].includes("ev\\x1b[2Jil\\x2c\\x0aname"), lines[1]);
    assert.ok(!t.stdout.includes("\x1b"), "no raw escape reaches the terminal");
    assert.match(lines[2], /UDP +0\.0\.0\.0:1088 +\*:\* +1540 +rdpclip\.exe/);
    const csv = await runCli(["query", "--log-dir", dir, "--format", "csv", "--fields", "processName,user"], {
      env: ENV,
    });
    assert.equal(
      csv.stdout.split("\n")[2],
      "ev\\x1b[2Jil\\x2c\\x0aname,x<y>\\x2cz",
      "escaped: one row, two cells",
    );
    await Deno.writeTextFile(
      join(dir, `PR-PORTS-${stamp}.log`),
      '05/7/6,13:52:5,TCP,80,1.2.3.4,,0.0.0.0,9,=HYPERLINK("http://x"),<@evil>\r\n',
      { append: true },
    );
    const formula = await runCli([
      "query",
      "--log-dir",
      dir,
      "--format",
      "csv",
      "--fields",
      "localPort,processName,user",
    ], { env: ENV });
    assert.equal(formula.stdout.trimEnd().split("\n").pop(), `80,"'=HYPERLINK(""http://x"")",'@evil`);
    const j = await runCli(["query", "--log-dir", dir, "--format", "jsonl"], { env: ENV });
    const rows = j.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.equal(rows[1].processName, evil);
    assert.equal(rows[1].user, "x<y>,z");
    assert.equal(rows[0].time, "2005-07-06T11:52:01.000Z");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reading commands: every bad input is one line starting 'portreporter: ' and exit 2", async () => {
  const dir = await fixture();
  try {
    const cases: [string[], RegExp][] = [
      [["query", "--log-dir", dir, "--port", "http"], /^portreporter: --port: "http" is not a port/],
      [
        ["query", "--log-dir", dir, "--time-zone", "Mars/Olympus"],
        /^portreporter: --time-zone: 'Mars\/Olympus' is not a time zone/,
      ],
      [["query", "--log-dir", dir, "--since", "soon"], /^portreporter: --since: 'soon' is not a time/],
      [
        ["query", "--log-dir", dir, "--format", "xml"],
        /^portreporter: --format: 'xml' is not one of table, csv, jsonl/,
      ],
      [
        ["query", "--log-dir", dir, "--fields", "time,nope"],
        /^portreporter: --fields: 'nope' is not a field/,
      ],
      [["query", "--log-dir", join(dir, "missing")], /^portreporter: log directory .* does not exist/],
      [["query", "--bogus"], /^portreporter: query: unknown option '--bogus'/],
      [
        ["query", "--log-dir", dir, join(dir, "x.jsonl")],
        /^portreporter: query: give either --log-dir or files/,
      ],
      [["connections", "--log-dir", dir, "--state", "OPEN"], /^portreporter: --state: 'OPEN' is not one of/],
      [["follow", "some-file.jsonl"], /^portreporter: follow: follow reads a log directory/],
      [["follow", "--log-dir", dir, "--color", "pink"], /^portreporter: follow: --color 'pink'/],
      [["sets", "--log-dir", dir, "extra"], /^portreporter: sets: unexpected argument 'extra'/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args, { env: ENV });
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
      assert.equal(r.stdout, "");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sets: lists the sets in time order with their files", async () => {
  const dir = await fixture();
  try {
    const r = await runCli(["sets", "--log-dir", dir, "--format", "jsonl"], { env: ENV });
    assert.equal(r.code, 0, r.stderr);
    const sets = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.equal(sets.length, 1);
    assert.match(
      sets[0].files,
      /PR-INITIAL-26-11-26-10-59-0\.log PR-PORTS-.* PR-PIDS-.* PR-EVENTS-26-11-26-10-59-0\.jsonl/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("query: the open set being written (with rollovers) while query reads it gives only whole rows", async () => {
  const dir = await tempDir();
  try {
    const writer = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(ROOT, "test/read/slow_writer.ts"), dir, "400", "2", "20000", "4096"],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = writer.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let said = "";
    while (!said.includes("ready")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the writer stopped: ${said}`);
      said += value;
    }
    let previous = -1;
    for (let i = 0; i < 5; i++) {
      const r = await runCli(["query", "--log-dir", dir, "--format", "jsonl", "--fields", "localPort"], {
        env: ENV,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, "", "no malformed or partial line is reported");
      const ports = r.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l).localPort);
      assert.deepEqual(ports, ports.map((_, k) => 20000 + k), "every row so far, in order, none torn");
      assert.ok(ports.length >= previous);
      previous = ports.length;
    }
    await reader.cancel();
    await writer.status;
    const r = await runCli(["query", "--log-dir", dir, "--format", "jsonl", "--fields", "localPort"], {
      env: ENV,
    });
    assert.equal(r.stdout.trimEnd().split("\n").length, 400);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("query --event lists record kinds (clock-jump, heartbeat) with their details; follow --since replays", async () => {
  const dir = await fixture();
  try {
    const [events] = [...Deno.readDirSync(dir)].filter((e) => e.name.startsWith("PR-EVENTS")).map((e) =>
      join(dir, e.name)
    );
    await Deno.writeTextFile(
      events,
      '{"v":1,"event":"heartbeat","time":"2026-11-26T10:07:00Z","host":"TESTHOST"}\n' +
        '{"v":1,"event":"clock-jump","time":"2026-11-26T10:08:00Z","host":"TESTHOST","jumpMs":-3600000}\n' +
        '{"v":1,"event":"process","time":"2026-11-26T10:08:01Z","host":"TESTHOST","pid":5}\n',
      { append: true },
    );
    const r = await runCli([
      "query",
      "--log-dir",
      dir,
      "--event",
      "clock-jump,heartbeat",
      "--fields",
      "time,event,detail",
      "--utc",
      "--no-header",
    ], { env: ENV });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trimEnd().split("\n").map((l) => l.replace(/ +/g, " ")), [
      "2026-11-26 10:07:00Z heartbeat",
      "2026-11-26 10:08:00Z clock-jump jumpMs=-3600000",
    ]);
    const all = await runCli(["query", "--log-dir", dir, "--no-header"], { env: ENV });
    assert.equal(
      dataLines(all.stdout).length,
      7,
      "changes only by default; the unknown 'process' kind is skipped",
    );
    await Deno.writeTextFile(
      join(dir, "PR-PORTS-26-11-26-12-0-0.log"),
      "26/11/26,12:0:1,TCP,9999,127.0.0.1,,0.0.0.0,5,x,<y>\n",
    );
    await Deno.writeTextFile(join(dir, "PR-EVENTS-26-11-26-13-0-0.jsonl"), ""); // a later set: the 12:00 one is not being created
    const fallback = await runCli(["query", "--log-dir", dir, "--port", "9999", "--no-header"], { env: ENV });
    assert.equal(dataLines(fallback.stdout).length, 1);
    assert.equal(
      fallback.stderr.trim(),
      "portreporter: 1 set has no PR-EVENTS (26-11-26-12-0-0); read from PR-PORTS, which lists opened endpoints only",
    );
    const follow = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(ROOT, "main.ts"),
        "follow",
        "--log-dir",
        dir,
        "--since",
        "2026-11-26T10:01:30Z",
        "--utc",
      ],
      stdout: "piped",
      stderr: "piped",
      env: ENV,
    }).spawn();
    await new Promise((r) => setTimeout(r, 2500));
    follow.kill("SIGINT");
    const out = new TextDecoder().decode((await follow.output()).stdout);
    const lines = out.split("\n").filter((l) => l && !l.startsWith("#"));
    assert.equal(lines.length, 4, out); // the 10:01:30 open, its close, the clock jump (no heartbeats), the classic set
    assert.match(lines[0], /^2026-11-26 10:01:30Z +OPENED +TCP +127\.0\.0\.1:8000 +10\.1\.2\.3:50002/);
    assert.match(lines[1], /CLOSED/);
    assert.match(lines[2], /-- clock-jump jumpMs=-3600000/);
    assert.match(
      lines[3],
      /^2026-11-26 11:00:01Z +OPENED +TCP +127\.0\.0\.1:9999 +0\.0\.0\.0:0 +LISTEN +5 +x +y$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("query --format ecs: one Elastic Common Schema document per change, the same mapping the shippers use", async () => {
  const dir = await fixture();
  try {
    const r = await runCli(["query", "--log-dir", dir, "--format", "ecs", "--port", "8000"], { env: ENV });
    assert.equal(r.code, 0, r.stderr);
    const docs = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(docs.length > 0);
    const listen = docs[0];
    assert.equal(listen["@timestamp"], "2026-11-26T10:00:00.000Z");
    assert.deepEqual(listen.event.category, ["network"]);
    assert.deepEqual(listen.event.type, ["start", "connection"]);
    assert.equal(listen.event.action, "endpoint-opened");
    assert.equal(listen.network.transport, "tcp");
    assert.equal(listen.destination.port, 8000);
    assert.equal(listen.process.name, "python3");
    assert.equal(listen.user.name, "alice");
    assert.equal(listen.portreporter.state, "LISTEN");
    const bad = await runCli(["query", "--log-dir", dir, "--format", "ecs", "--fields", "pid"], { env: ENV });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^portreporter: query: --fields does not apply to --format ecs\n$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
