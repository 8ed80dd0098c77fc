/**
 * User plugins that never answer: a promise that never settles, and a synchronous endless loop.
 *
 * Kept apart from pipeline_test.ts on purpose: Deno 2.9.6's `Worker.terminate()` does not interrupt a
 * synchronous endless loop (measured: the Worker thread keeps one core busy until the process exits), so the
 * `busy_loop.ts` test leaves a spinning thread behind for the rest of this test process. It runs last here.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createPipeline } from "./pipeline.ts";
import { change, listener } from "./testdata/changes.ts";

const testdata = fileURLToPath(new URL("./testdata/", import.meta.url));

for (const [file, id] of [["never_resolves.ts", "never"], ["busy_loop.ts", "busy"]]) {
  Deno.test(`a user plugin that hangs (${file}) is cut off after the timeout and disabled`, async () => {
    const lines: string[] = [];
    const pipeline = await createPipeline({
      specs: [{ path: join(testdata, file) }, { name: "new-listener" }],
      hookTimeoutMs: 300,
      log: (l) => lines.push(l),
    });
    const batch = () => [change({ localPort: 9 }), change({ localPort: 80 }), change({ localPort: 443 })];
    const within = async <T>(work: () => Promise<T>): Promise<T> => {
      const start = performance.now();
      const result = await work();
      assert.ok(performance.now() - start < 5000, `took ${Math.round(performance.now() - start)} ms`);
      return result;
    };
    const out = await within(() => pipeline.run([...batch(), listener(8080)]));
    assert.equal(out.changes.length, 4, "the batch still passes through");
    assert.equal(out.alerts.length, 1, "later plugins still run");
    const again = await within(() => pipeline.run(batch()));
    assert.equal(again.changes.length, 3);
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(
      lines[0],
      new RegExp(`^plugin ${id}: filter did not finish within 300 ms; worker terminated, plugin disabled`),
    );
    await within(() => pipeline.close());
  });
}
