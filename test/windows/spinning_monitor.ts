/**
 * Lab helper, run as a wine process by `plugins_test.ts`: a monitor whose only user plugin (`busy_loop.ts`)
 * is sent a batch and spins in its filter (no timeout: the plugin host is driven directly, as the pipeline
 * does). Prints its pid as one JSON line once the batch is sent; when its own stdin ends it closes the plugin
 * host ({@link PluginHost.close}: the host's stdin ends, and the host is killed if it is still there after
 * 5 s), prints how long that took as a second line and exits. (`src/plugin/testdata/spinning_monitor.ts`
 * is the Linux one: it finds its plugin host through `/proc`.)
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { PluginHost, pluginHostCommand } from "../../src/plugin/host_client.ts";
import { change } from "../../src/plugin/testdata/changes.ts";
import type { WorkerPermissions } from "../../src/plugin/worker_host.ts";

if (import.meta.main) {
  const url = new URL("../../src/plugin/testdata/busy_loop.ts", import.meta.url);
  const permissions: WorkerPermissions = {
    read: [fileURLToPath(url)],
    write: false,
    net: false,
    env: false,
    run: false,
    ffi: false,
    sys: false,
    import: false,
  };
  const log = (line: string) => console.error(line);
  const host = new PluginHost({ command: pluginHostCommand([permissions]), log, setupTimeoutMs: 30_000 });
  const plugin = await host.add("plugin busy", permissions, () => {});
  await plugin.setup("load", { url: url.href, options: {} });
  plugin.call("batch", { changes: [change()] }).catch(() => {}); // never answers
  console.log(JSON.stringify({ pid: Deno.pid }));
  for await (const _ of Deno.stdin.readable) { /* wait for the end of stdin */ }
  const t = performance.now();
  await host.close(5000);
  console.log(JSON.stringify({ closeMs: Math.round(performance.now() - t) }));
  Deno.exit(0);
}
