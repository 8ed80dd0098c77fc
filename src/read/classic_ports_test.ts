import assert from "node:assert/strict";
import { join } from "node:path";
import { escapeField, escapeUser } from "../model/text.ts";
import { decodeClassicLine, rowFromPortsLine } from "./classic_ports.ts";
import { readRows } from "./events.ts";
import { listLogSets } from "./sets.ts";
import { original101Ports, tempDir } from "../../test/read/logs.ts";
import type { ChangeRow } from "./rows.ts";

const src = { file: "PR-PORTS-05-07-6-13-44-4.log", line: 1, format: "classic" as const };

Deno.test("classic: the three published 1.01 lines read back field by field", () => {
  const z = "Europe/Berlin";
  const a = rowFromPortsLine(
    "05/7/6,13:52:1,TCP,3389,0.0.0.0,,0.0.0.0,1096,svchost.exe,<NT AUTHORITY\\SYSTEM>",
    src,
    z,
  )!;
  assert.equal(a.time, Date.parse("2005-07-06T11:52:01Z"));
  assert.deepEqual(
    [
      a.event,
      a.protocol,
      a.family,
      a.localAddress,
      a.localPort,
      a.remoteAddress,
      a.remotePort,
      a.state,
      a.pid,
    ],
    ["opened", "tcp", 4, "0.0.0.0", 3389, "0.0.0.0", 0, "LISTEN", 1096],
  );
  assert.equal(a.processName, "svchost.exe");
  assert.equal(a.user, "NT AUTHORITY\\SYSTEM"); // a 1.01 backslash that starts no escape stays
  const b = rowFromPortsLine(
    "05/7/6,13:52:2,TCP,3389,172.16.16.150,1486,172.16.16.100,1096,svchost.exe,<NT AUTHORITY\\SYSTEM>",
    src,
    z,
  )!;
  assert.deepEqual([b.remoteAddress, b.remotePort, b.state], ["172.16.16.100", 1486, "ESTABLISHED"]);
  const c = rowFromPortsLine(
    "05/7/6,13:52:4,UDP,1088,0.0.0.0,*,*,1540,rdpclip.exe,<TEST\\Administrator>",
    src,
    z,
  )!;
  assert.deepEqual([c.protocol, c.remoteAddress, c.remotePort, c.state, c.pid], [
    "udp",
    "0.0.0.0",
    0,
    null,
    1540,
  ]);
  assert.equal(c.user, "TEST\\Administrator");
});

Deno.test("classic: padded or not, four-digit years, the Windows 2000 variant, IPv6, headers skipped", () => {
  const r = rowFromPortsLine("2005/07/06,09:05:07,tcp,80,::1,,::,4,System,<x>", src, "UTC")!;
  assert.equal(r.time, Date.parse("2005-07-06T09:05:07Z"));
  assert.deepEqual([r.family, r.remoteAddress, r.state], [6, "::", "LISTEN"]);
  const w2k = rowFromPortsLine("05/7/6,13:52:1,TCP,139,10.0.0.5,,0.0.0.0", src, "UTC")!;
  assert.deepEqual([w2k.pid, w2k.processName, w2k.user], [0, undefined, undefined]);
  for (
    const header of [
      "Port Reporter Version 1.01 Log File - Port usage log",
      "Log format:",
      "",
      "date,time,protocol,local port",
    ]
  ) {
    assert.equal(rowFromPortsLine(header, src, "UTC"), undefined);
  }
  assert.equal(rowFromPortsLine("05/13/6,13:52:1,TCP,80,1.2.3.4,,0.0.0.0,1,a,<b>", src, "UTC"), undefined);
  assert.equal(rowFromPortsLine("05/7/6,13:52:1,TCP,99999,1.2.3.4,,0.0.0.0,1,a,<b>", src, "UTC"), undefined);
  assert.equal(rowFromPortsLine("05/7/6,13:52:1,TCP,80,not-an-ip,,0.0.0.0,1,a,<b>", src, "UTC"), undefined);
});

