// A user plugin that validates its options in its factory.
import type { Plugin } from "../api.ts";

export default (options: Record<string, unknown>): Plugin => {
  if (typeof options.threshold !== "number") throw new TypeError("option threshold must be a number");
  return { apiVersion: 1, id: "picky" };
};
