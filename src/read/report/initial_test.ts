import assert from "node:assert/strict";
import { join } from "node:path";
import type { ReadStats } from "./lines.ts";
import { readInitial, withInitialOwners } from "./initial.ts";
import type { ReportRow } from "./rows.ts";

const stats = (): ReadStats => ({ files: 0, lines: 0, skipped: 0 });

Deno.test("PR-INITIAL process entries: endpoints with their owners; the readers' table rows get path and services", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = join(dir, "PR-INITIAL-26-11-26-10-0-0.log");
    Deno.writeTextFileSync(
      path,
      "Port Reporter Version 1.01 Log File\n\nService initialization log\n\nActive endpoints: 3\n\n" +
        "  Proto  Local Address  Foreign Address  State  PID  Process  User\n  TCP    0.0.0.0:22  0.0.0.0:0  LISTENING  7  sshd  root\n\n" +
        "Processes: 1\n\nPID: 1044\nProcess: svchost.exe\nPath: C:\\\\Users\\\\x\\x2cy\\\\svchost.exe\nUser context: <NT AUTHORITY\\\\SYSTEM>\n" +
        "Services: Dnscache, NlaSvc\nPorts:\n  TCP 0.0.0.0:135 0.0.0.0:0 LISTEN\n  UDP [::1]:5353 *:*\n  TCP [2001:db8::1]:50000 [2001:db8::2]:443 ESTABLISHED\n" +
        "Modules: 1\n  0x400000 4096 C:\\\\Windows\\\\System32\\\\svchost.exe\n",
    );
    const initial = readInitial(path, stats());
    assert.deepEqual(
      initial.map((e) => [e.protocol, e.localAddress, e.localPort, e.remoteAddress, e.remotePort, e.state]),
      [
        ["tcp", "0.0.0.0", 135, "0.0.0.0", 0, "LISTEN"],
        ["udp", "::1", 5353, "::", 0, null],
        ["tcp", "2001:db8::1", 50000, "2001:db8::2", 443, "ESTABLISHED"],
      ],
    );
    assert.deepEqual([
      initial[0].pid,
      initial[0].processName,
      initial[0].processPath,
      initial[0].user,
      initial[0].services,
    ], [
      1044,
      "svchost.exe",
      "C:\\Users\\x,y\\svchost.exe",
      "NT AUTHORITY\\SYSTEM",
      ["Dnscache", "NlaSvc"],
    ]);
    // the readers' rows of the endpoint table get the path and services of their process entry
    const rows = async function* () {
      yield { type: "marker", event: "set-start", time: 100 } as ReportRow & { initial?: boolean };
      yield {
        ...initial[0],
        time: 100,
        initial: true,
        source: { file: path },
        processPath: undefined,
        services: undefined,
      };
    };
    const out = [];
    for await (const r of withInitialOwners(rows())) out.push(r);
    assert.equal(out[1].type === "change" && out[1].processPath, "C:\\Users\\x,y\\svchost.exe");
    assert.deepEqual(out[1].type === "change" && out[1].services, ["Dnscache", "NlaSvc"]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
