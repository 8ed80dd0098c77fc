import assert from "node:assert/strict";
import { endpointTable, portsLine, processEntry } from "./classic.ts";
import { alertRecord, eventRecord } from "./jsonl.ts";
import { LocalTime } from "./local_time.ts";
import type { Change, ProcessInfo, SocketRecord } from "../model/types.ts";
import { unescapeField } from "../model/text.ts";

const time = new LocalTime("UTC").parts(Date.parse("2026-11-26T04:43:05Z"));
const FORGED_NAME = "evil,6666,<root>\n26/11/26,4:43:5,TCP,22,0.0.0.0,,0.0.0.0,1,sshd,<root>";
const FORGED_ARGV = "x \nLogged: 26/11/26,4:43:5\nPID: 1\nProcess: sshd\r\x1b]0;owned\x07";
const listener: SocketRecord = {
  protocol: "tcp",
  family: 4,
  localAddress: "127.0.0.1",
  localPort: 6666,
  remoteAddress: "0.0.0.0",
  remotePort: 0,
  state: "LISTEN",
  pid: 4242,
};
const hostile: ProcessInfo = {
  pid: 4242,
  name: FORGED_NAME,
  path: `/tmp/${FORGED_NAME}\udcff`,
  commandLine: FORGED_ARGV,
  user: "<a<b>c>",
  parentPid: 1,
  parentName: "sh\u2028",
  modules: [{ name: "x.so", path: "/tmp/x,\n.so", baseAddress: "0x1000", size: 4096 }],
  services: ["a,b", "c"],
};

Deno.test("a forged name cannot add a PR-PORTS line or field; every part reads back", () => {
  const line = portsLine(time, listener, hostile);
  assert.equal(
    line,
    "26/11/26,4:43:5,TCP,6666,127.0.0.1,,0.0.0.0,4242," +
      "evil\\x2c6666\\x2c<root>\\x0a26/11/26\\x2c4:43:5\\x2cTCP\\x2c22\\x2c0.0.0.0\\x2c\\x2c0.0.0.0\\x2c1\\x2csshd\\x2c<root>," +
      "<\\x3ca\\x3cb\\x3ec\\x3e>",
  );
  const fields = line.split(",");
  assert.equal(fields.length, 10);
  assert.equal(unescapeField(fields[8]), FORGED_NAME);
  assert.equal(unescapeField(fields[9].slice(1, -1)), "<a<b>c>");
  assert.equal(portsLine(time, listener, { ...hostile, user: "ev,il" }).split(",").length, 10);
});

Deno.test("a forged command line cannot start a PR-PIDS entry or reach the terminal", () => {
  const entry = processEntry(hostile, [listener], time);
  const lines = entry.split("\n");
  assert.equal(lines.filter((l) => l.startsWith("PID: ")).length, 1);
  assert.equal(lines.filter((l) => l.startsWith("Logged: ")).length, 1);
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(entry, /[\x00-\x09\x0b-\x1f\x7f\u2028]/);
  const value = (key: string) => unescapeField(lines.find((l) => l.startsWith(key))!.slice(key.length));
  assert.equal(value("Command line: "), FORGED_ARGV);
  assert.equal(value("Process: "), FORGED_NAME);
  assert.equal(value("Path: "), hostile.path);
  assert.equal(lines.find((l) => l.startsWith("Parent PID: ")), "Parent PID: 1 (sh\\u2028)");
  assert.equal(lines.find((l) => l.startsWith("Services: ")), "Services: a\\x2cb, c");
  assert.ok(lines.includes("  0x1000 4096 /tmp/x\\x2c\\x0a.so"));
});

Deno.test("the endpoint table escapes names and users", () => {
  const table = endpointTable([listener], new Map([[4242, hostile]]));
  assert.equal(table.split("\n").length, 3); // head, one row, the final line end
  assert.ok(table.includes("evil\\x2c6666\\x2c<root>\\x0a26/11/26"));
  assert.ok(table.endsWith("<a<b>c>\n"));
});

Deno.test("JSON Lines: one record per line for line-splitting readers, values exact", () => {
  const change: Change = {
    kind: "opened",
    time: 0,
    socket: listener,
    process: { ...hostile, name: "a\u2028b\u2029c\u0085d" },
    firstSeen: 0,
  };
  const event = eventRecord(change, "h");
  const alert = alertRecord({ time: 0, pluginId: "p", severity: "info", message: "m\u2028", change }, "h");
  for (const line of [event, alert]) {
    assert.doesNotMatch(line, /[\n\r\u0085\u2028\u2029]/);
    assert.equal(line.split(/\r\n|[\n\r\u0085\u2028\u2029]/).length, 1);
  }
  assert.equal(JSON.parse(event).processName, "a\u2028b\u2029c\u0085d");
  assert.equal(JSON.parse(event).processPath, hostile.path); // the bad byte as \udcff
  assert.equal(JSON.parse(alert).change.commandLine, FORGED_ARGV);
});
