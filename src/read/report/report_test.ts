/**
 * The report's escaping, watchlist and command line, and the report of a real monitor's logs (a
 * real listener owned by a process with a hostile executable name).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { readLogs, runCli, spawnCli, waitFor } from "../../../test/helpers.ts";
import { writeCorpus } from "./corpus_test_util.ts";
import { label, scriptJson, table, text } from "./html.ts";
import { InterestFinder } from "./interest.ts";
import type { ReportChange } from "./rows.ts";
import { compileWatchlist, loadWatchlist } from "./watchlist.ts";
import { unescapeField } from "../../model/text.ts";

Deno.test("escaping: markup is text, control and bidi characters are visible, embedded JSON cannot close its script", () => {
  assert.equal(
    text(`<img src=x onerror="alert('1')">&`),
    "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;",
  );
  assert.equal(label("evil\u202etxt.exe\x1b[31m\u0085\udc80"), "evil\\u202etxt.exe\\x1b[31m\\u0085\\x80");
  assert.equal(label("C:\\Windows\\System32\\svchost.exe, a"), "C:\\Windows\\System32\\svchost.exe, a");
  assert.equal(label("😀 ok"), "😀 ok");
  const json = scriptJson({ name: "</script><script>alert(1)</script><!--" });
  assert.ok(!json.includes("<"));
  assert.deepEqual(JSON.parse(json), { name: "</script><script>alert(1)</script><!--" });
  const html = table(["a<b"], [["</td><script>x</script>"], [42]]);
  assert.ok(!html.includes("<script>") && html.includes("&lt;/td&gt;&lt;script&gt;"));
  assert.match(html, /<td class="n" data-v="42">42<\/td>/);
});

function row(o: Partial<ReportChange>): ReportChange {
  return {
    type: "change",
    event: "opened",
    time: 1,
    protocol: "tcp",
    family: 4,
    localAddress: "10.0.0.5",
    localPort: 50000,
    remoteAddress: "198.51.100.7",
    remotePort: 443,
    state: "ESTABLISHED",
    pid: 7,
    processName: "curl",
    ...o,
  };
}

Deno.test("watchlist: every rule kind, built-in Windows paths, user without domain", () => {
  const w = compileWatchlist({
    ports: "3389,6660-6669",
    processes: ["nc*", "/tmp/**"],
    users: ["guest"],
    addresses: ["198.51.100.0/24", "2001:db8::/32"],
    expectedPaths: { sshd: "/usr/sbin/sshd" },
  }, "w.jsonc");
  const f = new InterestFinder(w);
  f.see(row({ localPort: 6667 }));
  f.see(row({ processName: "ncat", processPath: "/usr/bin/ncat" }));
  f.see(row({ processName: "x", processPath: "/tmp/a/b/x", remoteAddress: "192.0.2.1" }));
  f.see(row({ user: "WORKGROUP\\Guest", remoteAddress: "192.0.2.1" }));
  f.see(row({ processName: "sshd", processPath: "/home/eve/sshd", remoteAddress: "192.0.2.1" }));
  f.see(
    row({ processName: "SVCHOST.EXE", processPath: "C:\\Temp\\svchost.exe", remoteAddress: "192.0.2.1" }),
  );
  f.see(
    row({
      processName: "svchost.exe",
      processPath: "D:\\WINDOWS\\system32\\svchost.exe",
      remoteAddress: "192.0.2.1",
    }),
  );
  f.see(row({ remoteAddress: "2001:db8::9", family: 6 }));
  const found = f.findings().map((x) => `${x.kind} ${x.subject} ${x.count}`);
  assert.deepEqual(
    found.sort(),
    [
      "address 198.51.100.7 1", // curl
      "address 198.51.100.7 1", // ncat
      "address 2001:db8::9 1",
      "path SVCHOST.EXE 1",
      "path sshd 1",
      "port tcp/6667 1",
      "process ncat 1",
      "process x 1",
      "user WORKGROUP\\Guest 1",
    ].sort(),
  );
  const off = new InterestFinder(compileWatchlist({ builtinPaths: false }, "w"));
  off.see(row({ processName: "svchost.exe", processPath: "C:\\Temp\\svchost.exe" }));
  assert.deepEqual(off.findings(), []);
});

Deno.test("watchlist file: JSONC, problems named with line and column, host names resolved", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const write = (t: string) => (Deno.writeTextFileSync(join(dir, "w.jsonc"), t), join(dir, "w.jsonc"));
    await assert.rejects(
      loadWatchlist(write(`{\n  "ports": [22,\n  "oops"\n`)),
      /w\.jsonc: .* at line \d+, column \d+/,
    );
    await assert.rejects(
      loadWatchlist(write(`{ "prots": 22 }`)),
      /unknown key "prots"; the keys are ports, /,
    );
    await assert.rejects(loadWatchlist(write(`{ "ports": "99999" }`)), /not a port/);
    await assert.rejects(loadWatchlist(join(dir, "none.jsonc")), /cannot read watchlist .*: no such file/);
    const w = await loadWatchlist(
      write(`{ "hostnames": ["localhost", "no-such-host.invalid"], // comment\n }`),
    );
    assert.ok(w.hostnames[0].addresses.includes("127.0.0.1"), JSON.stringify(w.hostnames));
    assert.ok(w.hostnames[1].error);
    const f = new InterestFinder(w);
    f.see(row({ remoteAddress: "127.0.0.1" }));
    f.see(row({ host: "LOCALHOST" }));
    assert.deepEqual(f.findings().map((x) => [x.kind, x.subject, x.detail]), [
      ["hostname", "localhost", "127.0.0.1, curl (pid 7)"],
      ["hostname", "LOCALHOST", "the logged computer"],
    ]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("report command: bad input is one line and exit 2; - writes to stdout; filters apply", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const one = async (args: string[], pattern: RegExp) => {
      const r = await runCli(["report", ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /^portreporter: /);
      assert.match(r.stderr, pattern);
    };
    await one(["--log-dir", dir], /--out FILE is required/);
    await one(
      ["--log-dir", join(dir, "nope"), "--out", "-"],
      /log directory .*nope does not exist/,
    );
    await one(["--log-dir", dir, "--out", "-"], /no log sets in/);
    writeCorpus(dir, { sets: 1, connections: 50, start: Date.parse("2026-11-26T08:00:00Z") });
    await one(
      ["--log-dir", dir, "--out", "-", "--since", "noon-ish"],
      /--since: 'noon-ish' is not a time/,
    );
    await one(
      ["--log-dir", dir, "--out", "-", "--proto", "sctp"],
      /--proto: 'sctp' is not one of tcp, udp/,
    );
    await one(["--log-dir", dir, "--out", "/dev/full"], /cannot write \/dev\/full/);
    await one(["--log-dir", dir, "--out", "-", "--bogus"], /report: unknown option '--bogus'/i);
    const all = await runCli(["report", "--log-dir", dir, "--out", "-", "--utc"]);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /^<!doctype html>/);
    assert.match(all.stdout, /<td>tcp\/443<\/td>/);
    const only22 = await runCli(["report", "--log-dir", dir, "--out", "-", "--port", "22", "--utc"]);
    assert.match(only22.stdout, /<td>tcp\/22<\/td>/);
    assert.doesNotMatch(only22.stdout, /<td>tcp\/443<\/td>/);
    assert.match(only22.stdout, /--port 22/);
    const v6 = await runCli([
      "report",
      "--log-dir",
      dir,
      "--out",
      "-",
      "--remote",
      "2001:db8::/32",
      "--state",
      "ESTABLISHED",
    ]);
    assert.match(v6.stdout, /<td>2001:db8::3<\/td>/);
    assert.doesNotMatch(v6.stdout, /<td>203\.0\.113\.1<\/td>/);
    await one(
      ["--log-dir", dir, "--out", "-", "--time-zone", "Mars/Olympus"],
      /--time-zone: 'Mars\/Olympus' is not a time zone/,
    );
    await one(["--log-dir", dir, "--out", "-", "--state", "LISTENIN"], /--state: 'LISTENIN' is not one of /);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("report of a real monitor's logs: a listener of a process with a hostile executable name", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "pr-report-live-" });
  const logs = join(dir, "logs");
  const name = `<img src=x onerror=alert(1)>"'&`;
  const exe = join(dir, name);
  Deno.copyFileSync(Deno.realPathSync("/usr/bin/python3"), exe); // a copy: its own executable name
  Deno.chmodSync(exe, 0o755);
  const server = new Deno.Command(exe, {
    args: [
      "-c",
      "import socket,sys,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen()\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)",
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = server.stdout.getReader();
  const port = Number(new TextDecoder().decode((await reader.read()).value).trim());
  reader.releaseLock();
  const monitor = spawnCli(["run", "--log-dir", logs, "--interval", "100"]);
  let monitorOut: string | undefined;
  try {
    // open before the monitor started: the listener is in PR-INITIAL only, never in PR-EVENTS (--port: the
    // machine may hold thousands of other sockets)
    const entry = await waitFor("the listener in PR-INITIAL", () => {
      const text = readLogs(logs).INITIAL ?? "";
      const at = text.indexOf(`TCP 127.0.0.1:${port} `);
      return at < 0 ? undefined : text.slice(0, at);
    });
    monitor.kill("SIGTERM");
    const stopped = await monitor.output();
    monitorOut = new TextDecoder().decode(stopped.stderr);
    assert.equal(stopped.code, 0, monitorOut);
    assert.ok(!(readLogs(logs).EVENTS ?? "").includes(`"localPort":${port},`));
    const r = await runCli([
      "report",
      "--log-dir",
      logs,
      "--port",
      String(port),
      "--out",
      join(dir, "r.html"),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const html = Deno.readTextFileSync(join(dir, "r.html"));
    assert.equal(Deno.statSync(join(dir, "r.html")).mode! & 0o777, 0o600, "readable by its owner only");
    assert.match(html, new RegExp(`<td>tcp/${port}</td>`));
    if ((readLogs(logs).EVENTS ?? "").includes(`"event":"monitor-stop"`)) {
      // the monitor's start/stop records give the observed time: the listener was open all of it
      assert.match(html, new RegExp(`<td>tcp/${port}</td><td class="n" data-v="1">100.0 %</td>`));
    }
    const logged = unescapeField(entry.slice(entry.lastIndexOf("\nProcess: ") + 10).split("\n")[0]);
    assert.ok(logged.startsWith("<img src="), `logged as ${logged}`);
    const escaped = logged.replace(
      /[&<>"']/g,
      (c) => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "#39" }[c]};`,
    );
    assert.ok(html.includes(`<td>${escaped}</td>`), "the name is escaped in the tables");
    const [markup, rest] = html.split(`<script type="application/json" id="report-data">`);
    assert.ok(!markup.includes("<img"), "no raw <img in the markup");
    assert.ok(!rest.slice(0, rest.indexOf("</script>")).includes("<"), "no < in the embedded data");
  } catch (e) {
    if (monitorOut === undefined) {
      try {
        monitor.kill();
      } catch { /* exited */ }
      monitorOut = new TextDecoder().decode((await monitor.output()).stderr);
    }
    throw new Error(`${e}; monitor: ${monitorOut}; logs: ${Object.keys(readLogs(logs))}`);
  } finally {
    server.kill();
    await server.status;
    if (monitorOut === undefined) {
      try {
        monitor.kill();
      } catch { /* exited */ }
      await monitor.output();
    }
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("the README's watchlist example is a valid watchlist", async () => {
  const readme = Deno.readTextFileSync(new URL("../../../README.md", import.meta.url));
  const section = readme.slice(readme.indexOf("### The HTML report"));
  const block = /```jsonc\n([\s\S]*?)```/.exec(section)![1];
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(join(dir, "watch.jsonc"), block);
    const w = await loadWatchlist(join(dir, "watch.jsonc"));
    const f = new InterestFinder(w);
    f.see(row({ localPort: 4444, processName: "ncat", user: "TEST\\guest" }));
    f.see(row({ processName: "sshd", processPath: "/tmp/sshd" }));
    assert.deepEqual(new Set(f.findings().map((x) => x.kind)), new Set(["port", "process", "user", "path"]));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
