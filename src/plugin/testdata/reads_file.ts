// A user plugin that reads a file (options.file) in onChanges: it works only when granted `permissions.read`.
import type { Plugin, PluginContext } from "../api.ts";

export default (options: { file: string }): Plugin => ({
  apiVersion: 1,
  id: "reader",
  async onChanges(_changes, ctx: PluginContext) {
    const text = await Deno.readTextFile(options.file);
    ctx.alert({ severity: "info", message: `read ${text.trim()}` });
  },
});
