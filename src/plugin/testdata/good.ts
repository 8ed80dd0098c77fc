// A well-behaved user plugin: drops changes on port 9, tags the others, raises one alert per opened change.
import type { Change, Plugin, PluginContext } from "../api.ts";

export default (options: { tag?: string }): Plugin => ({
  apiVersion: 1,
  id: "good",
  init(_options, ctx) {
    ctx.log(`ready with tag ${options.tag ?? "none"}`);
  },
  filter: (c: Change) => c.socket.localPort !== 9,
  enrich: (c: Change) => ({ tag: options.tag ?? "none", port: c.socket.localPort }),
  onChanges(changes: readonly Change[], ctx: PluginContext) {
    for (const c of changes) {
      if (c.kind === "opened") {
        ctx.alert({ severity: "info", message: `opened ${c.socket.localPort}`, change: c });
      }
    }
  },
});
