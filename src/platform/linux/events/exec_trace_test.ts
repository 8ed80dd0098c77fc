import assert from "node:assert/strict";
import { decodeExecSample, EXEC_FIELDS, MAX_EXEC_PATH_BYTES } from "./exec_trace.ts";
import { parseFormatFields } from "./tracepoint_decode.ts";
import { fixtureText } from "../fixtures_test_util.ts";

const { id, layout } = parseFormatFields(fixtureText("sched_process_exec_format.txt"), EXEC_FIELDS);

/** A raw sched_process_exec record as this kernel lays it out, with `path` after the fixed fields. */
function record(pid: number, path: Uint8Array): DataView {
  const raw = new Uint8Array(24 + path.length + 1);
  const view = new DataView(raw.buffer);
  raw.set(path, 24);
  view.setUint32(layout.filename, ((path.length + 1) << 16) | 24, true);
  view.setInt32(layout.pid, pid, true);
  return view;
}

Deno.test("the exec tracepoint's format on this kernel: its id, filename as __data_loc and pid", () => {
  assert.equal(id, 365);
  assert.deepEqual(layout, { filename: 8, pid: 12 });
});

Deno.test("an exec record gives the pid and the path, raw bytes kept, bounded", () => {
  const path = new Uint8Array([...new TextEncoder().encode("/tmp/ev,il\n"), 0xff]);
  const raw = record(4242, path);
  const exec = decodeExecSample({ pid: 1, time: 5, raw, at: 0, size: raw.byteLength }, layout);
  assert.deepEqual(exec, { pid: 4242, info: { path: "/tmp/ev,il\n\udcff", time: 5 } });
  const long = record(7, new Uint8Array(MAX_EXEC_PATH_BYTES + 100).fill(0x61));
  const cut = decodeExecSample({ pid: 7, time: 0, raw: long, at: 0, size: long.byteLength }, layout);
  assert.equal(cut?.info.path.length, MAX_EXEC_PATH_BYTES);
  const bad = new DataView(raw.buffer.slice(0, 20));
  assert.equal(decodeExecSample({ pid: 1, time: 0, raw: bad, at: 0, size: 20 }, layout), undefined);
});
