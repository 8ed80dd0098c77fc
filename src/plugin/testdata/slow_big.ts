// A user plugin that loops forever on a big batch (more than 5 changes) and alerts on every listener
// otherwise: after a big batch it must come back, not stay disabled.
import type { Change, Plugin, PluginContext } from "../api.ts";

export default (): Plugin => ({
  apiVersion: 1,
  id: "slow-big",
  onChanges(changes: readonly Change[], ctx: PluginContext) {
    if (changes.length > 5) {
      for (;;) {
        // spin
      }
    }
    for (const c of changes) {
      if (c.socket.state === "LISTEN") {
        ctx.alert({ severity: "info", message: `listener ${c.socket.localPort}`, change: c });
      }
    }
  },
});
