// A user plugin whose filter returns a promise that never settles.
import type { Plugin } from "../api.ts";

export default (): Plugin => ({
  apiVersion: 1,
  id: "never",
  filter: () => new Promise<boolean>(() => {}),
});
