/**
 * Values that cannot be decoded (lab only). What wine can produce: a command line with unpaired UTF-16
 * surrogates, a line break and a C1 control, passed by CreateProcessW (Deno.Command cannot pass such a
 * string) to a process created suspended (so nothing parses it), whose image is a copy of deno.exe under a
 * hostile but creatable name (a comma, U+FFFE). What wine cannot produce: a FILE name with an unpaired
 * surrogate (CreateFileW and CopyFileW answer ERROR_FILE_NOT_FOUND, measured), so an image path with one is
 * covered by the pure decoding tests (command_line_test.ts: UTF-16 units are kept as they are).
 *
 * The collector meets these for real: the field carries the lone surrogate untouched and unreplaced, the
 * other details of the process are read, nothing throws, and the escaping grammar of src/model/text.ts
 * (which the log writers apply) writes it as `\ud800`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { escapeField } from "../../src/model/text.ts";
import { ProcessDetails } from "../../src/platform/windows/process.ts";
import { CHILD_FLAGS, ignore } from "./lab_util.ts";

const wz = (s: string) => {
  const b = new Uint16Array(s.length + 1);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
};

/** The test's own kernel32 calls (process creation is not something the product does). */
const SYMBOLS = {
  CopyFileW: { parameters: ["buffer", "buffer", "i32"], result: "i32" },
  DeleteFileW: { parameters: ["buffer"], result: "i32" },
  CreateProcessW: {
    parameters: [
      "buffer",
      "buffer",
      "pointer",
      "pointer",
      "i32",
      "u32",
      "pointer",
      "pointer",
      "buffer",
      "buffer",
    ],
    result: "i32",
  },
  TerminateProcess: { parameters: ["pointer", "u32"], result: "i32" },
  WaitForSingleObject: { parameters: ["pointer", "u32"], result: "u32" },
  CloseHandle: { parameters: ["pointer"], result: "i32" },
  GetLastError: { parameters: [], result: "u32" },
} as const;

/** CREATE_SUSPENDED | CREATE_NO_WINDOW. */
const FLAGS = 0x4 | 0x08000000;

Deno.test({
  name: "hostile names: lone surrogates and line breaks in another process's command line",
  ignore,
}, async () => {
  const k32 = Deno.dlopen("kernel32.dll", SYMBOLS).symbols;
  const tmp = await Deno.makeTempDir({ prefix: "pr-hostile-" });
  const exe = join(tmp, "de,\uFFFEno.exe");
  const d = new ProcessDetails();
  let process: Deno.PointerValue = null;
  try {
    assert.ok(k32.CopyFileW(wz(Deno.execPath()), wz(exe), 0), `CopyFileW: ${k32.GetLastError()}`);
    const script = new URL("./socket_helper.ts", import.meta.url).href;
    const hostile = "tag\uDC01x \uD800 two\nlines \u0085c1";
    const cmd = `"${exe}" run ${CHILD_FLAGS.join(" ")} ${script} ${hostile}`;
    const si = new Uint8Array(104); // STARTUPINFOW (x64)
    new DataView(si.buffer).setUint32(0, 104, true);
    const pi = new Uint8Array(24); // PROCESS_INFORMATION: hProcess, hThread, pid, tid
    assert.ok(
      k32.CreateProcessW(wz(exe), wz(cmd), null, null, 0, FLAGS, null, null, si, pi),
      `CreateProcessW: ${k32.GetLastError()}`,
    );
    const pv = new DataView(pi.buffer);
    process = Deno.UnsafePointer.create(pv.getBigUint64(0, true));
    k32.CloseHandle(Deno.UnsafePointer.create(pv.getBigUint64(8, true)));
    const pid = pv.getUint32(16, true);
    const info = (await d.read([pid])).processes.get(pid)!;
    console.log(`hostile process: ${escapeField(info.path ?? "")} | ${escapeField(info.commandLine ?? "")}`);
    assert.ok(info.path?.endsWith("de,\uFFFEno.exe"), `path: ${escapeField(info.path ?? "")}`);
    assert.equal(info.name, "de,\uFFFEno.exe");
    assert.ok(info.commandLine?.endsWith(hostile), escapeField(info.commandLine ?? "(none)"));
    assert.ok(info.user, "the rest of the record is read");
    assert.equal(typeof info.startTime, "number");
    const escaped = escapeField(info.commandLine!);
    assert.ok(escaped.endsWith("tag\\udc01x \\ud800 two\\x0alines \\u0085c1"), escaped);
    assert.doesNotMatch(
      escaped,
      /[\uD800-\uDFFF\n\u0085]/,
      "nothing undecodable or line-breaking reaches a file",
    );
    assert.equal(escapeField(info.name), "de\\x2c\uFFFEno.exe");
  } finally {
    if (process) {
      k32.TerminateProcess(process, 1);
      k32.WaitForSingleObject(process, 10_000);
      k32.CloseHandle(process);
    }
    d.close();
    k32.DeleteFileW(wz(exe));
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});
