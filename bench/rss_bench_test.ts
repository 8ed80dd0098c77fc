import assert from "node:assert/strict";
import { CONNECTIONS_PER_PAIR, pairSizes } from "./hold_sockets.ts";
import { parseEventCounts, parseVmStatus, targetCell } from "./rss_bench.ts";

Deno.test("holders: connections split into pairs within the descriptor limit, none lost", () => {
  assert.deepEqual(pairSizes(10_000), [10_000]);
  assert.deepEqual(pairSizes(32_500), [10_834, 10_833, 10_833]);
  assert.deepEqual(pairSizes(1), [1]);
  for (const n of [15_000, 15_001, 32_500, 99_999]) {
    const sizes = pairSizes(n);
    assert.equal(sizes.reduce((a, b) => a + b, 0), n);
    assert.ok(Math.max(...sizes) <= CONNECTIONS_PER_PAIR, `${n}: ${sizes}`);
  }
});

Deno.test("rss bench: VmRSS and VmHWM from /proc/<pid>/status, the capture's counts from the stop line", () => {
  const status =
    "Name:\tdeno\nVmPeak:\t 9999 kB\nVmHWM:\t  153600 kB\nVmRSS:\t  102400 kB\nRssAnon:\t 1 kB\n";
  assert.deepEqual(parseVmStatus(status), { rss: 100, peak: 150 });
  assert.deepEqual(
    parseEventCounts(
      "portreporter: stopped after 53 polls: 97236 changes and 0 alerts written; 0 write failures, 0 warnings; " +
        "events 65008 received, 12 dropped, 40000 merged\n",
    ),
    { received: 65008, dropped: 12 },
  );
  assert.equal(parseEventCounts("portreporter: stopped after 3 polls: 0 changes"), undefined);
  assert.equal(targetCell(150.4, 150), "150 MB [<= 150 MB: met]");
  assert.equal(targetCell(150.6, 150), "151 MB [<= 150 MB: NOT met]");
  assert.equal(targetCell(80, undefined), "80 MB");
});
