/**
 * The hostile-process suite: real processes with hostile executable names, paths, argv and user
 * names, each holding a real TCP connection; the real monitor (`portreporter run` as a child
 * process) and `portreporter snapshot`; the files read back and checked byte by byte. Nobody can be
 * blinded (every poll logs everyone), nothing can be forged (one line per record, ten fields, one
 * entry per process, no terminal control), and every value reads back to the original bytes.
 */
import assert from "node:assert/strict";
import { encodeText, unescapeField } from "../../src/model/text.ts";
import { FIELD_CAPS } from "../../src/log/bounds.ts";
import { waitFor } from "../helpers.ts";
import { type Arg, bytes, type Hostile, monitorCommand, readLogBytes, startHostile } from "./hostile.ts";

const strict = new TextDecoder("utf-8", { fatal: true });
const SCRIPT = (port: number) => `exec 3<>/dev/tcp/127.0.0.1/${port}; echo ready; read -r _`;
const FORGED_LINE = "evil,6666,<root>\n26/11/26,4:43:5,TCP,22,0.0.0.0,,0.0.0.0,1,sshd,<root>";
const FORGED_ENTRY = "\nLogged: 26/11/26,4:43:5\nPID: 1\nProcess: sshd";

/** What one case starts and what its PR-PORTS module field and PR-PIDS lines must be, byte for byte. */
interface Case {
  exe: Uint8Array;
  args: Arg[];
  uid?: number;
  /** The module field, escaped, exactly. */
  module: string;
  /** The user context field, exactly. */
  user?: string;
  /** The escaped command line after `<argv0> -c <script>`, exactly. */
  tail?: string;
}

const CASES: Record<string, Case> = {
  notUtf8: { exe: bytes("py", [0xff]), args: [bytes("py", [0xff])], module: "py\\xff" },
  commas: { exe: bytes("a,b,c"), args: [bytes("a,b,c")], module: "a\\x2cb\\x2cc" },
  controls: {
    exe: bytes("x\ny\x1b[31m\x07\rz"),
    args: [bytes("x\ny\x1b[31m\x07\rz")],
    module: "x\\x0ay\\x1b[31m\\x07\\x0dz",
  },
  c1: {
    exe: bytes("c1", [0x9b], "\u009b\u2028\u0085"),
    args: [bytes("c1")],
    module: "c1\\x9b\\u009b\\u2028\\u0085",
  },
  forgedLine: {
    exe: bytes(FORGED_LINE),
    args: [bytes(FORGED_LINE)],
    module: "26\\x2c4:43:5\\x2cTCP\\x2c22\\x2c0.0.0.0\\x2c\\x2c0.0.0.0\\x2c1\\x2csshd\\x2c<root>",
  },
  forgedEntry: {
    exe: bytes("innocent"),
    args: [bytes("innocent"), bytes(FORGED_ENTRY), bytes("--password=Hunter2"), bytes("\x1b]0;owned\x07")],
    module: "innocent",
    tail: " \\x0aLogged: 26/11/26\\x2c4:43:5\\x0aPID: 1\\x0aProcess: sshd --password=*** \\x1b]0;owned\\x07",
  },
  stall: {
    exe: bytes("stall"),
    args: [bytes("stall"), ...Array(8).fill({ repeat: "a.", times: 65535 })],
    module: "stall",
  },
};

/** Started before the monitor: its entry is in PR-INITIAL. */
const EARLY: Case = {
  exe: bytes("early,\nPID: 1\nProcess: sshd"),
  args: [bytes("early")],
  module: "early\\x2c\\x0aPID: 1\\x0aProcess: sshd",
};

const USER_CASE: Case = {
  exe: bytes("as-user"),
  args: [bytes("as-user")],
  uid: 4242,
  module: "as-user",
  user: "<ev\\x2cil\\x3ca\\x3cb\\x3ec\\x3e\\xff>",
};
const HOSTILE_USER = bytes("ev,il<a<b>c>", [0xff]);

/** Text of log bytes: they must be valid UTF-8, with no control character but the line feed. */
function cleanText(name: string, data: Uint8Array): string {
  const text = strict.decode(data); // throws on any raw byte that is not UTF-8
  // deno-lint-ignore no-control-regex
  const bad = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]/.exec(text);
  assert.equal(bad, null, `${name}: raw control U+${bad?.[0].charCodeAt(0).toString(16)} at ${bad?.index}`);
  return text;
}

