// A user plugin whose filter never returns: a synchronous endless loop (only terminating its Worker stops it).
import type { Plugin } from "../api.ts";

export default (): Plugin => ({
  apiVersion: 1,
  id: "busy",
  filter(): boolean {
    for (;;) {
      // spin
    }
  },
});
