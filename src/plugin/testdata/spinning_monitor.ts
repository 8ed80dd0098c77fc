// A monitor whose only user plugin (busy_loop.ts) spins in its filter with no timeout in sight: prints the pid
// of its plugin host as one JSON line, then waits to be killed. Used by hang_test.ts (the orphan test).
import { fileURLToPath } from "node:url";
import { createPipeline } from "../pipeline.ts";
import { change } from "./changes.ts";
import { childrenOf } from "./proc.ts";

const pipeline = await createPipeline({
  specs: [{ path: fileURLToPath(new URL("./busy_loop.ts", import.meta.url)) }],
  hookTimeoutMs: 600_000,
  log: () => {},
});
void pipeline.run([change()]);
console.log(JSON.stringify({ host: childrenOf()[0] ?? null }));
setInterval(() => {}, 60_000);
