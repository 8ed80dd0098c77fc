/**
 * The command-line reader against an injected fake of ntdll/kernel32 (class 60 exists only on Windows
 * 8.1+, which the lab cannot show; the PEB route runs for real in test/windows/process_test.ts).
 */
import assert from "node:assert/strict";
import {
  type CommandLineCalls,
  commandLineField,
  LOGGED_COMMAND_LINE_BYTES,
  pebCommandLine,
  readCommandLine,
  utf16Units,
} from "./command_line.ts";
import {
  PEB,
  PROCESS_BASIC_INFORMATION,
  ProcessBasicInformation,
  ProcessCommandLineInformation,
  RTL_USER_PROCESS_PARAMETERS,
  STATUS_INFO_LENGTH_MISMATCH,
  STATUS_INVALID_INFO_CLASS,
  UNICODE_STRING,
} from "./layouts.ts";

function utf16(s: string): Uint8Array {
  const b = new Uint8Array(2 * s.length);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < s.length; i++) dv.setUint16(2 * i, s.charCodeAt(i), true);
  return b;
}

/** A fake process: class 60 answers like Windows (`modern`) or is unknown (wine); its memory holds a PEB. */
function fakeProcess(commandLine: string, modern: boolean) {
  const text = utf16(commandLine);
  const memory = new Map<bigint, Uint8Array>();
  const peb = 0x7ff000n, params = 0x20000n, textAt = 0x30000n;
  const u64 = (v: bigint) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v, true);
    return b;
  };
  memory.set(peb + BigInt(PEB.ProcessParameters), u64(params));
  const us = new Uint8Array(UNICODE_STRING.size);
  new DataView(us.buffer).setUint16(UNICODE_STRING.Length, text.byteLength, true);
  new DataView(us.buffer).setBigUint64(UNICODE_STRING.Buffer, textAt, true);
  memory.set(params + BigInt(RTL_USER_PROCESS_PARAMETERS.CommandLine), us);
  memory.set(textAt, text);
  const log: string[] = [];
  const bufferAddress = 0x1000_0000n;
  const calls: CommandLineCalls = {
    query(_h, cls, buf, ret) {
      log.push(`query ${cls} ${buf.byteLength}`);
      if (cls === ProcessBasicInformation) {
        new DataView(buf.buffer).setBigUint64(PROCESS_BASIC_INFORMATION.PebBaseAddress, peb, true);
        return 0;
      }
      if (cls !== ProcessCommandLineInformation || !modern) return STATUS_INVALID_INFO_CLASS;
      ret[0] = UNICODE_STRING.size + text.byteLength;
      if (buf.byteLength < ret[0]) return STATUS_INFO_LENGTH_MISMATCH;
      const dv = new DataView(buf.buffer);
      dv.setUint16(UNICODE_STRING.Length, text.byteLength, true);
      dv.setBigUint64(UNICODE_STRING.Buffer, bufferAddress + BigInt(UNICODE_STRING.size), true);
      buf.set(text, UNICODE_STRING.size);
      return 0;
    },
    read(_h, address, buf) {
      const m = memory.get(address);
      log.push(`read ${address.toString(16)} ${buf.byteLength}`);
      if (!m || m.byteLength < buf.byteLength) return false;
      buf.set(m.subarray(0, buf.byteLength));
      return true;
    },
    open: (access, pid) => (log.push(`open ${access.toString(16)} ${pid}`), Deno.UnsafePointer.create(4n)),
    close: () => void log.push("close"),
    addressOf: () => bufferAddress,
  };
  return { calls, log };
}

const hostile = 'C:\\x\\evil.exe --token=s3cret "a,b" \n\uD800 tail' + "x".repeat(600);

Deno.test("command line: class 60 grows on STATUS_INFO_LENGTH_MISMATCH and keeps a lone surrogate", () => {
  const { calls, log } = fakeProcess(hostile, true);
  assert.equal(readCommandLine(1234, null, calls), hostile);
  assert.deepEqual(log, ["query 60 1024", `query 60 ${16 + 2 * hostile.length}`]);
});

Deno.test("command line: an unknown class 60 (wine, Windows 8) falls back to the PEB on a VM_READ handle", () => {
  const { calls, log } = fakeProcess(hostile, false);
  assert.equal(readCommandLine(1234, null, calls), hostile);
  assert.equal(log[0], "query 60 1024");
  assert.equal(log[1], "open 410 1234");
  assert.equal(log[2], "query 0 48");
  assert.equal(log.at(-1), "close");
});

Deno.test("command line: an unreadable PEB costs the field, never an exception", () => {
  const { calls } = fakeProcess("a b", false);
  const denied: CommandLineCalls = { ...calls, read: () => false };
  assert.equal(readCommandLine(1, null, denied), undefined);
  assert.equal(readCommandLine(1, null, { ...calls, open: () => null }), undefined);
  assert.equal(pebCommandLine({ ...calls, query: () => 0xc0000022 }, null), undefined);
});

Deno.test("command line: UTF-16 units are taken as they are (odd byte counts cut, no replacement)", () => {
  assert.equal(utf16Units(utf16("a\uDC00b"), 6), "a\uDC00b");
  assert.equal(utf16Units(utf16("ab"), 3), "a");
});

Deno.test("command line: the logged field is redacted, then bounded like Linux's with a cut marker", () => {
  assert.equal(commandLineField("svc.exe --password hunter2 -v"), "svc.exe --password *** -v");
  const long = "x.exe " + "é".repeat(32767 - 6); // the longest Windows command line, 2 bytes a character
  const field = commandLineField(long);
  assert.ok(
    new TextEncoder().encode(field).length <= LOGGED_COMMAND_LINE_BYTES,
    "bounded, the marker included",
  );
  assert.match(field, /…\[cut \d+ bytes\]$/);
  assert.ok(field.startsWith("x.exe éé"));
});
