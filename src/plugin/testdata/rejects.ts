// A user plugin whose onChanges always rejects, and which throws from a timer (an uncaught error in its Worker).
import type { Plugin } from "../api.ts";

export default (): Plugin => ({
  apiVersion: 1,
  id: "rejects",
  init() {
    setTimeout(() => {
      throw new Error("late error from a timer");
    }, 0);
  },
  onChanges: () => Promise.reject(new Error("rejected in onChanges")),
  enrich: () => ({ alive: true }),
});
