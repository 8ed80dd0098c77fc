import type { Change, PluginContext } from "../api.ts"; // type-only: erased at load time
export default (options: { port?: number }) => ({
  apiVersion: 1 as const,
  id: "ssh-watch",
  onChanges(changes: readonly Change[], ctx: PluginContext) {
    for (const c of changes.filter((c) => c.kind === "opened" && c.socket.state === "ESTABLISHED")) {
      if (c.socket.localPort !== (options.port ?? 22)) continue;
      ctx.alert({ severity: "info", message: `ssh connection from ${c.socket.remoteAddress}`, change: c });
    }
  },
});
