// A user plugin that forgot `export default`.
import type { Plugin } from "../api.ts";

export const plugin = (): Plugin => ({ apiVersion: 1, id: "nodefault" });
