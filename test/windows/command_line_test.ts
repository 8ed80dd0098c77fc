/**
 * Command lines of other wine processes (lab only): wine 10 answers class 60 with
 * STATUS_INVALID_INFO_CLASS, so this is the PEB route, end to end, on a real second process.
 */
import assert from "node:assert/strict";
import { kernel32 } from "../../src/platform/windows/ffi/kernel32.ts";
import {
  queryCommandLine,
  readCommandLine,
  windowsCommandLineCalls,
} from "../../src/platform/windows/command_line.ts";
import { PROCESS_QUERY_LIMITED_INFORMATION } from "../../src/platform/windows/layouts.ts";
import { ProcessDetails } from "../../src/platform/windows/process.ts";
import { ignore, startHelper } from "./lab_util.ts";

Deno.test(
  { name: "command line: another process's argv through the PEB, secrets redacted", ignore },
  async () => {
    const helper = await startHelper(["--password", "pw-must-not-show", "a,b c", "ünïcødé", 'q"uote']);
    const K = kernel32();
    const h = K.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, helper.sockets.pid);
    const d = new ProcessDetails();
    try {
      assert.ok(h, "OpenProcess");
      const class60 = queryCommandLine(windowsCommandLineCalls, h);
      const raw = readCommandLine(helper.sockets.pid, h);
      assert.ok(raw, "a command line");
      if (class60 !== null) assert.equal(class60, raw, "class 60 and the PEB agree");
      assert.match(raw, /socket_helper\.ts/);
      assert.ok(raw.includes("--password pw-must-not-show"), raw);
      assert.ok(raw.includes('"a,b c"'), raw);
      assert.ok(raw.includes("ünïcødé"), raw);
      assert.ok(raw.includes('q\\"uote'), raw);
      const info = (await d.read([helper.sockets.pid])).processes.get(helper.sockets.pid)!;
      assert.ok(info.commandLine, JSON.stringify(info));
      assert.ok(!info.commandLine.includes("pw-must-not-show"), info.commandLine);
      assert.match(info.commandLine, /--password \*\*\* /);
      assert.ok(info.commandLine.includes("ünïcødé"));
    } finally {
      if (h) K.CloseHandle(h);
      d.close();
      await helper.stop();
    }
  },
);

Deno.test(
  { name: "command line: an exited process gives no command line and no throw", ignore },
  async () => {
    const helper = await startHelper();
    const K = kernel32();
    const h = K.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, helper.sockets.pid);
    try {
      await helper.kill();
      // the handle still refers to the exited process object: its memory is gone
      assert.equal(readCommandLine(helper.sockets.pid, h), undefined);
    } finally {
      if (h) K.CloseHandle(h);
    }
  },
);
