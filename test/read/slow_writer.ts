/**
 * A writer for the tests of readers that run while the logs are written: writes `count` opened
 * changes (local ports `base`, `base+1`, ...) through the real log set writer, one every `gapMs`,
 * with a small size limit so that sets roll over while it runs. Prints `ready` when the first set is
 * open and `done` at the end.
 *
 * Usage: deno run -A slow_writer.ts DIR COUNT GAP_MS BASE_PORT [MAX_BYTES]
 */

import { change, emptySnapshot, HOST, proc, sock } from "./logs.ts";
import { LogSet } from "../../src/log/log_set.ts";
import { LocalTime } from "../../src/log/local_time.ts";

const [dir, count, gap, base, max] = Deno.args;
const set = new LogSet({ dir, host: HOST, localTime: new LocalTime("UTC"), maxBytes: Number(max ?? 4096) });
set.start(emptySnapshot(Date.now()));
console.log("ready");
const p = proc(4242, "writer", { commandLine: "c".repeat(400) });
for (let i = 0; i < Number(count); i++) {
  const now = Date.now();
  set.write({ time: now, changes: [change("opened", now, sock(Number(base) + i, { pid: 4242 }), p)] });
  await new Promise((r) => setTimeout(r, Number(gap)));
}
set.close();
console.log("done");