/** PR-PORTS: every data line is one record of exactly ten fields. */
function portsLines(text: string): string[] {
  const body = text.split("\n").filter((l) => /^\d\d\/\d{1,2}\/\d{1,2},/.test(l));
  const other = text.split("\n").filter((l) => l !== "" && !body.includes(l));
  for (const line of other) {
    assert.match(line, /^(Port Reporter|Check PR-PIDS|Time zone: |Log format:|date,time,)/, line);
  }
  for (const line of body) {
    assert.equal(line.split(",").length, 10, `ten fields: ${line}`);
    assert.match(
      line,
      /^\d\d\/\d{1,2}\/\d{1,2},\d{1,2}:\d{1,2}:\d{1,2},(TCP|UDP),\d+,[^,]+,(\d*|\*),[^,]+,\d+,[^,]+,<[^<>]*>$/,
    );
  }
  return body;
}

/** The PR-PIDS entry of `pid`, as lines; every entry has one Logged, one PID, Ports and Modules. */
function pidsEntry(text: string, pid: number): string[] {
  const entries = text.split("\n\n").map((e) => e.replace(/^\n+/, "")).filter((e) =>
    e.startsWith("Logged: ")
  );
  for (const entry of entries) {
    const lines = entry.split("\n");
    assert.equal(lines.filter((l) => l.startsWith("Logged: ")).length, 1, entry);
    assert.equal(lines.filter((l) => l.startsWith("PID: ")).length, 1, entry);
    assert.ok(lines[1].startsWith("PID: ") && lines[2].startsWith("Process: "), entry);
    assert.ok(lines.includes("Ports:") && lines.some((l) => l.startsWith("Modules: ")), entry);
  }
  const mine = entries.filter((e) => e.split("\n")[1] === `PID: ${pid}`);
  assert.equal(mine.length, 1, `one entry for pid ${pid}`);
  return mine[0].split("\n");
}

/** The `Key: value` of an entry. */
function entryValue(lines: string[], key: string): string {
  const line = lines.find((l) => l.startsWith(`${key}: `));
  assert.ok(line, `${key} in ${lines.join("\n")}`);
  return line.slice(key.length + 2);
}

/** The exact command line bytes of a case, as /proc/<pid>/cmdline holds them. */
function argvBytes(c: Case, port: number): Uint8Array {
  const parts: Uint8Array[] = [c.args[0] as Uint8Array, bytes("-c"), bytes(SCRIPT(port))];
  for (const arg of c.args.slice(1)) {
    parts.push(arg instanceof Uint8Array ? arg : bytes(arg.repeat.repeat(arg.times)));
  }
  return bytes(...parts.flatMap((p) => [p, [0]]));
}

/** Checks the PR-PORTS line, the PR-PIDS entry and the PR-EVENTS record of one hostile process. */
function checkProcess(logs: Record<string, string>, c: Case, h: Hostile, port: number): void {
  const user = c.user ?? "<root>";
  const mine = portsLines(logs.PORTS).filter((l) =>
    l.includes(`,TCP,${h.localPort},127.0.0.1,${port},127.0.0.1,`)
  );
  assert.deepEqual(mine.map((l) => l.split(",").slice(7).join(",")), [`${h.pid},${c.module},${user}`]);
  const module = mine[0].split(",")[8];
  assert.deepEqual(encodeText(unescapeField(module)), c.exe.subarray(c.exe.lastIndexOf(0x2f) + 1));

  const entry = pidsEntry(logs.PIDS, h.pid);
  assert.equal(entryValue(entry, "Process"), c.module);
  assert.deepEqual(encodeText(unescapeField(entryValue(entry, "Path"))), h.exe);
  assert.equal(entryValue(entry, "User context"), user);
  const firstModule = entry[entry.findIndex((l) => l.startsWith("Modules: ")) + 1];
  assert.deepEqual(encodeText(unescapeField(firstModule.split(" ").slice(4).join(" "))), h.exe, firstModule);
  const commandLine = entryValue(entry, "Command line");
  if (c.tail !== undefined) assert.ok(commandLine.endsWith(` -c ${SCRIPT(port)}${c.tail}`), commandLine);
  if (c.args.length === 1) {
    const argv0 = c.args[0] as Uint8Array;
    assert.deepEqual(encodeText(unescapeField(commandLine)), bytes(argv0, ` -c ${SCRIPT(port)}`));
  }

  const events = logs.EVENTS.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
  const opened = events.filter((e) => e.event === "opened" && e.localPort === h.localPort && e.pid === h.pid);
  assert.equal(opened.length, 1);
  assert.deepEqual(encodeText(opened[0].processPath), h.exe);
  // the command line is in the set's `process` record of the instance, not repeated in each change
  assert.equal(opened[0].commandLine, undefined);
  const described = events.find((e) => e.event === "process" && e.pid === h.pid);
  assert.equal(described?.commandLine, unescapeField(commandLine));
}