Deno.test("classic: hostile values escaped by our writer read back exactly", () => {
  const name = "evil,\n\x1b[31mred\\x2c\u2028\udcff.exe";
  const user = "DOM\\<ad,min>\x00";
  const line = `26/11/26,4:43:5,TCP,8765,127.0.0.1,,0.0.0.0,7,${escapeField(name)},<${escapeUser(user)}>`;
  assert.ok(!line.includes("\n") && line.split(",").length === 10, "one line, ten fields");
  const r = rowFromPortsLine(line, src, "UTC")!;
  assert.equal(r.processName, name);
  assert.equal(r.user, user);
});

Deno.test("classic: a 1.01 account or module with a comma (never escaped) keeps its user context", () => {
  const r = rowFromPortsLine(
    "05/7/6,13:52:1,TCP,80,1.2.3.4,,0.0.0.0,9,my,app.exe,<CORP\\Smith, John>",
    src,
    "UTC",
  )!;
  assert.equal(r.processName, "my,app.exe");
  assert.equal(r.user, "CORP\\Smith, John");
});

Deno.test("classic: ANSI (Windows-1252) and UTF-8 lines both decode", () => {
  const ansi = new Uint8Array([
    ...new TextEncoder().encode("05/7/6,1:2:3,TCP,80,1.2.3.4,,0.0.0.0,9,caf"),
    0xe9,
    ...new TextEncoder().encode(".exe,<M"),
    0xfc,
    0x6c,
    0x6c,
    0x65,
    0x72,
    0x3e,
  ]);
  const r = rowFromPortsLine(decodeClassicLine(ansi), src, "UTC")!;
  assert.equal(r.processName, "café.exe");
  assert.equal(r.user, "Müller");
  const utf8 = new TextEncoder().encode("05/7/6,1:2:3,TCP,80,1.2.3.4,,0.0.0.0,9,café.exe,<Müller>");
  assert.equal(rowFromPortsLine(decodeClassicLine(utf8), src, "UTC")!.user, "Müller");
});

Deno.test("classic: a whole original 1.01 set (CRLF, unpadded stamp) is read when it is all there is", async () => {
  const dir = await tempDir();
  try {
    const stamp = "05-07-6-13-44-4";
    await Deno.writeTextFile(
      join(dir, `PR-PORTS-${stamp}.log`),
      original101Ports(stamp, [
        "05/7/6,13:52:1,TCP,3389,0.0.0.0,,0.0.0.0,1096,svchost.exe,<NT AUTHORITY\\SYSTEM>",
        "05/7/6,13:52:2,TCP,3389,172.16.16.150,1486,172.16.16.100,1096,svchost.exe,<NT AUTHORITY\\SYSTEM>",
        "05/7/6,13:52:4,UDP,1088,0.0.0.0,*,*,1540,rdpclip.exe,<TEST\\Administrator>",
      ]),
    );
    await Deno.writeTextFile(join(dir, `PR-PIDS-${stamp}.log`), "Port Reporter Version 1.01 Log File\r\n");
    const sets = await listLogSets(dir, { timeZone: "Europe/Berlin" });
    assert.equal(sets.length, 1);
    assert.equal(sets[0].primary?.kind, "PORTS");
    assert.equal(sets[0].start, Date.parse("2005-07-06T11:44:04Z"));
    const rows: ChangeRow[] = [];
    for await (const r of readRows(sets, { timeZone: "Europe/Berlin" })) {
      if (r.type === "change") rows.push(r);
    }
    assert.deepEqual(rows.map((r) => [r.localPort, r.pid, r.processName, r.source.line]), [
      [3389, 1096, "svchost.exe", 7],
      [3389, 1096, "svchost.exe", 8],
      [1088, 1540, "rdpclip.exe", 9],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
