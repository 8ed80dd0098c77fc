import type { Change, PluginContext } from "../src/plugin/api.ts"; // types only: erased when loaded
const known = ["sshd", "nginx", "postgres", "systemd-resolved", "svchost.exe"]; // who may listen
const listens = (c: Change) =>
  c.kind === "opened" && (c.socket.state === "LISTEN" || c.socket.protocol === "udp");
export default () => ({
  apiVersion: 1 as const,
  id: "unknown-listener",
  onChanges: (changes: readonly Change[], ctx: PluginContext) =>
    changes.filter((c) => listens(c) && !known.includes(c.process?.name ?? "?")).forEach((c) =>
      ctx.alert({
        severity: "warning",
        change: c,
        message: `${c.process?.name} (pid ${c.socket.pid}) listens on port ${c.socket.localPort}`,
      })
    ),
});