/** Runs the monitor and every case; returns the logs (as checked text) and the snapshot table. */
async function runSuite(cases: Case[], passwd?: string, early?: Case) {
  const dir = Deno.makeTempDirSync({ prefix: "portreporter-hostile-" });
  const logDir = `${dir}/logs`;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const started: Hostile[] = [];
  if (early !== undefined) { // already running at start: it is in PR-INITIAL
    started.push(await startHostile({ dir, relativeExe: early.exe, args: early.args, listener }));
  }
  const monitor = monitorCommand(["run", "--log-dir", logDir, "--interval", "200"], passwd, "null").spawn();
  const stderr = new Response(monitor.stderr).text();
  try {
    await waitFor("the first log set", () => (readLogBytes(logDir).INITIAL ? true : undefined));
    for (const c of cases) {
      started.push(await startHostile({ dir, relativeExe: c.exe, args: c.args, listener, uid: c.uid }));
    }
    // Someone else opens a port after them: nobody is blinded by them.
    const late = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const latePort = (late.addr as Deno.NetAddr).port;
    await waitFor(`every hostile connection and the late listener in PR-PORTS (${logDir})`, () => {
      const ports = new TextDecoder().decode(readLogBytes(logDir).PORTS ?? new Uint8Array());
      const seen = started.slice(early === undefined ? 0 : 1).every((h) =>
        ports.includes(`,TCP,${h.localPort},127.0.0.1,${port},127.0.0.1,${h.pid},`)
      );
      return seen && ports.includes(`,TCP,${latePort},127.0.0.1,,0.0.0.0,${Deno.pid},`) ? true : undefined;
    });
    late.close();
    const snapshot = await monitorCommand(["snapshot"], passwd).output();
    const json = await monitorCommand(["snapshot", "--json"], passwd).output();
    monitor.kill("SIGTERM");
    const status = await monitor.status;
    assert.equal(status.code, 0, await stderr);
    assert.equal(snapshot.code, 0, new TextDecoder().decode(snapshot.stderr));
    const raw = readLogBytes(logDir);
    const logs: Record<string, string> = {};
    for (const [kind, data] of Object.entries(raw)) logs[kind] = cleanText(kind, data);
    const table = cleanText("snapshot", snapshot.stdout);
    assert.equal(json.code, 0, new TextDecoder().decode(json.stderr));
    const processes: { pid: number; name: string; path?: string }[] =
      JSON.parse(cleanText("snapshot --json", json.stdout)).processes;
    return { logs, table, started, port, processes };
  } finally {
    for (const h of started) await h.stop();
    listener.close();
    try {
      monitor.kill("SIGKILL");
    } catch {
      // stopped
    }
    await monitor.status;
    await stderr;
    Deno.removeSync(dir, { recursive: true });
  }
}

/** The `snapshot` row of the connection from 127.0.0.1:`port` to 127.0.0.1:`peer`. */
function snapshotRow(table: string, port: number, peer: number): string | undefined {
  return table.split("\n").find((l) => {
    const cells = l.trim().split(/\s+/);
    return cells[1] === `127.0.0.1:${port}` && cells[2] === `127.0.0.1:${peer}` && cells[3] === "ESTABLISHED";
  });
}

/** PR-INITIAL: the table row and the one entry of a process that was running at start, exactly. */
function checkInitial(text: string, c: Case, h: Hostile, port: number): void {
  const row = snapshotRow(text, h.localPort, port);
  const literal = c.module.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
  assert.match(row ?? "", new RegExp(`ESTABLISHED +${h.pid} +${literal} +root$`));
  const entries = text.split("\n\n").map((e) => e.replace(/^\n+/, "")).filter((e) => e.startsWith("PID: "));
  for (const entry of entries) {
    const lines = entry.split("\n");
    assert.equal(lines.filter((l) => l.startsWith("PID: ")).length, 1, entry);
    assert.ok(lines[1].startsWith("Process: ") && lines.includes("Ports:"), entry);
  }
  const mine = entries.filter((e) => e.startsWith(`PID: ${h.pid}\n`)).map((e) => e.split("\n"));
  assert.equal(mine.length, 1);
  assert.equal(entryValue(mine[0], "Process"), c.module);
  assert.deepEqual(encodeText(unescapeField(entryValue(mine[0], "Path"))), h.exe);
}

