import assert from "node:assert/strict";
import { addPortsLine, initialHeader, pidsHeader, portsHeader, portsLine, processEntry } from "./classic.ts";
import { ByteBuffer } from "./byte_buffer.ts";
import { LocalTime } from "./local_time.ts";
import type { ProcessInfo, SocketRecord } from "../model/types.ts";

const utc = new LocalTime("UTC");
const at = (iso: string) => utc.parts(Date.parse(iso));
const svchost: ProcessInfo = { pid: 1096, name: "svchost.exe", user: "NT AUTHORITY\\SYSTEM" };
const tcp = (s: Partial<SocketRecord>): SocketRecord => ({
  protocol: "tcp",
  family: 4,
  localAddress: "0.0.0.0",
  localPort: 3389,
  remoteAddress: "0.0.0.0",
  remotePort: 0,
  state: "LISTEN",
  pid: 1096,
  ...s,
});

Deno.test("PR-PORTS lines reproduce the original log excerpt byte for byte", () => {
  assert.equal(
    portsLine(at("2005-07-06T13:52:01Z"), tcp({}), svchost),
    "05/7/6,13:52:1,TCP,3389,0.0.0.0,,0.0.0.0,1096,svchost.exe,<NT AUTHORITY\\SYSTEM>",
  );
  assert.equal(
    portsLine(
      at("2005-07-06T13:52:02Z"),
      tcp({
        localAddress: "172.16.16.150",
        remoteAddress: "172.16.16.100",
        remotePort: 1486,
        state: "ESTABLISHED",
      }),
      svchost,
    ),
    "05/7/6,13:52:2,TCP,3389,172.16.16.150,1486,172.16.16.100,1096,svchost.exe,<NT AUTHORITY\\SYSTEM>",
  );
  assert.equal(
    portsLine(
      at("2005-07-06T13:52:04Z"),
      { ...tcp({ localPort: 1088, pid: 1540 }), protocol: "udp", state: null },
      { pid: 1540, name: "rdpclip.exe", user: "TEST\\Administrator" },
    ),
    "05/7/6,13:52:4,UDP,1088,0.0.0.0,*,*,1540,rdpclip.exe,<TEST\\Administrator>",
  );
});

Deno.test("IPv6 listeners use ::, unknown owners are spelled out", () => {
  const line = portsLine(
    at("2026-01-02T03:04:05Z"),
    tcp({ family: 6, localAddress: "::1", remoteAddress: "::" }),
    undefined,
  );
  assert.equal(line, "26/1/2,3:4:5,TCP,3389,::1,,::,1096,unknown,<unknown>");
});

Deno.test("headers match the documented originals", () => {
  const start = at("2005-07-06T13:44:04Z");
  const host = { computerName: "TEST", osName: "Windows XP" };
  const detail = (title: string) =>
    `Port Reporter Version 1.01 Log File\n\n${title}\n\nSystem Date: Wed Jul 06 13:44:04 2005\n\n\nLocal computer name:\n\n TEST\n\nOperating System: Windows XP\n\n`;
  assert.equal(initialHeader(start, host), detail("Service initialization log"));
  assert.equal(pidsHeader(start, host), detail("Process detail log"));
  assert.equal(
    portsHeader("05-07-6-13-44-4"),
    "Port Reporter Version 1.01 Log File - Port usage log\n\nCheck PR-PIDS-05-07-6-13-44-4.log for corresponding process data\n\nLog format:\ndate,time,protocol,local port,local IP address,remote port,remote IP address,PID,module,user context\n",
  );
});

Deno.test("with a known zone, the headers name it on one added line", () => {
  const start = at("2005-07-06T13:44:04Z");
  const host = { computerName: "TEST", osName: "Windows XP", timeZone: "Europe/Berlin" };
  const zone = "Time zone: Europe/Berlin (the local time of every date and time in this file)\n\n";
  assert.ok(pidsHeader(start, host).endsWith("Operating System: Windows XP\n\n" + zone));
  assert.equal(
    portsHeader("05-07-6-13-44-4", host),
    "Port Reporter Version 1.01 Log File - Port usage log\n\nCheck PR-PIDS-05-07-6-13-44-4.log for corresponding process data\n\n" +
      zone +
      "Log format:\ndate,time,protocol,local port,local IP address,remote port,remote IP address,PID,module,user context\n",
  );
});

Deno.test("a process entry lists identity, services, ports and modules", () => {
  const entry = processEntry(
    {
      ...svchost,
      path: "C:\\WINDOWS\\system32\\svchost.exe",
      parentPid: 600,
      parentName: "services.exe",
      services: ["TermService"],
      modules: [{
        name: "ntdll.dll",
        path: "C:\\WINDOWS\\system32\\ntdll.dll",
        baseAddress: "0x7c900000",
        size: 729088,
      }],
    },
    [tcp({})],
    at("2005-07-06T13:52:01Z"),
  );
  assert.equal(
    entry,
    [
      "Logged: 05/7/6,13:52:1",
      "PID: 1096",
      "Process: svchost.exe",
      "Path: C:\\WINDOWS\\system32\\svchost.exe",
      "User context: <NT AUTHORITY\\SYSTEM>",
      "Parent PID: 600 (services.exe)",
      "Services: TermService",
      "Ports:",
      "  TCP 0.0.0.0:3389 0.0.0.0:0 LISTEN",
      "Modules: 1",
      "  0x7c900000 729088 C:\\WINDOWS\\system32\\ntdll.dll",
      "",
      "",
    ].join("\n"),
  );
});

Deno.test("addPortsLine: the bytes of portsLine, over many sockets, owners and seconds", () => {
  let state = 20261202;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(xs: T[]): T => xs[Math.floor(next() * xs.length)];
  const names = ["svchost.exe", "ev,il\nPR\x1b[31m", "ü", "\udc80", "a<b>c"];
  const owners: (ProcessInfo | undefined)[] = [undefined];
  for (const name of names) {
    owners.push({ pid: 7, name, user: pick([undefined, "NT AUTHORITY\\SYSTEM", "<x>,y"]) });
  }
  const out = new ByteBuffer();
  const decoder = new TextDecoder();
  for (let i = 0; i < 5000; i++) {
    const t = {
      year: 2000 + (i % 30),
      month: 1 + (i % 12),
      day: 1 + (i % 28),
      hour: i % 24,
      minute: i % 60,
      second: (i >> 2) % 60,
      weekday: 0,
    };
    const socket: SocketRecord = {
      protocol: pick(["tcp", "udp"] as const),
      family: pick([4, 6] as const),
      localAddress: pick(["127.0.0.1", "::1", "0.0.0.0", "fe80::1%eth0", "ü"]),
      localPort: Math.floor(next() * 65536),
      remoteAddress: pick(["10.0.0.1", "::", "2001:db8::5", "ü"]),
      remotePort: Math.floor(next() * 65536),
      state: pick(["ESTABLISHED", "LISTEN", null] as const),
      pid: Math.floor(next() * 100_000),
    };
    const owner = pick(owners);
    const start = out.length;
    addPortsLine(out, t, socket, owner);
    assert.equal(decoder.decode(out.view().subarray(start)), portsLine(t, socket, owner), `case ${i}`);
  }
});
