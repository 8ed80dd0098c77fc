// A user plugin whose filter always throws.
import type { Plugin } from "../api.ts";

export default (): Plugin => ({
  apiVersion: 1,
  id: "throws",
  filter() {
    throw new Error("boom in filter");
  },
});