/** Checks the invariants that hold for every log set, whatever the processes were. */
function checkSet(logs: Record<string, string>, table: string): void {
  const ports = portsLines(logs.PORTS);
  const events = logs.EVENTS.split("\n").filter((l) => l !== "");
  assert.equal(
    logs.EVENTS.split(/\r\n|[\n\r\u0085\u2028\u2029]/).filter((l) => l !== "").length,
    events.length,
  );
  const opened = events.map((l) => JSON.parse(l)).filter((e) => e.event === "opened");
  assert.equal(ports.length, opened.length, "one PR-PORTS line per opened endpoint, no more");
  for (const text of [logs.PORTS, logs.PIDS, logs.INITIAL, table]) {
    assert.ok(!text.includes("TCP,22,0.0.0.0,,0.0.0.0,1,sshd,<root>"), "no forged PR-PORTS line");
    assert.ok(!/^PID: 1\nProcess: sshd$/m.test(text), "no forged PR-PIDS entry");
  }
  const rows = table.split("\n").filter((l) => l !== "");
  assert.match(rows[0], /^ {2}Proto +Local Address/);
  for (const row of rows.slice(1)) assert.match(row, /^ {2}(TCP|UDP) /, `one row per endpoint: ${row}`);
}

Deno.test({
  name: "hostile names, paths and argv: every process logged, nothing forged, every byte read back",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const cases = Object.values(CASES);
    const { logs, table, started: all, port, processes } = await runSuite(cases, undefined, EARLY);
    const [early, ...started] = all;
    for (const h of all) { // snapshot --json: valid JSON without a raw control, the exact bytes
      assert.deepEqual(encodeText(processes.find((p) => p.pid === h.pid)?.path ?? ""), h.exe);
    }
    checkSet(logs, table);
    checkInitial(logs.INITIAL, EARLY, early, port);
    cases.forEach((c, i) => checkProcess(logs, c, started[i], port));
    for (const [i, c] of cases.entries()) {
      const row = snapshotRow(table, started[i].localPort, port);
      assert.deepEqual(row?.trim().split(/\s+/).slice(3), [
        "ESTABLISHED",
        `${started[i].pid}`,
        c.module,
        "root",
      ]);
    }
    for (const text of Object.values(logs)) assert.ok(!text.includes("Hunter2"), "no secret in any log");

    // The argv that stalled polling: its start is logged up to the flood cap, the rest is counted exactly.
    const stall = started[cases.indexOf(CASES.stall)];
    const argv = argvBytes(CASES.stall, port);
    const logged = entryValue(pidsEntry(logs.PIDS, stall.pid), "Command line");
    const m = /^(.*)…\[cut (\d+) bytes\]$/.exec(logged);
    assert.ok(m, logged.slice(-100));
    const kept = new TextEncoder().encode(m[1]).length;
    assert.ok(kept > 1024 && kept <= FIELD_CAPS.commandLine, `${kept} bytes kept`);
    assert.equal(m[1], new TextDecoder().decode(argv.subarray(0, kept).map((b) => b === 0 ? 0x20 : b)));
    assert.equal(kept + Number(m[2]), argv.length, "every byte cut is counted");
  },
});

Deno.test({
  name: "a hostile user name keeps the <user context> field unambiguous (root: a private mount namespace)",
  ignore: Deno.uid?.() !== 0,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const passwd = Deno.makeTempFileSync({ prefix: "portreporter-passwd-" });
    try {
      Deno.writeFileSync(
        passwd,
        bytes(Deno.readFileSync("/etc/passwd"), HOSTILE_USER, ":x:4242:4242::/:/bin/sh\n"),
      );
      const { logs, table, started, port } = await runSuite([USER_CASE], passwd);
      checkSet(logs, table);
      checkProcess(logs, USER_CASE, started[0], port);
      const user = portsLines(logs.PORTS).find((l) => l.includes(`,${started[0].pid},`))!.split(",")[9];
      assert.deepEqual(encodeText(unescapeField(user.slice(1, -1))), HOSTILE_USER);
      const row = snapshotRow(table, started[0].localPort, port);
      assert.deepEqual(row?.trim().split(/\s+/).slice(5), ["as-user", "ev\\x2cil<a<b>c>\\xff"]);
    } finally {
      Deno.removeSync(passwd);
    }
  },
});
